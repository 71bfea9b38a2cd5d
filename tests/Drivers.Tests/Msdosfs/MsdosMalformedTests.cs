using System.Buffers.Binary;
using RumpFs.FsDrivers.Msdosfs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Msdosfs;

/// <summary>Damaged FAT images: each gives a clean refusal or EIO, never an exception or a hang.</summary>
public sealed class MsdosMalformedTests
{
    private const int Bps = 512;

    // A FAT16 image (one sector per cluster) with A.TXT (3 clusters) and B.TXT (2 clusters).
    private static string MakeImage(ScratchDir s)
    {
        string img = FatTestUtil.NewImage(s, "bad", 20000, "-F", "16", "-s", "1");
        File.WriteAllBytes(s.File("A.TXT"), new byte[1500]);
        File.WriteAllBytes(s.File("B.TXT"), new byte[1000]);
        OracleTool.RunExpect(0, "mcopy", "-i", img, s.File("A.TXT"), s.File("B.TXT"), "::/");
        return img;
    }

    private static (long FatOffset, long FatBytes, int NumFats, long RootOffset) Layout(byte[] image)
    {
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(14));
        int nfats = image[16];
        int fatSectors = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(22));
        long fat = reserved * (long)Bps;
        return (fat, fatSectors * (long)Bps, nfats, fat + (nfats * (long)fatSectors * Bps));
    }

    private static ushort StartCluster(byte[] image, string shortName)
    {
        long root = Layout(image).RootOffset;
        for (int i = 0; i < 512; i++)
        {
            var e = image.AsSpan((int)root + (i * 32), 32);
            if (System.Text.Encoding.ASCII.GetString(e[..11]) == shortName)
            {
                return BinaryPrimitives.ReadUInt16LittleEndian(e[26..]);
            }
        }
        throw new InvalidOperationException(shortName + " not found");
    }

    private static void SetFat16(byte[] image, uint cluster, ushort value)
    {
        var l = Layout(image);
        for (int k = 0; k < l.NumFats; k++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan((int)(l.FatOffset + (k * l.FatBytes) + (cluster * 2))), value);
        }
    }

    private static Errno MountBytes(byte[] image, out Mount? m, out string? msg, bool readOnly = true)
    {
        RumpFs.FsDrivers.AllDrivers.Register();
        var dev = new MemoryBlockDevice(image, readOnly);
        var options = new MountOptions { ReadOnly = readOnly };
        Errno e = FileSystemRegistry.Mount("msdos", dev, options, out m, out msg);
        return e;
    }

    private static Errno ReadFile(Mount m, string path)
    {
        Errno e = FatTestUtil.TryResolve(m, path, out Vnode? vp);
        if (e != Errno.OK)
        {
            return e;
        }
        try
        {
            var buf = new byte[4096];
            return Vop.Read(vp!, 0, buf, out _);
        }
        finally
        {
            vp!.Release();
        }
    }

    [Theory]
    [InlineData(11, 300)]   // bytes per sector
    [InlineData(13, 3)]     // sectors per cluster not a power of two
    [InlineData(16, 0)]     // no FATs
    [InlineData(14, 0)]     // no reserved sectors
    [InlineData(22, 0)]     // FAT size 0 on a FAT16 layout
    public void BadBpbField_IsRefusedAtMount(int offset, int value)
    {
        using var s = new ScratchDir("fatbad");
        byte[] image = File.ReadAllBytes(MakeImage(s));
        if (offset is 11 or 14 or 22)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(offset), (ushort)value);
        }
        else
        {
            image[offset] = (byte)value;
        }
        Assert.Equal(Errno.EINVAL, MountBytes(image, out _, out string? msg));
        Assert.False(string.IsNullOrEmpty(msg));
        Assert.False(new MsdosfsDriver().Probe(new MemoryBlockDevice(image, true)));
    }

    [Fact]
    public void TruncatedImage_IsRefusedAtMount()
    {
        using var s = new ScratchDir("fatbad");
        byte[] image = File.ReadAllBytes(MakeImage(s));
        Assert.Equal(Errno.EINVAL, MountBytes(image[..(image.Length / 2)], out _, out string? msg));
        Assert.Contains("larger than the device", msg, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(511)]
    [InlineData(4096)]
    public void EmptyOrZeroImage_IsRefused(int size)
    {
        byte[] image = new byte[size];
        Assert.NotEqual(Errno.OK, MountBytes(image, out _, out _));
        Assert.False(new MsdosfsDriver().Probe(new MemoryBlockDevice(image, true)));
    }

    [Fact]
    public void RandomBootSectors_NeverThrow()
    {
        var rnd = new Random(42);
        for (int i = 0; i < 300; i++)
        {
            byte[] image = new byte[64 * 1024];
            rnd.NextBytes(image.AsSpan(0, 512));
            image[0] = 0xEB;
            image[510] = 0x55;
            image[511] = 0xAA;
            Errno e = MountBytes(image, out Mount? m, out _);
            if (e == Errno.OK)
            {
                FatTestUtil.List(m!, "/");
                m!.Unmount();
            }
        }
    }

    [Fact]
    public void ProbeRecognisesMkfsFatImages()
    {
        using var s = new ScratchDir("fatbad");
        byte[] image = File.ReadAllBytes(MakeImage(s));
        Assert.True(new MsdosfsDriver().Probe(new MemoryBlockDevice(image, true)));
    }

    [Fact]
    public void FatChainLoop_ReadGivesEio()
    {
        using var s = new ScratchDir("fatbad");
        byte[] image = File.ReadAllBytes(MakeImage(s));
        ushort a = StartCluster(image, "A       TXT");
        SetFat16(image, (uint)a + 1, a); // second cluster points back to the first
        Assert.Equal(Errno.OK, MountBytes(image, out Mount? m, out _));
        Assert.Equal(Errno.EIO, ReadFile(m!, "/A.TXT"));
        Assert.Equal(Errno.OK, ReadFile(m!, "/B.TXT"));
        m!.Unmount();
    }

    [Fact]
    public void FatChainPastTheEnd_ReadGivesEio()
    {
        using var s = new ScratchDir("fatbad");
        byte[] image = File.ReadAllBytes(MakeImage(s));
        ushort a = StartCluster(image, "A       TXT");
        SetFat16(image, a, 0xFFF0);
        Assert.Equal(Errno.OK, MountBytes(image, out Mount? m, out _));
        Assert.Equal(Errno.EIO, ReadFile(m!, "/A.TXT"));
        m!.Unmount();
    }

    [Fact]
    public void ChainShorterThanSize_ReadGivesEio()
    {
        using var s = new ScratchDir("fatbad");
        byte[] image = File.ReadAllBytes(MakeImage(s));
        ushort a = StartCluster(image, "A       TXT");
        SetFat16(image, a, 0xFFFF);
        Assert.Equal(Errno.OK, MountBytes(image, out Mount? m, out _));
        Assert.Equal(Errno.EIO, ReadFile(m!, "/A.TXT"));
        m!.Unmount();
    }

    [Fact]
    public void CrossLinkedChains_ReadAndRemoveWithoutExceptionOrHang()
    {
        using var s = new ScratchDir("fatbad");
        byte[] image = File.ReadAllBytes(MakeImage(s));
        ushort a = StartCluster(image, "A       TXT");
        ushort b = StartCluster(image, "B       TXT");
        SetFat16(image, b, (ushort)(a + 1)); // B's second cluster is A's second
        Assert.Equal(Errno.OK, MountBytes(image, out Mount? m, out _, readOnly: false));
        Assert.Equal(Errno.OK, ReadFile(m!, "/A.TXT"));
        Errno eb = ReadFile(m!, "/B.TXT");
        Assert.True(eb is Errno.OK or Errno.EIO, eb.ToString());
        Assert.Equal(Errno.OK, FatTestUtil.Remove(m!, "/A.TXT"));
        Errno rb = FatTestUtil.Remove(m!, "/B.TXT");
        Assert.True(rb is Errno.OK or Errno.EIO, rb.ToString());
        Assert.Equal(Errno.OK, m!.Statvfs(out _));
        m.Unmount(force: true);
    }

    [Fact]
    public void DirectoryEntryWithClusterPastTheEnd_LookupGivesEio()
    {
        using var s = new ScratchDir("fatbad");
        string img = MakeImage(s);
        OracleTool.RunExpect(0, "mmd", "-i", img, "::/SUB");
        byte[] image = File.ReadAllBytes(img);
        long root = Layout(image).RootOffset;
        for (int i = 0; i < 512; i++)
        {
            var e = image.AsSpan((int)root + (i * 32), 32);
            if (System.Text.Encoding.ASCII.GetString(e[..11]) == "SUB        ")
            {
                BinaryPrimitives.WriteUInt16LittleEndian(e[26..], 0xFFF0);
            }
        }
        Assert.Equal(Errno.OK, MountBytes(image, out Mount? m, out _));
        Assert.Equal(Errno.EIO, FatTestUtil.TryResolve(m!, "/SUB", out _));
        m!.Unmount();
    }

    /// <summary>
    /// A reserved-sector count one too high puts the FATs a sector late, where entry 0 is
    /// not the media byte: written through, every allocation would land on the wrong
    /// table. A read-write mount is refused with EIO; the same image before the damage
    /// mounts read-write.
    /// </summary>
    [Theory]
    [InlineData("12", 4000)]
    [InlineData("16", 20000)]
    [InlineData("32", 40960)]
    public void ReservedSectorsOffByOne_ReadWriteMountRefusedWithEio(string bits, int kib)
    {
        using var s = new ScratchDir("fatbad");
        byte[] image = File.ReadAllBytes(FatTestUtil.NewImage(s, "rsv", kib, "-F", bits));
        Assert.Equal(Errno.OK, MountBytes((byte[])image.Clone(), out Mount? good, out string? msg, readOnly: false));
        Assert.Equal(Errno.OK, good!.Unmount());
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(14));
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(14), (ushort)(reserved + 1));
        Assert.Equal(Errno.EIO, MountBytes(image, out _, out msg, readOnly: false));
        Assert.Contains("FAT does not start with the media byte", msg, StringComparison.Ordinal);
        // Read-only, nothing is refused for the signature (FAT32 may still fail: its root
        // directory's chain is read from the misplaced FAT).
        if (MountBytes(image, out Mount? ro, out msg) == Errno.OK)
        {
            Assert.Equal(Errno.OK, ro!.Unmount());
        }
        else
        {
            Assert.DoesNotContain("media byte", msg, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Fat32RootChainLoop_IsRefusedAtMount()
    {
        using var s = new ScratchDir("fatbad");
        string img = FatTestUtil.NewImage(s, "f32", 66000, "-F", "32", "-s", "1");
        byte[] image = File.ReadAllBytes(img);
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(14));
        uint rootCluster = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(44));
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan((reserved * Bps) + (int)(rootCluster * 4)), rootCluster);
        Assert.Equal(Errno.EIO, MountBytes(image, out _, out string? msg));
        Assert.Contains("root", msg, StringComparison.Ordinal);
    }

    [Fact]
    public void SubdirectoryChainLoop_GivesEio()
    {
        using var s = new ScratchDir("fatbad");
        string img = MakeImage(s);
        OracleTool.RunExpect(0, "mmd", "-i", img, "::/SUB");
        byte[] image = File.ReadAllBytes(img);
        ushort sub = StartCluster(image, "SUB        ");
        SetFat16(image, sub, sub);
        Assert.Equal(Errno.OK, MountBytes(image, out Mount? m, out _));
        Assert.Equal(Errno.OK, FatTestUtil.TryResolve(m!, "/SUB", out Vnode? vp));
        Assert.Equal(Errno.EIO, Vop.Lookup(vp!, "x", FatTestUtil.Root, out _));
        Assert.Equal(Errno.EIO, Vop.ReadDir(vp!, 0, new DirEntryList()));
        vp!.Release();
        m!.Unmount();
    }

    [Fact]
    public void OrphanedLongNameEntries_AreIgnored_AsWindowsDoes()
    {
        using var s = new ScratchDir("fatbad");
        string img = FatTestUtil.NewImage(s, "lfn", 20000, "-F", "16");
        File.WriteAllBytes(s.File("a long file name.txt"), [1, 2]);
        OracleTool.RunExpect(0, "mcopy", "-i", img, s.File("a long file name.txt"), "::/");
        byte[] image = File.ReadAllBytes(img);
        long root = Layout(image).RootOffset;
        // Damage the checksum of the first long-name piece: the name falls back to 8.3.
        image[root + 13] ^= 0xFF;
        Assert.Equal(Errno.OK, MountBytes(image, out Mount? m, out _));
        List<string> names = [.. FatTestUtil.List(m!, "/").Select(d => d.Name)];
        Assert.Contains("ALONGF~1.TXT", names);
        Assert.DoesNotContain("a long file name.txt", names);
        Assert.Equal(Errno.OK, ReadFile(m!, "/alongf~1.txt"));
        m!.Unmount();
    }
}
