using System.Net.Sockets;
using System.Text;
using RumpFs.Kernel;
using RumpFs.P2k.Daemon;
using RumpFs.P2k.Tests.Support;

namespace RumpFs.P2k.Tests;

/// <summary>Where a daemon's log lines go: stderr, a log file, or the system log once detached.</summary>
public sealed class DaemonLogTests : IDisposable
{
    private readonly string _scratch = RumpDaemon.NewScratch();

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public void SyslogSink_SendsOneDatagramPerLineWithPriorityIdentAndPid()
    {
        string path = Path.Combine(_scratch, "log.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.ReceiveTimeout = 5000;
        using var sink = new SyslogSink(path, "rump_ffs");
        Assert.True(sink.Connected);

        sink.Write(LogLevel.Error, "rumpfs: [ffs] corrupt metadata at block 7: bad magic");
        sink.Write(LogLevel.Info, "rumpfs: [p2k] img mounted on /mnt");

        byte[] buffer = new byte[4096];
        string first = Encoding.UTF8.GetString(buffer, 0, listener.Receive(buffer));
        string second = Encoding.UTF8.GetString(buffer, 0, listener.Receive(buffer));
        // Facility daemon (3): err is 3*8+3 = 27, info 3*8+6 = 30.
        Assert.Equal($"<27>rump_ffs[{Environment.ProcessId}]: [ffs] corrupt metadata at block 7: bad magic", first);
        Assert.Equal($"<30>rump_ffs[{Environment.ProcessId}]: [p2k] img mounted on /mnt", second);
    }

    [Fact]
    public void SyslogSink_WithoutASyslog_DropsLinesQuietly()
    {
        using var sink = new SyslogSink(Path.Combine(_scratch, "nobody-listens"), "rump_ffs");
        Assert.False(sink.Connected);
        sink.Write(LogLevel.Error, "rumpfs: [ffs] lost");
        sink.Dispose();
        sink.Write(LogLevel.Error, "rumpfs: [ffs] after shutdown");
    }

    [Fact]
    public void LogFileSink_AppendsTimestampedLines()
    {
        string path = Path.Combine(_scratch, "daemon.log");
        File.WriteAllText(path, "earlier\n");
        Assert.True(LogFileSink.TryOpen(path, out LogFileSink? sink, out _));
        using (sink)
        {
            sink!.Write(LogLevel.Warning, "rumpfs: [p2k] one");
            sink.Write(LogLevel.Info, "rumpfs: [p2k] two");
        }
        string[] lines = File.ReadAllLines(path);
        Assert.Equal(3, lines.Length);
        Assert.Equal("earlier", lines[0]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z rumpfs: \[p2k\] one$", lines[1]);
        Assert.EndsWith(" rumpfs: [p2k] two", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void LogFile_InAMissingFolder_IsAOneLineErrorAtStart()
    {
        string mnt = Path.Combine(_scratch, "mnt");
        Directory.CreateDirectory(mnt);
        (int rc, string output) = RumpDaemon.Run("dotnet", RumpDaemon.ToolDll("rump_tmpfs"), "-o",
            $"logfile={Path.Combine(_scratch, "no", "such", "dir", "x.log")}", mnt);
        Assert.Equal(1, rc);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("rump_tmpfs: logfile=", output, StringComparison.Ordinal);
        Assert.False(Protocol.MountTable.IsMountPoint(mnt));
    }

    [Fact]
    public void Detached_WithLogFile_LogsTheMountAndTheCleanUnmount()
    {
        string mnt = Path.Combine(_scratch, "mnt");
        Directory.CreateDirectory(mnt);
        string log = Path.Combine(_scratch, "rump.log");
        int pid = -1;
        try
        {
            (int rc, string output) = RumpDaemon.Run("dotnet", RumpDaemon.ToolDll("rump_tmpfs"), "-o", $"size=8M,logfile={log}", mnt);
            Assert.True(rc == 0, output);
            Assert.Equal("", output);
            pid = RumpDaemon.FindServing("rump_tmpfs", mnt);
            Assert.True(pid > 0, "no daemon process serves the mount");
            Assert.Equal(0, RumpDaemon.Run("umount", mnt).ExitCode);
            Assert.True(RumpDaemon.WaitForProcessEnd(pid, TimeSpan.FromSeconds(20)), "detached daemon still running after umount");
            string text = File.ReadAllText(log);
            Assert.Contains($"rumpfs: [p2k] tmpfs mounted on {mnt}", text, StringComparison.Ordinal);
            Assert.Contains("rumpfs: [p2k] tmpfs unmounted cleanly", text, StringComparison.Ordinal);
        }
        finally
        {
            if (Protocol.MountTable.IsMountPoint(mnt))
            {
                RumpDaemon.Run("fusermount3", "-u", "-z", mnt);
            }
            if (pid > 0 && RumpDaemon.ProcessExists(pid))
            {
                Tmds.Linux.LibC.kill(pid, Tmds.Linux.LibC.SIGKILL);
            }
        }
    }
}
