namespace RumpFs.FsDrivers.Ffs;

/// <summary>Byte offsets of the fields of struct fs (NetBSD sys/ufs/ffs/fs.h) that we use.</summary>
internal static class SuperblockFields
{
    public const int Sblkno = 8;
    public const int Cblkno = 12;
    public const int Iblkno = 16;
    public const int Dblkno = 20;
    public const int OldCgOffset = 24;
    public const int OldCgMask = 28;
    public const int OldTime = 32;
    public const int OldSize = 36;
    public const int OldDsize = 40;
    public const int Ncg = 44;
    public const int Bsize = 48;
    public const int Fsize = 52;
    public const int Frag = 56;
    public const int MinFree = 60;
    public const int Bmask = 72;
    public const int Fmask = 76;
    public const int Bshift = 80;
    public const int Fshift = 84;
    public const int MaxContig = 88;
    public const int MaxBpg = 92;
    public const int FragShift = 96;
    public const int FsbToDb = 100;
    public const int SbSize = 104;
    public const int Nindir = 116;
    public const int Inopb = 120;
    public const int Optim = 128;
    public const int Id = 144;
    public const int OldCsAddr = 152;
    public const int CsSize = 156;
    public const int CgSize = 160;
    public const int OldNcyl = 176;
    public const int OldCpg = 180;
    public const int Ipg = 184;
    public const int Fpg = 188;
    /// <summary>struct csum (ndir, nbfree, nifree, nffree as int32): UFS1's totals.</summary>
    public const int OldCsTotal = 192;
    public const int Fmod = 208;
    public const int Clean = 209;
    public const int Ronly = 210;
    public const int OldFlags = 211;
    public const int FsMnt = 212;
    public const int FsMntLength = 468;
    public const int VolName = 680;
    public const int VolNameLength = 32;
    public const int CgRotor = 724;
    public const int MaxBsize = 860;
    /// <summary>fs_journal_version, fs_journal_location (one byte each), fs_journal_flags, fs_journallocs[4] (int64).</summary>
    public const int JournalVersion = 864;
    public const int JournalLocation = 865;
    public const int JournalFlags = 868;
    public const int JournalLocs = 872;
    public const int SblockLoc = 1000;
    /// <summary>struct csum_total (ndir, nbfree, nifree, nffree, numclusters, spare[3] as int64).</summary>
    public const int CsTotal = 1008;
    public const int Time = 1072;
    public const int Size = 1080;
    public const int Dsize = 1088;
    public const int CsAddr = 1096;
    public const int PendingBlocks = 1104;
    public const int PendingInodes = 1112;
    public const int AvgFileSize = 1196;
    public const int AvgFpdir = 1200;
    public const int Flags = 1312;
    public const int ContigSumSize = 1316;
    public const int MaxSymlinkLen = 1320;
    public const int OldInodeFmt = 1324;
    public const int MaxFileSize = 1328;
    public const int OldNrpos = 1360;
    public const int Magic = 1372;
    /// <summary>sizeof(struct fs).</summary>
    public const int StructSize = 1376;
}

/// <summary>
/// The FFS superblock (struct fs): decoded once from its bytes in the image's byte order;
/// the live counters are written back through <see cref="Encode"/>. Geometry helpers follow
/// the macros of fs.h (cgbase, cgimin, ino_to_fsba, ...), in fragments unless named otherwise.
/// </summary>
internal sealed class FfsSuperblock
{
    public const int Ufs1Magic = 0x011954;
    public const int Ufs2Magic = 0x19540119;

    /// <summary>
    /// NetBSD 10's FFSv2ea (newfs -O 3): UFS2 whose inodes may carry an extended-attribute
    /// area (di_extsize, di_extb), under a magic of its own so that older kernels, which
    /// would leak those blocks, refuse it. The layout is UFS2's.
    /// </summary>
    public const int Ufs2EaMagic = 0x19012038;
    public const int MaxFrag = 8;
    public const int NDAddr = 12;
    public const int NIAddr = 3;

    /// <summary>UFS2 extended-attribute area blocks per inode (UFS_NXADDR).</summary>
    public const int NXAddr = 2;
    public const int RootIno = 2;
    public const int DirBlkSiz = 512;

