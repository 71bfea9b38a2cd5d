using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// One mounted FFS (ffs_vfsops.c): mount-time validation, root, vget, statvfs, sync and
/// unmount. Allocation state (cylinder groups, summaries, superblock counters) is under
/// <see cref="AllocLock"/>, the driver's lock, taken after vnode locks.
/// </summary>
internal sealed partial class FfsMount : Mount
{
    private readonly int[] _csum; // per cg: ndir, nbfree, nifree, nffree
    private bool _summaryDirty;

    private readonly IBlockDevice _io;

    private FfsMount(IBlockDevice device, IBlockDevice io, MountOptions options, FfsSuperblock sb, BufferCache bufs, int[] csum)
        : base("ffs", device, options)
    {
        _io = io;
        Sb = sb;
        Order = sb.Order;
        Bufs = bufs;
        _csum = csum;
    }

    public FfsSuperblock Sb { get; }

    public FfsByteOrder Order { get; }

    public BufferCache Bufs { get; }

    public override BufferCacheStats? CacheStats => Bufs.Stats;

    /// <summary>Only UFS2 has an attribute area in the inode (FfsExtAttrs.cs).</summary>
    public override bool HasXattrs => Sb.IsUfs2;

    /// <summary>POSIX.1e ACLs are kept (in the attribute area, FfsAclFormat): see <see cref="PosixAclsOn"/>.</summary>
    public override bool HasPosixAcls => _posixAcls;

    private bool _posixAcls;

    /// <summary>The mount option that turns POSIX.1e ACLs on (mount_ffs -o posix1eacls).</summary>
    public const string PosixAclsOption = "posix1eacls";

    /// <summary>Guards cylinder groups, the summary area and the superblock counters.</summary>
    public Lock AllocLock { get; } = new();

    /// <summary>Where the file system is read and written: the device, or a log replay over it (read-only mounts).</summary>
    public IBlockDevice Dev => _io;

    internal static Errno MountDevice(IBlockDevice device, MountOptions options, out Mount? mount, out string? message)
    {
        mount = null;
        FfsSuperblock? sb = FfsSuperblockCheck.Find(device, out string? why);
        if (sb is null)
        {
            message = "ffs: " + why;
            return Errno.EINVAL;
        }
        string? bad = FfsSuperblockCheck.Validate(sb, device.Length);
        if (bad is not null)
        {
            message = $"ffs: bad superblock at {sb.Location}: {bad}";
            return Errno.EINVAL;
        }
        bool readOnly = options.ReadOnly || device.IsReadOnly;
        bool logged = (sb.Flags & FfsSuperblock.FlagWapbl) != 0;
        if (!readOnly && RefuseReadWrite(sb, options, logged) is { } refuse)
        {
            message = "ffs: " + refuse;
            return Errno.EROFS;
        }
        IBlockDevice io = device;
        FfsWapblReplay? replay = null;
        FfsSuperblock unreplayed = sb;
        if (logged)
        {
            Errno r = ReplayLog(device, readOnly, options, ref sb, out io, out replay, out message);
            if (r != Errno.OK)
            {
                return r;
            }
            if (!readOnly && RefuseReadWrite(sb, options, logged: false) is { } after)
            {
                message = "ffs: after the WAPBL replay: " + after;
                return Errno.EROFS;
            }
            if (!readOnly && io is OverlayDevice replayed)
            {
                // The replayed state must pass every check of a mount before it is written:
                // a read-only look through the overlay first, then the commit.
                Errno probe = Open(replayed, replayed, options, sb, out _, out message);
                if (probe != Errno.OK)
                {
                    message = "ffs: after the WAPBL replay: " + message?.Replace("ffs: ", "", StringComparison.Ordinal);
                    return probe;
                }
                probe = replayed.CommitTo(device);
                if (probe != Errno.OK)
                {
                    message = $"ffs: writing the WAPBL log replay failed: {probe.Describe()}";
                    return probe;
                }
                io = device;
            }
        }

        Errno e = Open(device, io, options, sb, out FfsMount? mp, out message);
        if (e != Errno.OK && readOnly && options.Force && io is OverlayDevice)
        {
            KernelLog.Warning("ffs", $"{device.Name}: the WAPBL log's replay fails the mount's checks ({message}); mounted without it, recent changes are not visible");
            replay = null;
            e = Open(device, device, options, unreplayed, out mp, out message);
        }
        if (e == Errno.OK && !mp!.IsReadOnly && replay is { Inodes.Count: > 0 })
        {
            e = mp.ReleaseLoggedInodes(replay.Inodes);
            message = e == Errno.OK ? null : $"ffs: freeing the inodes the WAPBL log lists failed: {e.Describe()}";
        }
        if (e != Errno.OK)
        {
            return e;
        }
        if (!mp!.IsReadOnly)
        {
            // Dirty while mounted read-write: a crash leaves it for fsck (ffs_mountfs
            // shifts FS_ISCLEAN to FS_WASCLEAN and writes the superblock at once).
            lock (mp.AllocLock)
            {
                mp.Sb.Clean = (mp.Sb.Clean & FfsSuperblock.IsClean) != 0 ? FfsSuperblock.WasClean : (byte)0;
                e = mp.WriteSuperblock();
            }
            if (e == Errno.OK)
            {
                e = device.Flush();
            }
            if (e != Errno.OK)
            {
                message = $"ffs: cannot mark the file system dirty: {e.Describe()}";
                return e;
            }
        }
        message = null;
        mount = mp;
        return Errno.OK;
    }

