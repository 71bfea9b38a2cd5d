using System.Buffers;
using System.Text;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// Extended-attribute values written and read the way the attr package's getfattr and
/// setfattr do: "text" in double quotes (\", \\ and \ooo octal escapes), 0x hex, 0s base64.
/// Text drops one final NUL (C strings are often stored with theirs) and escapes NUL, CR
/// and LF. getfattr writes other bytes as they are; here bytes that are not UTF-8 are
/// escaped too, since the output is text.
/// </summary>
internal static class XattrValues
{
    /// <summary>The value as getfattr shows it; <paramref name="encoding"/> null picks text when it is mostly printable, else base64.</summary>
    public static string Encode(byte[] value, string? encoding) => (encoding ?? (MostlyPrintable(value) ? "text" : "base64")) switch
    {
        "text" => Quote(value),
        "hex" => "0x" + Convert.ToHexStringLower(value),
        "base64" => "0s" + Convert.ToBase64String(value),
        _ => throw new UsageException($"getfattr: -e {encoding}: the encodings are text, hex and base64"),
    };

    /// <summary>A value as setfattr reads it: 0x hex, 0s base64, "quoted text" with escapes, else the text itself.</summary>
    public static byte[] Decode(string text)
    {
        if (text.Length >= 2 && text[0] == '0' && text[1] is 'x' or 'X')
        {
            try
            {
                return Convert.FromHexString(text.AsSpan(2));
            }
            catch (FormatException)
            {
                throw new UsageException($"setfattr: -v {text}: not an even number of hex digits");
            }
        }
        if (text.Length >= 2 && text[0] == '0' && text[1] is 's' or 'S')
        {
            try
            {
                return Convert.FromBase64String(text[2..]);
            }
            catch (FormatException)
            {
                throw new UsageException($"setfattr: -v {text}: not base64");
            }
        }
        if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
        {
            return Unquote(text[1..^1]);
        }
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>getfattr's rule: at most one byte in eight (a final NUL aside) outside printable ASCII.</summary>
    private static bool MostlyPrintable(byte[] value)
    {
        ReadOnlySpan<byte> body = WithoutFinalNul(value);
        int unprintable = 0;
        foreach (byte b in body)
        {
            if (b is < 0x20 or > 0x7E)
            {
                unprintable++;
            }
        }
        return body.Length >= unprintable * 8;
    }

    private static ReadOnlySpan<byte> WithoutFinalNul(byte[] value) =>
        value.Length > 0 && value[^1] == 0 ? value.AsSpan(0, value.Length - 1) : value;

    private static string Quote(byte[] value)
    {
        ReadOnlySpan<byte> body = WithoutFinalNul(value);
        var sb = new StringBuilder(body.Length + 2).Append('"');
        for (int i = 0; i < body.Length; i++)
        {
            byte b = body[i];
            if (b is (byte)'"' or (byte)'\\')
            {
                sb.Append('\\').Append((char)b);
            }
            else if (b is 0 or (byte)'\r' or (byte)'\n')
            {
                Octal(sb, b);
            }
            else if (b < 0x80)
            {
                sb.Append((char)b);
            }
            else if (Utf8Sequence(body[i..]) is int n and > 0)
            {
                sb.Append(Encoding.UTF8.GetString(body.Slice(i, n)));
                i += n - 1;
            }
            else
            {
                Octal(sb, b);
            }
        }
        return sb.Append('"').ToString();
    }

    private static void Octal(StringBuilder sb, byte b) => sb.Append('\\').Append(Convert.ToString(b, 8).PadLeft(3, '0'));

    /// <summary>The length of the valid UTF-8 sequence <paramref name="s"/> starts with, or 0.</summary>
    private static int Utf8Sequence(ReadOnlySpan<byte> s) =>
        Rune.DecodeFromUtf8(s, out _, out int consumed) == OperationStatus.Done ? consumed : 0;

    private static byte[] Unquote(string inner)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(inner);
        var result = new List<byte>(utf8.Length);
        for (int i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] != '\\' || i + 1 == utf8.Length)
            {
                result.Add(utf8[i]);
                continue;
            }
            int digits = 0;
            while (digits < 3 && i + 1 + digits < utf8.Length && utf8[i + 1 + digits] is >= (byte)'0' and <= (byte)'7')
            {
                digits++;
            }
            if (digits > 0)
            {
                string octal = Encoding.ASCII.GetString(utf8, i + 1, digits);
                int v = Convert.ToInt32(octal, 8);
                result.Add(v <= 255 ? (byte)v : throw new UsageException($"setfattr: \\{octal}: an octal escape above \\377"));
                i += digits;
            }
            else
            {
                result.Add(utf8[++i]); // \" and \\ (and any other escaped character) stand for themselves
            }
        }
        return [.. result];
    }
}
