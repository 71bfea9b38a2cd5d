using RumpFs.Drivers.Tests.Fsck;
using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Msdosfs;

/// <summary>
/// FAT copies that differ: the first FAT lost an entry in the middle of a file's chain
/// (shows it free) while the second still chains it. Writes must not take that cluster, or
/// the file's data, still whole in the second copy, would be overwritten.
/// </summary>
public sealed class MsdosDamagedFatCopyTests
{
    public static TheoryData<string> Kinds => new() { "12", "16", "32" };

    private static byte[] Pattern(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>The file's bytes read along the chain of FAT copy <paramref name="copy"/> (0-based), straight from the image.</summary>
    private static byte[] ReadAlongCopy(string img, uint start, int size, int copy)
    {
        FatBootRecord b = FatTestImages.Boot(img);
        byte[] fat = FatTestImages.ReadAt(img, b.FatOffset + (copy * b.FatBytes), (int)b.FatBytes);
        var data = new List<byte>();
        for (uint c = start; data.Count < size; c = FatTable.Value(FatTable.Get(fat, b.Kind, c), b.Kind))
        {
            Assert.InRange(c, 2u, b.MaxCluster);
            data.AddRange(FatTestImages.ReadAt(img, b.ClusterOffset(c), b.ClusterBytes));
        }
        return [.. data.Take(size)];
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Allocate_ClusterFreeInFirstFatButChainedInSecond_IsNotHandedOut(string bits)
    {
        using var s = new ScratchDir("fatcopies");
        string img = s.File($"fat{bits}.img");
        FatTestImages.CreateFile(img, bits switch { "12" => 3L << 20, "16" => 24L << 20, _ => 40L << 20 });
        OracleTool.RunExpect(0, "mkfs.fat", "-F", bits, img);
        FatBootRecord b = FatTestImages.Boot(img);
        byte[] old = Pattern((3 * b.ClusterBytes) - 100, 1);
        File.WriteAllBytes(s.File("OLD.BIN"), old);
        OracleTool.RunExpect(0, "mcopy", "-i", img, s.File("OLD.BIN"), "::/");
        if (b.Kind == FatKind.Fat32)
        {
            // No next-free hint: the allocator searches from cluster 2, where the damage is.
            FatTestImages.Patch(img, (b.FsInfoSector * b.BytesPerSector) + RumpFs.FsDrivers.Msdosfs.FsInfo.NextFree, 0xFF, 0xFF, 0xFF, 0xFF);
        }
        uint start = FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, "OLD     BIN"));
        List<uint> chain = FatTestImages.Chain(img, start);
        Assert.Equal(3, chain.Count);
        FatTestImages.SetFatEntry(img, chain[1], 0, 0); // the first copy only
        Assert.Contains(FatTestImages.Check(img, repair: false).Findings, f => f.Message.Contains("FAT copies differ", StringComparison.Ordinal));

        byte[] newData = Pattern(2 * b.ClusterBytes, 2);
        Mount m = FatTestUtil.MountImage(img);
        try
        {
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/NEWDIR"));
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/NEWDIR/NEW.BIN", newData));
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/SMALL.TXT", [1, 2, 3]));
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }

        Assert.Equal(old, ReadAlongCopy(img, start, old.Length, copy: 1));
        Assert.Equal(0u, FatTestImages.FatEntry(img, chain[1]));
        uint newDir = FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, "NEWDIR     "));
        uint small = FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, "SMALL   TXT"));
        uint newFile = FatTestImages.StartCluster(img, FatTestImages.EntryOffset(img, newDir, "NEW     BIN"));
        Assert.DoesNotContain(chain[1], FatTestImages.Chain(img, newDir).Concat(FatTestImages.Chain(img, small)).Concat(FatTestImages.Chain(img, newFile)));
        CheckReport after = FatTestImages.Check(img, repair: false);
        Assert.DoesNotContain(after.Findings, f => f.Message.Contains("shares clusters", StringComparison.Ordinal));
        Assert.DoesNotContain(after.Findings, f => f.Location.Contains("NEW", StringComparison.Ordinal) || f.Location.Contains("SMALL", StringComparison.Ordinal));
        Assert.Equal(newData, FatTestUtil.Mcopy(img, "/NEWDIR/NEW.BIN"));
        Assert.Equal([1, 2, 3], FatTestUtil.Mcopy(img, "/SMALL.TXT"));
    }
}
