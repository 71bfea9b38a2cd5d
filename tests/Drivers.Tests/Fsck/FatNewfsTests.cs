using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.FsDrivers.Msdosfs.Newfs;
using RumpFs.TestSupport;

namespace RumpFs.Drivers.Tests.Fsck;

public sealed class FatNewfsTests
{
    [Theory]
    [InlineData(2L << 20, null, null, null, 12)]
    [InlineData(20L << 20, null, null, null, 16)]
    [InlineData(600L << 20, null, null, null, 32)]
    [InlineData(40L << 20, "32", null, null, 32)]
    [InlineData(8L << 20, "16", null, null, 16)]
    [InlineData(30L << 20, "12", null, null, 12)]
    [InlineData(64L << 20, "16", "4096", "4096", 16)]
    [InlineData(300L << 20, "32", "4096", "4096", 32)]
    [InlineData(16L << 20, null, "1024", "8192", 12)]
    [InlineData(100L << 20, "32", "512", "512", 32)]
    public void Newfs_Image_PassesFsckFatAndMtoolsAndOurCheck(long size, string? fat, string? sector, string? cluster, int kind)
    {
        using var dir = new ScratchDir("fatnewfs");
        string img = dir.File("fat.img");
        var opts = new List<(string, string?)> { ("label", "RUMPVOL") };
        if (fat is not null)
        {
            opts.Add(("fat", fat));
        }
        if (sector is not null)
        {
            opts.Add(("sector", sector));
        }
        if (cluster is not null)
        {
            opts.Add(("cluster", cluster));
        }
        FatTestImages.Newfs(img, size, [.. opts]);
        FatBootRecord boot = FatTestImages.Boot(img);
        Assert.Equal(kind, (int)boot.Kind);
        if (sector is not null)
        {
            Assert.Equal(int.Parse(sector, System.Globalization.CultureInfo.InvariantCulture), boot.BytesPerSector);
        }
        if (cluster is not null)
        {
            Assert.Equal(int.Parse(cluster, System.Globalization.CultureInfo.InvariantCulture), boot.ClusterBytes);
        }
        FatTestImages.AssertBothClean(img);
        ToolResult mdir = OracleTool.RunExpect(0, "mdir", "-i", img, "::/");
        Assert.Contains("RUMPVOL", mdir.Stdout, StringComparison.Ordinal);
        // A file written by mtools leaves it clean for both checkers.
        string src = dir.File("data.bin");
        File.WriteAllBytes(src, Enumerable.Range(0, 70000).Select(i => (byte)(i * 7)).ToArray());
        OracleTool.RunExpect(0, "mcopy", "-i", img, src, "::/DATA.BIN");
        OracleTool.RunExpect(0, "mmd", "-i", img, "::/SUB");
        FatTestImages.AssertBothClean(img);
        string back = dir.File("back.bin");
        OracleTool.RunExpect(0, "mcopy", "-i", img, "::/DATA.BIN", back);
        Assert.Equal(File.ReadAllBytes(src), File.ReadAllBytes(back));
    }

    [Fact]
    public void Newfs_Fat32OnTooSmallVolume_ReturnsEinvalAndWritesNothing()
    {
        using var dir = new ScratchDir("fatnewfs");
        string img = dir.File("small.img");
        FatTestImages.CreateFile(img, 4L << 20);
        using var dev = FatTestImages.Open(img, readOnly: false);
        var rc = new FatFormatter().Format(dev, new Dictionary<string, string?> { ["fat"] = "32" }, out string? message);
        Assert.Equal(RumpFs.Kernel.Errno.EINVAL, rc);
        Assert.Contains("clusters", message, StringComparison.Ordinal);
        Assert.All(FatTestImages.ReadAt(img, 0, 4096), b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData("bogus", "1")]
    [InlineData("sector", "300")]
    [InlineData("cluster", "3000")]
    [InlineData("label", "WAY TOO LONG LABEL")]
    [InlineData("fat", "24")]
    public void Newfs_BadOption_ReturnsEinval(string key, string value)
    {
        using var dev = new RumpFs.Kernel.Devices.MemoryBlockDevice(8L << 20);
        var rc = new FatFormatter().Format(dev, new Dictionary<string, string?> { [key] = value }, out string? message);
        Assert.Equal(RumpFs.Kernel.Errno.EINVAL, rc);
        Assert.False(string.IsNullOrEmpty(message));
        Assert.Equal(0, dev.WriteCount);
    }
}
