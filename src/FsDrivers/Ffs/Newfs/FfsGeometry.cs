using System.Numerics;

namespace RumpFs.FsDrivers.Ffs.Newfs;

/// <summary>
/// The layout newfs chooses (NetBSD sbin/newfs/mkfs.c): block and fragment sizes, where the
/// superblock copy, cylinder-group block, inode table and data start in every group, how
/// many groups, fragments and inodes each holds, and the summary area. All counts are in
/// fragments unless named otherwise; every group starts its metadata at its first fragment
/// (fs_old_cgoffset 0), so cgstart is cgbase for UFS1 too.
/// </summary>
internal sealed class FfsGeometry
{
    /// <summary>SBLOCKSIZE: bytes reserved for a superblock.</summary>
    public const int SblockSize = 8192;

    /// <summary>SBLOCK_UFS1 and SBLOCK_UFS2: where each version keeps its superblock.</summary>
    public const int SblockUfs1 = 8192;
    public const int SblockUfs2 = 65536;

    /// <summary>minfree when none is given (FreeBSD's MINFREE; below it newfs optimises for space).</summary>
    public const int DefaultMinFree = 8;

    /// <summary>NFPI: one inode for every 4 fragments of data unless a density is given.</summary>
    private const int FragsPerInode = 4;

    /// <summary>MINCYLGRPS: make at least this many groups when the size allows.</summary>
    private const int MinCylGroups = 4;

    /// <summary>FS_MAXCONTIG: the longest run a cluster summary counts.</summary>
    private const int MaxContigLimit = 16;

    /// <summary>MAXPHYS: the largest transfer, which bounds fs_maxcontig blocks.</summary>
    private const int MaxPhys = 65536;

    /// <summary>sizeof(struct cg) as CGSIZE counts it (the header, padded to 8 bytes).</summary>
    private const int CgStructSize = 176;

    /// <summary>AVFILESIZ and AFPDIR: the expected file size and files per directory (dirpref).</summary>
    public const int AvgFileSize = 16384;
    public const int AvgFpdir = 64;

    private FfsGeometry(FfsFormatOptions o, int bsize, int fsize)
    {
        IsUfs2 = o.Version >= 2;
        HasExtAttrMagic = o.Version == 3;
        Order = o.BigEndian ? FfsByteOrder.Big : FfsByteOrder.Little;
        Bsize = bsize;
        Fsize = fsize;
        Frag = bsize / fsize;
        Bshift = BitOperations.Log2((uint)bsize);
        Fshift = BitOperations.Log2((uint)fsize);
        FragShift = BitOperations.Log2((uint)Frag);
        DinodeSize = IsUfs2 ? Ufs2Dinode.Size : Ufs1Dinode.Size;
        PointerSize = IsUfs2 ? 8 : 4;
        Inopb = bsize / DinodeSize;
        Nindir = bsize / PointerSize;
        SblockLoc = IsUfs2 ? SblockUfs2 : SblockUfs1;
        MinFree = o.MinFree;
        Optim = o.Optim ?? (o.MinFree < DefaultMinFree ? 1 : 0);
        MaxContig = Math.Max(1, MaxPhys / bsize);
        ContigSumSize = MaxContig > 1 ? Math.Min(MaxContig, MaxContigLimit) : 0;
        MaxBpg = bsize / PointerSize;
        Label = o.Label;
        Flags = o.PosixAcls ? FfsSuperblock.FlagPosix1eAcls : 0;
        // The first fragment past the boot area and primary superblock, rounded to a block;
        // then a superblock's worth of fragments for the group's copy; then the group block.
        Sblkno = (int)RoundUp(HowMany(SblockLoc + SblockSize, fsize), Frag);
        Cblkno = Sblkno + (int)RoundUp(HowMany(SblockSize, fsize), Frag);
        Iblkno = Cblkno + Frag;
        SbSize = (int)Math.Min(RoundUp(SuperblockFields.StructSize, fsize), SblockSize);
    }

    public bool IsUfs2 { get; }

    /// <summary>FFSv2ea (version=3, newfs -O 3): UFS2 under the magic that allows attribute areas.</summary>
    public bool HasExtAttrMagic { get; }

