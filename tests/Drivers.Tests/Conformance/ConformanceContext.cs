using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>One test's file system: the target, a harness on it, a clock the test moves.</summary>
public sealed class ConformanceContext : IDisposable
{
    private readonly ScratchDir _scratch = new("rumpfs-conf");
    private readonly IConformanceFs _fs;

    public ConformanceContext(string targetName)
    {
        Target = ConformanceTargets.Get(targetName);
        Clock = new ManualClock(new Timespec(1_700_000_000, 0));
        _fs = Target.Create(_scratch, Clock);
        Fs = new VfsHarness(_fs.Mount);
    }

    public ConformanceTarget Target { get; }

    public FsDeviations Dev => Target.Deviations;

    public ManualClock Clock { get; }

    public VfsHarness Fs { get; private set; }

    /// <summary>Move the clock well past any format's timestamp granularity.</summary>
    public void Tick() => Clock.Advance(TimeSpan.FromSeconds(10));

    /// <summary>Remount when the target keeps data; false (and nothing done) for tmpfs.</summary>
    public bool TryRemount()
    {
        Mount? m = _fs.Remount();
        if (m is null)
        {
            return false;
        }
        Fs = new VfsHarness(m);
        return true;
    }

    public static void Ok(Errno e, string what) => Assert.True(e == Errno.OK, $"{what}: {e}");

    public static void Is(Errno expected, Errno actual, string what) =>
        Assert.True(expected == actual, $"{what}: expected {expected}, got {actual}");

    public void Dispose()
    {
        // The target's dispose runs the format's checker and fails the test when it is not
        // clean; the scratch folder goes either way.
        try
        {
            _fs.Dispose();
        }
        finally
        {
            _scratch.Dispose();
        }
    }
}
