using System.Globalization;
using System.Text;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs;

/// <summary>One file as `stat -c` sees it: the path as the user gave it, its attributes, a link's target.</summary>
internal sealed record StatSubject(string Path, VAttr Attributes, string? LinkTarget);

/// <summary>
/// GNU stat's -c, --printf and --terse formats over one file of the image, so that scripts
/// written for stat on a mount run unchanged: every file directive of coreutils 9 (%a %A %b
/// %B %f %F %g %G %h %i %n %N %o %s %u %U %r %R %Hr %Lr %t %T %w %W %x %X %y %Y %z %Z), with
/// printf's flags, width and precision as stat applies them. Times are in the local zone, as
/// stat shows them. What an image has no answer for (%C, the host device %d %D %Hd %Ld)
/// prints "?", as stat prints a directive it does not know; %m is the image's root.
/// </summary>
internal static class StatFormat
{
    /// <summary>What --terse prints (stat's, without the SELinux context).</summary>
    public const string Terse = "%n %s %b %f %u %g %D %i %h %t %T %X %Y %Z %W %o";

    private const string Flags = "-+ #0'";

    /// <summary>
    /// <paramref name="format"/> filled in for <paramref name="file"/>. With
    /// <paramref name="escapes"/> (--printf), backslash escapes are read as printf reads
    /// them; <paramref name="warn"/> hears of one it does not know.
    /// </summary>
    public static string Render(string format, StatSubject file, bool escapes, Action<string> warn)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < format.Length)
        {
            char c = format[i];
            if (c == '%')
            {
                i = Directive(format, i + 1, file, sb);
            }
            else if (c == '\\' && escapes)
            {
                i = PrintfEscapes.Append(format, i + 1, sb, warn);
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }
        return sb.ToString();
    }

    /// <summary>Throw a <see cref="UsageException"/> when <paramref name="format"/> holds an invalid directive, before any file is read.</summary>
    public static void Validate(string format, bool escapes) =>
        Render(format, new StatSubject("", new VAttr(), null), escapes, _ => { });

    /// <summary>One directive starting after its '%'; returns where the text goes on.</summary>
    private static int Directive(string format, int i, StatSubject file, StringBuilder sb)
    {
        int start = i;
        while (i < format.Length && Flags.Contains(format[i], StringComparison.Ordinal))
        {
            i++;
        }
        string flags = format[start..i];
        int? width = Digits(format, ref i);
        int? precision = null;
        bool bareDot = false;
        if (i < format.Length && format[i] == '.')
        {
            i++;
            precision = Digits(format, ref i);
            bareDot = precision is null;
            precision ??= 0;
        }
        if (i >= format.Length)
        {
            // A lone '%' ending the format is printed as it stands; with flags or a width it is
            // a mistake, as stat calls it.
            if (i > start)
            {
                throw new UsageException($"stat: '%{format[start..]}': invalid directive");
            }
            sb.Append('%');
            return i;
        }
        var spec = new PrintfSpec(flags, width, precision, bareDot);
        char conversion = format[i++];
        if (conversion is 'H' or 'L')
        {
            if (i < format.Length && format[i] is 'd' or 'r')
            {
                sb.Append(DeviceHalf(conversion, format[i++], file.Attributes, spec));
            }
            else
            {
                sb.Append('?');
            }
            return i;
        }
        sb.Append(conversion == '%' ? "%" : Value(conversion, file, spec));
        return i;
    }

    private static int? Digits(string format, ref int i)
    {
        int start = i;
        while (i < format.Length && char.IsAsciiDigit(format[i]))
        {
            i++;
        }
        return i == start ? null : int.Parse(format.AsSpan(start, i - start), CultureInfo.InvariantCulture);
    }

    private static string Value(char conversion, StatSubject file, PrintfSpec spec)
    {
        VAttr va = file.Attributes;
        return conversion switch
        {
            'a' => spec.Unsigned(va.Mode & 0xFFF, 8),
            'A' => spec.Text(Format.ModeString(va.Type, va.Mode)),
            'b' => spec.Unsigned((ulong)(va.BytesUsed / 512), 10),
            'B' => spec.Unsigned(512, 10),
            'f' => spec.Unsigned(RawMode(va), 16),
            'F' => spec.Text(TypeDescription(va)),
            'g' => spec.Unsigned(va.Gid, 10),
            'G' => spec.Text(HostAccounts.GroupName(va.Gid)),
            'h' => spec.Unsigned(va.Nlink, 10),
            'i' => spec.Unsigned(va.Ino, 10),
            'm' => spec.Text("/"),
            'n' => spec.Text(file.Path),
            'N' => spec.Text(ShellQuote.Quote(file.Path) + (file.LinkTarget is null ? "" : " -> " + ShellQuote.Quote(file.LinkTarget))),
            'o' => spec.Unsigned((ulong)Math.Max(0, va.BlockSize), 10),
            's' => spec.Signed(va.Size),
            'u' => spec.Unsigned(va.Uid, 10),
            'U' => spec.Text(HostAccounts.UserName(va.Uid)),
            'r' => spec.Unsigned(IsDevice(va) ? va.Rdev : 0, 10),
            'R' => spec.Unsigned(IsDevice(va) ? va.Rdev : 0, 16),
            't' => spec.Unsigned(IsDevice(va) ? Major(va.Rdev) : 0, 16),
            'T' => spec.Unsigned(IsDevice(va) ? Minor(va.Rdev) : 0, 16),
            'x' => spec.Text(HumanTime(va.Atime)),
            'X' => spec.Epoch(va.Atime),
            'y' => spec.Text(HumanTime(va.Mtime)),
            'Y' => spec.Epoch(va.Mtime),
            'z' => spec.Text(HumanTime(va.Ctime)),
            'Z' => spec.Epoch(va.Ctime),
            'w' => spec.Text(HasBirthTime(va) ? HumanTime(va.Birthtime) : "-"),
            'W' => HasBirthTime(va) ? spec.Epoch(va.Birthtime) : spec.Signed(0),
            _ => "?",
        };
    }

    /// <summary>%Hd %Ld (the host device: unknown) and %Hr %Lr (a device node's major and minor).</summary>
    private static string DeviceHalf(char half, char which, VAttr va, PrintfSpec spec)
    {
        if (which == 'd')
        {
            return "?";
        }
        ulong rdev = IsDevice(va) ? va.Rdev : 0;
        return spec.Unsigned(half == 'H' ? Major(rdev) : Minor(rdev), 10);
    }

    private static bool IsDevice(VAttr va) => va.Type is VType.CharDevice or VType.BlockDevice;

    private static ulong Major(ulong rdev) => ((rdev >> 8) & 0xFFF) | ((rdev >> 32) & ~0xFFFUL);

    private static ulong Minor(ulong rdev) => (rdev & 0xFF) | ((rdev >> 12) & ~0xFFUL);

    /// <summary>A birth time of zero is one the format does not keep (statx leaves STATX_BTIME out).</summary>
    private static bool HasBirthTime(VAttr va) => va.Birthtime != Timespec.Zero;

    /// <summary>st_mode: the S_IF type bits and the permission bits.</summary>
    private static ulong RawMode(VAttr va) => va.Type switch
    {
        VType.Fifo => 0x1000u,
        VType.CharDevice => 0x2000u,
        VType.Directory => 0x4000u,
        VType.BlockDevice => 0x6000u,
        VType.Regular => 0x8000u,
        VType.Symlink => 0xA000u,
        VType.Socket => 0xC000u,
        _ => 0u,
    } | (va.Mode & 0xFFF);

    private static string TypeDescription(VAttr va) => va.Type switch
    {
        VType.Regular => va.Size == 0 ? "regular empty file" : "regular file",
        VType.Directory => "directory",
        VType.Symlink => "symbolic link",
        VType.CharDevice => "character special file",
        VType.BlockDevice => "block special file",
        VType.Fifo => "fifo",
        VType.Socket => "socket",
        _ => "weird file",
    };

    /// <summary>"2001-02-03 04:05:06.123456789 +0100" in the local zone, as stat's %x; seconds since 1970 outside the years 1 to 9999.</summary>
    internal static string HumanTime(Timespec t)
    {
        if (!t.IsRepresentable)
        {
            return t.Seconds.ToString(CultureInfo.InvariantCulture);
        }
        DateTimeOffset local = TimeZoneInfo.ConvertTime(t.ToDateTimeOffset(), TimeZoneInfo.Local);
        TimeSpan offset = local.Offset;
        string zone = (offset < TimeSpan.Zero ? "-" : "+") + offset.Duration().ToString("hhmm", CultureInfo.InvariantCulture);
        return local.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "."
            + t.Nanoseconds.ToString("D9", CultureInfo.InvariantCulture) + " " + zone;
    }
}
