using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// One mounted ext2/3/4 file system (NetBSD's struct m_ext2fs with its ufsmount): the
/// superblock, the group descriptors, the metadata buffer cache and the geometry every other
/// part reads. Mounting and validation are in Ext2VfsOps, allocation in Ext2Alloc.
/// </summary>
internal sealed partial class Ext2Mount : Mount
{
    public const uint RootIno = 2;
    public const string Subsystem = "ext2fs";

    internal Ext2Mount(IBlockDevice device, IBlockDevice io, MountOptions options, Ext2Superblock sb, bool readOnly)
        : base("ext2fs", device, options)
    {
        Io = io;
        Sb = sb;
        if (readOnly)
        {
            IsReadOnly = true;
        }
        BlockSize = 1024 << (int)sb.LogBlockSize;
        BlockShift = 10 + (int)sb.LogBlockSize;
        Quota = new Ext2Quota(this);
        Limits = new Ext2QuotaLimits(this);
        GroupCount = (uint)((sb.BlocksCount - sb.FirstDataBlock + sb.BlocksPerGroup - 1) / sb.BlocksPerGroup);
        InodeSize = sb.InodeSize;
        DescSize = sb.DescSize;
        DescPerBlock = BlockSize / DescSize;
        Filetype = (sb.FeatureIncompat & Ext2Features.IncompatFiletype) != 0;
        MetadataCsum = sb.HasMetadataCsum;
        CsumSeed = (sb.FeatureIncompat & Ext2Features.IncompatCsumSeed) != 0
            ? sb.ChecksumSeed
            : Ext2Crc.Crc32c(~0u, sb.Uuid);
        Cache = new BufferCache(io, options.CacheBytes);
    }

    /// <summary>The device all I/O goes to (the mount's device, or a journal overlay on read-only mounts).</summary>
    public IBlockDevice Io { get; }
    public Ext2Superblock Sb { get; }
    public BufferCache Cache { get; }

    public override BufferCacheStats? CacheStats => Cache.Stats;

    /// <summary>ACLs live in extended attributes, which revision 0 file systems cannot hold (Linux mounts ext2/3/4 with acl by default).</summary>
    public override bool HasPosixAcls => Sb.RevLevel > 0;
    public int BlockSize { get; }
    public int BlockShift { get; }

    /// <summary>The quota files' usage, kept on read-write mounts of quota file systems.</summary>
    public Ext2Quota Quota { get; }

    /// <summary>Attribute blocks by hash, so that files with identical attributes share one block.</summary>
    public Ext2XattrBlockCache XattrBlocks { get; } = new();

    /// <summary>The quota limits enforced with -o usrquota, grpquota, prjquota (none without them).</summary>
    public Ext2QuotaLimits Limits { get; }
    public uint GroupCount { get; }
    public int InodeSize { get; }
    public int DescSize { get; }
    public int DescPerBlock { get; }
    public bool Filetype { get; }
    public bool MetadataCsum { get; }
    public uint CsumSeed { get; }
    public Ext2GroupDescriptor[] Groups { get; internal set; } = [];
    public bool HugeFile => (Sb.FeatureRoCompat & Ext2Features.RoHugeFile) != 0;
    public bool ProjectFeature => (Sb.FeatureRoCompat & Ext2Features.RoProject) != 0;
    public bool Extents => (Sb.FeatureIncompat & Ext2Features.IncompatExtents) != 0;
    public bool DirNlink => (Sb.FeatureRoCompat & Ext2Features.RoDirNlink) != 0;
    public ulong BlocksCount => Sb.BlocksCount;

    /// <summary>True for the orphan file's inode, which no directory names and no lookup hands out.</summary>
    public bool IsOrphanFile(ulong ino) =>
        ino != 0 && (Sb.FeatureCompat & Ext2Features.CompatOrphanFile) != 0 && ino == Sb.OrphanFileInum;

    /// <summary>Guards the bitmaps, group descriptors and superblock counters (after vnode locks).</summary>
    public Lock AllocLock { get; } = new();

