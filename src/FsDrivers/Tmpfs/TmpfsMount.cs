using System.Collections.Concurrent;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Tmpfs;

/// <summary>
/// A mounted tmpfs. The node table plays the part of the disk: a node lives there while it
/// has links or references, and the vnode cache may drop and reload the same node object
/// at will. Storage is accounted in pages against the size limit.
/// </summary>
internal sealed class TmpfsMount : Mount
{
    public const ulong RootIno = 2;

    private readonly ConcurrentDictionary<ulong, TmpfsNode> _nodes = new();
    private long _nextIno = (long)RootIno;
    private long _pagesUsed;
    private readonly object _spaceLock = new();
    private uint _generation;

    public TmpfsMount(MountOptions options, TmpfsLimits limits)
        : base("tmpfs", null, options)
    {
        Limits = limits;
        Timespec now = Clock.Now;
        var root = new TmpfsNode(this, RootIno, VType.Directory, NextGeneration())
        {
            Mode = limits.RootMode,
            Uid = limits.RootUid,
            Gid = limits.RootGid,
            Nlink = 2,
            ParentIno = RootIno,
        };
        root.SetAllTimes(now);
        _nodes[RootIno] = root;
        FsId = ((ulong)Random.NextUInt32() << 32) | Random.NextUInt32();
    }

    public TmpfsLimits Limits { get; }

    private ulong FsId { get; }

    public long PagesLimit => Limits.MaxBytes / TmpfsFileData.PageSize;

    /// <summary>Attributes are kept whole in memory, ACLs in the VFS's own form (Linux's tmpfs stores them too).</summary>
    public override bool HasPosixAcls => true;

    public override Errno Root(out Vnode? root) => VGet(RootIno, out root);

    public override Errno VGet(ulong ino, out Vnode? vp) => Vnodes.Get(ino, LoadNode, out vp);

    private Errno LoadNode(ulong ino, out Vnode? vp)
    {
        vp = _nodes.TryGetValue(ino, out TmpfsNode? node) ? node : null;
        return vp is null ? Errno.ENOENT : Errno.OK;
    }

    /// <summary>Make a node for a new file, or ENOSPC when the node limit is reached.</summary>
    public Errno AllocateNode(VType type, in VAttr va, out TmpfsNode? node)
    {
        node = null;
        if (_nodes.Count >= Limits.MaxNodes)
        {
            return Errno.ENOSPC;
        }
        ulong ino = (ulong)Interlocked.Increment(ref _nextIno);
        node = new TmpfsNode(this, ino, type, NextGeneration())
        {
            Mode = va.Mode & 0xFFF,
            Uid = va.Uid,
            Gid = va.Gid,
            Rdev = va.Rdev,
            Nlink = 1,
        };
        node.SetAllTimes(va.Ctime.Seconds == 0 && va.Ctime.Nanoseconds == 0 ? Clock.Now : va.Ctime);
        _nodes[ino] = node;
        return Errno.OK;
    }

    /// <summary>Forget a node whose last link and reference are gone.</summary>
    public void FreeNode(TmpfsNode node) => _nodes.TryRemove(node.Ino, out _);

    /// <summary>Reserve <paramref name="pages"/> pages of storage; false when over the size limit.</summary>
    public bool ReservePages(long pages)
    {
        if (pages <= 0)
        {
            return true;
        }
        lock (_spaceLock)
        {
            if (_pagesUsed + pages > PagesLimit)
            {
                return false;
            }
            _pagesUsed += pages;
            return true;
        }
    }

    public void ReleasePages(long pages)
    {
        if (pages <= 0)
        {
            return;
        }
        lock (_spaceLock)
        {
            _pagesUsed -= pages;
        }
    }

    private uint NextGeneration() => Interlocked.Increment(ref _generation);

    public override Errno Statvfs(out StatVfs st)
    {
        long used;
        lock (_spaceLock)
        {
            used = _pagesUsed;
        }
        long free = Math.Max(PagesLimit - used, 0);
        long nodesFree = Math.Max(Limits.MaxNodes - _nodes.Count, 0);
        st = new StatVfs
        {
            BlockSize = TmpfsFileData.PageSize,
            FragmentSize = TmpfsFileData.PageSize,
            Blocks = PagesLimit,
            BlocksFree = free,
            BlocksAvailable = free,
            Files = Limits.MaxNodes,
            FilesFree = nodesFree,
            FilesAvailable = nodesFree,
            FsId = FsId,
            NameMax = Vop.NameMax,
            ReadOnly = IsReadOnly,
        };
        return Errno.OK;
    }

    public override Errno Sync() => Errno.OK;

    public override IReadOnlyList<KeyValuePair<string, string>> Describe() =>
    [
        new("type", "tmpfs"),
        new("size limit", Limits.MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("nodes", _nodes.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    protected override Errno UnmountCore(bool force)
    {
        _nodes.Clear();
        return Errno.OK;
    }
}
