using System.Numerics;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Finds and validates the superblock before anything uses it (ffs_mountfs's checks and
/// more): every size, ratio, count and offset is checked against the others and against
/// the device, so that later arithmetic on them can never leave the device.
/// </summary>
internal static class FfsSuperblockCheck
{
    /// <summary>
    /// Where NetBSD looks (SBLOCKSEARCH); 8192 first, because makefs puts both UFS1 and
    /// UFS2 there and a UFS1 backup copy may sit at 65536.
    /// </summary>
    public static readonly long[] Locations = [8192, 65536, 262144];

    /// <summary>SBLOCKSIZE: bytes read at each location.</summary>
    public const int ReadSize = 8192;

    /// <summary>Probe the standard locations; the first superblock with a known magic, decoded, or null.</summary>
    public static FfsSuperblock? Find(Kernel.Devices.IBlockDevice device, out string? why)
    {
        why = "no FFS superblock (bad magic at 8192, 65536 and 262144)";
        byte[] buf = new byte[ReadSize];
        foreach (long loc in Locations)
        {
            if (loc + ReadSize > device.Length || device.Read(loc, buf) != Kernel.Errno.OK)
            {
                continue;
            }
            FfsByteOrder? order = OrderOf(buf);
            if (order is null)
            {
                continue;
            }
            var sb = new FfsSuperblock((byte[])buf.Clone(), order, loc);
            // A current superblock names its own location; one found elsewhere is a backup
            // copy (or stale), not the file system's (ffs_mountfs).
            bool recordsLocation = sb.IsUfs2 || (sb.OldFlags & FfsSuperblock.OldFlagsUpdated) != 0;
            if (recordsLocation && sb.SblockLoc != loc && !(loc == 8192 && sb.SblockLoc == 0))
            {
                why = $"superblock at {loc} records location {sb.SblockLoc}";
                continue;
            }
            return sb;
        }
        return null;
    }

    private static FfsByteOrder? OrderOf(ReadOnlySpan<byte> b)
    {
        foreach (FfsByteOrder o in new[] { FfsByteOrder.Little, FfsByteOrder.Big })
        {
            int m = o.I32(b, SuperblockFields.Magic);
            if (m is FfsSuperblock.Ufs1Magic or FfsSuperblock.Ufs2Magic or FfsSuperblock.Ufs2EaMagic)
            {
                return o;
            }
        }
        return null;
    }

    /// <summary>Null when the geometry is sound for a device of <paramref name="deviceLength"/> bytes, else why not.</summary>
    public static string? Validate(FfsSuperblock sb, long deviceLength)
    {
        if (!IsPow2(sb.Bsize) || sb.Bsize < 4096 || sb.Bsize > 65536)
        {
            return $"bad block size {sb.Bsize}";
        }
        if (!IsPow2(sb.Fsize) || sb.Fsize < 512 || sb.Fsize > sb.Bsize)
        {
            return $"bad fragment size {sb.Fsize}";
        }
        if (sb.Frag != sb.Bsize / sb.Fsize || sb.Frag > FfsSuperblock.MaxFrag)
        {
            return $"bad fragments per block {sb.Frag} for {sb.Bsize}/{sb.Fsize}";
        }
        if (sb.Bshift != Log2(sb.Bsize) || sb.Fshift != Log2(sb.Fsize) || sb.FragShift != Log2(sb.Frag))
        {
            return "block/fragment shifts disagree with the sizes";
        }
        if (sb.SbSize < SuperblockFields.StructSize || sb.SbSize > ReadSize || sb.SbSize % 512 != 0)
        {
            return $"bad superblock size {sb.SbSize}";
        }
        if (sb.Inopb != sb.Bsize / sb.DinodeSize || sb.Nindir != sb.Bsize / sb.PointerSize)
        {
            return "inodes or pointers per block disagree with the block size";
        }
        if (sb.Ncg < 1 || sb.Ipg < sb.Inopb || sb.Ipg % sb.Inopb != 0 || sb.Fpg < sb.Frag || sb.Fpg % sb.Frag != 0)
        {
            return $"bad cylinder-group geometry (ncg {sb.Ncg}, ipg {sb.Ipg}, fpg {sb.Fpg})";
        }
        if (sb.TotalInodes > uint.MaxValue)
        {
            return "too many inodes";
        }
        if (sb.Size <= 0 || sb.Size > (long)sb.Ncg * sb.Fpg || sb.Size <= (long)(sb.Ncg - 1) * sb.Fpg)
        {
            return $"file-system size {sb.Size} does not match {sb.Ncg} cylinder groups of {sb.Fpg} fragments";
        }
        // With one group the check above holds for any fs_fpg, yet the group's maps are
        // sized from it. newfs makes a lone group at most the size rounded up to a block.
        if ((long)sb.Fpg - sb.Size >= sb.Frag)
        {
            return $"a cylinder group of {sb.Fpg} fragments is larger than the file system ({sb.Size} fragments)";
        }
        if (sb.Size > deviceLength >> sb.Fshift)
        {
            return $"file system ({sb.Size * (long)sb.Fsize} bytes) larger than the device ({deviceLength} bytes)";
        }
        if (sb.Dsize <= 0 || sb.Dsize > sb.Size)
        {
            return $"bad data size {sb.Dsize}";
        }
        if (!(sb.Sblkno >= 0 && sb.Sblkno < sb.Cblkno && sb.Cblkno < sb.Iblkno && sb.Iblkno < sb.Dblkno && sb.Dblkno <= sb.Fpg))
        {
            return "bad cylinder-group layout (sblkno/cblkno/iblkno/dblkno)";
        }
        if ((long)sb.Iblkno + ((long)sb.Ipg / sb.Inopb * sb.Frag) > sb.Dblkno)
        {
            return "inode table overlaps the data area";
        }
        if (sb.CgSize < CgFields.HeaderSize || sb.CgSize > (long)(sb.Iblkno - sb.Cblkno) * sb.Fsize)
        {
            return $"bad cylinder-group size {sb.CgSize}";
        }
        // The maps every group holds (CGSIZE) must fit its block: ffs_superblock_validate
        // refuses the mount otherwise, and fsck_ffs's pass 5 would lay its new group's maps
        // out past the end of a group buffer of fs_cgsize bytes.
        long mapsEnd = FfsCylinderGroupHeader.Layout(sb).NextFreeOff;
        if (mapsEnd > sb.CgSize)
        {
            return $"cylinder-group size {sb.CgSize} too small for its maps ({mapsEnd} bytes)";
        }
        if (!sb.IsUfs2 && (sb.OldCgOffset < 0 || sb.OldCgOffset > sb.Fpg))
        {
            return $"bad cylinder-group offset {sb.OldCgOffset}";
        }
        for (int cg = 0; cg < sb.Ncg; cg++)
        {
            if (sb.CgDMin(cg) > sb.CgBase(cg) + sb.CgFrags(cg))
            {
                return $"cylinder group {cg} has no room for its metadata";
            }
        }
        if (sb.CsSize < sb.Ncg * 16L || sb.CsAddr < 0 || sb.CsAddr + sb.NumFrags(sb.CsSize) > sb.Size)
        {
            return $"bad cylinder-group summary area ({sb.CsSize} bytes at fragment {sb.CsAddr})";
        }
        int pointerArea = sb.IsUfs2 ? Ufs2Dinode.PointerArea : Ufs1Dinode.PointerArea;
        if (sb.MaxSymlinkLen < 0 || sb.MaxSymlinkLen > pointerArea)
        {
            return $"bad maximum fast symlink length {sb.MaxSymlinkLen}";
        }
        if (sb.MinFree < 0 || sb.MinFree > 99)
        {
            return $"bad minfree {sb.MinFree}%";
        }
        if (sb.ContigSumSize < 0 || sb.ContigSumSize > 16)
        {
            return $"bad cluster summary size {sb.ContigSumSize}";
        }
        if (sb.NbFree < 0 || sb.NfFree < 0 || sb.NiFree < 0 || sb.NDir < 0 || sb.NiFree > sb.TotalInodes)
        {
            return "negative or impossible summary counts";
        }
        return null;
    }

    private static bool IsPow2(int v) => v > 0 && (v & (v - 1)) == 0;

    private static int Log2(int v) => v > 0 ? BitOperations.Log2((uint)v) : -1;
}
