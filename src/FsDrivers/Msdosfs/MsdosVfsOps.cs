using System.Globalization;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>
/// A mounted FAT volume (NetBSD's msdosfs_vfsops.c + struct msdosfsmount): geometry, the
/// FAT, the buffer cache for metadata, file ids, and the VFS operations.
/// </summary>
internal sealed class MsdosMount : Mount
{
    internal const string Subsystem = "msdosfs";

    private MsdosMount(IBlockDevice device, MountOptions options, Bpb bpb, MsdosOptions fatOptions)
        : base("msdos", device, options)
    {
        Bpb = bpb;
        FatOptions = fatOptions;
        Bufs = new BufferCache(device, options.CacheBytes);
        IsFat32 = bpb.Type == FatType.Fat32;
    }

    public Bpb Bpb { get; }

    public MsdosOptions FatOptions { get; }

    public BufferCache Bufs { get; }

    public override BufferCacheStats? CacheStats => Bufs.Stats;

    public override bool NamesIgnoreCase => true;

    public override bool HasXattrs => false;

    public MsdosFat Fat { get; private set; } = null!;

    public MsdosIds Ids { get; } = new();

    public bool IsFat32 { get; }

    public string VolumeLabel { get; private set; } = "";

    public static Errno Create(IBlockDevice device, MountOptions options, out Mount? mount, out string? message)
    {
        mount = null;
        Errno e = MsdosOptions.Parse(options, out MsdosOptions fatOptions, out message);
        if (e != Errno.OK)
        {
            return e;
        }
        byte[] boot = new byte[4096];
        int len = (int)Math.Min(boot.Length, device.Length);
        if (len < BootSectorLayout.Size || device.Read(0, boot.AsSpan(0, len)) != Errno.OK)
        {
            message = "cannot read the boot sector";
            return Errno.EINVAL;
        }
        if (boot[BootSectorLayout.Jump] != 0xEB && boot[BootSectorLayout.Jump] != 0xE9)
        {
            message = "not a FAT file system (no boot jump)";
            return Errno.EINVAL;
        }
        string? why = Bpb.Parse(boot, device.Length, out Bpb? bpb, out _);
        if (why is not null)
        {
            message = "not a valid FAT file system: " + why;
            return Errno.EINVAL;
        }
        var mp = new MsdosMount(device, options, bpb!, fatOptions);
        e = MsdosFat.Load(bpb!, mp.Bufs, out MsdosFat? fat);
        if (e != Errno.OK)
        {
            message = "cannot read the FAT";
            return e;
        }
        mp.Fat = fat!;
        fat!.Synchronous = options.Synchronous;
        if (!mp.IsReadOnly && !fat.HasSignature)
        {
            // Written through a FAT that is not where the boot sector says, every
            // allocation would overwrite something else; reading does no harm.
            message = "the FAT does not start with the media byte and end-of-chain mark: the boot sector's layout is wrong; run fsck";
            KernelLog.Error(Subsystem, message);
            return Errno.EIO;
        }
        if (!mp.IsReadOnly && !fat!.IsClean && !options.Force)
        {
            message = "file system was not cleanly unmounted; run fsck.fat or mount with -o force";
            return Errno.EINVAL;
        }
        mp.ReadFsInfoHint();
        e = mp.LoadRoot(out message);
        if (e != Errno.OK)
        {
            return e;
        }
        if (!mp.IsReadOnly)
        {
            fat!.SetClean(false);
            e = mp.Bufs.Flush();
            if (e != Errno.OK)
            {
                message = "cannot mark the file system dirty";
                return e;
            }
        }
        mount = mp;
        return Errno.OK;
    }

    private void ReadFsInfoHint()
    {
        if (!IsFat32 || Bpb.FsInfoSector == 0)
        {
            return;
        }
        if (Bufs.Read((long)Bpb.FsInfoSector * Bpb.BytesPerSector, Bpb.BytesPerSector, out Buffer? bp) != Errno.OK)
        {
            return;
        }
        if (FsInfo.IsValid(bp!.Data))
        {
            Fat.SetHint(FsInfo.ReadNextFree(bp.Data));
        }
        bp.Release();
    }

