using RumpFs.Kernel;

namespace RumpFs.P2k.Protocol;

/// <summary>
/// Notifications to the kernel, written by a thread of their own, never by a worker. The
/// kernel acts on a notification inside the write(2) that carries it, and invalidating a
/// node's pages waits for the write-backs of those pages still in flight and writes dirty
/// ones back first: WRITEs that the workers must answer. A worker writing it could wait for
/// an answer only a worker can give: its own, when it notifies before replying, or any, when
/// every worker is notifying at once (the deadlock libfuse warns of for
/// fuse_lowlevel_notify_inval_inode). So a handler only queues here, after it has answered.
/// Invalidations of a node already waiting are merged into one.
/// </summary>
internal sealed class FuseNotifier : IDisposable
{
    private readonly FuseDevice _device;
    private readonly Lock _lock = new();
    private readonly Queue<ulong> _inodes = new();
    private readonly HashSet<ulong> _queued = [];
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
    public void InvalidateInode(ulong nodeId)
    {
        lock (_lock)
        {
            if (_stopped || !_queued.Add(nodeId))
            {
                return;
            }
            _inodes.Enqueue(nodeId);
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
            ulong nodeId;
            lock (_lock)
            {
                if (_stopped)
                {
                    return;
                }
                nodeId = _inodes.Dequeue();
                // Taken off before sending: a failure that comes during the write queues it again.
                _queued.Remove(nodeId);
            }
            Errno e = SendInvalInode(nodeId);
            // ENOENT: the kernel no longer holds the node, so it caches nothing of it either.
            // EINVAL: a kernel without this notification. ENODEV, EBADF: the connection is gone.
            KernelLog.Debug("p2k", $"notify inval_inode node={nodeId}: {(e == Errno.OK ? "done" : e.Describe())}");
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