    // fs_flags.
    public const int FlagUnclean = 0x01;
    public const int FlagSoftDep = 0x02;
    public const int FlagNeedsFsck = 0x04;

    /// <summary>FS_POSIX1EACLS (FS_ACLS): POSIX.1e ACLs administratively on (tunefs -p enable).</summary>
    public const int FlagPosix1eAcls = 0x10;
    public const int FlagWapbl = 0x100;
    public const int FlagQuota2 = 0x200;

    /// <summary>FS_NFS4ACLS (NetBSD's value; FreeBSD's is 0x100): NFSv4 ACLs on, which exclude POSIX.1e ones.</summary>
    public const int FlagNfs4Acls = 0x800;

    /// <summary>fs_old_flags: fs_flags holds the flags.</summary>
    public const int OldFlagsUpdated = 0x80;

    // fs_clean.
    public const byte IsClean = 0x01;
    public const byte WasClean = 0x02;

    /// <summary>fs_old_inodefmt value of 4.4BSD and later (entries carry d_type).</summary>
    public const int InodeFmt44 = 2;

    private readonly byte[] _raw;

    public FfsSuperblock(byte[] raw, FfsByteOrder order, long location)
    {
        _raw = raw;
        Order = order;
        Location = location;
        ReadOnlySpan<byte> b = raw;
        Magic = order.I32(b, SuperblockFields.Magic);
        IsUfs2 = Magic is Ufs2Magic or Ufs2EaMagic;
        Sblkno = order.I32(b, SuperblockFields.Sblkno);
        Cblkno = order.I32(b, SuperblockFields.Cblkno);
        Iblkno = order.I32(b, SuperblockFields.Iblkno);
        Dblkno = order.I32(b, SuperblockFields.Dblkno);
        OldCgOffset = order.I32(b, SuperblockFields.OldCgOffset);
        OldCgMask = order.I32(b, SuperblockFields.OldCgMask);
        Ncg = order.I32(b, SuperblockFields.Ncg);
        Bsize = order.I32(b, SuperblockFields.Bsize);
        Fsize = order.I32(b, SuperblockFields.Fsize);
        Frag = order.I32(b, SuperblockFields.Frag);
        MinFree = order.I32(b, SuperblockFields.MinFree);
        Bshift = order.I32(b, SuperblockFields.Bshift);
        Fshift = order.I32(b, SuperblockFields.Fshift);
        MaxContig = order.I32(b, SuperblockFields.MaxContig);
        MaxBpg = order.I32(b, SuperblockFields.MaxBpg);
        FragShift = order.I32(b, SuperblockFields.FragShift);
        SbSize = order.I32(b, SuperblockFields.SbSize);
        Nindir = order.I32(b, SuperblockFields.Nindir);
        Inopb = order.I32(b, SuperblockFields.Inopb);
        CsSize = order.I32(b, SuperblockFields.CsSize);
        CgSize = order.I32(b, SuperblockFields.CgSize);
        Ipg = order.I32(b, SuperblockFields.Ipg);
        Fpg = order.I32(b, SuperblockFields.Fpg);
        Clean = b[SuperblockFields.Clean];
        OldFlags = b[SuperblockFields.OldFlags];
        // A UFS1 superblock not yet converted by a 4.4BSD-Lite2 kernel keeps its flags in
        // fs_old_flags (ffs_oldfscompat_read).
        Flags = IsUfs2 || (OldFlags & OldFlagsUpdated) != 0
            ? order.I32(b, SuperblockFields.Flags)
            : OldFlags & ~OldFlagsUpdated;
        ContigSumSize = order.I32(b, SuperblockFields.ContigSumSize);
        OldNcyl = order.I32(b, SuperblockFields.OldNcyl);
        OldCpg = order.I32(b, SuperblockFields.OldCpg);
        OldNrpos = order.I32(b, SuperblockFields.OldNrpos);
        MaxSymlinkLen = order.I32(b, SuperblockFields.MaxSymlinkLen);
        OldInodeFmt = order.I32(b, SuperblockFields.OldInodeFmt);
        DiskMaxFileSize = order.I64(b, SuperblockFields.MaxFileSize);
        AvgFileSize = order.I32(b, SuperblockFields.AvgFileSize);
        AvgFpdir = order.I32(b, SuperblockFields.AvgFpdir);
        SblockLoc = order.I64(b, SuperblockFields.SblockLoc);
        FsId = (ulong)order.U32(b, SuperblockFields.Id) << 32 | order.U32(b, SuperblockFields.Id + 4);
        if (IsUfs2)
        {
            Size = order.I64(b, SuperblockFields.Size);
            Dsize = order.I64(b, SuperblockFields.Dsize);
            CsAddr = order.I64(b, SuperblockFields.CsAddr);
            Time = order.I64(b, SuperblockFields.Time);
            NDir = order.I64(b, SuperblockFields.CsTotal);
            NbFree = order.I64(b, SuperblockFields.CsTotal + 8);
            NiFree = order.I64(b, SuperblockFields.CsTotal + 16);
            NfFree = order.I64(b, SuperblockFields.CsTotal + 24);
        }
        else
        {
            // UFS1 keeps the 32-bit fields authoritative (ffs_oldfscompat_read).
            Size = order.I32(b, SuperblockFields.OldSize);
            Dsize = order.I32(b, SuperblockFields.OldDsize);
            CsAddr = order.I32(b, SuperblockFields.OldCsAddr);
            Time = order.I32(b, SuperblockFields.OldTime);
            NDir = order.I32(b, SuperblockFields.OldCsTotal);
            NbFree = order.I32(b, SuperblockFields.OldCsTotal + 4);
            NiFree = order.I32(b, SuperblockFields.OldCsTotal + 8);
            NfFree = order.I32(b, SuperblockFields.OldCsTotal + 12);
        }
    }

