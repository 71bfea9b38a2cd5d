using System.Diagnostics;
using RumpFs.Kernel;

namespace RumpFs.P2k.Protocol;

/// <summary>
/// The one answer to one request (fuser's ReplySender): a handler fills <see cref="Payload"/>
/// and calls <see cref="Send"/>, or calls <see cref="Error"/>, exactly once; FORGET and
/// BATCH_FORGET call <see cref="NoReply"/>. Answering twice or not at all trips a debug
/// assertion; in a release build the request loop answers a forgotten request with EIO and
/// drops a second answer. The whole reply goes out in one write.
/// </summary>
internal sealed class FuseReply
{
    private readonly FuseDevice _device;
    private readonly byte[] _buffer;
    private ulong _unique;
    private FuseOpcode _opcode;
    private int _answered;

    public FuseReply(FuseDevice device, byte[] buffer)
    {
        _device = device;
        _buffer = buffer;
    }

    /// <summary>Room for the reply's arguments, after fuse_out_header.</summary>
    public Span<byte> Payload => _buffer.AsSpan(FuseOutHeader.Size);

    /// <summary>True once the request has been answered (or declared answerless).</summary>
    public bool IsAnswered => _answered != 0;

    /// <summary>The errno of the answer (0 for data or no reply), for the debug log.</summary>
    public Errno Result { get; private set; }

    /// <summary>Set by INTERRUPT when the kernel gave up waiting for this request.</summary>
    public bool Interrupted { get; internal set; }

    /// <summary>The session's intake and this worker's slot in it (null outside a session).</summary>
    internal (FuseIntake Intake, int Slot)? Intake { get; set; }

    /// <summary>
    /// Wait (up to <paramref name="bound"/>) until every request the kernel queued before this
    /// one has been received by the handler (<see cref="IFuseHandler.Received"/>); see
    /// <see cref="FuseIntake"/>. True at once outside a session.
    /// </summary>
    public bool WaitForEarlierRequests(TimeSpan bound) =>
        Intake is not { } i || i.Intake.WaitForOthers(i.Slot, bound);

    internal void Begin(ulong unique, FuseOpcode opcode)
    {
        _unique = unique;
        _opcode = opcode;
        _answered = 0;
        Result = Errno.OK;
        Interrupted = false;
    }

    /// <summary>Send a reply carrying the first <paramref name="payloadLength"/> bytes of <see cref="Payload"/>.</summary>
    public void Send(int payloadLength)
    {
        if (!Claim())
        {
            return;
        }
        int total = FuseOutHeader.Size + payloadLength;
        FuseOutHeader.Write(_buffer, (uint)total, 0, _unique);
        Transmit(total);
    }

    /// <summary>Send an error reply (a bare header with -errno).</summary>
    public void Error(Errno errno)
    {
        if (errno == Errno.OK)
        {
            Send(0);
            return;
        }
        if (!Claim())
        {
            return;
        }
        Result = errno;
        FuseOutHeader.Write(_buffer, FuseOutHeader.Size, -(int)errno, _unique);
        Transmit(FuseOutHeader.Size);
    }

    /// <summary>FORGET, BATCH_FORGET and a found INTERRUPT take no reply.</summary>
    public void NoReply()
    {
        Debug.Assert(_opcode is FuseOpcode.Forget or FuseOpcode.BatchForget or FuseOpcode.Interrupt,
            $"{_opcode} must be answered");
        Claim();
    }

    private bool Claim()
    {
        bool first = Interlocked.Exchange(ref _answered, 1) == 0;
        Debug.Assert(first, $"request {_unique} ({_opcode}) answered twice");
        if (!first)
        {
            KernelLog.Error("p2k", $"request {_unique} ({_opcode}) answered twice; second answer dropped");
        }
        return first;
    }

    private void Transmit(int length)
    {
        Errno e = _device.Write(_buffer.AsSpan(0, length));
        // ENOENT: the kernel no longer waits for this request (interrupted or aborted);
        // ENODEV, EBADF: the connection is gone, or the daemon closed it to end (a refused
        // request answered while it shut down).
        if (e != Errno.OK && e != Errno.ENOENT && e != Errno.ENODEV && e != Errno.EBADF)
        {
            KernelLog.Warning("p2k", $"reply to request {_unique} ({_opcode}) failed: {e.Describe()}");
        }
    }
}
