using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.P2k.Protocol;

/// <summary>
/// Notifications to the kernel. Those that make the kernel wait are written by a thread of
/// their own, never by a worker. The kernel acts on a notification inside the write(2) that
/// carries it: invalidating a node's pages waits for the write-backs of those pages still in
/// flight and writes dirty ones back first (WRITEs that the workers must answer), and
/// invalidating an entry takes its directory's lock, which the kernel holds across any
/// UNLINK, RENAME or CREATE there until that request is answered. A worker writing one could
/// wait for an answer only a worker can give: its own, when it notifies before replying, or
/// any, when every worker is notifying at once (the deadlock libfuse warns of for
/// fuse_lowlevel_notify_inval_inode and _inval_entry). So a handler only queues those here,
/// after it has answered. Repeats of one still waiting are merged into one. The epoch
/// increment is the exception (<see cref="IncrementEpoch"/>): the kernel takes no lock for
/// it, so a worker writes it itself, before its reply.
/// </summary>
internal sealed class FuseNotifier : IDisposable
{
    /// <summary>One queued notification: an inode (Name null), or an entry of a directory.</summary>
    private readonly record struct Pending(ulong NodeId, string? Name);

    private readonly FuseDevice _device;
    private readonly Lock _lock = new();
    private readonly Queue<Pending> _queue = new();
    private readonly HashSet<Pending> _queued = [];
    private readonly SemaphoreSlim _pending = new(0);
    private Thread? _thread;
    private bool _stopped;

    public FuseNotifier(FuseDevice device)
    {
        _device = device;
    }

    /// <summary>
    /// Queue FUSE_NOTIFY_INVAL_INODE for <paramref name="nodeId"/>: the kernel drops its
    /// cached attributes and every cached page of it (offset 0, length 0: to the end).
    /// Returns at once; the notification follows from the notifier's thread.
    /// </summary>
    public void InvalidateInode(ulong nodeId) => Enqueue(new Pending(nodeId, null));

    /// <summary>
    /// Queue FUSE_NOTIFY_INVAL_ENTRY for <paramref name="name"/> in the directory
    /// <paramref name="parentId"/>: the kernel drops that cached name (and what it caches
    /// below it), so its next use is a LOOKUP. Returns at once; the notification follows from
    /// the notifier's thread, once the kernel has let go of the directory.
    /// </summary>
    public void InvalidateEntry(ulong parentId, string name) => Enqueue(new Pending(parentId, name));

    /// <summary>
    /// FUSE_NOTIFY_INC_EPOCH, written now from the caller's thread: every name the kernel
    /// caches at this moment is looked up again at its next use (each holds the epoch it was
    /// looked up in, and an older one fails revalidation). The kernel only increments a
    /// counter, without a lock or a wait, so a worker may send it before its reply, which
    /// then finds no stale name left. EINVAL from a kernel older than 7.44.
    /// </summary>
    public Errno IncrementEpoch()
    {
        Span<byte> message = stackalloc byte[FuseOutHeader.Size];
        FuseOutHeader.Write(message, (uint)message.Length, (int)FuseNotifyCode.IncEpoch, unique: 0);
        return Send(message);
    }

    private void Enqueue(Pending item)
    {
        lock (_lock)
        {
            if (_stopped || !_queued.Add(item))
            {
                return;
            }
            _queue.Enqueue(item);
            if (_thread is null)
            {
                // Started on first use: most mounts never notify.
                _thread = new Thread(Run) { IsBackground = true, Name = "p2k-notify" };
                _thread.Start();
            }
            _pending.Release();
        }
    }

    private void Run()
    {
        while (true)
        {
            _pending.Wait();
            Pending item;
            lock (_lock)
            {
                if (_stopped)
                {
                    return;
                }
                item = _queue.Dequeue();
                // Taken off before sending: a failure that comes during the write queues it again.
                _queued.Remove(item);
            }
            Errno e = item.Name is null ? SendInvalInode(item.NodeId) : SendInvalEntry(item.NodeId, item.Name);
            // ENOENT: the kernel no longer holds the node (or the name), so it caches nothing of
            // it either. EINVAL: a kernel without this notification. ENODEV, EBADF: the
            // connection is gone.
            string what = item.Name is null ? $"inval_inode node={item.NodeId}" : $"inval_entry parent={item.NodeId} name={item.Name}";
            KernelLog.Debug("p2k", $"notify {what}: {(e == Errno.OK ? "done" : e.Describe())}");
        }
    }

    /// <summary>
    /// One notification: fuse_out_header with unique 0 and the code in its error field, then
    /// the record, in one write. Offset 0 and length 0: every page, and the attributes.
    /// </summary>
    private Errno SendInvalInode(ulong nodeId)
    {
        Span<byte> message = stackalloc byte[FuseOutHeader.Size + FuseNotifyInvalInodeOut.Size];
        FuseOutHeader.Write(message, (uint)message.Length, (int)FuseNotifyCode.InvalInode, unique: 0);
        FuseNotifyInvalInodeOut.Write(message[FuseOutHeader.Size..], nodeId, offset: 0, length: 0);
        return Send(message);
    }

    private Errno SendInvalEntry(ulong parentId, string name)
    {
        byte[] bytes = NameEncoding.GetBytes(name);
        byte[] message = new byte[FuseOutHeader.Size + FuseNotifyInvalEntryOut.SizeWith(bytes.Length)];
        FuseOutHeader.Write(message, (uint)message.Length, (int)FuseNotifyCode.InvalEntry, unique: 0);
        FuseNotifyInvalEntryOut.Write(message.AsSpan(FuseOutHeader.Size), parentId, bytes);
        return Send(message);
    }

    private Errno Send(ReadOnlySpan<byte> message)
    {
        // Held across the write so that the session cannot close the descriptor (and the
        // number be reused) while a notification is on its way.
        bool held = false;
        try
        {
            _device.DangerousAddRef(ref held);
            return _device.Write(message);
        }
        catch (ObjectDisposedException)
        {
            return Errno.EBADF;
        }
        finally
        {
            if (held)
            {
                _device.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Stop: what is still queued is dropped (the connection is ending), and a notification
    /// being written is waited for a while; the kernel ends it when the connection goes.
    /// </summary>
    public void Dispose()
    {
        Thread? thread;
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }
            _stopped = true;
            thread = _thread;
            _pending.Release();
        }
        if (thread is not null && !thread.Join(TimeSpan.FromSeconds(5)))
        {
            KernelLog.Warning("p2k", "a notification to the kernel is still being written; going on");
            return;
        }
        _pending.Dispose();
    }
}