    /// <summary>fs_flags as newfs leaves them: FS_POSIX1EACLS when asked for, else none.</summary>
    public int Flags { get; }
    public FfsByteOrder Order { get; }
    public int Bsize { get; }
    public int Fsize { get; }
    public int Frag { get; }
    public int Bshift { get; }
    public int Fshift { get; }
    public int FragShift { get; }
    public int DinodeSize { get; }
    public int PointerSize { get; }
    public int Inopb { get; }
    public int Nindir { get; }
    public long SblockLoc { get; }
    public int MinFree { get; }
    public int Optim { get; }
    public int MaxContig { get; }
    public int ContigSumSize { get; }
    public int MaxBpg { get; }
    public string? Label { get; }
    public int Sblkno { get; }
    public int Cblkno { get; }
    public int Iblkno { get; }
    public int SbSize { get; }

    /// <summary>fs_size: fragments in the file system (whole blocks; see <see cref="Choose"/>).</summary>
    public long Size { get; private set; }
    public int Ncg { get; private set; }
    public int Fpg { get; private set; }
    public int Ipg { get; private set; }
    public int Dblkno { get; private set; }
    public int CgSize { get; private set; }
    public long CsAddr { get; private set; }
    public int CsSize { get; private set; }

    /// <summary>Fragments of the summary area.</summary>
    public int CsFrags => (int)HowMany(CsSize, Fsize);

    /// <summary>fs_dsize: fragments available for data (newfs's sum, before the root directory).</summary>
    public long Dsize => Size - Sblkno - ((long)Ncg * (Dblkno - Sblkno)) - CsFrags;

    /// <summary>Inode blocks written at newfs time in each group: all for UFS1, two for UFS2 (cg_initediblk).</summary>
    public int InitedIblk => IsUfs2 ? Math.Min(Ipg, 2 * Inopb) : Ipg;

    public long MaxFileSize
    {
        get
        {
            // Twelve direct blocks, then one, two and three levels of indirection.
            long max = ((long)Bsize * FfsSuperblock.NDAddr) - 1;
            long per = Bsize;
            for (int i = 0; i < FfsSuperblock.NIAddr; i++)
            {
                per = per > long.MaxValue / Nindir ? long.MaxValue : per * Nindir;
                max = max > long.MaxValue - per ? long.MaxValue : max + per;
            }
            return max;
        }
    }

    /// <summary>First fragment of group <paramref name="cg"/>.</summary>
    public long CgBase(int cg) => (long)Fpg * cg;

    /// <summary>Fragments in group <paramref name="cg"/> (cg_ndblk; the last may be short).</summary>
    public int CgFrags(int cg) => (int)Math.Min(Fpg, Size - CgBase(cg));

    // Offsets inside the group block, the same in every group (initcg).
    public int IusedOff => IsUfs2 ? CgFields.HeaderSize : CgFields.HeaderSize + OldBtotBytes + OldBBytes;
    public int FreeOff => IusedOff + (int)HowMany(Ipg, 8);
    public int ClusterSumOff => RoundUp(FreeOff + (int)HowMany(Fpg, 8) - 4, 4);
    public int ClusterOff => ClusterSumOff + ((ContigSumSize + 1) * 4);
    public int NextFreeOff => ContigSumSize > 0
        ? ClusterOff + (int)HowMany(Fpg >> FragShift, 8)
        : FreeOff + (int)HowMany(Fpg, 8);

    /// <summary>UFS1's per-cylinder tables (fs_old_cpg is 1): one int32 block total, one int16 count.</summary>
    public int OldBtotBytes => IsUfs2 ? 0 : 4;
    public int OldBBytes => IsUfs2 ? 0 : 2;

    /// <summary>
    /// The geometry for a device of <paramref name="deviceBytes"/>, or null with why not.
    /// Unlike newfs the size is rounded down to whole blocks, so that no group ends in a
    /// partial block (FfsCheck and the allocator count free space in whole blocks only).
    /// </summary>
    public static FfsGeometry? Choose(long deviceBytes, FfsFormatOptions o, out string? error)
    {
        (int bsize, int fsize) = DefaultSizes(deviceBytes, o);
        var g = new FfsGeometry(o, bsize, fsize);
        error = g.Layout(deviceBytes, o.Density ?? (FragsPerInode * fsize));
        return error is null ? g : null;
    }

    /// <summary>newfs's defaults: small images get small blocks; eight fragments a block.</summary>
    private static (int Bsize, int Fsize) DefaultSizes(long deviceBytes, FfsFormatOptions o)
    {
        if (o.Bsize is int b && o.Fsize is int f)
        {
            return (b, f);
        }
        int fsize = deviceBytes switch
        {
            < 20L << 20 => 512,
            < 1000L << 20 => 1024,
            < 64L << 30 => 2048,
            _ => 4096,
        };
        return (fsize * FfsSuperblock.MaxFrag, fsize);
    }

