using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>
/// The in-core file (NetBSD's struct denode): a decoded copy of its short directory entry,
/// where that entry lies, its cluster chain once needed and, for directories, the name
/// index. The entry is written back through the buffer cache after every change, so a
/// vnode can be reclaimed at any time without losing anything.
/// </summary>
internal sealed partial class MsdosNode : Vnode
{
    private List<uint>? _chain;
    private DirIndex? _index;

    public MsdosNode(MsdosMount mount, ulong ino, VType type, long entryOffset, FatDirEntry entry)
        : base(mount, ino, type)
    {
        Mp = mount;
        EntryOffset = entryOffset;
        Entry = entry;
    }

    public MsdosMount Mp { get; }

    /// <summary>Byte offset of the short entry on the volume; -1 for the root, which has none.</summary>
    public long EntryOffset { get; set; }

    public FatDirEntry Entry;

    public bool IsRoot { get; set; }

    /// <summary>The entry was removed: the file lives on until its last reference goes.</summary>
    public bool Removed { get; set; }

    private int ClusterSize => Mp.Bpb.ClusterSize;

    /// <summary>True for the FAT12/16 root, a fixed region outside the data area.</summary>
    private bool IsFixedRoot => IsRoot && !Mp.IsFat32;

    /// <summary>Read the cluster chain (once); files must have enough clusters for their size.</summary>
    public Errno LoadChain()
    {
        if (_chain is not null)
        {
            return Errno.OK;
        }
        var chain = new List<uint>();
        if (Entry.Cluster != 0 && !IsFixedRoot)
        {
            Errno e = Mp.Fat.ReadChain(Entry.Cluster, chain);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        if (Type == VType.Regular && (long)chain.Count * ClusterSize < Entry.FileSize)
        {
            return KernelLog.CorruptionOnce(MsdosMount.Subsystem, Entry.Cluster,
                $"file of {Entry.FileSize} bytes has only {chain.Count} clusters");
        }
        _chain = chain;
        return Errno.OK;
    }

    private List<uint> Chain => _chain!;

    /// <summary>Write the in-core entry back to its directory (not for the root or a removed file).</summary>
    public Errno Update()
    {
        if (IsRoot || Removed || EntryOffset < 0)
        {
            return Errno.OK;
        }
        return Mp.WriteEntry(EntryOffset, Entry);
    }

    private long? GmtOff => Mp.FatOptions.GmtOff;

    /// <summary>Set the modification time (and archive bit) to now.</summary>
    public void TouchModified()
    {
        MsdosConv.ToDos(Mp.Clock.Now, GmtOff, out Entry.MDate, out Entry.MTime, out _);
        if (Type == VType.Regular)
        {
            Entry.Attr |= FatAttr.Archive;
        }
    }

    public override Errno GetAttr(out VAttr va)
    {
        va = default;
        bool dir = Type == VType.Directory;
        uint nlink = 1;
        long size = Entry.FileSize;
        if (dir)
        {
            Errno e = DirIndex(out DirIndex? index);
            if (e != Errno.OK)
            {
                return e;
            }
            nlink = (uint)(2 + index!.Subdirs);
            size = IsFixedRoot ? Mp.Bpb.RootEntries * 32L : (long)Chain.Count * ClusterSize;
        }
        MsdosOptions o = Mp.FatOptions;
        uint mode = dir ? o.DirMask : o.Mask;
        if (!dir && (Entry.Attr & FatAttr.ReadOnly) != 0)
        {
            mode &= ~0x92u;
        }
        Timespec mtime = MsdosConv.FromDos(Entry.MDate, Entry.MTime, 0, GmtOff);
        va = new VAttr
        {
            Type = Type,
            Mode = mode & 0x1FF,
            Nlink = Removed ? 0 : nlink,
            Uid = o.Uid,
            Gid = o.Gid,
            Ino = Ino,
            Size = size,
            BytesUsed = dir ? size : (size + ClusterSize - 1) / ClusterSize * ClusterSize,
            BlockSize = ClusterSize,
            Mtime = mtime,
            Ctime = mtime,
            Atime = Entry.ADate == 0 ? mtime : MsdosConv.FromDos(Entry.ADate, 0, 0, GmtOff),
            Birthtime = MsdosConv.FromDos(Entry.CDate, Entry.CTime, Entry.CTimeTenth, GmtOff),
        };
        return Errno.OK;
    }

    public override Errno Inactive(out bool recycle)
    {
        recycle = false;
        if (!Removed)
        {
            return Errno.OK;
        }
        recycle = true;
        Errno e = Errno.OK;
        if (Entry.Cluster != 0 && !Mp.IsReadOnly)
        {
            e = LoadChain();
            if (e == Errno.OK)
            {
                Mp.Fat.Truncate(Chain, 0, Type == VType.Directory);
                Chain.Clear();
                Entry.Cluster = 0;
            }
        }
        // The number becomes reusable only now that the storage is free.
        Mp.Ids.Released(Ino);
        return e;
    }

    public override Errno Link(string name, Vnode vp) => Errno.EPERM;

    public override Errno Symlink(string name, in VAttr va, string target, out Vnode? vp)
    {
        vp = null;
        return Errno.EPERM;
    }

    public override Errno Mknod(string name, in VAttr va, out Vnode? vp)
    {
        vp = null;
        return Errno.EPERM;
    }
}
