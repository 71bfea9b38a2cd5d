using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using RumpFs.Kernel;

namespace RumpFs.P2k.Protocol;

/// <summary>
/// The request loop: worker threads each read requests from their own /dev/fuse descriptor
/// (the session's, or a clone), answer INIT and INTERRUPT here, and hand everything else to
/// the <see cref="IFuseHandler"/>. A handler that throws answers EIO and the loop goes on.
/// The session ends when every worker has seen the connection go away (ENODEV after an
/// unmount) or <see cref="StopServing"/> was called (each worker then leaves after its next request).
/// </summary>
internal sealed class FuseSession : IDisposable
{
    private readonly FuseDevice _device;
    private readonly IFuseHandler _handler;
    private readonly int _workerCount;
    private readonly bool _debug;
    private readonly List<Thread> _threads = [];
    private readonly List<FuseDevice> _clones = [];
    private readonly ConcurrentDictionary<ulong, FuseReply> _inFlight = new();
    private readonly ManualResetEventSlim _ended = new(false);
    private readonly FuseNotifier _notifier;
    private readonly FuseIntake _intake;
    private int _running;
    private int _destroyed;
    private volatile bool _stopping;
    private volatile bool _refusing;
    private int _serving;

    public FuseSession(FuseDevice device, IFuseHandler handler, int workers, bool debug)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("the FUSE wire format is read as little-endian");
        }
        _device = device;
        _handler = handler;
        _workerCount = Math.Max(1, workers);
        _debug = debug;
        _notifier = new FuseNotifier(device);
        _intake = new FuseIntake(_workerCount);
    }

    /// <summary>The negotiated connection, once INIT has been answered.</summary>
    public FuseConnection? Connection { get; private set; }

    /// <summary>Signalled when every worker has stopped.</summary>
    public WaitHandle Ended => _ended.WaitHandle;

    public bool HasEnded => _ended.IsSet;

    /// <summary>Start the workers. The first reads the session's descriptor; the others clone it.</summary>
    public void Start()
    {
        var devices = new List<FuseDevice> { _device };
        for (int i = 1; i < _workerCount; i++)
        {
            Errno e = _device.Clone(out FuseDevice? clone);
            if (e != Errno.OK)
            {
                // Cloning needs the right to open /dev/fuse; unprivileged daemons share one descriptor.
                KernelLog.Debug("p2k", $"cannot clone /dev/fuse ({e.Describe()}); workers share one descriptor");
                break;
            }
            _clones.Add(clone!);
            devices.Add(clone!);
        }
        _running = _workerCount;
        for (int i = 0; i < _workerCount; i++)
        {
            FuseDevice dev = devices[i % devices.Count];
            var t = new Thread(() => WorkerLoop(dev))
            {
                IsBackground = true,
                Name = $"p2k-worker-{i}",
            };
            _threads.Add(t);
        }
        foreach (Thread t in _threads)
        {
            t.Start();
        }
    }

    /// <summary>
    /// Stop serving the file system: from now on every request is answered ENOTCONN (forgets
    /// are dropped) without reaching it, and this returns once the requests already being
    /// served have finished, or false when <paramref name="timeout"/> passed first. After a
    /// lazy unmount the kernel goes on sending the requests of processes still inside the
    /// mount; only when none of them can take a new reference can the VFS be released and
    /// unmounted cleanly (an unlinked file still open is freed then, not leaked).
    /// </summary>
    public bool StopServing(TimeSpan timeout)
    {
        _stopping = true;
        _refusing = true;
        // Serve counts itself in, then reads _refusing; here it is the other way round. Each
        // side's store must be seen before its load, or both can miss the other (a request
        // served after this returned takes a reference the release then leaks): a volatile
        // store may still pass the load that follows it, so a full fence sits between them.
        Interlocked.MemoryBarrier();
        var deadline = Stopwatch.StartNew();
        while (Volatile.Read(ref _serving) > 0)
        {
            if (deadline.Elapsed > timeout)
            {
                return false;
            }
            Thread.Sleep(5);
        }
        return true;
    }

    /// <summary>Wait for every worker to stop.</summary>
    public bool Wait(TimeSpan timeout) => _ended.Wait(timeout);

    private void WorkerLoop(FuseDevice dev)
    {
        byte[] input = ArrayPool<byte>.Shared.Rent(FuseLimits.BufferSize);
        byte[] output = ArrayPool<byte>.Shared.Rent(FuseLimits.BufferSize);
        int slot = _intake.Register();
        var reply = new FuseReply(dev, output) { Intake = (_intake, slot) };
        try
        {
            while (!_stopping)
            {
                Errno e = dev.Read(input, out int length);
                if (e == Errno.OK)
                {
                    _intake.Read(slot);
                }
                if (e != Errno.OK)
                {
                    if (e != Errno.ENODEV && e != Errno.EBADF)
                    {
                        KernelLog.Error("p2k", $"reading /dev/fuse failed: {e.Describe()}");
                    }
                    break;
                }
                Dispatch(input.AsSpan(0, length), reply, slot);
                _intake.Received(slot);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(output);
            if (Interlocked.Decrement(ref _running) == 0)
            {
                _stopping = true;
                NotifyDestroyed();
                _ended.Set();
            }
        }
    }

    private void Dispatch(ReadOnlySpan<byte> message, FuseReply reply, int slot)
    {
        if (message.Length < FuseInHeader.Size)
        {
            KernelLog.Error("p2k", $"short request of {message.Length} bytes ignored");
            return;
        }
        FuseInHeader header = FuseInHeader.Read(message);
        reply.Begin(header.Unique, header.Opcode);
        int end = (int)Math.Min(header.Length, (uint)message.Length);
        int extensions = header.TotalExtLen * 8;
        ReadOnlySpan<byte> body = message[FuseInHeader.Size..Math.Max(FuseInHeader.Size, end - extensions)];
        var request = new FuseRequest(header, body, Connection);
        if (Connection is not null)
        {
            _handler.Received(request);
        }
        _intake.Received(slot);

        switch (header.Opcode)
        {
            case FuseOpcode.Init:
                HandleInit(request, reply);
                break;
            case FuseOpcode.Interrupt:
                HandleInterrupt(request, reply);
                break;
            case FuseOpcode.Destroy:
                NotifyDestroyed();
                reply.Send(0);
                break;
            default:
                if (Connection is null)
                {
                    reply.Error(Errno.EIO);
                    break;
                }
                Serve(request, reply);
                break;
        }

        Debug.Assert(reply.IsAnswered, $"request {header.Unique} ({header.Opcode}) left unanswered");
        if (!reply.IsAnswered)
        {
            KernelLog.Error("p2k", $"request {header.Unique} ({header.Opcode}) left unanswered; answering EIO");
            reply.Error(Errno.EIO);
        }
        if (_debug)
        {
            KernelLog.Debug("p2k", $"{request.ToString()} uid={header.Uid} gid={header.Gid} pid={header.Pid} -> {reply.Result}");
        }
    }

    private void Serve(in FuseRequest request, FuseReply reply)
    {
        // Counted before the check, so that StopServing cannot miss a request between the two.
        Interlocked.Increment(ref _serving);
        try
        {
            if (_refusing)
            {
                Refuse(request, reply);
                return;
            }
            ServeFileSystem(request, reply);
        }
        finally
        {
            Interlocked.Decrement(ref _serving);
        }
    }

    private static void Refuse(in FuseRequest request, FuseReply reply)
    {
        if (request.Header.Opcode is FuseOpcode.Forget or FuseOpcode.BatchForget)
        {
            reply.NoReply();
        }
        else
        {
            reply.Error(Errno.ENOTCONN);
        }
    }

    private void ServeFileSystem(in FuseRequest request, FuseReply reply)
    {
        ulong unique = request.Header.Unique;
        _inFlight[unique] = reply;
        try
        {
            _handler.Handle(request, reply);
        }
        catch (Exception ex)
        {
            KernelLog.Error("p2k", $"{request.ToString()} failed: {ex.GetType().Name}: {ex.Message}");
            if (!reply.IsAnswered)
            {
                reply.Error(Errno.EIO);
            }
        }
        finally
        {
            _inFlight.TryRemove(unique, out _);
        }
    }

    private void HandleInit(in FuseRequest request, FuseReply reply)
    {
        if (!request.Has(FuseInitIn.CompatSize))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseInitIn init = FuseInitIn.Read(request.Body);
        if (init.Major != FuseLimits.KernelMajor)
        {
            // A newer major: answer with ours and wait for the kernel to retry; an older one is refused.
            if (init.Major > FuseLimits.KernelMajor)
            {
                FuseInitOut.Write(reply.Payload, FuseLimits.KernelMajor, FuseLimits.OurMinor, 0, 0, 0, 0, 0, 0, 0);
                reply.Send(8);
                return;
            }
            KernelLog.Error("p2k", $"kernel FUSE protocol {init.Major}.{init.Minor} is not supported");
            reply.Error(FuseLimits.EPROTO);
            return;
        }
        if (init.Minor < FuseLimits.OldestMinor)
        {
            KernelLog.Error("p2k", $"kernel FUSE protocol 7.{init.Minor} is older than 7.{FuseLimits.OldestMinor}");
            reply.Error(FuseLimits.EPROTO);
            return;
        }
        uint minor = Math.Min(init.Minor, FuseLimits.OurMinor);
        ulong wanted = FuseInitFlags.AsyncRead | FuseInitFlags.AtomicOTrunc | FuseInitFlags.BigWrites
            | FuseInitFlags.DoReaddirplus | FuseInitFlags.ReaddirplusAuto | FuseInitFlags.ParallelDirops
            | FuseInitFlags.MaxPages | FuseInitFlags.AsyncDio | FuseInitFlags.InitExt | FuseInitFlags.NoExportSupport
            | FuseInitFlags.HandleKillprivV2 | _handler.ExtraInitFlags;
        // Export support (lookups of "." and ".." by the kernel for NFS) stays off.
        // POSIX_ACL and DONT_MASK come from the handler when the file system stores ACLs.
        // HANDLE_KILLPRIV_V2: the bridge drops setuid/setgid when WRITE, SETATTR or OPEN say
        // so (P2kFileSystem.KillPriv.cs); without it the kernel refreshes the mode with a
        // GETATTR before every chown and loses the drop on an O_TRUNC open.
        ulong flags = wanted & init.Flags;
        Connection = new FuseConnection(FuseLimits.KernelMajor, minor, flags, FuseLimits.MaxWrite, init.MaxReadahead,
            init.Minor);
        FuseInitOut.Write(reply.Payload, FuseLimits.KernelMajor, minor, init.MaxReadahead, flags,
            maxBackground: 64, congestionThreshold: 48, maxWrite: FuseLimits.MaxWrite, timeGran: 1,
            maxPages: FuseLimits.MaxPages);
        _handler.Initialized(Connection, _notifier);
        reply.Send(FuseInitOut.Size);
    }

    /// <summary>
    /// INTERRUPT: mark the request if it is being served (it then finishes normally, which
    /// the protocol allows); if it is not known yet, answer EAGAIN so the kernel queues the
    /// interrupt again.
    /// </summary>
    private void HandleInterrupt(in FuseRequest request, FuseReply reply)
    {
        if (!request.Has(FuseInterruptIn.Size))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        ulong target = FuseInterruptIn.Read(request.Body).Unique;
        if (_inFlight.TryGetValue(target, out FuseReply? victim))
        {
            victim.Interrupted = true;
            reply.NoReply();
            return;
        }
        reply.Error(Errno.EAGAIN);
    }

    private void NotifyDestroyed()
    {
        if (Interlocked.Exchange(ref _destroyed, 1) == 0)
        {
            _handler.Destroyed();
        }
    }

    public void Dispose()
    {
        // First, so that no notification is written to a descriptor being closed.
        _notifier.Dispose();
        foreach (FuseDevice clone in _clones)
        {
            clone.Dispose();
        }
        _device.Dispose();
        _ended.Dispose();
    }
}