    private string? Layout(long deviceBytes, int density)
    {
        Size = deviceBytes / Bsize * Frag;
        if (!IsUfs2 && Size >= 1L << 31)
        {
            return $"{Size} fragments are too many for UFS1 (use version=2 or a larger fsize)";
        }
        // Room for the group's metadata, one inode block and two data blocks.
        if (Size < Iblkno + (3L * Frag))
        {
            return $"the device ({deviceBytes} bytes) is too small for bsize {Bsize}: at least {(Iblkno + (3L * Frag)) * Fsize} bytes";
        }

        // Inode blocks the whole device would get at this density (at least one fragment of
        // data per inode block, so that tiny densities still leave data space).
        long fragsPerInodeBlock = Math.Max(((long)density * Inopb) >> Fshift, 1);
        long inodeBlocks = Math.Max((Size - Iblkno) / (Frag + fragsPerInodeBlock), 1);
        inodeBlocks = Math.Min(inodeBlocks, ((Size - Iblkno) / Frag) - 2);
        inodeBlocks = Math.Min(inodeBlocks, ((1L << 31) - 8) / Inopb);

        // Assume the group block grows linearly with inodes and fragments: as few groups as
        // keep it within one block, but at least four when the size allows.
        long cgZero = CgSizeIf(0, 0);
        long cgAll = CgSizeIf(inodeBlocks * Inopb, Size);
        long ncg = HowMany(cgAll - cgZero, Bsize - cgZero - 1);
        if (ncg < MinCylGroups)
        {
            long fit = Size / 2 / (Iblkno + (inodeBlocks * Frag));
            ncg = Math.Min(Math.Min(Math.Max(ncg, fit), MinCylGroups), inodeBlocks);
        }
        ncg = Math.Max(ncg, 1);

        // Equal groups, rounded up to whole blocks; shrink them if the map would overflow.
        long fpg = RoundUp(HowMany(Size, ncg), Frag);
        long over = CgSizeIf(inodeBlocks * Inopb / ncg, fpg) - Bsize;
        if (over > 0)
        {
            fpg -= over * 8;
        }
        if (fpg < Iblkno + (3L * Frag) || fpg > int.MaxValue)
        {
            return $"no cylinder-group size fits bsize {Bsize} on {deviceBytes} bytes";
        }
        ncg = HowMany(Size, fpg);
        long ipb = Math.Max(inodeBlocks / ncg, 1);
        Fpg = (int)fpg;
        Ipg = (int)(ipb * Inopb);

        // A last group too short for its inode table is dropped (mkfs.c does the same).
        long last = Size - (fpg * (ncg - 1));
        if (last < Iblkno + (ipb * Frag))
        {
            ncg--;
            Size -= last;
        }
        if (ncg < 1 || ncg > int.MaxValue || (long)Ipg * ncg >= 1L << 32)
        {
            return $"bad cylinder-group count {ncg} for {deviceBytes} bytes";
        }
        Ncg = (int)ncg;
        long cgsize = CgSizeIf(Ipg, Fpg);
        if (cgsize > Bsize || NextFreeOff > cgsize)
        {
            return $"the cylinder-group map ({cgsize} bytes) does not fit in a {Bsize}-byte block";
        }
        CgSize = RoundUp((int)cgsize, Fsize);
        Dblkno = Iblkno + (int)(ipb * Frag);
        CsAddr = Dblkno;
        CsSize = RoundUp(Ncg * 16, Fsize);

        // Group 0 holds the summary area after its inodes, then needs a block for the root.
        long firstData = RoundUp(Dblkno + CsFrags, Frag);
        if (firstData + Frag > CgFrags(0))
        {
            return $"{Ncg} cylinder groups leave no room for the summary area and root directory in the first group";
        }
        if (Dsize <= 0)
        {
            return "no data space left after the metadata";
        }
        return null;
    }

    /// <summary>CGSIZE_IF: bytes of a group block for <paramref name="ipg"/> inodes and <paramref name="fpg"/> fragments.</summary>
    private long CgSizeIf(long ipg, long fpg) =>
        CgStructSize + 4 + OldBtotBytes + OldBBytes + HowMany(ipg, 8) + HowMany(fpg, 8)
        + (ContigSumSize > 0 ? (ContigSumSize * 4) + HowMany(fpg >> FragShift, 8) : 0);

    private static long HowMany(long x, long y) => (x + y - 1) / y;

    private static long RoundUp(long x, long y) => HowMany(x, y) * y;

    private static int RoundUp(int x, int y) => (x + y - 1) / y * y;
}
