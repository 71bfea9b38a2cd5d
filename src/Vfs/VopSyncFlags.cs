using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>
/// chattr +S and +D: what -o sync does for a whole mount, for one file or directory
/// (Linux's IS_SYNC and IS_DIRSYNC). A write, a size or attribute change or an allocation
/// on a file flagged S, and a change to the entries of a directory flagged S or D, reach
/// the device before the call returns.
/// </summary>
public static partial class Vop
{
    private const FileFlags SyncedEntries = FileFlags.Sync | FileFlags.DirSync;

    /// <summary>
    /// After <paramref name="result"/> of a change to <paramref name="vp"/>: when it succeeded
    /// and the node carries one of <paramref name="flags"/>, write it through (fsync).
    /// A mount with -o sync needs nothing here: its drivers write every change through
    /// already. The caller holds the node's lock.
    /// </summary>
    private static Errno SyncIfFlagged(Vnode vp, FileFlags flags, Errno result)
    {
        if (result != Errno.OK || vp.Mount.Options.Synchronous)
        {
            return result;
        }
        if (vp.GetFileFlags(out FileFlags current) != Errno.OK || (current & flags) == 0)
        {
            return result;
        }
        return vp.Fsync(dataOnly: false);
    }
}