    /// <summary>The mount over <paramref name="io"/>, once the summary, every cylinder group and the root check out.</summary>
    private static Errno Open(IBlockDevice device, IBlockDevice io, MountOptions options, FfsSuperblock sb, out FfsMount? mount, out string? message)
    {
        mount = null;
        var bufs = new BufferCache(io, options.CacheBytes);
        Errno e = ReadSummary(sb, bufs, out int[]? csum, out message);
        if (e != Errno.OK)
        {
            return e;
        }
        var mp = new FfsMount(device, io, options, sb, bufs, csum!);
        e = PosixAclsOn(sb, options, device.Name, out mp._posixAcls, out message);
        if (e != Errno.OK)
        {
            return e;
        }
        e = mp.CheckCylinderGroups(out message);
        if (e == Errno.OK)
        {
            e = mp.CheckRoot(out message);
        }
        mount = e == Errno.OK ? mp : null;
        return e;
    }

    /// <summary>
    /// Whether the mount keeps POSIX.1e ACLs, as ffs_mountfs decides: FS_POSIX1EACLS in
    /// fs_flags (tunefs -p enable) or the posix1eacls option asks for them, and FS_NFS4ACLS,
    /// which excludes them, is not set. They live in the inode's attribute area, which only
    /// FFSv2ea writes: the option on any other file system is refused; the flag on one (UFS1
    /// keeps ACLs in backing files NetBSD's UFS_EXTATTR reads) is noted and left off.
    /// </summary>
    private static Errno PosixAclsOn(FfsSuperblock sb, MountOptions options, string device, out bool on, out string? message)
    {
        message = null;
        bool asked = options.Extra.ContainsKey(PosixAclsOption);
        bool flagged = (sb.Flags & FfsSuperblock.FlagPosix1eAcls) != 0;
        on = (asked || flagged) && (sb.Flags & FfsSuperblock.FlagNfs4Acls) == 0;
        if (!on || sb.Magic == FfsSuperblock.Ufs2EaMagic)
        {
            return Errno.OK;
        }
        on = false;
        if (asked)
        {
            message = $"ffs: -o {PosixAclsOption} needs UFS2 with extended attributes (FFSv2ea, newfs -O 3)";
            return Errno.EINVAL;
        }
        KernelLog.Info("ffs", $"{device}: the POSIX.1e ACLs flag is set, but this {(sb.IsUfs2 ? "UFS2" : "UFS1")} file system has no attribute area to keep them in; ACLs stay off");
        return Errno.OK;
    }

