using System.Diagnostics;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// "get: 512.0 MiB, 310.4 MiB/s" on stderr, redrawn at most twice a second, for copies that
/// take a while; silent unless stderr is a terminal and the copy is long.
/// </summary>
internal sealed class Progress
{
    /// <summary>Copies smaller than this finish too fast to need a meter.</summary>
    public const long Threshold = 32L << 20;

    private readonly TextWriter _err;
    private readonly string _verb;
    private readonly bool _enabled;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _bytes;
    private long _lastDraw;
    private bool _drawn;

    public Progress(TextWriter err, string verb, bool enabled)
    {
        _err = err;
        _verb = verb;
        _enabled = enabled;
    }

    public long Bytes => _bytes;

    public void Add(long bytes)
    {
        _bytes += bytes;
        if (!_enabled || _bytes < Threshold || _clock.ElapsedMilliseconds - _lastDraw < 500)
        {
            return;
        }
        _lastDraw = _clock.ElapsedMilliseconds;
        Draw();
    }

    private void Draw()
    {
        double mib = _bytes / 1048576.0;
        double rate = mib / Math.Max(_clock.Elapsed.TotalSeconds, 0.001);
        _err.Write(FormattableString.Invariant($"\r{_verb}: {mib:F1} MiB, {rate:F1} MiB/s   "));
        _drawn = true;
    }

    public void Finish()
    {
        if (_drawn)
        {
            Draw();
            _err.WriteLine();
        }
    }
}
