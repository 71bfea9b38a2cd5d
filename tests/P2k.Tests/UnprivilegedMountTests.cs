using RumpFs.P2k.Tests.Support;

namespace RumpFs.P2k.Tests;

/// <summary>A user account for the test, created when missing and removed only if this fixture created it.</summary>
public sealed class TestUserFixture : IDisposable
{
    public const string Name = "rumpfs-p2k-test";

    public TestUserFixture()
    {
        if (RumpDaemon.Run("id", "-u", Name).ExitCode != 0)
        {
            (int rc, string output) = RumpDaemon.Run("useradd", "--system", "--user-group", "--no-create-home",
                "--shell", "/usr/sbin/nologin", Name);
            Assert.True(rc == 0, $"useradd: {output}");
            Created = true;
        }
        // fusermount3 opens /dev/fuse as the calling user; distributions make it 0666 (udev),
        // containers often leave it 0600. Open it up for the test and put the mode back after.
        UnixFileMode mode = File.GetUnixFileMode("/dev/fuse");
        const UnixFileMode rw = (UnixFileMode)0x1B6;
        if ((mode & rw) != rw)
        {
            _savedDevFuseMode = mode;
            File.SetUnixFileMode("/dev/fuse", mode | rw);
        }
        Uid = uint.Parse(RumpDaemon.Run("id", "-u", Name).Output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Gid = uint.Parse(RumpDaemon.Run("id", "-g", Name).Output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private readonly UnixFileMode? _savedDevFuseMode;

    public bool Created { get; }
    public uint Uid { get; }
    public uint Gid { get; }

    public string[] Setpriv => ["setpriv", $"--reuid={Uid}", $"--regid={Gid}", "--clear-groups", "--", "env", "HOME=/tmp"];

    public (int ExitCode, string Output) Run(params string[] command) => RumpDaemon.Run(Setpriv[0], [.. Setpriv[1..], .. command]);

    public void Dispose()
    {
        if (_savedDevFuseMode is { } mode)
        {
            File.SetUnixFileMode("/dev/fuse", mode);
        }
        if (Created)
        {
            RumpDaemon.Run("userdel", Name);
        }
    }
}

/// <summary>A normal user mounts through fusermount3 and sees their own ownership.</summary>
public sealed class UnprivilegedMountTests(TestUserFixture user) : IClassFixture<TestUserFixture>
{
    [Fact]
    public void User_MountsThroughFusermount_FilesShowTheirOwnership_UnmountsWithFusermount()
    {
        using RumpDaemon d = RumpDaemon.StartTmpfs("size=16M", user.Setpriv);
        string mounts = File.ReadAllText("/proc/self/mountinfo");
        string line = mounts.Split('\n').Single(l => l.Contains(d.MountPoint, StringComparison.Ordinal));
        Assert.Contains("fuse.rump_tmpfs", line, StringComparison.Ordinal);
        Assert.Contains($"user_id={user.Uid}", line, StringComparison.Ordinal);

        string f = d.Path("mine");
        Assert.Equal(0, user.Run("sh", "-c", $"echo hello > '{f}'").ExitCode);
        (int rc, string owner) = user.Run("stat", "-c", "%u:%g:%s", f);
        Assert.Equal(0, rc);
        Assert.Equal($"{user.Uid}:{user.Gid}:6", owner.Trim());
        (rc, string root) = user.Run("stat", "-c", "%u", d.MountPoint);
        Assert.Equal(0, rc);
        Assert.Equal(user.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture), root.Trim());

        // Without allow_other nobody else gets in, root included.
        Assert.Equal(Sys.EACCES, Sys.Stat(f, out _));

        Assert.Equal(0, d.UnmountFromOutside());
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)), "daemon did not exit after fusermount3 -u");
        Assert.Equal(0, d.Process.ExitCode);
        Assert.False(d.IsMounted);
    }
}
