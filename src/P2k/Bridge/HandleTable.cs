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
/// a file unlinked while open lives until RELEASE.
/// </summary>
internal sealed class HandleTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, OpenFile> _open = [];
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

    /// <summary>Remove a handle; the caller closes and releases its vnode.</summary>
    public OpenFile? Remove(ulong fh)
    {
        lock (_lock)
        {
            return _open.Remove(fh, out OpenFile? file) ? file : null;
        }
    }

    /// <summary>Remove every handle (the connection is gone).</summary>
    public List<OpenFile> RemoveAll()
    {
        lock (_lock)
        {
            List<OpenFile> all = [.. _open.Values];
            _open.Clear();
            return all;
        }
    }
}
