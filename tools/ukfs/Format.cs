using System.Globalization;
using System.Text;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs;

/// <summary>Text forms of attributes, as ls and stat print them.</summary>
internal static class Format
{
    /// <summary>"-rw-r--r--" with s/S, t/T for setuid, setgid and sticky.</summary>
    public static string ModeString(VType type, uint mode)
    {
        var sb = new StringBuilder(10);
        sb.Append(type switch
        {
            VType.Directory => 'd',
            VType.Symlink => 'l',
            VType.CharDevice => 'c',
            VType.BlockDevice => 'b',
            VType.Fifo => 'p',
            VType.Socket => 's',
            _ => '-',
        });
        for (int shift = 6; shift >= 0; shift -= 3)
        {
            uint bits = (mode >> shift) & 7;
            sb.Append((bits & 4) != 0 ? 'r' : '-');
            sb.Append((bits & 2) != 0 ? 'w' : '-');
            bool x = (bits & 1) != 0;
            uint special = shift switch { 6 => 0x800u, 3 => 0x400u, _ => 0x200u };
            if ((mode & special) != 0)
            {
                char c = shift == 0 ? 't' : 's';
                sb.Append(x ? c : char.ToUpperInvariant(c));
            }
            else
            {
                sb.Append(x ? 'x' : '-');
            }
        }
        return sb.ToString();
    }

    /// <summary>"file", "directory", ... (JSON and stat).</summary>
    public static string TypeName(VType type) => type switch
    {
        VType.Regular => "file",
        VType.Directory => "directory",
        VType.Symlink => "symlink",
        VType.CharDevice => "char-device",
        VType.BlockDevice => "block-device",
        VType.Fifo => "fifo",
        VType.Socket => "socket",
        _ => "unknown",
    };

    public static string Octal(uint mode) => "0" + Convert.ToString(mode & 0xFFF, 8).PadLeft(3, '0');

    /// <summary>
    /// ISO 8601 in UTC with nanoseconds: 2001-02-03T04:05:06.123456789Z. A time outside the
    /// years 1 to 9999 (a damaged or far-future inode) is its seconds since 1970, as GNU ls
    /// prints a time it cannot convert.
    /// </summary>
    public static string Time(Timespec t) => !t.IsRepresentable ? t.ToString()
        : t.ToDateTimeOffset().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture)
          + "." + t.Nanoseconds.ToString("D9", CultureInfo.InvariantCulture) + "Z";

    /// <summary>"2001-02-03 04:05" for ls -l (seconds since 1970 outside the years 1 to 9999).</summary>
    public static string ShortTime(Timespec t) => !t.IsRepresentable
        ? t.Seconds.ToString(CultureInfo.InvariantCulture)
        : t.ToDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    /// <summary>
    /// A time as touch -d and SOURCE_DATE_EPOCH give it: seconds since 1970 (also
    /// "@SECONDS"), or ISO 8601 ("2024-01-02T03:04:05.5Z"), taken as UTC when it names no zone.
    /// </summary>
    public static Timespec ParseTime(string text, string what)
    {
        string t = text.Trim().TrimStart('@');
        if (long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long seconds))
        {
            return new Timespec(seconds, 0);
        }
        if (DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset when))
        {
            return Timespec.FromDateTimeOffset(when);
        }
        throw new UsageException($"{what} '{text}': give seconds since 1970 or a time such as 2024-01-02T03:04:05Z");
    }

    /// <summary>
    /// touch -t's [[CC]YY]MMDDhhmm[.ss], in local time: two-digit years 69-99 are 19YY and
    /// 00-68 are 20YY (POSIX); without a year, this year.
    /// </summary>
    public static Timespec ParseStamp(string text)
    {
        string main = text, seconds = "00";
        int dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            main = text[..dot];
            seconds = text[(dot + 1)..];
        }
        if (main.Length is not (8 or 10 or 12) || seconds.Length != 2 || !(main + seconds).All(char.IsAsciiDigit))
        {
            throw BadStamp(text);
        }
        int Field(int from) => int.Parse(main.AsSpan(from, 2), NumberStyles.None, CultureInfo.InvariantCulture);
        int year = main.Length switch
        {
            12 => int.Parse(main.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture),
            10 => Field(0) is int yy && yy >= 69 ? 1900 + yy : 2000 + Field(0),
            _ => DateTime.Now.Year,
        };
        int at = main.Length - 8;
        int month = Field(at), day = Field(at + 2), hour = Field(at + 4), minute = Field(at + 6);
        int second = int.Parse(seconds, NumberStyles.None, CultureInfo.InvariantCulture);
        try
        {
            // touch takes second 60 (a leap second) as the next minute's first.
            var local = new DateTime(year, month, day, hour, minute, Math.Min(second, 59), DateTimeKind.Unspecified);
            DateTime utc = TimeZoneInfo.ConvertTimeToUtc(local.AddSeconds(second == 60 ? 1 : 0), TimeZoneInfo.Local);
            return Timespec.FromDateTimeOffset(new DateTimeOffset(utc, TimeSpan.Zero));
        }
        catch (ArgumentException)
        {
            throw BadStamp(text);
        }
    }

    private static UsageException BadStamp(string text) =>
        new($"touch: -t '{text}': give [[CC]YY]MMDDhhmm[.ss], e.g. 202401020304.05");

    /// <summary>
    /// A size as ls -lh and df -h print it: bytes below 1 KiB, else K, M, G, T, P, E in
    /// powers of 1024, rounded up, with one decimal below 10.
    /// </summary>
    public static string Human(long bytes)
    {
        const string units = "KMGTPE";
        if (bytes < 1024)
        {
            return Invariant(bytes);
        }
        double v = bytes;
        for (int u = 0; ; u++)
        {
            v /= 1024;
            if (v < 10)
            {
                double tenths = Math.Ceiling(v * 10) / 10;
                return (tenths < 10 ? tenths.ToString("0.0", CultureInfo.InvariantCulture) : "10") + units[u];
            }
            double whole = Math.Ceiling(v);
            if (whole < 1024 || u == units.Length - 1)
            {
                return whole.ToString("0", CultureInfo.InvariantCulture) + units[u];
            }
        }
    }

    public static string Invariant(long n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>The device numbers of a Linux rdev: "major, minor".</summary>
    public static string DeviceNumbers(ulong rdev) =>
        $"{((rdev >> 8) & 0xFFF) | ((rdev >> 32) & ~0xFFFUL)}, {(rdev & 0xFF) | ((rdev >> 12) & ~0xFFUL)}";
}
