using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Ukfs.Partitions;

namespace RumpFs.Ukfs.Tests;

public sealed class DiskImageTests : IDisposable
{
    private const int S = DiskBuilder.Sector;
    private readonly ScratchDir _dir = new("ukfs-disk");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Open_MbrPartition_IsAWindowThatCannotReachOutside()
    {
        string disk = DiskBuilder.Sparse(_dir, "d.img", 16L << 20);
        DiskBuilder.Sfdisk(disk, "label: dos\nstart=2048, size=4096, type=83\nstart=8192, size=4096, type=83\n");
        DiskBuilder.Poke(disk, 8192L * S, "HELLO"u8);
        using IBlockDevice dev = DiskImage.Open(ImageSpec.Parse(disk + "%MBR:2%"), readOnly: true);
        Assert.IsType<WindowBlockDevice>(dev);
        Assert.Equal(4096L * S, dev.Length);
        byte[] buf = new byte[5];
        Assert.Equal(Errno.OK, dev.Read(0, buf));
        Assert.Equal("HELLO"u8.ToArray(), buf);
        Assert.Equal(Errno.EIO, dev.Read(dev.Length - 2, buf));
        Assert.Equal(Errno.EROFS, dev.Write(0, buf));
    }

    [Fact]
    public void Open_MissingPartition_ThrowsEnxioListingWhatExists()
    {
        string disk = DiskBuilder.Sparse(_dir, "d.img", 16L << 20);
        DiskBuilder.Sfdisk(disk, "label: dos\nstart=2048, size=4096, type=83\n");
        var ex = Assert.Throws<UkfsException>(() => DiskImage.Open(ImageSpec.Parse(disk + "%MBR:3%"), readOnly: true));
        Assert.Equal(Errno.ENXIO, ex.Errno);
        Assert.Contains("it has 1", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<UkfsException>(() => DiskImage.Open(ImageSpec.Parse(disk + "%GPT:1%"), readOnly: true));
        Assert.Contains("no GPT partition table", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_MissingImage_ThrowsEnoent()
    {
        var ex = Assert.Throws<UkfsException>(() => DiskImage.Open(ImageSpec.Parse(_dir.File("none.img")), readOnly: true));
        Assert.Equal(Errno.ENOENT, ex.Errno);
    }

    [Fact]
    public void Open_DisklabelPartitionInsideMbr_ReadsItsFileSystem()
    {
        string disk = DiskBuilder.Sparse(_dir, "nb.img", 32L << 20);
        DiskBuilder.Sfdisk(disk, "label: dos\nstart=2048, size=60000, type=a9\n");
        PartitionProbeTests.WriteLabel(disk, 2049, bigEndian: true, [new(8192, 2048 + 64, 0, 8, 0, 0),
            new(0, 0, 0, 0, 0, 0), new(60000, 2048, 0, 0, 0, 0), new(0, 0, 0, 0, 0, 0), new(16384, 2048 + 16384, 0, 17, 0, 0)]);
        DiskBuilder.Place(disk, DiskBuilder.FatImage(_dir, "a.fat", 8192, 12, "A.TXT", "a"), 2048 + 64);
        DiskBuilder.Place(disk, DiskBuilder.ExtImage(_dir, "e.ext", 16384, "ext2", "f", "x"), 2048 + 16384);
        using (IBlockDevice a = DiskImage.Open(ImageSpec.Parse(disk + "%DISKLABEL:a%"), readOnly: true))
        {
            Assert.Equal("msdos", FsTypeProbe.Identify(a)?.Driver);
        }
        using (IBlockDevice e = DiskImage.Open(ImageSpec.Parse(disk + "%DISKLABEL:e%"), readOnly: true))
        {
            Assert.Equal("ext2fs", FsTypeProbe.Identify(e)?.Driver);
        }
    }
}
