using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.Vfs;

/// <summary>How serious a consistency finding is.</summary>
public enum CheckSeverity
{
    /// <summary>Worth reporting, not an error (e.g. a clean flag that was not set).</summary>
    Note,

    /// <summary>An inconsistency the format's own checker would also report.</summary>
    Error,
}

/// <summary>One finding of a consistency check: where, what, and whether it was repaired.</summary>
public sealed record CheckFinding(string Phase, string Location, string Message, CheckSeverity Severity, bool Repaired);

/// <summary>The result of a check, with the exit status of fsck(8).</summary>
public sealed class CheckReport
{
    public List<CheckFinding> Findings { get; } = [];

    /// <summary>Set when the check could not run (unreadable device, not this file system).</summary>
    public string? OperationalError { get; set; }

    /// <summary>Errors past a checker's listing limit: counted here, not kept in <see cref="Findings"/>.</summary>
    public int UnlistedErrors { get; private set; }

    /// <summary>How many of <see cref="UnlistedErrors"/> were repaired.</summary>
    public int UnlistedRepaired { get; private set; }

    /// <summary>Every error found, listed or not.</summary>
    public int ErrorCount => Findings.Count(f => f.Severity == CheckSeverity.Error) + UnlistedErrors;

    /// <summary>Every error repaired, listed or not.</summary>
    public int RepairedCount => Findings.Count(f => f.Severity == CheckSeverity.Error && f.Repaired) + UnlistedRepaired;

    public bool HasErrors => ErrorCount > 0;

    /// <summary>0 clean, 1 errors corrected, 4 errors left uncorrected, 8 operational error.</summary>
    public int ExitCode =>
        OperationalError is not null ? 8
        : RepairedCount < ErrorCount ? 4
        : ErrorCount > 0 ? 1
        : 0;

    /// <summary>Count an error without listing it (a checker's limit per pass was reached).</summary>
    public void AddUnlisted(bool repaired)
    {
        UnlistedErrors++;
        if (repaired)
        {
            UnlistedRepaired++;
        }
    }

    public void Add(string phase, string location, string message, bool repaired = false) =>
        Findings.Add(new CheckFinding(phase, location, message, CheckSeverity.Error, repaired));

    public void Note(string phase, string location, string message) =>
        Findings.Add(new CheckFinding(phase, location, message, CheckSeverity.Note, false));
}

/// <summary>What a check does besides checking.</summary>
public sealed record CheckOptions
{
    /// <summary>Repair what can be repaired (fsck -y); the device must be writable.</summary>
    public bool Repair { get; init; }

    /// <summary>
    /// Rewrite every directory from its names, as e2fsck -D does (indexed when big enough,
    /// else packed); needs <see cref="Repair"/>, and a checker whose
    /// <see cref="IFileSystemChecker.CanOptimizeDirectories"/> says so.
    /// </summary>
    public bool OptimizeDirectories { get; init; }
}

/// <summary>A file system's consistency checker (fsck_ffs, e2fsck, fsck_msdos), run on an unmounted device.</summary>
public interface IFileSystemChecker
{
    /// <summary>The driver name it checks ("ffs", "ext2fs", "msdos").</summary>
    string FsType { get; }

    /// <summary>True when <see cref="CheckOptions.OptimizeDirectories"/> is supported.</summary>
    bool CanOptimizeDirectories => false;

    /// <summary>
    /// Check the file system on <paramref name="device"/>; with <paramref name="repair"/> fix
    /// the common cases (the device must then be writable). Never throws for damaged input.
    /// </summary>
    CheckReport Check(IBlockDevice device, bool repair);

    /// <summary>
    /// Check with <paramref name="options"/>. A checker that cannot optimise directories
    /// reports that as an operational error, and checks nothing.
    /// </summary>
    CheckReport Check(IBlockDevice device, CheckOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.OptimizeDirectories)
        {
            var report = new CheckReport { OperationalError = $"{FsType} checking cannot optimise directories" };
            return report;
        }
        return Check(device, options.Repair);
    }
}

/// <summary>A file system's newfs: writes an empty file system onto a device.</summary>
public interface IFileSystemFormatter
{
    /// <summary>The driver name it formats for ("ffs", "ext2fs", "msdos").</summary>
    string FsType { get; }

    /// <summary>
    /// Write a new, empty file system over the whole device. <paramref name="options"/> are
    /// format-specific ("version=2", "bsize=8192", "label=NAME", "features=^has_journal");
    /// an unknown or impossible option is EINVAL with a message, and nothing is written.
    /// </summary>
    Errno Format(IBlockDevice device, IReadOnlyDictionary<string, string?> options, out string? message);

    /// <summary>
    /// The same formatter taking its times from <paramref name="clock"/> and its UUIDs, serial
    /// numbers and generation numbers from <paramref name="random"/>: with a fixed clock and a
    /// seeded source, the same options give the same bytes.
    /// </summary>
    IFileSystemFormatter With(IClock clock, IRandomSource random);
}

/// <summary>Checkers and formatters by file-system type, registered next to the drivers.</summary>
public static class FileSystemTools
{
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<string, IFileSystemChecker> s_checkers = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, IFileSystemFormatter> s_formatters = new(StringComparer.Ordinal);

    public static void Register(IFileSystemChecker checker)
    {
        lock (s_lock)
        {
            s_checkers[checker.FsType] = checker;
        }
    }

    public static void Register(IFileSystemFormatter formatter)
    {
        lock (s_lock)
        {
            s_formatters[formatter.FsType] = formatter;
        }
    }

    public static IFileSystemChecker? FindChecker(string fsType)
    {
        lock (s_lock)
        {
            return s_checkers.GetValueOrDefault(fsType);
        }
    }

    public static IFileSystemFormatter? FindFormatter(string fsType)
    {
        lock (s_lock)
        {
            return s_formatters.GetValueOrDefault(fsType);
        }
    }
}
