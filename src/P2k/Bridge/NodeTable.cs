using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>
/// The kernel's node ids and the vnodes behind them, as libp2k maps puffs cookies to
/// vnodes. Each node holds one vnode reference and counts the lookups the kernel has been
/// told about; FORGET lowers the count and at zero the reference goes and the id is free
/// for reuse, with a new generation number. Id 1 is the root and is never forgotten.
/// The same vnode always gets the same id (so hard links share the kernel's inode).
/// A node whose file is gone (unlinked, not open) may let go of its vnode before the
/// kernel's FORGET (<see cref="Detach"/>); its id stays taken until then.
/// </summary>
internal sealed class NodeTable
{
    public const ulong RootId = 1;

    private readonly object _lock = new();
    private readonly List<Slot> _slots = [];
    private readonly Stack<ulong> _free = new();
    private readonly Dictionary<Vnode, ulong> _byVnode = new(ReferenceEqualityComparer.Instance);

    /// <summary>Take over the caller's reference on <paramref name="root"/>.</summary>
    public NodeTable(Vnode root)
    {
        _slots.Add(default); // id 0 is not a node
        _slots.Add(new Slot { Vnode = root, Lookups = 1, Generation = 1 });
        _byVnode[root] = RootId;
    }

    /// <summary>Live nodes, the root included.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byVnode.Count;
            }
        }
    }

    /// <summary>
    /// The vnode of <paramref name="nodeId"/>, with a reference for the caller to release;
    /// ESTALE when unknown. On success the caller also calls <see cref="Put"/> once it has
    /// released that reference.
    /// </summary>
    public Errno Get(ulong nodeId, out Vnode? vp)
    {
        lock (_lock)
        {
            if (nodeId == 0 || nodeId >= (ulong)_slots.Count || _slots[(int)nodeId].Vnode is not { } v)
            {
                vp = null;
                return Errno.ESTALE;
            }
            v.Ref();
            vp = v;
            Slot s = _slots[(int)nodeId];
            s.Busy++;
            _slots[(int)nodeId] = s;
            return Errno.OK;
        }
    }

    /// <summary>
    /// The caller of a successful <see cref="Get"/> has released its reference. A request's
    /// reference outlives its reply (the handler releases it after answering), so a node let
    /// go early (<see cref="Detach"/>) waits for these to know its vnode's last reference is
    /// gone, and its inactive done.
    /// </summary>
    public void Put(ulong nodeId)
    {
        lock (_lock)
        {
            Slot s = _slots[(int)nodeId];
            s.Busy--;
            _slots[(int)nodeId] = s;
            if (s.Busy == 0)
            {
                Monitor.PulseAll(_lock);
            }
        }
    }

    /// <summary>Wait (up to <paramref name="timeout"/>) until no request got <paramref name="nodeId"/>'s vnode without putting it back.</summary>
    public bool WaitIdle(ulong nodeId, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_lock)
        {
            while (_slots[(int)nodeId].Busy > 0)
            {
                long left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return false;
                }
                Monitor.Wait(_lock, (int)left);
            }
            return true;
        }
    }

    /// <summary>
    /// Count one lookup of <paramref name="vp"/> (referenced by the caller, who keeps its own
    /// reference) and return its node id and generation.
    /// </summary>
    public (ulong NodeId, ulong Generation) Remember(Vnode vp)
    {
        lock (_lock)
        {
            if (_byVnode.TryGetValue(vp, out ulong id))
            {
                Slot s = _slots[(int)id];
                s.Lookups++;
                _slots[(int)id] = s;
                return (id, s.Generation);
            }
            vp.Ref();
            if (_free.TryPop(out id))
            {
                Slot s = _slots[(int)id];
                s.Vnode = vp;
                s.Lookups = 1;
                s.Generation++;
                _slots[(int)id] = s;
            }
            else
            {
                id = (ulong)_slots.Count;
                _slots.Add(new Slot { Vnode = vp, Lookups = 1, Generation = 1 });
            }
            _byVnode[vp] = id;
            return (id, _slots[(int)id].Generation);
        }
    }

    /// <summary>The kernel dropped <paramref name="count"/> lookups of <paramref name="nodeId"/>.</summary>
    public void Forget(ulong nodeId, ulong count)
    {
        Vnode? release = null;
        lock (_lock)
        {
            if (nodeId <= RootId || nodeId >= (ulong)_slots.Count)
            {
                return;
            }
            Slot s = _slots[(int)nodeId];
            if (s.Vnode is null && !s.Detached)
            {
                return;
            }
            s.Lookups = count >= s.Lookups ? 0 : s.Lookups - count;
            if (s.Lookups == 0)
            {
                if (s.Vnode is not null)
                {
                    release = s.Vnode;
                    _byVnode.Remove(s.Vnode);
                    s.Vnode = null;
                }
                s.Detached = false;
                _free.Push(nodeId);
            }
            _slots[(int)nodeId] = s;
        }
        // Outside the table lock: the last release runs the driver's inactive.
        release?.Release();
    }

    /// <summary>
    /// Let go of <paramref name="vp"/>'s reference now, before the kernel forgets the node:
    /// its file has no name left and no open handle, so nothing the kernel may still send for
    /// the id needs it (such a request gets ESTALE, which makes the kernel look the name up
    /// again), and the driver's inactive can free its storage at once. The id stays taken,
    /// with its lookup count, until FORGET. Returns the id, or 0 when <paramref name="vp"/>
    /// has no node or is the root.
    /// </summary>
    public ulong Detach(Vnode vp)
    {
        ulong id;
        lock (_lock)
        {
            if (!_byVnode.Remove(vp, out id))
            {
                return 0;
            }
            if (id == RootId)
            {
                _byVnode[vp] = id;
                return 0;
            }
            Slot s = _slots[(int)id];
            s.Vnode = null;
            s.Detached = true;
            _slots[(int)id] = s;
        }
        // Outside the table lock: the last release runs the driver's inactive.
        vp.Release();
        return id;
    }

    /// <summary>Drop every node, the root included (the connection is gone).</summary>
    public void ReleaseAll()
    {
        List<Vnode> release;
        lock (_lock)
        {
            release = [.. _byVnode.Keys];
            _byVnode.Clear();
            _free.Clear();
            for (int i = 0; i < _slots.Count; i++)
            {
                Slot s = _slots[i];
                s.Vnode = null;
                s.Lookups = 0;
                s.Detached = false;
                _slots[i] = s;
            }
        }
        foreach (Vnode v in release)
        {
            v.Release();
        }
    }

    private struct Slot
    {
        public Vnode? Vnode;

        /// <summary>The vnode was let go early (<see cref="Detach"/>); the kernel still holds the id.</summary>
        public bool Detached;

        /// <summary>Successful <see cref="Get"/>s not yet followed by <see cref="Put"/>; kept across reuse of the id.</summary>
        public int Busy;
        public ulong Lookups;
        public ulong Generation;
    }
}
