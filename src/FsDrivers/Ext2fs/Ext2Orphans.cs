using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// The orphan list (s_last_orphan, chained through i_dtime): inodes unlinked while open, or
/// being truncated, when the system stopped. A read-write mount finishes their deletion.
/// </summary>
internal static class Ext2Orphans
{
    public static Errno Process(Ext2Mount m)
    {
        uint ino = m.Sb.LastOrphan;
        int guard = 0;
        while (ino != 0)
        {
            if (ino < m.Sb.FirstIno || ino > m.Sb.InodesCount || ++guard > 1_000_000)
            {
                KernelLog.CorruptionOnce(Ext2Mount.Subsystem, 0, $"bad orphan list entry {ino}");
                break;
            }
            Errno e = m.VGet(ino, out Vnode? vp);
            if (e != Errno.OK)
            {
                break;
            }
            var n = (Ext2Node)vp!;
            uint next;
            lock (n.Lock)
            {
                next = n.Din.Dtime;
                n.Din.Dtime = 0;
                if (n.Din.LinksCount != 0 && n.Type == VType.Regular)
                {
                    // A truncate in progress: finish it at the current size (Truncate to the
                    // same size would free nothing).
                    n.TruncateToSize();
                }
                n.MarkDirty();
            }
            vp!.Release();
            ino = next;
        }
        m.Sb.LastOrphan = 0;
        m.Sb.State &= unchecked((ushort)~Ext2Superblock.StateOrphans);
        return Errno.OK;
    }
}
