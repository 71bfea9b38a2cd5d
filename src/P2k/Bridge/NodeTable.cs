using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>
/// The kernel's node ids and the vnodes behind them, as libp2k maps puffs cookies to
/// vnodes. Each node holds one vnode reference and counts the lookups the kernel has been
/// told about; FORGET lowers the count and at zero the reference goes and the id is free
/// for reuse, with a new generation number. Id 1 is the root and is never forgotten.
/// The same vnode always gets the same id (so hard links share the kernel's inode).
/// </summary>
internal sealed class NodeTable
{
    public const ulong RootId = 1;

    private readonly Lock _lock = new();
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

    /// <summary>The vnode of <paramref name="nodeId"/>, with a reference for the caller to release; ESTALE when unknown.</summary>
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
            return Errno.OK;
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
            if (nodeId <= RootId || nodeId >= (ulong)_slots.Count || _slots[(int)nodeId].Vnode is null)
            {
                return;
            }
            Slot s = _slots[(int)nodeId];
            s.Lookups = count >= s.Lookups ? 0 : s.Lookups - count;
            if (s.Lookups == 0)
            {
                release = s.Vnode;
                _byVnode.Remove(s.Vnode!);
                s.Vnode = null;
                _free.Push(nodeId);
            }
            _slots[(int)nodeId] = s;
        }
        // Outside the table lock: the last release runs the driver's inactive.
        release?.Release();
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
        public ulong Lookups;
        public ulong Generation;
    }
}