    // The root stays in the vnode cache like any vnode (unreferenced when unused, so that
    // unmount's busy check sees only real users) and is loaded again if it was reclaimed.
    private Errno LoadRoot(out string? message)
    {
        message = null;
        Errno e = Root(out Vnode? root);
        if (e != Errno.OK)
        {
            message = "root directory is unreadable";
            return e;
        }
        e = ((MsdosNode)root!).DirIndex(out DirIndex? index);
        root.Release();
        if (e != Errno.OK)
        {
            message = "root directory is unreadable";
            return e;
        }
        VolumeLabel = index!.VolumeLabel ?? Bpb.Label;
        return Errno.OK;
    }

    private Errno NewRoot(ulong ino, out Vnode? vp)
    {
        vp = null;
        var root = new MsdosNode(this, MsdosIds.RootIno, VType.Directory, entryOffset: -1, default);
        root.Entry.Attr = FatAttr.Directory;
        root.Entry.Cluster = IsFat32 ? Bpb.RootCluster : 0;
        root.IsRoot = true;
        Errno e = root.LoadChain();
        if (e != Errno.OK)
        {
            return e;
        }
        vp = root;
        return Errno.OK;
    }

    public override Errno Root(out Vnode? root) => Vnodes.Get(MsdosIds.RootIno, NewRoot, out root);

    public override Errno VGet(ulong ino, out Vnode? vp)
    {
        if (ino == MsdosIds.RootIno)
        {
            return Root(out vp);
        }
        vp = Vnodes.TryGetCached(ino);
        if (vp is not null)
        {
            return Errno.OK;
        }
        if (!Ids.TryKeyOf(ino, out long key))
        {
            return Errno.ESTALE;
        }
        if (key < 0)
        {
            return GetDirByCluster((uint)(-(key + 1)), out vp);
        }
        Errno e = ReadEntry(key, out FatDirEntry de);
        if (e != Errno.OK)
        {
            return e;
        }
        if (de.Name[0] is FatDirEntry.Deleted or FatDirEntry.EndMarker || (de.Attr & FatAttr.Volume) != 0 || de.IsDirectory)
        {
            return Errno.ESTALE;
        }
        return GetNode(key, de, out vp);
    }

    /// <summary>The vnode of the entry at <paramref name="entryOffset"/> (already read as <paramref name="de"/>).</summary>
    public Errno GetNode(long entryOffset, FatDirEntry de, out Vnode? vp)
    {
        vp = null;
        if (de.IsDirectory)
        {
            if (de.Cluster == 0 || (IsFat32 && de.Cluster == Bpb.RootCluster))
            {
                // ".." entries of the root's children name cluster 0; anything else is damage.
                return KernelLog.CorruptionOnce(Subsystem, entryOffset / Bpb.BytesPerSector, "directory entry without a cluster");
            }
            if (de.Cluster > Bpb.MaxCluster)
            {
                return KernelLog.CorruptionOnce(Subsystem, entryOffset / Bpb.BytesPerSector, $"directory cluster {de.Cluster} outside the volume");
            }
        }
        long key = de.IsDirectory ? MsdosIds.DirKey(de.Cluster) : MsdosIds.FileKey(entryOffset);
        ulong ino = Ids.InoFor(key);
        return Vnodes.Get(ino, (ulong i, out Vnode? loaded) =>
        {
            var node = new MsdosNode(this, i, de.IsDirectory ? VType.Directory : VType.Regular, entryOffset, de);
            loaded = node;
            return Errno.OK;
        }, out vp);
    }

