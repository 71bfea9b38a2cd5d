using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Ukfs.Partitions;

namespace RumpFs.Ukfs.Tests;

public sealed class FsTypeProbeTests : IDisposable
{
    private readonly ScratchDir _dir = new("ukfs-probe");

    public void Dispose() => _dir.Dispose();

    private static FsTypeGuess? Identify(string spec)
    {
        using IBlockDevice dev = DiskImage.Open(ImageSpec.Parse(spec), readOnly: true);
        return FsTypeProbe.Identify(dev);
    }

    [Theory]
    [InlineData("ext2", "ext2")]
    [InlineData("ext3", "ext3")]
    [InlineData("ext4", "ext4")]
    public void Identify_Mke2fsImage_NamesExtVariant(string mkfsType, string variant)
    {
        string img = DiskBuilder.ExtImage(_dir, mkfsType + ".img", 16384, mkfsType, "f", "x");
        Assert.Equal(new FsTypeGuess("ext2fs", variant), Identify(img));
    }

    [Theory]
    [InlineData(12, 4096, "FAT12")]
    [InlineData(16, 65536, "FAT16")]
    [InlineData(32, 131072, "FAT32")]
    public void Identify_MkfsFatImage_NamesFatVariant(int bits, long sectors, string variant)
    {
        string img = DiskBuilder.FatImage(_dir, $"fat{bits}.img", sectors, bits, "A.TXT", "a");
        Assert.Equal(new FsTypeGuess("msdos", variant), Identify(img));
    }

    [Theory]
    [InlineData("1", "le", "UFS1 little-endian")]
    [InlineData("1", "be", "UFS1 big-endian")]
    [InlineData("2", "le", "UFS2 little-endian")]
    [InlineData("2", "be", "UFS2 big-endian")]
    public void Identify_MakefsFfsImage_NamesUfsVersionAndByteOrder(string version, string order, string variant)
    {
        string tree = Path.Combine(_dir.Path, "tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "f"), "x");
        string img = _dir.File($"ffs{version}{order}.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", "version=" + version, "-B", order, "-s", "4m", img, tree);
        Assert.Equal(new FsTypeGuess("ffs", variant), Identify(img));
    }

    /// <summary>
    /// NetBSD 10's FFSv2ea is UFS2 under a magic of its own: a makefs UFS2 image with that
    /// magic is found, named, mounted (info says UFS2ea) and read; a file without attributes
    /// lists none, and user attributes are set and removed.
    /// </summary>
    [Theory]
    [InlineData("le", "UFS2ea little-endian")]
    [InlineData("be", "UFS2ea big-endian")]
    public void Identify_Ufs2EaMagic_NamedMountedAndRead(string order, string variant)
    {
        string tree = Path.Combine(_dir.Path, "tree-ea");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "f"), "x");
        string img = _dir.File($"ffs2ea{order}.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", "version=2", "-B", order, "-s", "4m", img, tree);
        byte[] b = File.ReadAllBytes(img);
        const int MagicAt = 8192 + 1372; // makefs puts a small UFS2 superblock at 8192
        byte[] ea = BitConverter.GetBytes(0x19012038);
        if (order == "be")
        {
            Array.Reverse(ea);
        }
        Assert.Equal(0x19540119, order == "be" ? System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(MagicAt))
            : BitConverter.ToInt32(b, MagicAt));
        ea.CopyTo(b, MagicAt);
        File.WriteAllBytes(img, b);
        Assert.Equal(new FsTypeGuess("ffs", variant), Identify(img));

        using var cli = CliHarness.OnImages();
        Assert.Contains("UFS2ea", cli.Ok(img, "info").Stdout, StringComparison.Ordinal);
        Assert.Equal("x", CliHarness.Text(cli.Ok(img, "cat", "/f")));
        Assert.Equal("", cli.Ok(img, "getfattr", "/f").Stdout);
        cli.Ok(img, "setfattr", "-n", "user.a", "-v", "1", "/f");
        Assert.Contains("user.a=\"1\"", cli.Ok(img, "getfattr", "/f").Stdout, StringComparison.Ordinal);
        cli.Ok(img, "setfattr", "-x", "user.a", "/f");
        Assert.Equal("", cli.Ok(img, "getfattr", "/f").Stdout);
        Assert.Equal(0, cli.Run(img, "fsck", "-n").Exit);

        // A plain UFS2 image gets no area written: an older NetBSD kernel would leak it.
        string plain = _dir.File($"ffs2{order}.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", "version=2", "-B", order, "-s", "4m", plain, tree);
        CliResult set = cli.Fails(plain, "setfattr", "-n", "user.a", "-v", "1", "/f");
        Assert.Contains("not supported", set.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Identify_PartitionedDisk_OnlyInsideTheSelectedPartition()
    {
        string disk = DiskBuilder.Sparse(_dir, "disk.img", 48L << 20);
        DiskBuilder.Sfdisk(disk, "label: gpt\nstart=2048, size=32768\nstart=34816, size=40960\n");
        DiskBuilder.Place(disk, DiskBuilder.ExtImage(_dir, "p2.img", 40960, "ext4", "f", "x"), 34816);
        Assert.Null(Identify(disk));
        Assert.Null(Identify(disk + "%GPT:1%"));
        Assert.Equal("ext4", Identify(disk + "%GPT:2%")!.Variant);
    }

    [Fact]
    public void Identify_Zeros_Null()
    {
        using var dev = new MemoryBlockDevice(1 << 20);
        Assert.Null(FsTypeProbe.Identify(dev));
    }

    [Fact]
    public void Identify_TinyDevice_NullWithoutThrowing()
    {
        using var dev = new MemoryBlockDevice(100);
        Assert.Null(FsTypeProbe.Identify(dev));
    }
}