    /// <summary>
    /// Why a read-write mount is refused, or null. A <paramref name="logged"/> file system is
    /// not judged by its clean flag: its log replay makes it consistent.
    /// </summary>
    private static string? RefuseReadWrite(FfsSuperblock sb, MountOptions options, bool logged)
    {
        if ((sb.Flags & FfsSuperblock.FlagSoftDep) != 0)
        {
            return "unsupported feature: soft dependencies (mount read-only)";
        }
        if ((sb.Flags & FfsSuperblock.FlagQuota2) != 0)
        {
            return "unsupported feature: quota2 (mount read-only)";
        }
        if (!sb.IsUfs2 && (sb.OldFlags & FfsSuperblock.OldFlagsUpdated) == 0)
        {
            // Such superblocks also expect the per-cylinder rotational tables to be kept,
            // which the allocator does not do.
            return "unsupported feature: pre-4.4BSD UFS1 superblock with rotational tables (mount read-only)";
        }
        if ((sb.Flags & FfsSuperblock.FlagNeedsFsck) != 0 && !options.Force)
        {
            return "file system needs fsck (mount read-only, or use -o force)";
        }
        if ((sb.Clean & FfsSuperblock.IsClean) == 0 && !options.Force && !logged)
        {
            return "file system not clean (run fsck, mount read-only, or use -o force)";
        }
        return null;
    }

    private static Errno ReadSummary(FfsSuperblock sb, BufferCache bufs, out int[]? csum, out string? message)
    {
        csum = null;
        message = null;
        int bytes = (int)sb.FragRoundUp(sb.CsSize);
        Errno e = bufs.Read(sb.FragToBytes(sb.CsAddr), bytes, out Buffer? bp);
        if (e != Errno.OK)
        {
            message = $"ffs: cannot read the cylinder-group summary: {e.Describe()}";
            return e;
        }
        csum = new int[sb.Ncg * 4];
        for (int i = 0; i < csum.Length; i++)
        {
            csum[i] = sb.Order.I32(bp!.Data, 4 * i);
        }
        bp!.Release();
        return Errno.OK;
    }

    private Errno CheckCylinderGroups(out string? message)
    {
        message = null;
        bool clusters = Sb.ContigSumSize > 0;
        for (int cg = 0; cg < Sb.Ncg; cg++)
        {
            Errno e = Bufs.Read(Sb.FragToBytes(Sb.CgTod(cg)), Sb.CgSize, out Buffer? bp);
            if (e != Errno.OK)
            {
                message = $"ffs: cannot read cylinder group {cg}: {e.Describe()}";
                return e;
            }
            var g = new CylinderGroup(bp!.Data, Order);
            string? bad = g.MagicValue != CylinderGroup.Magic ? "bad magic"
                : g.Cgx != cg ? $"records index {g.Cgx}"
                : !g.OffsetsValid(Sb.CgSize, Sb.Ipg, Sb.Fpg, Sb.Frag, clusters) ? "map offsets outside the block"
                : g.Ndblk > Sb.Fpg || g.Ndblk < 0 ? "bad block count"
                : null;
            bp.Release();
            if (bad is not null)
            {
                message = $"ffs: cylinder group {cg}: {bad}";
                return Errno.EINVAL;
            }
        }
        return Errno.OK;
    }

    private Errno CheckRoot(out string? message)
    {
        message = null;
        Errno e = Root(out Vnode? root);
        if (e != Errno.OK || root!.Type != VType.Directory)
        {
            root?.Release();
            message = "ffs: root inode is not a readable directory";
            return e == Errno.OK ? Errno.EINVAL : e;
        }
        root.Release();
        return Errno.OK;
    }

    public override Errno Root(out Vnode? root) => VGet(FfsSuperblock.RootIno, out root);

    public override Errno VGet(ulong ino, out Vnode? vp) => Vnodes.Get(ino, LoadVnode, out vp);

