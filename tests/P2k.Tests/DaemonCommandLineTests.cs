using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.P2k.Daemon;
using RumpFs.P2k.Tests.Support;
using RumpFs.Vfs;

namespace RumpFs.P2k.Tests;

/// <summary>User errors: one clear line on stderr, exit status 1, nothing mounted, the image untouched.</summary>
public sealed class DaemonCommandLineTests : IDisposable
{
    private readonly string _scratch = RumpDaemon.NewScratch();

    private string Mnt
    {
        get
        {
            string m = Path.Combine(_scratch, "mnt");
            Directory.CreateDirectory(m);
            return m;
        }
    }

    private static (int ExitCode, string Output) Tmpfs(params string[] args) =>
        RumpDaemon.Run("dotnet", [RumpDaemon.ToolDll("rump_tmpfs"), .. args]);

    private static void AssertOneLineFailure((int ExitCode, string Output) r, string expected)
    {
        Assert.Equal(1, r.ExitCode);
        string[] lines = r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line, got: {r.Output}");
        Assert.StartsWith("rump_tmpfs: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownFlag_ExitsOneWithOneLine() => AssertOneLineFailure(Tmpfs("-x", Mnt), "unknown option '-x'");

    [Fact]
    public void UnknownMountOption_IsReportedBeforeDetaching() =>
        AssertOneLineFailure(Tmpfs("-o", "bogus", Mnt), "unknown option 'bogus'");

    [Theory]
    [InlineData("syncdelay=soon")]
    [InlineData("syncdelay=-1")]
    public void BadSyncDelay_ExitsOneWithOneLine(string option) =>
        AssertOneLineFailure(Tmpfs("-o", option, Mnt), "expected seconds between write-backs");

    [Fact]
    public void MissingMountPoint_ExitsOne() =>
        AssertOneLineFailure(Tmpfs(Path.Combine(_scratch, "nowhere")), "no such directory");

    [Fact]
    public void MountPointIsAFile_ExitsOne()
    {
        string f = Path.Combine(_scratch, "file");
        File.WriteAllText(f, "");
        AssertOneLineFailure(Tmpfs(f), "not a directory");
    }

    [Fact]
    public void NoOperands_ExitsOne() => AssertOneLineFailure(Tmpfs(), "expected a mount point");

    [Fact]
    public void BusyMountPoint_ExitsOne()
    {
        using RumpDaemon d = RumpDaemon.StartTmpfs();
        AssertOneLineFailure(Tmpfs("-f", d.MountPoint), "busy");
        AssertOneLineFailure(Tmpfs(d.MountPoint), "busy");
    }

    [Fact]
    public void Help_ReadsLikeAManualPage()
    {
        (int rc, string output) = Tmpfs("--help");
        Assert.Equal(0, rc);
        Assert.Contains("SYNOPSIS", output, StringComparison.Ordinal);
        Assert.Contains("rump_tmpfs [-o option[,option...]] [-f] [-d] [tmpfs] mountpoint", output, StringComparison.Ordinal);
        Assert.Contains("OPTIONS", output, StringComparison.Ordinal);
        Assert.Contains("allow_other", output, StringComparison.Ordinal);
    }

    [Fact]
    public void RepeatedDashO_AndSourceName_AreAccepted()
    {
        string[] args = ["-o", "size=32M", "-o", "noatime,entry_timeout=0.5", "-f", "tmpfs", "/mnt"];
        Assert.True(DaemonMain.TryParse("rump_tmpfs", new FakeDiskDriver(needsDevice: false), ReplaceMnt(args), out DaemonConfig? c, out string? err), err);
        Assert.True(c!.VfsOptions.NoAtime);
        Assert.Equal("32M", c.VfsOptions.Extra["size"]);
        Assert.Equal(0.5, c.Bridge.EntryTimeout);
        Assert.True(c.Foreground);
        Assert.Equal("tmpfs", c.Source);
    }

    private string[] ReplaceMnt(string[] args) => [.. args.Select(a => a == "/mnt" ? Mnt : a)];

    [Fact]
    public void MissingImage_ExitsOneWithOneLine()
    {
        var err = new StringWriter();
        TextWriter old = Console.Error;
        Console.SetError(err);
        try
        {
            int rc = DaemonMain.Run([Path.Combine(_scratch, "no.img"), Mnt], new FakeDiskDriver(needsDevice: true));
            Assert.Equal(1, rc);
        }
        finally
        {
            Console.SetError(old);
        }
        Assert.Contains("no.img: no such file", err.ToString(), StringComparison.Ordinal);
        Assert.Single(err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void ImageInUse_ExitsOne_AndLeavesTheImageUntouched()
    {
        string image = Path.Combine(_scratch, "disk.img");
        byte[] content = new byte[1 << 20];
        new Random(3).NextBytes(content);
        File.WriteAllBytes(image, content);
        Assert.Equal(Errno.OK, FileBlockDevice.Open(image, readOnly: false, out FileBlockDevice? holder, out _));
        var err = new StringWriter();
        TextWriter old = Console.Error;
        Console.SetError(err);
        var driver = new FakeDiskDriver(needsDevice: true);
        try
        {
            Assert.Equal(1, DaemonMain.Run(["-f", image, Mnt], driver));
        }
        finally
        {
            Console.SetError(old);
            holder!.Dispose();
        }
        Assert.Contains("in use", err.ToString(), StringComparison.Ordinal);
        Assert.False(driver.MountCalled);
        Assert.Equal(content, File.ReadAllBytes(image));
        Assert.False(Protocol.MountTable.IsMountPoint(Mnt));
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }

    /// <summary>A driver that must never be reached when the command line is wrong.</summary>
    private sealed class FakeDiskDriver(bool needsDevice) : IFileSystemDriver
    {
        public bool MountCalled { get; private set; }
        public string Name => "fakefs";
        public bool NeedsDevice => needsDevice;
        public bool Probe(IBlockDevice device) => false;

        public Errno Mount(IBlockDevice? device, MountOptions options, out Mount? mount, out string? message)
        {
            MountCalled = true;
            mount = null;
            message = "fakefs cannot mount";
            return Errno.EINVAL;
        }
    }
}
