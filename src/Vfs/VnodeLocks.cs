namespace RumpFs.Vfs;

/// <summary>
/// Takes the locks of several vnodes in the one global order (ascending
/// <see cref="Vnode.Serial"/>), skipping nulls and duplicates, so that no two threads can
/// deadlock on vnode locks. Dispose releases them in reverse order.
/// </summary>
public readonly struct VnodeLocks : IDisposable
{
    private readonly Vnode[] _held;

    private VnodeLocks(Vnode[] held) => _held = held;

    public static VnodeLocks Take(Vnode vp)
    {
        vp.Lock.Enter();
        return new VnodeLocks([vp]);
    }

    public static VnodeLocks Take(params Vnode?[] vnodes)
    {
        var list = new List<Vnode>(vnodes.Length);
        foreach (Vnode? v in vnodes)
        {
            if (v is not null && !list.Contains(v))
            {
                list.Add(v);
            }
        }
        list.Sort(static (a, b) => a.Serial.CompareTo(b.Serial));
        foreach (Vnode v in list)
        {
            v.Lock.Enter();
        }
        return new VnodeLocks([.. list]);
    }

    public void Dispose()
    {
        if (_held is null)
        {
            return;
        }
        for (int i = _held.Length - 1; i >= 0; i--)
        {
            _held[i].Lock.Exit();
        }
    }
}
