namespace RumpFs.P2k.Protocol;

/// <summary>
/// Which workers hold a request they have read from /dev/fuse but not yet handed to the
/// handler's <see cref="IFuseHandler.Received"/>. The kernel hands requests out in the order
/// it queued them, so when a handler runs, every request queued before its own has been read
/// by some worker; this lets it wait until those have at least been received (a RELEASE
/// sent by a close(2) just before the unlink(2) being served, say). Each worker's count is
/// odd from the return of read(2) until the handler has received the request.
/// </summary>
internal sealed class FuseIntake
{
    private readonly long[] _seq;
    private int _workers;

    public FuseIntake(int maxWorkers)
    {
        _seq = new long[maxWorkers];
    }

    /// <summary>A worker's slot, taken once when it starts.</summary>
    public int Register() => Interlocked.Increment(ref _workers) - 1;

    /// <summary>Worker <paramref name="slot"/> has just read a request.</summary>
    public void Read(int slot) => Interlocked.Increment(ref _seq[slot]);

    /// <summary>Worker <paramref name="slot"/>'s request has been received by the handler (idempotent).</summary>
    public void Received(int slot)
    {
        if ((Volatile.Read(ref _seq[slot]) & 1) != 0)
        {
            Interlocked.Increment(ref _seq[slot]);
        }
    }

    /// <summary>
    /// Wait (up to <paramref name="bound"/>) until every other worker that holds a request
    /// not yet received has passed it on. The few instructions between read(2) returning and
    /// <see cref="Read"/> are not covered.
    /// </summary>
    public bool WaitForOthers(int self, TimeSpan bound)
    {
        int n = Math.Min(Volatile.Read(ref _workers), _seq.Length);
        long deadline = Environment.TickCount64 + (long)bound.TotalMilliseconds;
        for (int i = 0; i < n; i++)
        {
            long s = Volatile.Read(ref _seq[i]);
            if (i == self || (s & 1) == 0)
            {
                continue;
            }
            var spin = new SpinWait();
            while (Volatile.Read(ref _seq[i]) == s)
            {
                if (Environment.TickCount64 > deadline)
                {
                    return false;
                }
                spin.SpinOnce();
            }
        }
        return true;
    }
}
