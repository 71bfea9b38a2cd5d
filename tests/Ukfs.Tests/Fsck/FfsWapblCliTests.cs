using System.Buffers.Binary;
using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests.Fsck;

/// <summary>
/// ukfs on an image NetBSD was logging: read commands show what the log holds and leave
/// the image alone, a write command replays it and stops logging, a damaged log is one
/// line and exit 1. The log's transaction is the difference between two makefs images.
/// </summary>
public sealed class FfsWapblCliTests
{
    private const int LogBytes = 128 * 1024;

    private static string Makefs(ScratchDir dir, string name, bool withLog)
    {
        string src = Path.Combine(dir.Path, name + "-src");
        Directory.CreateDirectory(Path.Combine(src, "d"));
        File.WriteAllText(Path.Combine(src, "d", "f.txt"), "ffs");
        if (withLog)
        {
            File.WriteAllText(Path.Combine(src, "logged.txt"), "written just before the crash\n");
        }
        string img = dir.File(name + ".img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-B", "le", "-o", "version=1", "-s", "8m", img, src);
        return img;
    }

    private static string LoggedImage(ScratchDir dir, Action<WapblLogWriter>? damage = null)
    {
        byte[] before = WapblLogWriter.MarkLogged(File.ReadAllBytes(Makefs(dir, "before", withLog: false)), LogBytes);
        byte[] after = WapblLogWriter.MarkLogged(File.ReadAllBytes(Makefs(dir, "after", withLog: true)), LogBytes);
        var log = new WapblLogWriter(bigEndian: false, LogBytes);
        log.Blocks(WapblLogWriter.Transaction(before, after));
        damage?.Invoke(log);
        string img = dir.File("logged.img");
        File.WriteAllBytes(img, [.. before, .. log.Build(log.CircOff, generation: 3)]);
        return img;
    }

    [Fact]
    public void ReadCommands_ShowTheLoggedFiles_ImageUnchanged_WriteCommandReplaysAndStopsLogging()
    {
        using var dir = new ScratchDir("ukfswapbl");
        string img = LoggedImage(dir);
        byte[] original = File.ReadAllBytes(img);
        using var h = CliHarness.OnImages();

        CliResult cat = h.Run(img, "cat", "/logged.txt");
        Assert.True(cat.Exit == 0, cat.ToString());
        Assert.Equal("written just before the crash\n"u8.ToArray(), cat.Binary);
        CliResult info = h.Run(img, "info");
        Assert.True(info.Exit == 0, info.ToString());
        Assert.Contains("end of partition, 128 KiB, logging", info.Stdout, StringComparison.Ordinal);
        CliResult check = h.Run(img, "fsck", "-n");
        Assert.True(check.Exit == 0, check.ToString());
        Assert.Equal(original, File.ReadAllBytes(img));

        CliResult mkdir = h.Run(img, "mkdir", "/after-replay");
        Assert.True(mkdir.Exit == 0, mkdir.ToString());
        Assert.Equal(0, BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(img).AsSpan(8192 + 1312)) & 0x100);
        CliResult fsck = h.Run(img, "fsck");
        Assert.True(fsck.Exit == 0, fsck.ToString());
        Assert.Contains("end of partition, 128 KiB, not logging", h.Run(img, "info").Stdout, StringComparison.Ordinal);
        // sleuthkit reads the file system the replay left: the logged file and the new folder.
        string fls = OracleTool.RunExpect(0, "fls", "-r", "-p", "-u", img).Stdout;
        Assert.Contains("\tlogged.txt", fls, StringComparison.Ordinal);
        Assert.Contains("\tafter-replay", fls, StringComparison.Ordinal);
    }

    [Fact]
    public void DamagedLog_OneLineAndExitOne_ImageUnchanged()
    {
        using var dir = new ScratchDir("ukfswapbl");
        string img = LoggedImage(dir, log =>
        {
            byte[] bad = new byte[WapblLogWriter.Block];
            BinaryPrimitives.WriteUInt32LittleEndian(bad, 0xDEADBEEF);
            BinaryPrimitives.WriteInt32LittleEndian(bad.AsSpan(4), WapblLogWriter.Block);
            log.Raw(bad);
        });
        byte[] original = File.ReadAllBytes(img);
        using var h = CliHarness.OnImages();

        foreach (string[] command in new[] { new[] { "ls", "/" }, ["mkdir", "/x"] })
        {
            CliResult r = h.Run([img, .. command]);
            Assert.True(r.Exit == 1, r.ToString());
            Assert.Contains("WAPBL log", r.Stderr, StringComparison.Ordinal);
            Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        }
        CliResult fsck = h.Run(img, "fsck", "-n");
        Assert.True(fsck.Exit == 4, fsck.ToString());
        Assert.Equal(original, File.ReadAllBytes(img));
    }
}
