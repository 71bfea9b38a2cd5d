using System.Text;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>
/// Conversions between FAT's on-disk forms and ours (NetBSD's msdosfs_conv.c): 8.3 names,
/// long names, short-name generation, and DOS local date/time.
/// </summary>
internal static class MsdosConv
{
    // Characters that may not appear in a long name (Windows' and Linux vfat's set).
    private const string BadLongChars = "\"*/:<>?\\|";

    // Characters a short name may hold besides A-Z and 0-9.
    private const string ShortSpecials = "!#$%&'()-@^_`{}~";

    /// <summary>A space-padded OEM field (label, OEM name) as text; bytes over 0x7F as Latin-1.</summary>
    public static string ShortFieldToString(ReadOnlySpan<byte> field) =>
        Encoding.Latin1.GetString(field).TrimEnd(' ', '\0');

    /// <summary>The name a short entry shows when it has no long name (NT lower-case flags applied).</summary>
    public static string ShortToDisplay(ReadOnlySpan<byte> name, byte ntRes)
    {
        Span<byte> n = stackalloc byte[11];
        name[..11].CopyTo(n);
        if (n[0] == FatDirEntry.KanjiE5)
        {
            n[0] = 0xE5;
        }
        string b = Encoding.Latin1.GetString(n[..8]).TrimEnd(' ');
        string e = Encoding.Latin1.GetString(n[8..]).TrimEnd(' ');
        if ((ntRes & FatDirEntry.LowerBase) != 0)
        {
            b = b.ToLowerInvariant();
        }
        if ((ntRes & FatDirEntry.LowerExt) != 0)
        {
            e = e.ToLowerInvariant();
        }
        return e.Length == 0 ? b : b + "." + e;
    }

    /// <summary>The key under which a name is found: FAT names compare without case.</summary>
    public static string Fold(string name) => name.ToUpperInvariant();

    /// <summary>
    /// Drop trailing dots and spaces, which Windows and Linux vfat ignore ("a." is "a").
    /// Returns "" for a name made only of them.
    /// </summary>
    public static string StripTail(string name)
    {
        int n = name.Length;
        while (n > 0 && (name[n - 1] == '.' || name[n - 1] == ' '))
        {
            n--;
        }
        return n == name.Length ? name : name[..n];
    }