    public FfsByteOrder Order { get; }

    /// <summary>Byte offset on the device where this superblock was found.</summary>
    public long Location { get; }

    public int Magic { get; }
    public bool IsUfs2 { get; }
    public int Sblkno { get; }
    public int Cblkno { get; }
    public int Iblkno { get; }
    public int Dblkno { get; }
    public int OldCgOffset { get; }
    public int OldCgMask { get; }
    public int Ncg { get; }
    public int Bsize { get; }
    public int Fsize { get; }
    public int Frag { get; }
    public int MinFree { get; }
    public int Bshift { get; }
    public int Fshift { get; }
    public int MaxContig { get; }
    public int MaxBpg { get; }
    public int FragShift { get; }
    public int SbSize { get; }
    public int Nindir { get; }
    public int Inopb { get; }
    public int CsSize { get; }
    public int CgSize { get; }
    public int Ipg { get; }
    public int Fpg { get; }
    public int Flags { get; private set; }
    public byte OldFlags { get; }
    public int ContigSumSize { get; }

    /// <summary>UFS1's cylinder geometry (fs_old_ncyl, fs_old_cpg, fs_old_nrpos): it sizes the old rotational tables in each group.</summary>
    public int OldNcyl { get; }
    public int OldCpg { get; }
    public int OldNrpos { get; }
    public int MaxSymlinkLen { get; }
    public int OldInodeFmt { get; }

    /// <summary>
    /// fs_maxfilesize as the superblock stores it. Only the checker reads it (against
    /// <see cref="SetupMaxFileSize"/>) and sets it right; nothing else trusts it.
    /// </summary>
    public long DiskMaxFileSize { get; set; }
    public int AvgFileSize { get; }
    public int AvgFpdir { get; }
    public long SblockLoc { get; }
    public ulong FsId { get; }
    public long Size { get; }
    public long Dsize { get; }
    public long CsAddr { get; }

    // Live state, under the mount's allocation lock.
    public byte Clean { get; set; }
    public long Time { get; set; }
    public long NDir { get; set; }
    public long NbFree { get; set; }
    public long NiFree { get; set; }
    public long NfFree { get; set; }

    /// <summary>Size of an on-disk inode: 128 bytes (UFS1) or 256 (UFS2).</summary>
    public int DinodeSize => IsUfs2 ? Ufs2Dinode.Size : Ufs1Dinode.Size;

    /// <summary>Bytes of a block pointer in inodes and indirect blocks.</summary>
    public int PointerSize => IsUfs2 ? 8 : 4;