    private bool _errorsReported;

    /// <summary>
    /// Report corrupt metadata: log once, record the error in the superblock state and apply
    /// s_errors (remount read-only when asked). Returns EIO.
    /// </summary>
    public Errno Corrupt(long block, string what)
    {
        Errno e = KernelLog.CorruptionOnce(Subsystem, block, what);
        if (!IsReadOnly && !_errorsReported)
        {
            _errorsReported = true;
            lock (AllocLock)
            {
                Sb.State |= Ext2Superblock.StateError;
            }
            if (Sb.Errors == 2)
            {
                KernelLog.Error(Subsystem, $"{Device?.Name}: errors=remount-ro, remounting read-only");
                WriteSuperblock();
                IsReadOnly = true;
            }
        }
        return e;
    }

    /// <summary>True when a block number lies inside the file system.</summary>
    public bool ValidBlock(ulong blk) => blk >= Sb.FirstDataBlock && blk < BlocksCount;

    /// <summary>bread of a metadata block, EIO (logged) when outside the file system.</summary>
    public Errno ReadBlock(ulong blk, out Buffer? bp)
    {
        bp = null;
        if (!ValidBlock(blk))
        {
            return Corrupt((long)blk, "block number outside the file system");
        }
        return Cache.Read((long)blk << BlockShift, BlockSize, out bp);
    }

    /// <summary>getblk of a newly allocated metadata block (zeroed when not cached).</summary>
    public Buffer GetBlock(ulong blk) => Cache.Get((long)blk << BlockShift, BlockSize);

    /// <summary>Forget a metadata block that is being freed.</summary>
    public void DiscardBlock(ulong blk, long count = 1) => Cache.Discard((long)blk << BlockShift, count << BlockShift);

    /// <summary>Write a modified metadata buffer: delayed, or at once on -o sync mounts.</summary>
    public Errno Dirty(Buffer bp)
    {
        if (Options.Synchronous)
        {
            return Cache.WriteNow(bp);
        }
        bp.MarkDirty();
        return Errno.OK;
    }

    public uint GroupOfBlock(ulong blk) => (uint)((blk - Sb.FirstDataBlock) / Sb.BlocksPerGroup);

    public ulong GroupFirstBlock(uint g) => Sb.FirstDataBlock + ((ulong)g * Sb.BlocksPerGroup);

    public uint BlocksInGroup(uint g) =>
        g == GroupCount - 1 ? (uint)(BlocksCount - GroupFirstBlock(g)) : Sb.BlocksPerGroup;

    public override Errno Root(out Vnode? root) => VGet(RootIno, out root);

    public override Errno VGet(ulong ino, out Vnode? vp) => Vnodes.Get(ino, LoadVnode, out vp);

    private Errno LoadVnode(ulong ino, out Vnode? vp)
    {
        vp = null;
        Errno e = Ext2Node.Load(this, ino, out Ext2Node? node);
        vp = node;
        return e;
    }

    public override Errno Statvfs(out StatVfs st)
    {
        lock (AllocLock)
        {
            ulong free = Sb.FreeBlocksCount;
            ulong reserved = Sb.ReservedBlocksCount;
            st = new StatVfs
            {
                BlockSize = BlockSize,
                FragmentSize = BlockSize,
                Blocks = (long)(BlocksCount - Overhead),
                BlocksFree = (long)free,
                BlocksAvailable = (long)(free > reserved + ReservedPool ? free - reserved - ReservedPool : 0),
                Files = Sb.InodesCount,
                FilesFree = Sb.FreeInodesCount,
                FilesAvailable = Sb.FreeInodesCount,
                FsId = BitConverter.ToUInt64(Sb.Uuid[..8]) ^ BitConverter.ToUInt64(Sb.Uuid[8..]),
                NameMax = Ext2DirEntry.MaxNameLen,
                ReadOnly = IsReadOnly,
            };
        }
        return Errno.OK;
    }

