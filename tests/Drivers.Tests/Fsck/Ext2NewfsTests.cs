using RumpFs.FsDrivers.Ext2fs.Newfs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;

namespace RumpFs.Drivers.Tests.Fsck;

public sealed class Ext2NewfsTests
{
    private static string Newfs(ScratchDir dir, long size, Dictionary<string, string?> options)
    {
        string img = dir.File("ext2.img");
        FatTestImages.CreateFile(img, size);
        using IBlockDevice dev = FatTestImages.Open(img, readOnly: false);
        Errno rc = new Ext2Formatter(new ManualClock(new Timespec(1_700_000_000, 0))).Format(dev, options, out string? message);
        Assert.True(rc == 0, $"{rc} {message}");
        return img;
    }

    [Theory]
    [InlineData(20L << 20, null, null, 1024, 3u)]
    [InlineData(9L << 20, "1024", null, 1024, 2u)]
    [InlineData(30L << 20, "2048", "5000", 2048, 1u)]
    [InlineData(64L << 20, "4096", null, 4096, 1u)]
    [InlineData(700L << 20, null, null, 4096, 6u)]
    [InlineData(300L << 20, "1024", "70000", 1024, 38u)]
    public void Newfs_Ext2_PassesE2fsckWithExpectedGeometry(long size, string? bsize, string? inodes, int wantBsize, uint wantGroups)
    {
        using var dir = new ScratchDir("ext2newfs");
        var options = new Dictionary<string, string?> { ["label"] = "rumpvol" };
        if (bsize is not null)
        {
            options["bsize"] = bsize;
        }
        if (inodes is not null)
        {
            options["inodes"] = inodes;
        }
        string img = Newfs(dir, size, options);
        ToolResult fsck = OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        Assert.Contains("11/", fsck.Stdout, StringComparison.Ordinal); // 11 inodes in use: reserved + lost+found
        ToolResult dump = OracleTool.RunExpect(0, "dumpe2fs", "-h", img);
        Assert.Contains($"Block size:               {wantBsize}", dump.Stdout, StringComparison.Ordinal);
        Assert.Contains("Filesystem volume name:   rumpvol", dump.Stdout, StringComparison.Ordinal);
        Assert.Contains("Filesystem revision #:    1", dump.Stdout, StringComparison.Ordinal);
        int groups = OracleTool.RunExpect(0, "dumpe2fs", img).Stdout.Split('\n').Count(l => l.StartsWith("Group ", StringComparison.Ordinal));
        Assert.Equal((int)wantGroups, groups);
        if (inodes is not null)
        {
            string line = dump.Stdout.Split('\n').First(l => l.StartsWith("Inode count:", StringComparison.Ordinal));
            Assert.InRange(long.Parse(line.Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture),
                long.Parse(inodes, System.Globalization.CultureInfo.InvariantCulture), 2 * long.Parse(inodes, System.Globalization.CultureInfo.InvariantCulture));
        }
        ToolResult ls = OracleTool.RunExpect(0, "debugfs", "-R", "ls -l /", img);
        Assert.Contains("lost+found", ls.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("features", "inline_data")]
    [InlineData("features", "nosuch_feature")]
    [InlineData("bsize", "8192")]
    [InlineData("inodes", "3")]
    [InlineData("nosuch", "1")]
    public void Newfs_Ext2UnsupportedOption_ReturnsEinvalAndWritesNothing(string key, string value)
    {
        using var dev = new MemoryBlockDevice(16L << 20);
        Errno rc = new Ext2Formatter().Format(dev, new Dictionary<string, string?> { [key] = value }, out string? message);
        Assert.Equal(Errno.EINVAL, rc);
        Assert.False(string.IsNullOrEmpty(message));
        Assert.Equal(0, dev.WriteCount);
    }
}