    /// <summary>True for 4.4BSD directories (entries carry d_type).</summary>
    public bool HasDirentTypes => IsUfs2 || OldInodeFmt >= InodeFmt44;

    /// <summary>
    /// The largest size a file may have: fs_maxfilesize as fsck_ffs's setup computes it from
    /// the block size (<see cref="SetupMaxFileSize"/>; it replaces a different on-disk value,
    /// so that field is not trusted here), and on UFS1 no more than the 2^31 blocks less one
    /// byte ffs_mountfs allows. The checker clears an inode above it and the driver refuses
    /// to load one, so both agree.
    /// </summary>
    public long MaxFileSize => IsUfs2 ? SetupMaxFileSize : Math.Min(SetupMaxFileSize, (0x80000000L * Bsize) - 1);

    /// <summary>
    /// fs_maxfilesize as fsck_ffs's setup computes it and newfs writes it: twelve direct
    /// blocks and three levels of indirection, less one byte (UFS1 too, without the kernel's
    /// cap, which lives only in memory).
    /// </summary>
    public long SetupMaxFileSize
    {
        get
        {
            long max = ((long)Bsize * NDAddr) - 1;
            long per = Bsize;
            for (int i = 0; i < NIAddr; i++)
            {
                per = per > long.MaxValue / Math.Max(Nindir, 1) ? long.MaxValue : per * Nindir;
                max = max > long.MaxValue - per ? long.MaxValue : max + per;
            }
            return max;
        }
    }

    /// <summary>fsck_ffs checks fs_maxfilesize only where the field exists: UFS2, and UFS1 of the 4.4BSD inode format.</summary>
    public bool HasMaxFileSize => IsUfs2 || OldInodeFmt >= InodeFmt44;

    public string VolumeName => System.Text.Encoding.UTF8.GetString(
        _raw.AsSpan(SuperblockFields.VolName, SuperblockFields.VolNameLength)).TrimEnd('\0');

    public string LastMountPoint => System.Text.Encoding.UTF8.GetString(
        _raw.AsSpan(SuperblockFields.FsMnt, SuperblockFields.FsMntLength)).Split('\0')[0];

    // ---- Geometry (fs.h macros). -----------------------------------------------------

    /// <summary>First fragment of cylinder group <paramref name="cg"/> (cgbase).</summary>
    public long CgBase(int cg) => (long)Fpg * cg;

    /// <summary>Where cylinder group metadata starts (cgstart: UFS1 staggers it).</summary>
    public long CgStart(int cg) =>
        IsUfs2 ? CgBase(cg) : CgBase(cg) + (long)OldCgOffset * (cg & ~OldCgMask);

    /// <summary>Fragment of the cylinder-group block (cgtod).</summary>
    public long CgTod(int cg) => CgStart(cg) + Cblkno;

    /// <summary>First inode-table fragment (cgimin).</summary>
    public long CgIMin(int cg) => CgStart(cg) + Iblkno;

    /// <summary>First data fragment after the metadata (cgdmin).</summary>
    public long CgDMin(int cg) => CgStart(cg) + Dblkno;

    /// <summary>Fragments in cylinder group <paramref name="cg"/> (the last may be short).</summary>
    public int CgFrags(int cg) => (int)Math.Min(Fpg, Size - CgBase(cg));

    public int InoToCg(ulong ino) => (int)(ino / (ulong)Ipg);

    /// <summary>Fragment address of the inode block holding <paramref name="ino"/>.</summary>
    public long InoToFsba(ulong ino) =>
        CgIMin(InoToCg(ino)) + ((long)(ino % (ulong)Ipg) / Inopb << FragShift);

    /// <summary>Index of <paramref name="ino"/> within its inode block.</summary>
    public int InoToFsbo(ulong ino) => (int)(ino % (ulong)Inopb);

    public int DtoG(long frag) => (int)(frag / Fpg);

    public long FragToBytes(long frag) => frag << Fshift;

    /// <summary>Bytes rounded up to whole fragments.</summary>
    public long FragRoundUp(long bytes) => (bytes + Fsize - 1) & ~(long)(Fsize - 1);

    public long NumFrags(long bytes) => FragRoundUp(bytes) >> Fshift;

