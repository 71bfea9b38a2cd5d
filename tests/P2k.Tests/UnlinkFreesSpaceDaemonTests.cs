using System.Diagnostics;
using RumpFs.P2k.Tests.Support;
using RumpFs.TestSupport;

namespace RumpFs.P2k.Tests;

/// <summary>
/// The storage of a closed file is free when its unlink returns, as on a kernel file system:
/// fill the volume with one file, close it, unlink it, and the very next request (statfs)
/// already counts the space, and a mkdir succeeds. The kernel's FORGET of the node comes
/// after the unlink has been answered, and used to race with that next request (a few
/// rounds in a hundred, on every format), so the sequence is repeated.
/// </summary>
public sealed class UnlinkFreesSpaceDaemonTests : IDisposable
{
    private readonly ScratchDir _images = new("p2k-unlink");

    public static TheoryData<string, string> Formats => new()
    {
        { "rump_msdos", "fat12" },
        { "rump_ext2fs", "ext2" },
        { "rump_ext2fs", "ext4" },
        { "rump_ffs", "ufs2" },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void UnlinkOfTheFileThatFilledTheVolume_FreesItsSpaceBeforeReturning(string tool, string format)
    {
        string image = MakeImage(format);
        using RumpDaemon d = RumpDaemon.Start(tool, [image]);
        var drive = new DriveInfo(d.MountPoint);
        byte[] chunk = new byte[64 << 10];
        Array.Fill(chunk, (byte)'Z');
        var clock = Stopwatch.StartNew();
        int rounds = 0;
        // 60 rounds or 4 s, whichever ends first (a round takes 10-50 ms).
        for (; rounds < 60 && clock.Elapsed < TimeSpan.FromSeconds(4); rounds++)
        {
            string filler = d.Path("FILLER.BIN");
            using (var f = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                try
                {
                    while (true)
                    {
                        f.Write(chunk);
                    }
                }
                catch (IOException)
                {
                    // ENOSPC: the volume is full.
                }
            }
            long held = new FileInfo(filler).Length;
            long freeWhenFull = drive.TotalFreeSpace;
            File.Delete(filler);
            long freeAfter = drive.TotalFreeSpace;
            Assert.True(freeAfter - freeWhenFull >= held,
                $"round {rounds}: {freeAfter - freeWhenFull} bytes freed by the unlink of a {held}-byte file when it returned");
            string dir = d.Path($"Long Directory Name {rounds}");
            Directory.CreateDirectory(dir);
            Directory.Delete(dir);
        }
        Assert.True(rounds >= 10, $"only {rounds} rounds in the time given");
    }

    private string MakeImage(string format)
    {
        string image = _images.File(format + ".img");
        string empty = _images.File("empty");
        Directory.CreateDirectory(empty);
        switch (format)
        {
            case "fat12":
                OracleTool.RunExpect(0, "mkfs.fat", "-C", "-F", "12", image, "1440");
                break;
            case "ext2":
                OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", image, "2M");
                break;
            case "ext4":
                OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", image, "4M");
                break;
            case "ufs2":
                OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-B", "le", "-o", "version=2", "-s", "4m", image, empty);
                break;
            default:
                throw new ArgumentException(format);
        }
        return image;
    }

    public void Dispose() => _images.Dispose();
}
