using RumpFs.Kernel;

namespace RumpFs.Kernel.Tests;

public class KernelTypesTests
{
    [Fact]
    public void Errno_HasLinuxValues()
    {
        Assert.Equal(2, (int)Errno.ENOENT);
        Assert.Equal(28, (int)Errno.ENOSPC);
        Assert.Equal(39, (int)Errno.ENOTEMPTY);
        Assert.Equal(95, (int)Errno.EOPNOTSUPP);
        Assert.Equal("No such file or directory", Errno.ENOENT.Describe());
    }

    [Fact]
    public void Timespec_RoundTripsThroughDateTimeOffset_AndOrders()
    {
        var t = new Timespec(1_234_567_890, 123_456_700);
        Assert.Equal(t, Timespec.FromDateTimeOffset(t.ToDateTimeOffset()));
        Assert.True(new Timespec(5, 1) > new Timespec(5, 0));
        Assert.True(new Timespec(4, 999_999_999) < new Timespec(5, 0));
        Assert.Equal(new Timespec(-1, 900_000_000), Timespec.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddMilliseconds(-100)));
    }

    [Fact]
    public void HostClock_ReportsNanosecondsNearNow()
    {
        Timespec now = HostClock.Instance.Now;
        Assert.InRange(now.Seconds, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        Assert.InRange(now.Nanoseconds, 0, 999_999_999);
    }

    [Fact]
    public void Credentials_GroupMembership_IncludesPrimaryAndSupplementary()
    {
        var c = new Credentials(1000, 100, [10, 20]);
        Assert.True(c.InGroup(100));
        Assert.True(c.InGroup(20));
        Assert.False(c.InGroup(30));
        Assert.False(c.IsRoot);
        Assert.True(Credentials.Root.IsRoot);
    }

    [Fact]
    public void CorruptionOnce_LogsOnlyOncePerLocation()
    {
        var lines = new List<string>();
        KernelLog.SetSink((_, l) => { lock (lines) { lines.Add(l); } });
        try
        {
            string what = "test-" + Guid.NewGuid();
            Assert.Equal(Errno.EIO, KernelLog.CorruptionOnce("t", 42, what));
            Assert.Equal(Errno.EIO, KernelLog.CorruptionOnce("t", 42, what));
            Assert.Single(lines, l => l.Contains(what, StringComparison.Ordinal) && l.Contains("block 42", StringComparison.Ordinal));
        }
        finally
        {
            KernelLog.SetSink((_, l) => Console.Error.WriteLine(l));
        }
    }
}
