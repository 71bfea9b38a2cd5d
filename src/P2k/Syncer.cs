using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.P2k;

/// <summary>
/// Writes a read-write mount back every few seconds, as NetBSD's syncer does (syncdelay, 30 s
/// by default). The kernel does not pass syncfs(2) or sync(1) on to an ordinary FUSE file
/// system, so without this everything not fsync'ed would stay in the daemon's caches until
/// unmount, and a killed daemon would lose minutes of work instead of seconds.
/// </summary>
internal sealed class Syncer : IDisposable
{
    private readonly Mount _mount;
    private readonly TimeSpan _interval;
    private readonly ManualResetEventSlim _stop = new(false);
    private readonly Thread _thread;

    private Syncer(Mount mount, TimeSpan interval)
    {
        _mount = mount;
        _interval = interval;
        _thread = new Thread(Loop) { IsBackground = true, Name = "p2k syncer" };
    }

    /// <summary>Start one for <paramref name="mount"/>; null when it is read-only or the interval is zero.</summary>
    public static Syncer? Start(Mount mount, TimeSpan interval)
    {
        if (mount.IsReadOnly || interval <= TimeSpan.Zero)
        {
            return null;
        }
        var syncer = new Syncer(mount, interval);
        syncer._thread.Start();
        return syncer;
    }

    /// <summary>How many write-backs have run (for tests and the debug log).</summary>
    public int Passes { get; private set; }

    private void Loop()
    {
        while (!_stop.Wait(_interval))
        {
            Errno e = Vop.Sync(_mount);
            Passes++;
            if (e != Errno.OK)
            {
                KernelLog.Error("p2k", $"periodic write-back failed: {e.Describe()}");
            }
        }
    }

    /// <summary>Stop and wait for a write-back in progress; the final sync is the unmount's.</summary>
    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }
}
