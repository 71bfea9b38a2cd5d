namespace RumpFs.Kernel.Devices;

/// <summary>
/// Decides how far ahead of a streaming reader a device should ask its host to read.
/// Large reads that follow each other make a stream; the distance asked for grows with
/// what the stream has read so far, up to <see cref="MaxAhead"/>, as the kernel's own
/// read-ahead ramps up, so a short file never costs more than twice itself.
/// </summary>
/// <remarks>
/// The host kernel reads ahead of sequential reads on its own, but only as far as its
/// read-ahead window and only when the reader comes back for more. A copy that writes
/// each chunk somewhere before reading the next leaves the disk idle in between; asking
/// for tens of MiB ahead keeps requests queued. Measured on a 512 MiB get: 0.22–0.25 s
/// with the advice against 0.26–0.34 s without, the image read alone taking 0.21 s.
/// Small reads (metadata) neither extend nor break a stream. Thread-safe.
/// </remarks>
public sealed class StreamingReadAhead
{
    /// <summary>Reads shorter than this are not part of a stream.</summary>
    public const int MinStreamingRead = 64 * 1024;

    /// <summary>The farthest ahead of the reader a stream asks for.</summary>
    public const long MaxAhead = 32L << 20;

    /// <summary>Advice is given in pieces of at least this size (fewer calls).</summary>
    public const long MinAdvice = 2L << 20;

    private readonly Lock _lock = new();
    private long _streamStart = -1;
    private long _nextOffset = -1;
    private long _advisedEnd;

    /// <summary>
    /// Record a read of [offset, offset+length) on a device of <paramref name="deviceLength"/>
    /// bytes and return the range to ask the host for, or a zero length for none.
    /// </summary>
    public (long Offset, long Length) OnRead(long offset, int length, long deviceLength)
    {
        if (length < MinStreamingRead)
        {
            return default;
        }
        long end = offset + length;
        lock (_lock)
        {
            // A read that starts where the last ended, or skips forward into what was already
            // asked for (a file's next extent after a gap of metadata), continues the stream.
            bool continues = _nextOffset >= 0 && offset >= _nextOffset && offset <= Math.Max(_nextOffset, _advisedEnd);
            if (!continues)
            {
                _streamStart = offset;
                _advisedEnd = end;
            }
            _nextOffset = end;
            long ahead = Math.Min(MaxAhead, end - _streamStart);
            long target = Math.Min(deviceLength, end + ahead);
            long from = Math.Max(_advisedEnd, end);
            if (!continues || target - from < Math.Min(MinAdvice, ahead))
            {
                return default;
            }
            _advisedEnd = target;
            return (from, target - from);
        }
    }
}
