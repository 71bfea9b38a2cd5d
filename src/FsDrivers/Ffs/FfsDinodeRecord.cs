namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// An inode record in the layout and byte order the superblock names (UFS1 or UFS2): the one
/// choice between <see cref="Ufs1Dinode"/> and <see cref="Ufs2Dinode"/> that the driver, the
/// checker and the repair all make.
/// </summary>
internal static class FfsDinodeRecord
{
    public static void Decode(FfsSuperblock sb, ReadOnlySpan<byte> rec, FfsDinode d)
    {
        if (sb.IsUfs2)
        {
            Ufs2Dinode.Decode(rec, sb.Order, d, sb.MaxSymlinkLen);
        }
        else
        {
            Ufs1Dinode.Decode(rec, sb.Order, d, sb.MaxSymlinkLen);
        }
    }

    public static void Encode(FfsSuperblock sb, FfsDinode d, Span<byte> rec)
    {
        if (sb.IsUfs2)
        {
            Ufs2Dinode.Encode(d, rec, sb.Order);
        }
        else
        {
            Ufs1Dinode.Encode(d, rec, sb.Order);
        }
    }
}
