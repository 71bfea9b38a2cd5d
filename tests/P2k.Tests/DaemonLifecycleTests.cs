using System.Diagnostics;
using RumpFs.P2k.Tests.Support;
using Tmds.Linux;

namespace RumpFs.P2k.Tests;

/// <summary>How a daemon ends: signals, an unmount from outside, SIGKILL; and going to the background.</summary>
public sealed class DaemonLifecycleTests
{
    [Fact]
    public void Sigterm_SyncsUnmountsAndExitsZero()
    {
        using RumpDaemon d = RumpDaemon.StartTmpfs();
        File.WriteAllText(d.Path("f"), "data");
        Assert.Equal(0, LibC.kill(d.Process.Id, LibC.SIGTERM));
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)), "daemon did not exit on SIGTERM; its log so far:\n" + d.Stderr);
        Assert.Equal(0, d.Process.ExitCode);
        Assert.False(d.IsMounted);
        Assert.Contains("unmounted cleanly", d.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Sigint_WithAFileHeldOpen_StillExitsZero()
    {
        using RumpDaemon d = RumpDaemon.StartTmpfs();
        using (var held = new FileStream(d.Path("open"), FileMode.Create))
        {
            held.Write([1, 2, 3]);
            held.Flush();
            Assert.Equal(0, LibC.kill(d.Process.Id, LibC.SIGINT));
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(30)), "daemon did not exit on SIGINT; its log so far:\n" + d.Stderr);
        }
        Assert.Equal(0, d.Process.ExitCode);
        Assert.False(d.IsMounted);
    }

    /// <summary>
    /// SIGTERM while writers keep working inside the mount (their working directory holds
    /// it, so the unmount is lazy and their requests keep coming). After the grace period
    /// the daemon stops serving them before it releases the file system: it exits 0 with
    /// every vnode released, and e2fsck finds nothing leaked (unlinked files still open were
    /// freed, not left allocated).
    /// </summary>
    [Fact]
    public void Sigterm_WithWritersStillInside_ExitsZeroAndLeavesTheImageClean()
    {
        string scratch = RumpDaemon.NewScratch();
        string image = System.IO.Path.Combine(scratch, "busy.img");
        Assert.Equal(0, RumpDaemon.Run("mke2fs", "-q", "-F", "-t", "ext3", "-b", "1024", image, "16M").ExitCode);
        using RumpDaemon d = RumpDaemon.Start("rump_ext2fs", [image]);
        Directory.CreateDirectory(d.Path("r"));
        const string Writer = """
            import os, sys, time
            os.chdir(sys.argv[1])
            end = time.time() + 14
            i = 0
            while time.time() < end:
                try:
                    name = "w%s-%d" % (sys.argv[2], i % 7)
                    fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.write(fd, os.urandom(65536))
                    if i % 3 == 0:
                        os.unlink(name)
                    os.close(fd)
                except OSError as e:
                    if e.errno in (103, 107):
                        break
                i += 1
            """;
        var writers = Enumerable.Range(0, 3).Select(w => Process.Start(new ProcessStartInfo("python3")
        {
            ArgumentList = { "-c", Writer, d.Path("r"), w.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            RedirectStandardError = true,
        })!).ToList();
        try
        {
            // Every writer inside the mount (its second file there) before the signal: on a
            // loaded machine python takes more than a second to start.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (Enumerable.Range(0, 3).Any(w => !File.Exists(d.Path($"r/w{w}-1"))) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
            Thread.Sleep(200);
            Assert.Equal(0, LibC.kill(d.Process.Id, LibC.SIGTERM));
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(60)), "daemon did not exit on SIGTERM; its log so far:\n" + d.Stderr);
        }
        finally
        {
            foreach (Process w in writers)
            {
                if (!w.WaitForExit(30_000))
                {
                    w.Kill();
                }
                w.Dispose();
            }
        }
        Assert.True(d.Process.ExitCode == 0, d.Stderr);
        Assert.Contains("still in use; stopping anyway", d.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("still referenced", d.Stderr, StringComparison.Ordinal);
        (int fsck, string output) = RumpDaemon.Run("e2fsck", "-fn", image);
        Assert.True(fsck == 0, output);
    }

    [Fact]
    public void Sigint_AsSoonAsTheMountIsUp_UnmountsAndExitsZero()
    {
        // The handler is in place before the kernel mount, so no signal after it can kill the daemon.
        using RumpDaemon d = RumpDaemon.StartTmpfs();
        Assert.Equal(0, LibC.kill(d.Process.Id, LibC.SIGINT));
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)), "daemon did not exit on SIGINT; its log so far:\n" + d.Stderr);
        Assert.Equal(0, d.Process.ExitCode);
        Assert.False(d.IsMounted);
        Assert.Contains("unmounted cleanly", d.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void DashD_LogsEveryRequestWithItsResult()
    {
        using RumpDaemon d = RumpDaemon.Start("rump_tmpfs", ["-d"]);
        Assert.Equal(Sys.ENOENT, Sys.Stat(d.Path("absent"), out _));
        File.WriteAllText(d.Path("present"), "x");
        Assert.Equal(0, d.UnmountFromOutside());
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
        string log = d.Stderr;
        Assert.Contains("Init node=0", log, StringComparison.Ordinal);
        Assert.Matches(@"Lookup node=1 uid=0 gid=0 pid=\d+ -> ENOENT", log);
        Assert.Matches(@"Create node=1 uid=0 gid=0 pid=\d+ -> OK", log);
        Assert.Matches(@"Write node=\d+ .* -> OK", log);
    }

    [Fact]
    public void ExternalUnmount_EndsDaemonWithStatusZero()
    {
        using RumpDaemon d = RumpDaemon.StartTmpfs();
        Directory.CreateDirectory(d.Path("dir"));
        Assert.Equal(0, d.UnmountFromOutside());
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)), "daemon did not exit after umount");
        Assert.Equal(0, d.Process.ExitCode);
        Assert.Contains("unmounted cleanly", d.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Sigkill_LeavesAMountPointThatFusermountRecovers()
    {
        using RumpDaemon d = RumpDaemon.StartTmpfs();
        File.WriteAllText(d.Path("f"), "x");
        d.Process.Kill();
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(10)));
        Assert.True(d.IsMounted);
        Assert.Equal(Sys.ENOTCONN, Sys.Stat(d.Path("f"), out _));
        (int rc, string output) = RumpDaemon.Run("fusermount3", "-u", d.MountPoint);
        Assert.True(rc == 0, output);
        Assert.False(d.IsMounted);
        Assert.True(Directory.Exists(d.MountPoint));
    }

    [Fact]
    public void WithoutDashF_ReturnsOnlyWhenMounted_AndTheDaemonStaysUntilUnmounted()
    {
        string scratch = RumpDaemon.NewScratch();
        string mnt = Path.Combine(scratch, "mnt");
        Directory.CreateDirectory(mnt);
        try
        {
            (int rc, string output) = RumpDaemon.Run("dotnet", RumpDaemon.ToolDll("rump_tmpfs"), "-o", "size=16M", mnt);
            Assert.True(rc == 0, output);
            // Ready means mounted: usable at once, no polling.
            Assert.True(Protocol.MountTable.IsMountPoint(mnt));
            File.WriteAllText(Path.Combine(mnt, "f"), "detached");
            Assert.Equal("detached", File.ReadAllText(Path.Combine(mnt, "f")));
            int pid = RumpDaemon.FindServing("rump_tmpfs", mnt);
            Assert.True(pid > 0, "no daemon process serves the mount");
            Assert.Equal(0, RumpDaemon.Run("umount", mnt).ExitCode);
            Assert.True(RumpDaemon.WaitForProcessEnd(pid, TimeSpan.FromSeconds(20)), "detached daemon still running after umount");
        }
        finally
        {
            if (Protocol.MountTable.IsMountPoint(mnt))
            {
                RumpDaemon.Run("fusermount3", "-u", "-z", mnt);
            }
            int pid = RumpDaemon.FindServing("rump_tmpfs", mnt);
            if (pid > 0)
            {
                LibC.kill(pid, LibC.SIGKILL);
            }
            Directory.Delete(scratch, recursive: true);
        }
    }
}
