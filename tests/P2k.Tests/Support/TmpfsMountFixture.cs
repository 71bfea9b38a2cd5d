namespace RumpFs.P2k.Tests.Support;

/// <summary>One rump_tmpfs mount (allow_other, so tests can act as other users) shared by a test class.</summary>
public sealed class TmpfsMountFixture : IDisposable
{
    private readonly RumpDaemon _daemon = RumpDaemon.StartTmpfs("size=1G,allow_other");

    internal RumpDaemon Daemon => _daemon;

    /// <summary>A fresh directory inside the mount for one test.</summary>
    public string NewDir()
    {
        string d = _daemon.Path(Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    public void Dispose() => _daemon.Dispose();
}

/// <summary>Runs a command as "nobody" (uid/gid 65534) with setpriv.</summary>
internal static class AsNobody
{
    public const uint Id = 65534;

    public static (int ExitCode, string Output) Run(params string[] command) =>
        RumpDaemon.Run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", .. command]);
}
