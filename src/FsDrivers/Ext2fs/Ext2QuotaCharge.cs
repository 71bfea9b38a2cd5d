using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Whom an inode is charged to in the quota files, and for how much space: its uid, gid and
/// project id, one inode and the bytes of its i_blocks. The rule e2fsck and the kernel share:
/// an inode in use charges, except the reserved ones (the root aside), the project quota
/// file, the orphan file and inodes holding an extended attribute's value.
/// </summary>
internal readonly record struct Ext2QuotaCharge(uint Uid, uint Gid, uint Project, ulong Space)
{
    /// <summary>EXT4_EA_INODE_FL.</summary>
    private const uint FlagEaInode = 0x200000;

    private const uint RootIno = 2;

    /// <summary>The charge of inode <paramref name="ino"/> as <paramref name="din"/> holds it; null when it charges no one.</summary>
    public static Ext2QuotaCharge? Of(Ext2Superblock sb, uint ino, Ext2Dinode din)
    {
        if (din.LinksCount == 0 || din.Mode == 0 || (ino < sb.FirstIno && ino != RootIno)
            || ino == sb.QuotaInum(2) || ino == sb.OrphanFileInum || (din.Flags & FlagEaInode) != 0)
        {
            return null;
        }
        bool fsUnits = (sb.FeatureRoCompat & Ext2Features.RoHugeFile) != 0 && (din.Flags & Ext2Dinode.FlagHugeFile) != 0;
        ulong space = fsUnits ? din.BlocksRaw << (10 + (int)sb.LogBlockSize) : din.BlocksRaw * 512;
        // Project ids exist only in large inodes whose extra fields reach i_projid.
        uint project = sb.InodeSize > Ext2Dinode.BaseSize && din.HasExtra(Ext2Dinode.Off.Projid + 4) ? din.ProjectId : 0;
        return new Ext2QuotaCharge(din.Uid, din.Gid, project, space);
    }

    /// <summary>Project quotas are kept only where inodes can hold a project id (over 128 bytes).</summary>
    public static bool ProjectsKept(Ext2Superblock sb) => sb.InodeSize > Ext2Dinode.BaseSize;

    /// <summary>The id charged in quota <paramref name="type"/> (0 user, 1 group, 2 project).</summary>
    public uint IdOf(int type) => type switch { 0 => Uid, 1 => Gid, _ => Project };
}
