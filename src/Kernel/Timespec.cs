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

    public DateTimeOffset ToDateTimeOffset() =>
        DateTimeOffset.UnixEpoch.AddTicks((Seconds * TimeSpan.TicksPerSecond) + (Nanoseconds / 100));

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
