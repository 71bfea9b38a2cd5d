namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>
/// Where a block group's superblock and descriptor copies sit (sparse_super, sparse_super2,
/// meta_bg): the rules mke2fs, e2fsck and the kernel share, used by the driver and by the
/// checker alike so that the two can never disagree on them.
/// </summary>
internal static class Ext2GroupLayout
{
    public static ulong GroupFirstBlock(Ext2Superblock sb, uint g) => sb.FirstDataBlock + ((ulong)g * sb.BlocksPerGroup);

    /// <summary>True when group <paramref name="g"/> holds a superblock copy.</summary>
    public static bool HasSuper(Ext2Superblock sb, uint g)
    {
        if (g == 0)
        {
            return true;
        }
        if ((sb.FeatureCompat & Ext2Features.CompatSparseSuper2) != 0)
        {
            return g == sb.BackupBg(0) || g == sb.BackupBg(1);
        }
        if ((sb.FeatureRoCompat & Ext2Features.RoSparseSuper) == 0 || g == 1)
        {
            return true;
        }
        return IsPowerOf(g, 3) || IsPowerOf(g, 5) || IsPowerOf(g, 7);
    }

    private static bool IsPowerOf(uint g, uint b)
    {
        ulong n = b;
        while (n < g)
        {
            n *= b;
        }
        return n == g;
    }

    private static bool MetaBg(Ext2Superblock sb) => (sb.FeatureIncompat & Ext2Features.IncompatMetaBg) != 0;

    /// <summary>Block number of descriptor block <paramref name="i"/> of the primary table.</summary>
    public static ulong GdtBlock(Ext2Superblock sb, int descPerBlock, uint i)
    {
        if (!MetaBg(sb) || i < sb.FirstMetaBg)
        {
            return sb.FirstDataBlock + 1 + i;
        }
        uint g = i * (uint)descPerBlock;
        return GroupFirstBlock(sb, g) + (HasSuper(sb, g) ? 1u : 0u);
    }

    /// <summary>
    /// Blocks at the start of group <paramref name="g"/> taken by the superblock and descriptor
    /// copies (with <paramref name="gdtBlocks"/> blocks in the whole descriptor table).
    /// </summary>
    public static uint SuperAndGdtBlocks(Ext2Superblock sb, int descPerBlock, uint gdtBlocks, uint g)
    {
        uint n = HasSuper(sb, g) ? 1u : 0u;
        if (!MetaBg(sb))
        {
            return n == 0 ? 0 : n + gdtBlocks + sb.ReservedGdtBlocks;
        }
        uint metaGroup = g / (uint)descPerBlock;
        if (metaGroup < sb.FirstMetaBg)
        {
            return n == 0 ? 0 : n + sb.FirstMetaBg + sb.ReservedGdtBlocks;
        }
        uint r = g % (uint)descPerBlock;
        if (r == 0 || r == 1 || r == (uint)descPerBlock - 1)
        {
            n++;
        }
        return n;
    }
}
