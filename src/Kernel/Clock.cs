namespace RumpFs.Kernel;

/// <summary>The time source of the rump kernel (the hypercall rumpuser_clock_gettime).</summary>
public interface IClock
{
    /// <summary>Wall-clock time with nanosecond resolution.</summary>
    Timespec Now { get; }
}

/// <summary>The host's real-time clock.</summary>
public sealed class HostClock : IClock
{
    public static HostClock Instance { get; } = new();

    public Timespec Now
    {
        get
        {
            if (Host.ClockNative.clock_gettime(Host.ClockNative.CLOCK_REALTIME, out var ts) == 0)
            {
                return new Timespec(ts.Seconds, (int)ts.Nanoseconds);
            }
            return Timespec.FromDateTimeOffset(DateTimeOffset.UtcNow);
        }
    }
}

/// <summary>A clock that always reads the same time: images built reproducibly (SOURCE_DATE_EPOCH).</summary>
public sealed class FixedClock(Timespec time) : IClock
{
    public Timespec Now => time;
}

/// <summary>A clock tests set by hand.</summary>
public sealed class ManualClock(Timespec start) : IClock
{
    private Timespec _now = start;

    public Timespec Now => _now;

    public void Set(Timespec t) => _now = t;

    public void Advance(TimeSpan by) =>
        _now = Timespec.FromDateTimeOffset(_now.ToDateTimeOffset() + by);
}
