using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace RumpFs.Vfs;

/// <summary>
/// File names and symbolic-link targets between their on-disk bytes and the strings the VFS
/// passes around. Unix names are bytes, not text: an image may hold names in Latin-1 or any
/// other legacy encoding. Valid UTF-8 decodes as usual; each byte of an invalid sequence
/// becomes the lone surrogate U+DC00 + byte (the "surrogateescape" scheme of PEP 383), and
/// encoding turns such a surrogate back into its byte. So every name round-trips exactly:
/// what a driver reads is what FUSE shows and what a lookup or rename finds.
/// </summary>
public static class NameEncoding
{
    private const char EscapeFirst = '\uDC80';
    private const char EscapeLast = '\uDCFF';

    /// <summary>The name stored as <paramref name="bytes"/>.</summary>
    public static string GetString(ReadOnlySpan<byte> bytes)
    {
        if (Utf8.IsValid(bytes))
        {
            return Encoding.UTF8.GetString(bytes);
        }
        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            OperationStatus status = Rune.DecodeFromUtf8(bytes, out Rune rune, out int consumed);
            if (status == OperationStatus.Done)
            {
                text.Append(rune.ToString());
            }
            else
            {
                // One byte of an invalid sequence (never ASCII: those always decode).
                consumed = 1;
                text.Append((char)(0xDC00 + bytes[0]));
            }
            bytes = bytes[consumed..];
        }
        return text.ToString();
    }

    /// <summary>The bytes that store <paramref name="name"/>.</summary>
    public static byte[] GetBytes(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!HasEscapes(name))
        {
            return Encoding.UTF8.GetBytes(name);
        }
        byte[] bytes = new byte[GetByteCount(name)];
        Encode(name, bytes);
        return bytes;
    }

    /// <summary>How many bytes <paramref name="name"/> takes on disk.</summary>
    public static int GetByteCount(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return HasEscapes(name) ? Encode(name, Span<byte>.Empty) : Encoding.UTF8.GetByteCount(name);
    }

    /// <summary>
    /// Writes the bytes of <paramref name="name"/> to <paramref name="destination"/> and returns
    /// how many; throws <see cref="ArgumentException"/> when they do not fit.
    /// </summary>
    public static int GetBytes(string name, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!HasEscapes(name))
        {
            return Encoding.UTF8.GetBytes(name, destination);
        }
        if (GetByteCount(name) > destination.Length)
        {
            throw new ArgumentException("destination is too small", nameof(destination));
        }
        return Encode(name, destination);
    }

    /// <summary>
    /// True when <paramref name="name"/> holds an escaped byte, that is, its bytes are not
    /// UTF-8 (a lone surrogate in U+DC80..U+DCFF; the low half of a valid pair can fall in
    /// that range too, so pairs are skipped).
    /// </summary>
    public static bool HasEscapes(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ReadOnlySpan<char> s = name;
        int first = s.IndexOfAnyInRange('\uD800', '\uDFFF');
        for (int i = Math.Max(first, 0); first >= 0 && i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (s[i] is >= EscapeFirst and <= EscapeLast)
            {
                return true;
            }
        }
        return false;
    }

    // Encodes into destination, or only counts when it is empty. Escapes become their byte;
    // anything else encodes as UTF-8 (a lone surrogate that is not an escape as U+FFFD,
    // which is what UTF-8 encoding has always done with one).
    private static int Encode(string name, Span<byte> destination)
    {
        bool counting = destination.IsEmpty;
        Span<byte> utf8 = stackalloc byte[4];
        int n = 0;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            int written;
            if (c is >= EscapeFirst and <= EscapeLast)
            {
                utf8[0] = (byte)(c - 0xDC00);
                written = 1;
            }
            else if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                written = new Rune(c, name[i + 1]).EncodeToUtf8(utf8);
                i++;
            }
            else
            {
                written = (Rune.TryCreate(c, out Rune r) ? r : Rune.ReplacementChar).EncodeToUtf8(utf8);
            }
            if (!counting)
            {
                utf8[..written].CopyTo(destination[n..]);
            }
            n += written;
        }
        return n;
    }
}