    /// <summary>Blocks used by the file system's own structures (statfs leaves them out, as Linux's "bsddf").</summary>
    internal ulong Overhead { get; set; }

    /// <summary>
    /// Free blocks only tree blocks for converting and splitting extents may take (ext4's
    /// s_resv_clusters): a write into preallocated space still succeeds on a full file system.
    /// </summary>
    internal ulong ReservedPool { get; set; }

    public override Errno Sync()
    {
        if (IsReadOnly)
        {
            return Errno.OK;
        }
        Errno first = Errno.OK;
        foreach (Vnode v in Vnodes.Snapshot())
        {
            if (v is Ext2Node n)
            {
                Errno e = n.WriteBackIfDirty();
                if (e != Errno.OK && first == Errno.OK)
                {
                    first = e;
                }
            }
        }
        Errno q = Quota.Flush();
        first = first != Errno.OK ? first : q;
        Errno g = WriteGroupDescriptors();
        Errno s = WriteSuperblock();
        Errno f = Cache.Flush();
        return first != Errno.OK ? first : g != Errno.OK ? g : s != Errno.OK ? s : f;
    }

    protected override Errno UnmountCore(bool force)
    {
        if (IsReadOnly)
        {
            return Errno.OK;
        }
        Errno e = Sync();
        lock (AllocLock)
        {
            if ((Sb.State & Ext2Superblock.StateError) == 0)
            {
                Sb.State |= Ext2Superblock.StateValid;
            }
            Sb.SetTime(Ext2Superblock.Off.Wtime, 0, Clock.Now.Seconds);
        }
        Errno s = WriteSuperblock();
        Errno f = Cache.Flush();
        return e != Errno.OK ? e : s != Errno.OK ? s : f;
    }

    /// <summary>Write the primary superblock (with free counts and checksum) straight to the device.</summary>
    public Errno WriteSuperblock()
    {
        byte[] copy;
        lock (AllocLock)
        {
            Sb.UpdateChecksum();
            copy = (byte[])Sb.Raw.Clone();
        }
        // The superblock is never read through the cache, so a direct write cannot go stale;
        // but on 1 KiB-block file systems block 1 is the superblock: drop any cached view.
        Cache.Discard(Ext2Superblock.DiskOffset, Ext2Superblock.Size);
        return Io.Write(Ext2Superblock.DiskOffset, copy);
    }

    /// <summary>A file grew past 2 GiB: the large_file feature must be on (as the kernel sets it).</summary>
    public void NoteLargeFile()
    {
        lock (AllocLock)
        {
            uint ro = Sb.FeatureRoCompat;
            if ((ro & Ext2Features.RoLargeFile) == 0 && Sb.RevLevel > 0)
            {
                Sb.FeatureRoCompat = ro | Ext2Features.RoLargeFile;
            }
        }
    }

    public override IReadOnlyList<KeyValuePair<string, string>> Describe() =>
    [
        new("type", Extents ? "ext4" : (Sb.FeatureCompat & Ext2Features.CompatHasJournal) != 0 ? "ext3" : "ext2"),
        new("volume name", Sb.VolumeName),
        new("uuid", new Guid(Sb.Uuid, bigEndian: true).ToString()),
        new("revision", Sb.RevLevel.ToString()),
        new("block size", BlockSize.ToString()),
        new("blocks", BlocksCount.ToString()),
        new("free blocks", Sb.FreeBlocksCount.ToString()),
        new("inodes", Sb.InodesCount.ToString()),
        new("free inodes", Sb.FreeInodesCount.ToString()),
        new("block groups", GroupCount.ToString()),
        new("inode size", InodeSize.ToString()),
        new("compat features", Ext2Features.CompatNames(Sb.FeatureCompat)),
        new("incompat features", Ext2Features.IncompatNames(Sb.FeatureIncompat)),
        new("ro_compat features", Ext2Features.RoCompatNames(Sb.FeatureRoCompat)),
        new("state", (Sb.State & Ext2Superblock.StateValid) != 0 ? "clean" : "not clean"),
    ];
}
