using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>
/// What a file system cannot do, so the one conformance suite can run on all of them. The
/// defaults are POSIX; each target states its deviations explicitly (FAT above all), and
/// a test that depends on a capability asserts the documented alternative errno instead.
/// </summary>
public sealed record FsDeviations
{
    public bool HardLinks { get; init; } = true;
    public bool Symlinks { get; init; } = true;

    /// <summary>fifos, sockets and device nodes.</summary>
    public bool SpecialFiles { get; init; } = true;

    /// <summary>chown to any uid/gid is stored.</summary>
    public bool Ownership { get; init; } = true;

    /// <summary>All permission bits are stored (FAT keeps only "writable").</summary>
    public bool PermissionBits { get; init; } = true;

    /// <summary>A directory's link count is 2 + its subdirectories.</summary>
    public bool DirectoryLinkCounts { get; init; } = true;

    /// <summary>Names differing only in case are different files.</summary>
    public bool CaseSensitive { get; init; } = true;

    /// <summary>Finest mtime step in nanoseconds (FAT: 2 s).</summary>
    public long MtimeGranularityNs { get; init; } = 1;

    /// <summary>The errno for an operation the format cannot store (link, symlink, mknod on FAT).</summary>
    public Errno UnsupportedErrno { get; init; } = Errno.EPERM;

    /// <summary>lsattr/chattr flags, the immutable and append-only ones among them (FAT has none: ENOTTY).</summary>
    public bool FileFlags { get; init; } = true;

    /// <summary>renameat2 RENAME_EXCHANGE (FAT: EINVAL).</summary>
    public bool RenameExchange { get; init; } = true;
}

/// <summary>A fresh, empty, writable file system for one test.</summary>
public interface IConformanceFs : IDisposable
{
    Mount Mount { get; }

    /// <summary>Unmount and mount again from the same storage; null when the driver keeps nothing (tmpfs).</summary>
    Mount? Remount();
}

/// <summary>One driver configuration the suite runs on.</summary>
public sealed record ConformanceTarget(string Name, Func<ScratchDir, IClock, IConformanceFs> Create, FsDeviations Deviations)
{
    public override string ToString() => Name;
}