    /// <summary>Whether <paramref name="name"/> (already stripped) may be stored as a long name.</summary>
    public static bool IsValidLongName(string name)
    {
        if (name.Length == 0 || name.Length > 255)
        {
            return false;
        }
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                i++;
                continue;
            }
            // A lone surrogate is a byte of a name that was not UTF-8 (see NameEncoding):
            // long names are UTF-16 text, so, as Linux's vfat does, such a name is refused.
            if (c < 0x20 || char.IsSurrogate(c) || BadLongChars.Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsShortChar(char c) =>
        c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') || ShortSpecials.Contains(c, StringComparison.Ordinal);

    /// <summary>
    /// When <paramref name="name"/> is a valid 8.3 name whose base and extension are each
    /// all upper or all lower case, its 11-byte form and NT lower-case flags: such a name
    /// needs no long-name entries. False otherwise.
    /// </summary>
    public static bool TryExact83(string name, out byte[] shortName, out byte ntRes)
    {
        shortName = [];
        ntRes = 0;
        int dot = name.IndexOf('.', StringComparison.Ordinal);
        string b = dot < 0 ? name : name[..dot];
        string e = dot < 0 ? "" : name[(dot + 1)..];
        if (b.Length is 0 or > 8 || e.Length > 3 || (dot >= 0 && e.Length == 0) || e.Contains('.', StringComparison.Ordinal))
        {
            return false;
        }
        if (!b.All(IsShortChar) || !e.All(IsShortChar))
        {
            return false;
        }
        if (!CaseFlag(b, FatDirEntry.LowerBase, ref ntRes) || !CaseFlag(e, FatDirEntry.LowerExt, ref ntRes))
        {
            return false;
        }
        shortName = Pack(b.ToUpperInvariant(), e.ToUpperInvariant());
        return true;
    }

    private static bool CaseFlag(string part, byte flag, ref byte ntRes)
    {
        bool lower = part.Any(char.IsAsciiLetterLower);
        bool upper = part.Any(char.IsAsciiLetterUpper);
        if (lower && upper)
        {
            return false;
        }
        if (lower)
        {
            ntRes |= flag;
        }
        return true;
    }

    /// <summary>The 11-byte, space-padded form of a base and extension.</summary>
    public static byte[] Pack(string b, string e)
    {
        byte[] n = new byte[11];
        n.AsSpan().Fill((byte)' ');
        for (int i = 0; i < b.Length && i < 8; i++)
        {
            n[i] = (byte)b[i];
        }
        for (int i = 0; i < e.Length && i < 3; i++)
        {
            n[8 + i] = (byte)e[i];
        }
        if (n[0] == 0xE5)
        {
            n[0] = FatDirEntry.KanjiE5;
        }
        return n;
    }

    /// <summary>
    /// The basis of a generated short name (Windows' rules): upper case, characters a short
    /// name cannot hold become '_', spaces and leading dots dropped, the base cut to 8 and
    /// the extension (after the last dot) to 3. <paramref name="lossy"/> tells whether
    /// anything was lost, in which case a ~N tail is always added.
    /// </summary>
    public static (string Base, string Ext) Basis(string name, out bool lossy)
    {
        lossy = false;
        string trimmed = name.TrimStart('.');
        if (trimmed.Length != name.Length)
        {
            lossy = true;
        }
        int dot = trimmed.LastIndexOf('.');
        string b = dot < 0 ? trimmed : trimmed[..dot];
        string e = dot < 0 ? "" : trimmed[(dot + 1)..];
        string bb = Clean(b, ref lossy);
        string ee = Clean(e, ref lossy);
        if (bb.Length > 8)
        {
            bb = bb[..8];
            lossy = true;
        }
        if (ee.Length > 3)
        {
            ee = ee[..3];
            lossy = true;
        }
        if (bb.Length == 0)
        {
            bb = "_";
            lossy = true;
        }
        return (bb, ee);
    }

    private static string Clean(string part, ref bool lossy)
    {
        var sb = new StringBuilder(part.Length);
        foreach (char c in part)
        {
            if (c is ' ' or '.')
            {
                lossy = true;
                continue;
            }
            char u = char.ToUpperInvariant(c);
            if (u < 0x80 && IsShortChar(u))
            {
                sb.Append(u);
            }
            else
            {
                sb.Append('_');
                lossy = true;
            }
        }
        return sb.ToString();
    }

    /// <summary>Basis with a ~N tail: the base is cut so that base + "~N" fits in 8.</summary>
    public static byte[] WithTail(string b, string e, int n)
    {
        string tail = "~" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        int keep = Math.Min(b.Length, 8 - tail.Length);
        return Pack(b[..keep] + tail, e);
    }

    /// <summary>An 11-byte short name as a dictionary key.</summary>
    public static string Key(ReadOnlySpan<byte> shortName) => Encoding.Latin1.GetString(shortName[..11]);

    // ---- Times ------------------------------------------------------------------------

    /// <summary>Seconds to add to UTC for DOS local time: the gmtoff option or the host's zone.</summary>
    public static long Offset(long utcSeconds, long? gmtoff)
    {
        if (gmtoff is long fixedOffset)
        {
            return fixedOffset;
        }
        try
        {
            return (long)TimeZoneInfo.Local.GetUtcOffset(DateTimeOffset.FromUnixTimeSeconds(utcSeconds)).TotalSeconds;
        }
        catch (ArgumentOutOfRangeException)
        {
            return 0;
        }
    }

    private static readonly long s_dosEpoch = new DateTimeOffset(1980, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
    private static readonly long s_dosEnd = new DateTimeOffset(2107, 12, 31, 23, 59, 58, TimeSpan.Zero).ToUnixTimeSeconds();

    /// <summary>Encode a time as DOS date, time (2 s) and 10 ms units (0..199).</summary>
    public static void ToDos(Timespec t, long? gmtoff, out ushort date, out ushort time, out byte tenth)
    {
        long local = t.Seconds + Offset(t.Seconds, gmtoff);
        // Times FAT cannot hold are clamped to its range, as Linux does.
        local = Math.Clamp(local, s_dosEpoch, s_dosEnd);
        DateTime d = DateTime.UnixEpoch.AddSeconds(local);
        date = (ushort)(((d.Year - 1980) << 9) | (d.Month << 5) | d.Day);
        time = (ushort)((d.Hour << 11) | (d.Minute << 5) | (d.Second / 2));
        tenth = (byte)(((d.Second & 1) * 100) + (t.Nanoseconds / 10_000_000));
    }

    /// <summary>Decode a DOS date and time; date 0 (never set) is the Unix epoch, as in NetBSD.</summary>
    public static Timespec FromDos(ushort date, ushort time, byte tenth, long? gmtoff)
    {
        if (date == 0)
        {
            return Timespec.Zero;
        }
        int year = 1980 + (date >> 9);
        int month = Math.Clamp((date >> 5) & 0xF, 1, 12);
        int day = Math.Clamp(date & 0x1F, 1, DateTime.DaysInMonth(year, month));
        int hour = Math.Min(time >> 11, 23);
        int minute = Math.Min((time >> 5) & 0x3F, 59);
        int second = Math.Min((time & 0x1F) * 2, 58);
        long local = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero).ToUnixTimeSeconds();
        if (tenth > 199)
        {
            tenth = 0;
        }
        local += tenth / 100;
        int ns = (tenth % 100) * 10_000_000;
        // The offset is that of the local time, looked up at the UTC guess (exact but for an
        // hour around DST changes, as every FAT implementation).
        long utc = local - Offset(local, gmtoff);
        return new Timespec(utc, ns);
    }
}
