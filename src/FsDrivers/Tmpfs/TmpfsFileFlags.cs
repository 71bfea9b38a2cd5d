using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Tmpfs;

/// <summary>lsattr/chattr on tmpfs: the four flags Linux's tmpfs stores (append-only, immutable, no-dump, no-atime).</summary>
internal sealed partial class TmpfsNode
{
    private const FileFlags Stored = FileFlags.AppendOnly | FileFlags.Immutable | FileFlags.NoDump | FileFlags.NoAtime;

    /// <summary>Whether reading moves atime: not on a noatime mount, nor for a file with chattr +A.</summary>
    private bool UpdatesAtime => !_mount.Options.NoAtime && ((FileFlags)Flags & FileFlags.NoAtime) == 0;

    public override Errno GetFileFlags(out FileFlags flags)
    {
        flags = (FileFlags)Flags & Stored;
        return Errno.OK;
    }

    public override Errno SetFileFlags(FileFlags flags)
    {
        if ((flags & ~Stored) != 0)
        {
            return Errno.EOPNOTSUPP;
        }
        Flags = (uint)flags;
        TouchChanged();
        return Errno.OK;
    }
}
