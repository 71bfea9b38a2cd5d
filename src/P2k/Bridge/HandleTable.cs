using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>
/// One open file or directory: the vnode (referenced), the open(2) flags, and who opened it
/// (write-backs of the kernel's cached pages arrive without the writer's credentials and
/// are done as the opener, so the root reserve and quotas still apply to them).
/// </summary>
internal sealed record OpenFile(Vnode Vnode, int Flags, Credentials Opener)
{
    private const int O_ACCMODE = 3;

    public bool Writable => (Flags & O_ACCMODE) is 1 or 2;
}

/// <summary>
/// The kernel's file handles (fh of OPEN/OPENDIR/CREATE). Each holds a vnode reference so
/// a file unlinked while open lives until RELEASE. Per vnode it counts the handles open and
/// those whose RELEASE is being served, so that an unlink can tell a file still open from
/// one whose last close is on its way, and wait for the latter.
/// </summary>
internal sealed class HandleTable
{
    private readonly object _lock = new();
    private readonly Dictionary<ulong, OpenFile> _open = [];
    private readonly Dictionary<Vnode, (int Open, int Releasing)> _perVnode = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<ulong> _releasing = [];
    private ulong _next = 1;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>Register an open file; takes a reference of its own on the vnode.</summary>
    public ulong Add(Vnode vp, int flags, Credentials opener)
    {
        vp.Ref();
        lock (_lock)
        {
            ulong fh = _next++;
            _open[fh] = new OpenFile(vp, flags, opener);
            (int open, int releasing) = _perVnode.GetValueOrDefault(vp);
            _perVnode[vp] = (open + 1, releasing);
            return fh;
        }
    }

    public Errno Get(ulong fh, out OpenFile? file)
    {
        lock (_lock)
        {
            return _open.TryGetValue(fh, out file) ? Errno.OK : Errno.EBADF;
        }
    }

    /// <summary>
    /// A RELEASE of <paramref name="fh"/> has been read: from now on the handle counts as being
    /// released (it stays usable until <see cref="Remove"/>), so that an unlink served
    /// meanwhile waits for it rather than take the file for open.
    /// </summary>
    public void BeginRelease(ulong fh)
    {
        lock (_lock)
        {
            if (_open.TryGetValue(fh, out OpenFile? file) && _releasing.Add(fh))
            {
                (int open, int releasing) = _perVnode[file.Vnode];
                _perVnode[file.Vnode] = (open - 1, releasing + 1);
            }
        }
    }

    /// <summary>
    /// Remove a handle for its RELEASE; the caller closes and releases its vnode, then calls
    /// <see cref="Released"/>. Until then the handle counts as being released.
    /// </summary>
    public OpenFile? Remove(ulong fh)
    {
        lock (_lock)
        {
            if (!_open.Remove(fh, out OpenFile? file))
            {
                return null;
            }
            if (!_releasing.Remove(fh))
            {
                (int open, int releasing) = _perVnode[file.Vnode];
                _perVnode[file.Vnode] = (open - 1, releasing + 1);
            }
            return file;
        }
    }

    /// <summary>Whether a handle of <paramref name="vp"/> is open (not being released).</summary>
    public bool HasOpen(Vnode vp)
    {
        lock (_lock)
        {
            return _perVnode.GetValueOrDefault(vp).Open > 0;
        }
    }

    /// <summary>The RELEASE of <paramref name="file"/> (from <see cref="Remove"/>) is done.</summary>
    public void Released(OpenFile file)
    {
        lock (_lock)
        {
            // Gone already when the connection ended meanwhile (RemoveAll).
            if (!_perVnode.TryGetValue(file.Vnode, out (int, int) n))
            {
                return;
            }
            (int open, int releasing) = n;
            if (open == 0 && releasing == 1)
            {
                _perVnode.Remove(file.Vnode);
            }
            else
            {
                _perVnode[file.Vnode] = (open, releasing - 1);
            }
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>
    /// Whether <paramref name="file"/>, being released, is the last handle of its vnode:
    /// none other open or being released.
    /// </summary>
    public bool IsLast(OpenFile file)
    {
        lock (_lock)
        {
            return _perVnode.GetValueOrDefault(file.Vnode) == (0, 1);
        }
    }

    /// <summary>
    /// Whether <paramref name="vp"/> has no handle, once the RELEASEs of it being served have
    /// finished (waited for up to <paramref name="timeout"/>). False at once while a handle
    /// is open: then nothing is waited for.
    /// </summary>
    public bool WaitUntilClosed(Vnode vp, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_lock)
        {
            while (_perVnode.TryGetValue(vp, out (int Open, int Releasing) n))
            {
                long left = deadline - Environment.TickCount64;
                if (n.Open > 0 || left <= 0)
                {
                    return false;
                }
                Monitor.Wait(_lock, (int)left);
            }
            return true;
        }
    }

    /// <summary>Remove every handle (the connection is gone).</summary>
    public List<OpenFile> RemoveAll()
    {
        lock (_lock)
        {
            List<OpenFile> all = [.. _open.Values];
            _open.Clear();
            _perVnode.Clear();
            _releasing.Clear();
            Monitor.PulseAll(_lock);
            return all;
        }
    }
}