    private Errno LoadVnode(ulong ino, out Vnode? vp)
    {
        vp = null;
        if (ino < FfsSuperblock.RootIno || ino >= (ulong)Sb.TotalInodes)
        {
            return Errno.ESTALE;
        }
        var din = new FfsDinode();
        Errno e = ReadDinode(ino, din);
        if (e != Errno.OK)
        {
            return e;
        }
        VType type = VTypeExtensions.FromModeBits(din.Mode);
        if (din.Nlink <= 0 || type == VType.None)
        {
            // A free inode reached through a stale handle or a corrupt directory.
            return din.Mode == 0 ? Errno.ESTALE : KernelLog.CorruptionOnce("ffs", (long)ino, type == VType.None
                ? $"inode {ino} has bad mode {din.Mode:x}"
                : $"inode {ino} has link count {din.Nlink} but is still named");
        }
        if (din.Size < 0 || din.Blocks < 0)
        {
            return KernelLog.CorruptionOnce("ffs", (long)ino, din.Size < 0
                ? $"inode {ino} has negative size {din.Size}"
                : $"inode {ino} has a negative block count (di_blocks {din.Blocks})");
        }
        if (din.Size > Sb.MaxFileSize)
        {
            // fsck_ffs clears such an inode; reading it would stream zeros for ever.
            return KernelLog.CorruptionOnce("ffs", (long)ino, $"inode {ino} has size {din.Size}, above fs_maxfilesize {Sb.MaxFileSize}");
        }
        long needed = FfsDirectStorage.NeededSectors(Sb, din);
        if (needed > din.Blocks)
        {
            return KernelLog.CorruptionOnce("ffs", (long)ino,
                $"inode {ino} has size {din.Size}, which needs {needed} sectors of its direct blocks, but owns {din.Blocks} (di_blocks)");
        }
        vp = new FfsNode(this, ino, type, din);
        return Errno.OK;
    }

    // ---- Inode blocks. ------------------------------------------------------------------