    /// <summary>
    /// The directory whose first cluster is <paramref name="cluster"/>: its ".." entry names
    /// the parent, whose entries are searched for it (Linux's fat_get_parent). The parent is
    /// read through a private, uncached node, so no vnode lock is taken here.
    /// </summary>
    public Errno GetDirByCluster(uint cluster, out Vnode? vp)
    {
        vp = null;
        if (cluster < 2 || cluster > Bpb.MaxCluster)
        {
            return Errno.ESTALE;
        }
        Errno e = ReadEntry(Bpb.ClusterOffset(cluster) + FatDirEntry.Size, out FatDirEntry dotdot);
        if (e != Errno.OK)
        {
            return e;
        }
        if (dotdot.Name[0] != (byte)'.' || dotdot.Name[1] != (byte)'.')
        {
            return Errno.ESTALE;
        }
        bool parentIsRoot = dotdot.Cluster == 0 || (IsFat32 && dotdot.Cluster == Bpb.RootCluster);
        var parent = new MsdosNode(this, 0, VType.Directory, -1, default) { IsRoot = parentIsRoot };
        parent.Entry.Attr = FatAttr.Directory;
        parent.Entry.Cluster = parentIsRoot ? (IsFat32 ? Bpb.RootCluster : 0) : dotdot.Cluster;
        e = parent.FindDirEntryByCluster(cluster, out long offset, out FatDirEntry de);
        return e != Errno.OK ? e : GetNode(offset, de, out vp);
    }

    // ---- Directory entries through the buffer cache -----------------------------------

    public Errno ReadEntry(long offset, out FatDirEntry de)
    {
        de = default;
        int bps = Bpb.BytesPerSector;
        long sector = offset / bps * bps;
        Errno e = Bufs.Read(sector, bps, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        lock (bp!.SyncRoot)
        {
            de = FatDirEntry.Read(bp.Data[(int)(offset - sector)..], IsFat32);
        }
        bp.Release();
        return Errno.OK;
    }

    public Errno WriteEntry(long offset, in FatDirEntry de)
    {
        int bps = Bpb.BytesPerSector;
        long sector = offset / bps * bps;
        Errno e = Bufs.Read(sector, bps, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        lock (bp!.SyncRoot)
        {
            de.Write(bp.Data[(int)(offset - sector)..], IsFat32);
        }
        return Finish(bp);
    }

    /// <summary>Mark a modified metadata buffer dirty (written now on a sync mount) and release it.</summary>
    public Errno Finish(Buffer bp)
    {
        Errno e = Errno.OK;
        if (Options.Synchronous)
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

    // ---- VFS operations -----------------------------------------------------------------

    public override Errno Statvfs(out StatVfs st)
    {
        st = new StatVfs
        {
            BlockSize = Bpb.ClusterSize,
            FragmentSize = Bpb.ClusterSize,
            Blocks = Bpb.ClusterCount,
            BlocksFree = Fat.FreeCount,
            BlocksAvailable = Fat.FreeCount,
            Files = 0,
            FilesFree = 0,
            FilesAvailable = 0,
            FsId = Bpb.VolumeId,
            NameMax = FatOptions.ShortNamesOnly ? 12 : 255,
            ReadOnly = IsReadOnly,
        };
        return Errno.OK;
    }

    public override Errno Sync()
    {
        if (IsReadOnly)
        {
            return Errno.OK;
        }
        Fat.WriteFsInfo();
        return Bufs.Flush();
    }

    protected override Errno UnmountCore(bool force)
    {
        if (IsReadOnly)
        {
            return Errno.OK;
        }
        Fat.WriteFsInfo();
        Errno e = Bufs.Flush();
        if (e == Errno.OK)
        {
            // Clean only once everything else is on the device.
            Fat.SetClean(true);
            e = Bufs.Flush();
        }
        return e;
    }

    public override IReadOnlyList<KeyValuePair<string, string>> Describe()
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        return
        [
            new("type", Bpb.Type.ToString().ToUpperInvariant()),
            new("label", VolumeLabel),
            new("volume id", Bpb.VolumeId.ToString("X8", c)),
            new("oem name", Bpb.OemName),
            new("bytes per sector", Bpb.BytesPerSector.ToString(c)),
            new("cluster size", Bpb.ClusterSize.ToString(c)),
            new("clusters", Bpb.ClusterCount.ToString(c)),
            new("free clusters", Fat.FreeCount.ToString(c)),
            new("FATs", Bpb.NumFats.ToString(c)),
            new("root entries", IsFat32 ? "(cluster chain)" : Bpb.RootEntries.ToString(c)),
            new("clean", Fat.IsClean ? "yes" : "no"),
        ];
    }
}
