namespace RumpFs.Kernel.Devices;

/// <summary>
/// Decides how far ahead of a streaming reader a device should ask its host to read.
/// Large reads that follow each other make a stream. When a stream, past its first
/// <see cref="WarmUp"/> bytes (the host's read-ahead ramping up), reads any window of
/// <see cref="Judged"/> bytes slower than <see cref="LaggingBytesPerSecond"/>, the host's own
/// read-ahead is not keeping up, and from then on the stream asks for more: as far
/// ahead as it has read so far, up to <see cref="MaxAhead"/>, so a short file never costs
/// more than twice itself.
/// </summary>
/// <remarks>
/// The host kernel reads ahead of sequential reads on its own, but only as far as its
/// read-ahead window and only when the reader comes back for more, into large page-cache
/// folios. When the host's free memory is costly to touch again (a virtual machine that
/// has handed freed pages back to its host), those large folios made a cold 512 MiB get
/// three times slower (844 ms against 286 ms with this advice; mcopy 630 ms); with memory
/// that is cheap to touch the advice costs about a quarter (338–351 ms against 265–268 ms),
/// which is why it is given only to a stream that reads slowly. docs/benchmarks.md has the
/// figures. Small reads (metadata) neither extend nor break a
/// stream. Thread-safe.
/// </remarks>
public sealed class StreamingReadAhead
{
    /// <summary>Reads shorter than this are not part of a stream.</summary>
    public const int MinStreamingRead = 64 * 1024;

    /// <summary>The farthest ahead of the reader a stream asks for.</summary>
    public const long MaxAhead = 32L << 20;

    /// <summary>Advice is given in pieces of at least this size (fewer calls).</summary>
    public const long MinAdvice = 2L << 20;

    /// <summary>What a stream reads before it is judged: the host's read-ahead starts small.</summary>
    public const long WarmUp = 8L << 20;

    /// <summary>The window over which a stream, after its warm-up, is judged.</summary>
    public const long Judged = 8L << 20;

    /// <summary>A stream reading slower than this gets read-ahead advice.</summary>
    public const long LaggingBytesPerSecond = 1L << 30;

    private readonly Lock _lock = new();
    private long _streamStart = -1;
    private long _nextOffset = -1;
    private long _advisedEnd;
    private long _streamBytes;
    private long _streamTicks;
    private bool _lagging;

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
                _streamBytes = 0;
                _streamTicks = 0;
                _lagging = false;
            }
            _nextOffset = end;
            if (!_lagging)
            {
                return default;
            }
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

    /// <summary>
    /// Record how long a read reported to <see cref="OnRead"/> took, in
    /// <see cref="System.Diagnostics.Stopwatch"/> ticks.
    /// </summary>
    public void OnReadDone(long offset, int length, long elapsedTicks)
    {
        if (length < MinStreamingRead)
        {
            return;
        }
        lock (_lock)
        {
            if (_lagging || offset < _streamStart || offset + length != _nextOffset)
            {
                return;
            }
            if (offset - _streamStart < WarmUp)
            {
                return;
            }
            _streamBytes += length;
            _streamTicks += elapsedTicks;
            if (_streamBytes >= Judged)
            {
                // Judge each window of the stream on its own: the host can fall behind
                // later in a stream as well as at its start.
                double seconds = (double)_streamTicks / System.Diagnostics.Stopwatch.Frequency;
                _lagging = _streamBytes < LaggingBytesPerSecond * seconds;
                _streamBytes = 0;
                _streamTicks = 0;
            }
        }
    }
}