    /// <summary>
    /// Bytes of logical block <paramref name="lbn"/> of something <paramref name="size"/>
    /// bytes long (sblksize): a whole block, except a last direct block, which holds only
    /// the fragments its bytes need. For data blocks and the extended-attribute area alike.
    /// </summary>
    public int SblkSize(long size, long lbn) =>
        lbn >= NDAddr || size >= (lbn + 1) << Bshift ? Bsize : (int)FragRoundUp(BlkOff(size));

    /// <summary>Byte offset within a block (blkoff).</summary>
    public int BlkOff(long bytes) => (int)(bytes & (Bsize - 1));

    /// <summary>Logical block number of a byte offset (lblkno).</summary>
    public long LblkNo(long bytes) => bytes >> Bshift;

    /// <summary>Total inodes (ncg * ipg).</summary>
    public long TotalInodes => (long)Ncg * Ipg;

    /// <summary>Free fragments counted as fs.h's freespace(fs, 0) does.</summary>
    public long FreeFrags => (NbFree << FragShift) + NfFree;

    /// <summary>Write the mutable fields back into a copy of the superblock bytes.</summary>
    public byte[] Encode()
    {
        byte[] b = (byte[])_raw.Clone();
        Span<byte> s = b;
        s[SuperblockFields.Clean] = Clean;
        s[SuperblockFields.Fmod] = 0;
        if (IsUfs2)
        {
            Order.W64(s, SuperblockFields.Time, Time);
        }
        Order.W32(s, SuperblockFields.OldTime, (int)Time);
        Order.W64(s, SuperblockFields.CsTotal, NDir);
        Order.W64(s, SuperblockFields.CsTotal + 8, NbFree);
        Order.W64(s, SuperblockFields.CsTotal + 16, NiFree);
        Order.W64(s, SuperblockFields.CsTotal + 24, NfFree);
        Order.W32(s, SuperblockFields.OldCsTotal, (int)NDir);
        Order.W32(s, SuperblockFields.OldCsTotal + 4, (int)NbFree);
        Order.W32(s, SuperblockFields.OldCsTotal + 8, (int)NiFree);
        Order.W32(s, SuperblockFields.OldCsTotal + 12, (int)NfFree);
        if (HasMaxFileSize)
        {
            Order.W64(s, SuperblockFields.MaxFileSize, DiskMaxFileSize);
        }
        return b;
    }

    public byte[] Raw => _raw;

    /// <summary>fs_journal_version: 1 when a WAPBL log location is recorded.</summary>
    public byte JournalVersion => _raw[SuperblockFields.JournalVersion];

    /// <summary>fs_journal_location: where the WAPBL log is (end of partition, in the file system).</summary>
    public byte JournalLocation => _raw[SuperblockFields.JournalLocation];

    /// <summary>fs_journallocs[<paramref name="i"/>]: the log's address, size, block size and inode.</summary>
    public long JournalLoc(int i) => Order.I64(_raw, SuperblockFields.JournalLocs + (8 * i));

    /// <summary>
    /// The inode holding an in-file-system WAPBL log, or 0. No directory names it: the
    /// superblock does, so checkers count that as its one link.
    /// </summary>
    public ulong LogInode =>
        JournalVersion == FfsWapblLayout.Version && JournalLocation == FfsWapblLayout.LocationInFileSystem
        && JournalLoc(FfsWapblLayout.LocInode) is > RootIno and var ino && ino < TotalInodes
            ? (ulong)ino : 0;

    /// <summary>
    /// Clear <paramref name="flags"/> in fs_flags, in memory and in the bytes <see cref="Encode"/>
    /// writes (fs_old_flags on a UFS1 superblock that keeps them there).
    /// </summary>
    public void ClearFlags(int flags)
    {
        Flags &= ~flags;
        if (IsUfs2 || (OldFlags & OldFlagsUpdated) != 0)
        {
            Order.W32(_raw, SuperblockFields.Flags, Order.I32(_raw, SuperblockFields.Flags) & ~flags);
        }
        else
        {
            _raw[SuperblockFields.OldFlags] = (byte)(_raw[SuperblockFields.OldFlags] & ~flags);
        }
    }
}
