using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Newfs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;

namespace RumpFs.Integration.Tests;

/// <summary>An image from our FFS newfs served by rump_ffs through the kernel, then checked.</summary>
public sealed class NewfsFfsFuseTests
{
    [Theory]
    [InlineData("2", "little")]
    [InlineData("1", "big")]
    public void Newfs_Ffs_MountsInRumpFfsAndStaysClean(string version, string endian)
    {
        using var scratch = new ScratchDir("rumpfs-ffsnewfs");
        string img = scratch.File("n.img");
        using (var f = File.Create(img))
        {
            f.SetLength(32L << 20);
        }
        Assert.Equal(Errno.OK, FileBlockDevice.Open(img, false, out FileBlockDevice? dev, out string? err));
        using (dev)
        {
            var options = new Dictionary<string, string?> { ["version"] = version, ["endian"] = endian };
            Errno rc = new FfsFormatter().Format(dev!, options, out string? message);
            Assert.True(rc == Errno.OK, $"{rc} {message} {err}");
        }

        byte[] big = new byte[3_000_000];
        new Random(9).NextBytes(big);
        using (FuseMount m = FuseMount.Start("rump_ffs", scratch.File("mnt"), img))
        {
            Directory.CreateDirectory(m.Path("dir/sub"));
            File.WriteAllText(m.Path("dir/hello.txt"), "hello from the kernel");
            File.WriteAllBytes(m.Path("dir/sub/big.bin"), big);
            File.CreateSymbolicLink(m.Path("link"), "dir/hello.txt");
            Assert.Equal("hello from the kernel", File.ReadAllText(m.Path("link")));
            Assert.Equal(0, m.Unmount());
        }

        using (FuseMount m = FuseMount.Start("rump_ffs", scratch.File("mnt"), "-o", "ro", img))
        {
            Assert.Equal(["dir", "link"], Directory.GetFileSystemEntries(m.MountPoint).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.Equal(big, File.ReadAllBytes(m.Path("dir/sub/big.bin")));
            Assert.Equal(0, m.Unmount());
        }

        Assert.Equal(Errno.OK, FileBlockDevice.Open(img, true, out FileBlockDevice? check, out _));
        using (check)
        {
            FfsCheckReport report = FfsCheck.Run(check!);
            Assert.True(report.IsClean, report.ToString());
            Assert.Equal(6, report.InodesInUse); // root, dir, sub, hello.txt, big.bin, link
        }
    }
}
