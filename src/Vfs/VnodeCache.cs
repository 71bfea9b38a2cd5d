using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>Loads the vnode of an inode from disk (a driver's vget).</summary>
public delegate Errno VnodeLoader(ulong ino, out Vnode? vp);

/// <summary>
/// The vnodes of one mount, keyed by inode number (NetBSD's vcache). It counts references,
/// calls Inactive when the last one goes, keeps unreferenced vnodes on an LRU free list and
/// reclaims the oldest beyond <see cref="MaxUnreferenced"/>. At most one thread loads a given
/// inode; others wait for it. Its lock is a leaf: no driver code runs under it.
/// </summary>
public sealed class VnodeCache
{
    // A Monitor object, not a Lock: waiters use Monitor.Wait for loads and inactivations.
    private readonly object _lock = new();
    private readonly Dictionary<ulong, Vnode> _byIno = [];
    private readonly LinkedList<Vnode> _free = new();
    private readonly HashSet<ulong> _loading = [];
    private int _inactiveFailures;

    public VnodeCache(int maxUnreferenced = 16384) => MaxUnreferenced = maxUnreferenced;

    /// <summary>How many unreferenced vnodes stay cached before the oldest are reclaimed.</summary>
    public int MaxUnreferenced { get; set; }

    /// <summary>
    /// How many times Inactive failed (each logged). The operation that dropped the last
    /// reference had already succeeded, so this is the only trace a caller gets of, say, a
    /// removed file whose inode and blocks could not be freed on a damaged image.
    /// </summary>
    public int InactiveFailures => Volatile.Read(ref _inactiveFailures);

    /// <summary>Vnodes in the cache, referenced or not.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byIno.Count;
            }
        }
    }

    /// <summary>Vnodes holding at least one reference.</summary>
    public int ReferencedCount
    {
        get
        {
            lock (_lock)
            {
                return _byIno.Values.Count(v => v.RefCount > 0);
            }
        }
    }

    /// <summary>
    /// Return the vnode of <paramref name="ino"/>, referenced, loading it with
    /// <paramref name="loader"/> when not cached.
    /// </summary>
    public Errno Get(ulong ino, VnodeLoader loader, out Vnode? vp)
    {
        vp = null;
        lock (_lock)
        {
            while (true)
            {
                if (_byIno.TryGetValue(ino, out Vnode? cached))
                {
                    if (cached.State == VnodeState.Active)
                    {
                        TakeRefLocked(cached);
                        vp = cached;
                        return Errno.OK;
                    }
                }
                else if (_loading.Add(ino))
                {
                    break;
                }
                // Being loaded or inactivated by another thread: wait for it to settle.
                Monitor.Wait(_lock);
            }
        }

        Errno e = Errno.EIO;
        Vnode? loaded = null;
        try
        {
            e = loader(ino, out loaded);
        }
        finally
        {
            lock (_lock)
            {
                // Publish the result and end the load in one step, so waiters find it.
                _loading.Remove(ino);
                if (e == Errno.OK && loaded is not null)
                {
                    if (_byIno.TryGetValue(ino, out Vnode? raced) && raced.State == VnodeState.Active)
                    {
                        // Inserted meanwhile by the driver (a create of the same number): use that one.
                        TakeRefLocked(raced);
                        vp = raced;
                    }
                    else
                    {
                        loaded.RefCount = 1;
                        loaded.State = VnodeState.Active;
                        _byIno[ino] = loaded;
                        vp = loaded;
                    }
                }
                Monitor.PulseAll(_lock);
            }
        }
        if (vp is null)
        {
            return e == Errno.OK ? Errno.EIO : e;
        }
        return Errno.OK;
    }

    /// <summary>
    /// The active cached vnode of <paramref name="ino"/> without taking a reference, or null:
    /// only for a look at its state on the spot (it may be reclaimed right after). A driver
    /// asks before giving out a number its allocation map says is free, so that a damaged
    /// map cannot hand out a live inode.
    /// </summary>
    public Vnode? Peek(ulong ino)
    {
        lock (_lock)
        {
            return _byIno.TryGetValue(ino, out Vnode? v) && v.State == VnodeState.Active ? v : null;
        }
    }

    /// <summary>Return the cached vnode of <paramref name="ino"/>, referenced, or null.</summary>
    public Vnode? TryGetCached(ulong ino)
    {
        lock (_lock)
        {
            if (_byIno.TryGetValue(ino, out Vnode? v) && v.State == VnodeState.Active)
            {
                TakeRefLocked(v);
                return v;
            }
            return null;
        }
    }

    /// <summary>
    /// Enter a vnode the driver just created (a new inode) with one reference. When an
    /// earlier vnode of the same number is still being inactivated, waits for it to leave.
    /// </summary>
    public void Insert(Vnode vp)
    {
        lock (_lock)
        {
            while (_byIno.TryGetValue(vp.Ino, out Vnode? old))
            {
                if (old.State == VnodeState.Active && old.RefCount == 0)
                {
                    // A stale unreferenced vnode of a freed inode: reclaim it now.
                    RemoveLocked(old);
                    old.State = VnodeState.Reclaimed;
                    old.Reclaim();
                    break;
                }
                if (old.State == VnodeState.Active)
                {
                    throw new InvalidOperationException($"vnode {vp} inserted while inode {vp.Ino} is live");
                }
                Monitor.Wait(_lock);
            }
            vp.RefCount = 1;
            vp.State = VnodeState.Active;
            _byIno[vp.Ino] = vp;
        }
    }

    internal void AddRef(Vnode vp)
    {
        lock (_lock)
        {
            if (vp.RefCount <= 0 && vp.State == VnodeState.Active)
            {
                TakeRefLocked(vp);
                return;
            }
            vp.RefCount++;
        }
    }

    internal void Release(Vnode vp)
    {
        lock (_lock)
        {
            if (vp.RefCount <= 0)
            {
                throw new InvalidOperationException($"release of unreferenced vnode {vp}");
            }
            if (--vp.RefCount > 0)
            {
                return;
            }
            vp.State = VnodeState.Inactivating;
        }

        bool recycle;
        lock (vp.Lock)
        {
            Errno e = vp.Inactive(out recycle);
            if (e != Errno.OK)
            {
                Interlocked.Increment(ref _inactiveFailures);
                KernelLog.Warning("vfs", $"inactive of {vp} failed: {e.Describe()}");
            }
        }

        List<Vnode>? toReclaim = null;
        lock (_lock)
        {
            if (recycle && vp.RefCount == 0)
            {
                RemoveLocked(vp);
                vp.State = VnodeState.Reclaimed;
                (toReclaim ??= []).Add(vp);
            }
            else
            {
                vp.State = VnodeState.Active;
                if (vp.RefCount == 0)
                {
                    vp.FreeListNode = _free.AddLast(vp);
                }
            }
            while (_free.Count > MaxUnreferenced)
            {
                Vnode oldest = _free.First!.Value;
                RemoveLocked(oldest);
                oldest.State = VnodeState.Reclaimed;
                (toReclaim ??= []).Add(oldest);
            }
            Monitor.PulseAll(_lock);
        }

        if (toReclaim is not null)
        {
            foreach (Vnode v in toReclaim)
            {
                v.Reclaim();
            }
        }
    }

    /// <summary>A snapshot of every cached vnode (for sync and unmount).</summary>
    public IReadOnlyList<Vnode> Snapshot()
    {
        lock (_lock)
        {
            return [.. _byIno.Values];
        }
    }

    /// <summary>
    /// Reclaim every unreferenced vnode. Returns the number still referenced (an unmount
    /// that is not forced fails with EBUSY when this is not zero).
    /// </summary>
    public int ReclaimUnreferenced()
    {
        List<Vnode> reclaim = [];
        int referenced;
        lock (_lock)
        {
            foreach (Vnode v in _free)
            {
                v.FreeListNode = null;
                v.State = VnodeState.Reclaimed;
                _byIno.Remove(v.Ino);
                reclaim.Add(v);
            }
            _free.Clear();
            referenced = _byIno.Count;
        }
        foreach (Vnode v in reclaim)
        {
            v.Reclaim();
        }
        return referenced;
    }

    private void TakeRefLocked(Vnode v)
    {
        if (v.RefCount == 0 && v.FreeListNode is not null)
        {
            _free.Remove(v.FreeListNode);
            v.FreeListNode = null;
        }
        v.RefCount++;
    }

    private void RemoveLocked(Vnode v)
    {
        if (v.FreeListNode is not null)
        {
            _free.Remove(v.FreeListNode);
            v.FreeListNode = null;
        }
        if (_byIno.TryGetValue(v.Ino, out Vnode? current) && ReferenceEquals(current, v))
        {
            _byIno.Remove(v.Ino);
        }
    }
}
