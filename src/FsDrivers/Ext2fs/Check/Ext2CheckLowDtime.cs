using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// The orphan list chains its inodes through i_dtime, so a dtime below the inode count is a
/// link of such a list, not a time. e2fsck releases the list the superblock names before
/// pass 1 (under repair); any other inode holding such a dtime was on a list that broke
/// ("was part of the orphaned inode list"): its dtime is set to now when it has no links,
/// cleared when it has. Skipped, as e2fsck skips it, when the file system's own times are
/// that small (a clock that was never set).
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>The inodes of the orphan list the superblock names, in chain order.</summary>
    private readonly HashSet<uint> _orphanChain = [];

    private bool? _lowDtimeCheck;

    private bool LowDtimeCheck => _lowDtimeCheck ??= !(IsLowTime(Sb.Wtime) || IsLowTime(Sb.Mtime)
        || IsLowTime(BinaryPrimitives.ReadUInt32LittleEndian(Sb.Raw.AsSpan(Ext2Superblock.Off.MkfsTime))));

    private bool IsLowTime(uint t) => t != 0 && t < Sb.InodesCount;

    /// <summary>Pass 0: follow s_last_orphan through the dtimes (its inodes are released, not reported).</summary>
    private void CollectOrphanChain()
    {
        uint ino = Sb.LastOrphan;
        while (ino >= Sb.FirstIno && ino <= _v.InodesCount && _orphanChain.Add(ino)
            && _v.ReadInode(ino, out Ext2Dinode din) == Errno.OK)
        {
            ino = din.Dtime;
        }
    }

    private void CheckLowDtime(InodeWalk w)
    {
        Ext2Dinode din = w.Din;
        if (din.Dtime == 0 || din.Dtime >= Sb.InodesCount || !LowDtimeCheck)
        {
            return;
        }
        uint now = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (_orphanChain.Contains(w.Ino))
        {
            if (_repair && din.LinksCount == 0)
            {
                // Released with the list, as e2fsck's release_orphan_inodes stamps it.
                din.Dtime = now;
                w.Changed = true;
                return;
            }
            if (_repair)
            {
                return;
            }
        }
        Error(Pass1, Ino(w.Ino), $"dtime {din.Dtime} is below the inode count: the inode was on an orphan list; "
            + (din.LinksCount != 0 ? "dtime cleared" : "dtime set to now"));
        din.Dtime = din.LinksCount != 0 ? 0 : now;
        w.Changed = true;
    }
}
