namespace RumpFs.Kernel;

/// <summary>Seconds and nanoseconds since the Unix epoch, as struct timespec.</summary>
public readonly record struct Timespec(long Seconds, int Nanoseconds) : IComparable<Timespec>
{
    public static Timespec Zero => default;

    public static Timespec FromDateTimeOffset(DateTimeOffset t)
    {
        long ticks = t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        long sec = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rem);
        if (rem < 0)
        {
            sec--;
            rem += TimeSpan.TicksPerSecond;
        }
        return new Timespec(sec, (int)(rem * 100));
    }

    /// <summary>Seconds of 0001-01-01 and of 9999-12-31T23:59:59, the range DateTimeOffset holds.</summary>
    private const long MinSeconds = -62135596800;
    private const long MaxSeconds = 253402300799;

    /// <summary>True when the time falls in the years 1 to 9999 (an image can hold any 64-bit second).</summary>
    public bool IsRepresentable => Seconds is >= MinSeconds and <= MaxSeconds && Nanoseconds is >= 0 and < 1_000_000_000;

    /// <summary>The time as a DateTimeOffset, clamped to the years 1 to 9999.</summary>
    public DateTimeOffset ToDateTimeOffset() =>
        Seconds < MinSeconds ? DateTimeOffset.MinValue
        : Seconds > MaxSeconds ? DateTimeOffset.MaxValue
        : DateTimeOffset.UnixEpoch.AddTicks((Seconds * TimeSpan.TicksPerSecond) + (Math.Clamp(Nanoseconds, 0, 999_999_999) / 100));

    public int CompareTo(Timespec other)
    {
        int c = Seconds.CompareTo(other.Seconds);
        return c != 0 ? c : Nanoseconds.CompareTo(other.Nanoseconds);
    }

    public static bool operator <(Timespec a, Timespec b) => a.CompareTo(b) < 0;
    public static bool operator >(Timespec a, Timespec b) => a.CompareTo(b) > 0;
    public static bool operator <=(Timespec a, Timespec b) => a.CompareTo(b) <= 0;
    public static bool operator >=(Timespec a, Timespec b) => a.CompareTo(b) >= 0;

    public override string ToString() => $"{Seconds}.{Nanoseconds:D9}";
}
