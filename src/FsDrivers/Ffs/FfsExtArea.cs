namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Where a UFS2 inode keeps its extended attributes: di_extsize bytes in at most
/// <see cref="FfsSuperblock.NXAddr"/> blocks (di_extb), the last of them only the fragments
/// its bytes need, as a small file's last block (sblksize). FreeBSD's UFS2 and NetBSD 10's
/// FFSv2ea write it; the blocks count in di_blocks, and the checker and the driver's release
/// of an inode must account for them even where the attributes themselves are not used.
/// </summary>
internal static class FfsExtArea
{
    /// <summary>The largest area: every extended-attribute block whole.</summary>
    public static int MaxSize(FfsSuperblock sb) => FfsSuperblock.NXAddr * sb.Bsize;

    /// <summary>Why the inode's area size is unusable, or null.</summary>
    public static string? SizeProblem(FfsSuperblock sb, FfsDinode d) =>
        d.ExtSize < 0 || d.ExtSize > MaxSize(sb)
            ? $"extended-attribute area of {d.ExtSize} bytes (at most {MaxSize(sb)})"
            : null;

    /// <summary>
    /// Fragments that block <paramref name="index"/> of an area of <paramref name="size"/>
    /// bytes holds: a whole block, the tail's fragments, or 0 past the end.
    /// </summary>
    public static int FragsOf(FfsSuperblock sb, int size, int index) =>
        (long)index << sb.Bshift >= size ? 0 : (int)sb.NumFrags(sb.SblkSize(size, index));

    /// <summary>True when the inode has an area or a pointer to one.</summary>
    public static bool Present(FfsDinode d) => d.ExtSize != 0 || Array.Exists(d.ExtB, p => p != 0);
}