    /// <summary>Read the on-disk inode <paramref name="ino"/> into <paramref name="din"/>.</summary>
    public Errno ReadDinode(ulong ino, FfsDinode din)
    {
        long off = Sb.FragToBytes(Sb.InoToFsba(ino));
        Errno e = Bufs.Read(off, Sb.Bsize, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        int at = Sb.InoToFsbo(ino) * Sb.DinodeSize;
        lock (bp!.SyncRoot)
        {
            ReadOnlySpan<byte> rec = bp.Data.Slice(at, Sb.DinodeSize);
            FfsDinodeRecord.Decode(Sb, rec, din);
        }
        bp.Release();
        return Errno.OK;
    }

    /// <summary>Write <paramref name="din"/> into its inode block (delayed, or now when <paramref name="sync"/>).</summary>
    public Errno WriteDinode(ulong ino, FfsDinode din, bool sync)
    {
        long off = Sb.FragToBytes(Sb.InoToFsba(ino));
        Errno e = Bufs.Read(off, Sb.Bsize, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        int at = Sb.InoToFsbo(ino) * Sb.DinodeSize;
        lock (bp!.SyncRoot)
        {
            Span<byte> rec = bp.Data.Slice(at, Sb.DinodeSize);
            FfsDinodeRecord.Encode(Sb, din, rec);
        }
        if (sync)
        {
            e = Bufs.WriteNow(bp);
        }
        else
        {
            bp.MarkDirty();
        }
        bp.Release();
        return e;
    }

    // ---- Statvfs, sync, unmount. ----------------------------------------------------------

    public override Errno Statvfs(out StatVfs st)
    {
        lock (AllocLock)
        {
            long free = Sb.FreeFrags;
            // freespace(fs, minfree): what is left after the reserve held back for root.
            long reserve = Sb.Dsize * Sb.MinFree / 100;
            st = new StatVfs
            {
                BlockSize = Sb.Bsize,
                FragmentSize = Sb.Fsize,
                Blocks = Sb.Dsize,
                BlocksFree = free,
                BlocksAvailable = Math.Max(0, free - reserve),
                Files = Sb.TotalInodes - FfsSuperblock.RootIno,
                FilesFree = Sb.NiFree,
                FilesAvailable = Sb.NiFree,
                FsId = Sb.FsId,
                NameMax = DirectEntry.MaxNameLen,
                ReadOnly = IsReadOnly,
            };
        }
        return Errno.OK;
    }

    public override Errno Sync() => SyncAll(markClean: false);

    private Errno SyncAll(bool markClean)
    {
        if (IsReadOnly)
        {
            return Errno.OK;
        }
        Errno first = Errno.OK;
        foreach (Vnode v in Vnodes.Snapshot())
        {
            if (v is FfsNode n)
            {
                Errno e = n.FlushInode();
                first = first == Errno.OK ? e : first;
            }
        }
        lock (AllocLock)
        {
            if (markClean && Sb.Clean == FfsSuperblock.WasClean)
            {
                Sb.Clean = FfsSuperblock.IsClean;
            }
            Errno e = WriteSummary();
            first = first == Errno.OK ? e : first;
            e = Bufs.WriteBack();
            first = first == Errno.OK ? e : first;
            Sb.Time = Clock.Now.Seconds;
            // The superblock goes last, so "clean" never reaches the disk before the rest.
            e = Dev.Flush();
            first = first == Errno.OK ? e : first;
            e = WriteSuperblock();
            first = first == Errno.OK ? e : first;
        }
        Errno f = Dev.Flush();
        return first == Errno.OK ? f : first;
    }

    protected override Errno UnmountCore(bool force)
    {
        if (IsReadOnly)
        {
            return Errno.OK;
        }
        foreach (Vnode v in Vnodes.Snapshot())
        {
            // Forced unmount with files still referenced: write what they hold.
            if (v is FfsNode n)
            {
                n.FlushInode();
            }
        }
        return SyncAll(markClean: true);
    }

    /// <summary>Write the superblock now (under <see cref="AllocLock"/>).</summary>
    internal Errno WriteSuperblock()
    {
        byte[] bytes = Sb.Encode();
        Buffer bp = Bufs.Get(Sb.Location, Sb.SbSize);
        lock (bp.SyncRoot)
        {
            bytes.AsSpan(0, Sb.SbSize).CopyTo(bp.Data);
        }
        Errno e = Bufs.WriteNow(bp);
        bp.Release();
        return e;
    }

    /// <summary>Put the in-core per-cg summaries into the summary area (under <see cref="AllocLock"/>).</summary>
    private Errno WriteSummary()
    {
        if (!_summaryDirty)
        {
            return Errno.OK;
        }
        int bytes = (int)Sb.FragRoundUp(Sb.CsSize);
        Errno e = Bufs.Read(Sb.FragToBytes(Sb.CsAddr), bytes, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        lock (bp!.SyncRoot)
        {
            for (int i = 0; i < _csum.Length; i++)
            {
                Order.W32(bp.Data, 4 * i, _csum[i]);
            }
        }
        bp.MarkDirty();
        bp.Release();
        _summaryDirty = false;
        return Errno.OK;
    }

    public override IReadOnlyList<KeyValuePair<string, string>> Describe() =>
    [
        new("format", Sb.Magic == FfsSuperblock.Ufs2EaMagic ? "UFS2ea" : Sb.IsUfs2 ? "UFS2" : "UFS1"),
        new("byte order", Order.ToString()),
        new("superblock", Sb.Location.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("block size", Sb.Bsize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("fragment size", Sb.Fsize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("cylinder groups", Sb.Ncg.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("inodes per group", Sb.Ipg.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("free fragments", Sb.FreeFrags.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("free inodes", Sb.NiFree.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("clean", (Sb.Clean & FfsSuperblock.IsClean) != 0 ? "yes" : "no"),
        new("volume name", Sb.VolumeName),
        new("wapbl log", DescribeLog()),
    ];

    /// <summary>Where the WAPBL log is, its size, and whether the file system was being logged.</summary>
    private string DescribeLog()
    {
        if (Sb.JournalVersion != FfsWapblLayout.Version)
        {
            return "none";
        }
        string where = Sb.JournalLocation switch
        {
            FfsWapblLayout.LocationEndOfPartition => "end of partition",
            FfsWapblLayout.LocationInFileSystem => $"in the file system (inode {Sb.LogInode})",
            _ => $"location type {Sb.JournalLocation}",
        };
        long kib = Sb.JournalLoc(FfsWapblLayout.LocCount) * Sb.JournalLoc(FfsWapblLayout.LocBlockSize) / 1024;
        string state = (Sb.Flags & FfsSuperblock.FlagWapbl) != 0 ? "logging" : "not logging";
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{where}, {kib} KiB, {state}");
    }
}
