using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// The superblock values every reader must trust before it can find anything else: block
/// and inode sizes, group sizes, counts. One rule set for the driver's mount and the checker,
/// with e2fsck's limits (check_super_block): a value outside them makes e2fsck give up on
/// the superblock, so the driver refuses to mount it and the checker to repair it.
/// </summary>
internal static class Ext2SuperblockRules
{
    /// <summary>e2fsck's largest group-descriptor size (EXT2_MAX_DESC_SIZE).</summary>
    private const int MaxDescSize = 1024;

    /// <summary>Null when the superblock's geometry is usable, otherwise what is wrong.</summary>
    public static string? Problem(Ext2Superblock sb)
    {
        if (sb.MagicValue != Ext2Superblock.Magic)
        {
            return $"bad magic number 0x{sb.MagicValue:x4} in the superblock (not an ext2/3/4 file system)";
        }
        if (sb.RevLevel > 1)
        {
            return $"revision level {sb.RevLevel} is not supported";
        }
        if (sb.LogBlockSize > 6)
        {
            return $"block size 1024 << {sb.LogBlockSize} is out of range";
        }
        if ((sb.FeatureRoCompat & Ext2Features.RoBigalloc) != 0)
        {
            return "bigalloc (clusters larger than a block) is not supported";
        }
        if (sb.LogClusterSize != sb.LogBlockSize)
        {
            return $"cluster size (log {sb.LogClusterSize}) differs from the block size (log {sb.LogBlockSize}) without bigalloc";
        }
        if (sb.LogGroupsPerFlex > 31)
        {
            return $"log_groups_per_flex {sb.LogGroupsPerFlex} is out of range";
        }
        int bs = 1024 << (int)sb.LogBlockSize;
        int isz = sb.InodeSize;
        if (isz < Ext2Dinode.BaseSize || isz > bs || (isz & (isz - 1)) != 0)
        {
            return $"inode size {isz} is impossible";
        }
        uint maxPerGroup = 8u * (uint)bs;
        if (sb.BlocksPerGroup < 8 || sb.BlocksPerGroup > maxPerGroup)
        {
            return $"blocks per group {sb.BlocksPerGroup} is outside 8..{maxPerGroup}";
        }
        if (sb.ClustersPerGroup != sb.BlocksPerGroup)
        {
            return $"clusters per group {sb.ClustersPerGroup} differs from blocks per group {sb.BlocksPerGroup} without bigalloc";
        }
        if (sb.InodesPerGroup < (uint)(bs / isz) || sb.InodesPerGroup > maxPerGroup)
        {
            return $"inodes per group {sb.InodesPerGroup} is outside {bs / isz}..{maxPerGroup}";
        }
        uint firstData = bs == 1024 ? 1u : 0u;
        if (sb.FirstDataBlock != firstData || sb.BlocksCount <= sb.FirstDataBlock)
        {
            return $"first data block {sb.FirstDataBlock} (should be {firstData}) or block count {sb.BlocksCount} is impossible";
        }
        if (sb.ReservedBlocksCount > sb.BlocksCount / 2)
        {
            return $"reserved block count {sb.ReservedBlocksCount} is more than half of the {sb.BlocksCount} blocks";
        }
        if (sb.ReservedGdtBlocks > bs / 4)
        {
            return $"reserved descriptor blocks {sb.ReservedGdtBlocks} are more than one indirect block maps ({bs / 4})";
        }
        ulong groups = (sb.BlocksCount - sb.FirstDataBlock + sb.BlocksPerGroup - 1) / sb.BlocksPerGroup;
        if (groups * sb.InodesPerGroup != sb.InodesCount)
        {
            return $"inode count {sb.InodesCount} is not {groups} groups of {sb.InodesPerGroup}";
        }
        int stored = sb.StoredDescSize;
        if (stored > MaxDescSize || (stored & (stored - 1)) != 0 || (sb.Is64Bit && stored < Ext2GroupDescriptor.Size64))
        {
            // e2fsck checks the field as a power of two even when 64bit does not use it.
            return $"group descriptor size {stored} is impossible";
        }
        if (sb.FirstIno < 11 || sb.FirstIno > sb.InodesCount)
        {
            return $"first inode {sb.FirstIno} is impossible";
        }
        return null;
    }
}
