using System.Buffers.Binary;
using RumpFs.FsDrivers.Msdosfs;
using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Lost cluster chains are saved as FSCKnnnn.REC files in the root, as fsck.fat -y saves
/// them: each test repairs with our -y, checks the result with fsck.fat -n and mtools, and
/// compares the files made with those fsck.fat -y makes on a copy of the damaged image.
/// </summary>
public sealed class FatLostChainSalvageTests
{
    /// <summary>A root entry as the comparison sees it: short name, start cluster, size, place.</summary>
    private sealed record RootEntry(string Name, uint Start, uint Size, long Offset);

    private static string Build(ScratchDir dir, string bits, string? label = "TESTVOL")
    {
        string img = dir.File($"fat{bits}.img");
        FatTestImages.MkfsWithFiles(img, bits switch { "12" => 3L << 20, "16" => 24L << 20, _ => 40L << 20 }, bits, label: label);
        return img;
    }

    /// <summary>The live short entries of the root directory (every cluster of a FAT32 root).</summary>
    private static List<RootEntry> RootEntries(string img)
    {
        FatBootRecord b = FatTestImages.Boot(img);
        var places = new List<(long At, int Length)>();
        if (b.Kind == FatKind.Fat32)
        {
            places.AddRange(FatTestImages.Chain(img, b.RootCluster).Select(c => (b.ClusterOffset(c), b.ClusterBytes)));
        }
        else
        {
            places.Add((b.RootDirOffset, b.RootEntries * 32));
        }
        var entries = new List<RootEntry>();
        foreach ((long at, int length) in places)
        {
            byte[] dir = FatTestImages.ReadAt(img, at, length);
            for (int i = 0; i < length; i += 32)
            {
                ReadOnlySpan<byte> e = dir.AsSpan(i, 32);
                if (e[0] is 0 or 0xE5 || FatDirRecord.IsLongName(e))
                {
                    continue;
                }
                entries.Add(new RootEntry(System.Text.Encoding.Latin1.GetString(e[..11]), FatDirRecord.Cluster(e, b.Kind), FatDirRecord.FileSizeOf(e), at + i));
            }
        }
        return entries;
    }

    private static List<RootEntry> RecEntries(string img) => [.. RootEntries(img).Where(e => e.Name.StartsWith("FSCK", StringComparison.Ordinal) && e.Name.EndsWith("REC", StringComparison.Ordinal))];

    /// <summary>The bytes of <paramref name="clusters"/>, in order, as the image holds them now.</summary>
    private static byte[] ClusterBytes(string img, IEnumerable<uint> clusters)
    {
        FatBootRecord b = FatTestImages.Boot(img);
        return [.. clusters.SelectMany(c => FatTestImages.ReadAt(img, b.ClusterOffset(c), b.ClusterBytes))];
    }

    /// <summary>fsck.fat -y on a copy of the image as it is now; returns the copy's path and the tool's result.</summary>
    private static (string Copy, ToolResult Result) FsckFatRepairsACopy(string img)
    {
        string copy = img + ".fsckfat";
        File.Copy(img, copy, overwrite: true);
        return (copy, OracleTool.Run("fsck.fat", "-y", copy));
    }

    /// <summary>-n finds the lost clusters (exit 4) and writes nothing; -y saves them (exit 1); then both checkers find the image clean.</summary>
    private static CheckReport RepairAndCheck(string img, IClock? clock = null)
    {
        byte[] damaged = File.ReadAllBytes(img);
        CheckReport n = FatTestImages.Check(img, repair: false);
        Assert.True(n.ExitCode == 4, FatTestImages.Describe(n));
        Assert.Contains(n.Findings, f => f.Phase == "clusters" && !f.Repaired && f.Message.Contains("would be saved as FSCK", StringComparison.Ordinal));
        Assert.Equal(damaged, File.ReadAllBytes(img));
        CheckReport y = FatTestImages.Check(img, repair: true, clock ?? HostClock.Instance);
        Assert.True(y.ExitCode == 1, FatTestImages.Describe(y));
        Assert.All(y.Findings.Where(f => f.Severity == CheckSeverity.Error), f => Assert.True(f.Repaired, FatTestImages.Describe(y)));
        FatTestImages.AssertBothClean(img);
        return y;
    }

    /// <summary>Delete a root entry by its first byte, as a crash between FAT and directory write can leave it: its chain is lost.</summary>
    private static List<uint> Unlink(string img, string name11)
    {
        long at = FatTestImages.RootEntryOffset(img, name11);
        List<uint> chain = FatTestImages.Chain(img, FatTestImages.StartCluster(img, at));
        FatTestImages.Patch(img, at, 0xE5);
        return chain;
    }

    [Theory]
    [MemberData(nameof(FatCheckTests.Kinds), MemberType = typeof(FatCheckTests))]
    public void Repair_LostChain_SavedAsRecFileWithItsBytes_AsFsckFatSavesIt(string bits)
    {
        using var dir = new ScratchDir("fatrec");
        string img = Build(dir, bits);
        List<uint> chain = Unlink(img, "FILE1   BIN");
        byte[] held = ClusterBytes(img, chain);
        (string copy, ToolResult oracle) = FsckFatRepairsACopy(img);
        var clock = new FixedClock(new Timespec(1_750_000_000, 0));

        CheckReport y = RepairAndCheck(img, clock);
        CheckFinding saved = Assert.Single(y.Findings, f => f.Phase == "clusters");
        Assert.Contains($"{chain.Count} lost cluster(s)", saved.Message, StringComparison.Ordinal);
        Assert.Contains("in 1 chain(s); saved as FSCK0000.REC in the root directory", saved.Message, StringComparison.Ordinal);

        SortedDictionary<string, byte[]> recs = FatTestImages.RecFiles(img);
        Assert.Equal(["FSCK0000.REC"], recs.Keys);
        Assert.Equal(held, recs["FSCK0000.REC"]);
        Assert.Equal(Enumerable.Range(0, 10000).Select(b => (byte)b), recs["FSCK0000.REC"][..10000]);
        Assert.Equal(chain, FatTestImages.Chain(img, chain[0]));

        // fsck.fat -y makes the same file in the same slot (it stamps no time, we stamp the check's).
        Assert.True(oracle.Stdout.Contains("in 1 chain", StringComparison.Ordinal), oracle.Transcript);
        Assert.Equal(RecEntries(copy), RecEntries(img));
        RootEntry rec = Assert.Single(RecEntries(img));
        byte[] entry = FatTestImages.ReadAt(img, rec.Offset, 32);
        MsdosConv.ToDos(clock.Now, null, out ushort date, out ushort time, out _);
        Assert.Equal(date, BinaryPrimitives.ReadUInt16LittleEndian(entry.AsSpan(FatDirRecord.WriteDate)));
        Assert.Equal(time, BinaryPrimitives.ReadUInt16LittleEndian(entry.AsSpan(FatDirRecord.WriteTime)));
        Assert.Equal(date, BinaryPrimitives.ReadUInt16LittleEndian(entry.AsSpan(FatDirRecord.CreateDate)));
        Assert.Equal(FatDirRecord.AttrArchive, entry[FatDirRecord.Attributes]);
    }

    /// <summary>Names the root already holds are skipped, as fsck.fat skips them; the files that hold them keep their bytes.</summary>
    [Theory]
    [MemberData(nameof(FatCheckTests.Kinds), MemberType = typeof(FatCheckTests))]
    public void Repair_RecNamesTaken_NextFreeNumbersUsed(string bits)
    {
        using var dir = new ScratchDir("fatrec");
        string img = Build(dir, bits);
        File.WriteAllText(dir.File("FSCK0000.REC"), "mine, not a lost chain");
        File.WriteAllText(dir.File("FSCK0002.REC"), "mine too");
        OracleTool.RunExpect(0, "mcopy", "-i", img, dir.File("FSCK0000.REC"), dir.File("FSCK0002.REC"), "::/");
        List<uint> first = Unlink(img, "FILE1   BIN");
        List<uint> second = Unlink(img, "FILE2   BIN");
        (List<uint> low, List<uint> high) = first[0] < second[0] ? (first, second) : (second, first);
        byte[] lowBytes = ClusterBytes(img, low);
        byte[] highBytes = ClusterBytes(img, high);
        (string copy, _) = FsckFatRepairsACopy(img);

        CheckReport y = RepairAndCheck(img);
        Assert.Contains(y.Findings, f => f.Message.Contains("saved as FSCK0001.REC, FSCK0003.REC", StringComparison.Ordinal));
        SortedDictionary<string, byte[]> recs = FatTestImages.RecFiles(img);
        Assert.Equal(["FSCK0000.REC", "FSCK0001.REC", "FSCK0002.REC", "FSCK0003.REC"], recs.Keys);
        Assert.Equal("mine, not a lost chain"u8.ToArray(), recs["FSCK0000.REC"]);
        Assert.Equal("mine too"u8.ToArray(), recs["FSCK0002.REC"]);
        Assert.Equal(lowBytes, recs["FSCK0001.REC"]);
        Assert.Equal(highBytes, recs["FSCK0003.REC"]);
        Assert.Equal(RecEntries(copy).Select(e => (e.Name, e.Start, e.Size)), RecEntries(img).Select(e => (e.Name, e.Start, e.Size)));
    }

    /// <summary>
    /// Lost chains of every shape, built in free clusters a &lt; b &lt; ... &lt; j: a loop
    /// a→c→b→a (no head: cut at a, saved from c), a chain running into a loop d→e→f→e (cut
    /// after f), two chains joining g→i, h→i (h ends before i), and one running into a file
    /// j→FILE0 (ends at j). Each file holds its clusters' bytes in chain order, and fsck.fat
    /// -y makes the same files.
    /// </summary>
    [Theory]
    [MemberData(nameof(FatCheckTests.Kinds), MemberType = typeof(FatCheckTests))]
    public void Repair_LoopsJoinsAndChainsIntoFiles_CutAsFsckFatCutsThem(string bits)
    {
        using var dir = new ScratchDir("fatrec");
        string img = Build(dir, bits);
        FatBootRecord b = FatTestImages.Boot(img);
        uint[] free = [.. Enumerable.Range(2, (int)b.MaxCluster - 1).Select(c => (uint)c).Where(c => FatTestImages.FatEntry(img, c) == 0).Skip(40).Take(10)];
        (uint a, uint bb, uint c, uint d, uint e, uint f, uint g, uint h, uint i, uint j) =
            (free[0], free[1], free[2], free[3], free[4], free[5], free[6], free[7], free[8], free[9]);
        uint file0 = FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, "FILE0   BIN"));
        uint end = FatTable.EndMark(b.Kind);
        foreach ((uint from, uint to) in new[] { (a, c), (c, bb), (bb, a), (d, e), (e, f), (f, e), (g, i), (h, i), (i, end), (j, file0) })
        {
            FatTestImages.SetFatEntry(img, from, to);
        }
        foreach (uint x in free)
        {
            FatTestImages.Patch(img, b.ClusterOffset(x), [.. Enumerable.Repeat((byte)(x * 7), b.ClusterBytes)]);
        }
        (string copy, _) = FsckFatRepairsACopy(img);

        CheckReport y = RepairAndCheck(img);
        CheckFinding found = Assert.Single(y.Findings, fd => fd.Phase == "clusters");
        Assert.Contains("10 lost cluster(s)", found.Message, StringComparison.Ordinal);
        Assert.Contains("in 5 chain(s) (cut apart at 4 link(s), 1 of them closing a loop)", found.Message, StringComparison.Ordinal);
        SortedDictionary<string, byte[]> recs = FatTestImages.RecFiles(img);
        Assert.Equal(["FSCK0000.REC", "FSCK0001.REC", "FSCK0002.REC", "FSCK0003.REC", "FSCK0004.REC"], recs.Keys);
        Assert.Equal(ClusterBytes(img, [c, bb, a]), recs["FSCK0000.REC"]);
        Assert.Equal(ClusterBytes(img, [d, e, f]), recs["FSCK0001.REC"]);
        Assert.Equal(ClusterBytes(img, [g, i]), recs["FSCK0002.REC"]);
        Assert.Equal(ClusterBytes(img, [h]), recs["FSCK0003.REC"]);
        Assert.Equal(ClusterBytes(img, [j]), recs["FSCK0004.REC"]);
        Assert.Equal(RecEntries(copy).Select(x => (x.Name, x.Start, x.Size)), RecEntries(img).Select(x => (x.Name, x.Start, x.Size)));
        Assert.Equal(FatCheckTests.Mtype(copy, "/FILE0.BIN"), FatCheckTests.Mtype(img, "/FILE0.BIN"));
    }

    /// <summary>
    /// A FAT16 root with one free slot and two lost chains: the first (lower head) is saved,
    /// the second finds no slot, since a FAT12/16 root cannot grow, and is freed, so the
    /// volume ends up consistent. fsck.fat -y gives up here and writes nothing.
    /// </summary>
    [Fact]
    public void Repair_Fat16RootFull_FirstChainSavedTheRestFreed()
    {
        using var dir = new ScratchDir("fatrec");
        string img = dir.File("fat16.img");
        FatTestImages.CreateFile(img, 24L << 20);
        OracleTool.RunExpect(0, "mkfs.fat", "-F", "16", "-n", "TESTVOL", img);
        FatBootRecord b = FatTestImages.Boot(img);
        var names = new List<string>();
        for (int n = 0; n < b.RootEntries - 2; n++) // the label takes one slot, one stays free
        {
            names.Add(dir.File($"E{n:D4}"));
            File.WriteAllBytes(names[^1], []);
        }
        OracleTool.RunExpect(0, "mcopy", ["-i", img, .. names, "::/"]);
        uint[] free = [.. Enumerable.Range(100, 10).Select(c => (uint)c)];
        Assert.All(free, c => Assert.Equal(0u, FatTestImages.FatEntry(img, c)));
        FatTestImages.SetFatEntry(img, free[0], free[1]);
        FatTestImages.SetFatEntry(img, free[1], 0xFFFF);
        FatTestImages.SetFatEntry(img, free[5], 0xFFFF);
        FatTestImages.Patch(img, b.ClusterOffset(free[0]), [.. Enumerable.Repeat((byte)'s', 2 * b.ClusterBytes)]);
        (string copy, ToolResult oracle) = FsckFatRepairsACopy(img);

        CheckReport y = RepairAndCheck(img);
        Assert.Contains(y.Findings, f => f.Message.Contains("in 2 chain(s); saved as FSCK0000.REC", StringComparison.Ordinal));
        Assert.Contains(y.Findings, f => f.Message.Contains("1 lost chain(s) (1 cluster(s)) not saved: the root directory is full", StringComparison.Ordinal));
        Assert.Equal(0u, FatTestImages.FatEntry(img, free[5]));
        SortedDictionary<string, byte[]> recs = FatTestImages.RecFiles(img);
        Assert.Equal(["FSCK0000.REC"], recs.Keys);
        Assert.Equal(Enumerable.Repeat((byte)'s', 2 * b.ClusterBytes), recs["FSCK0000.REC"]);

        Assert.Contains("Root directory is full", oracle.Stdout + oracle.Stderr, StringComparison.Ordinal);
        Assert.Empty(RecEntries(copy));
    }

    /// <summary>
    /// A FAT32 root whose one cluster is full grows by the first free cluster after it, the
    /// one fsck.fat takes, and the file goes there; the FSInfo count follows.
    /// </summary>
    [Fact]
    public void Repair_Fat32RootFull_GrowsByTheClusterFsckFatTakes()
    {
        using var dir = new ScratchDir("fatrec");
        string img = dir.File("fat32.img");
        FatTestImages.CreateFile(img, 40L << 20);
        OracleTool.RunExpect(0, "mkfs.fat", "-F", "32", "-S", "512", "-s", "1", "-n", "TESTVOL", img);
        FatBootRecord b = FatTestImages.Boot(img);
        int slots = b.ClusterBytes / 32;
        var names = new List<string>();
        for (int n = 0; n < slots - 1; n++) // with the label, one cluster exactly
        {
            names.Add(dir.File($"E{n:D4}"));
            File.WriteAllBytes(names[^1], [(byte)n]);
        }
        OracleTool.RunExpect(0, "mcopy", ["-i", img, .. names, "::/"]);
        Assert.Single(FatTestImages.Chain(img, b.RootCluster));
        uint lost = FatTestImages.FreeCluster(img);
        FatTestImages.SetFatEntry(img, lost, 0x0FFFFFFF);
        FatTestImages.Patch(img, b.ClusterOffset(lost), [.. Enumerable.Repeat((byte)'g', b.ClusterBytes)]);
        (string copy, _) = FsckFatRepairsACopy(img);

        CheckReport y = RepairAndCheck(img);
        Assert.Contains(y.Findings, f => f.Message.Contains("which grew by 1 cluster(s)", StringComparison.Ordinal));
        List<uint> root = FatTestImages.Chain(img, b.RootCluster);
        Assert.Equal(FatTestImages.Chain(copy, b.RootCluster), root);
        Assert.Equal(2, root.Count);
        RootEntry rec = Assert.Single(RecEntries(img));
        Assert.Equal(b.ClusterOffset(root[1]), rec.Offset);
        Assert.Equal(Enumerable.Repeat((byte)'g', b.ClusterBytes), FatTestImages.RecFiles(img)["FSCK0000.REC"]);
    }

    /// <summary>
    /// The FAT32 root cluster number, in the boot sector and its backup alike, names a
    /// subdirectory: that directory becomes the root, and everything the real root held
    /// is lost. Freed, every file's data would be gone; saved as fsck.fat saves it, each
    /// file's bytes are in a .REC file. (No label: fsck.fat also checks the boot sector's
    /// label against the root's, which our checker does not.)
    /// </summary>
    [Fact]
    public void Repair_Fat32RootClusterNamingASubdirectory_EveryFilesDataKept()
    {
        using var dir = new ScratchDir("fatrec");
        string img = Build(dir, "32", label: null);
        FatBootRecord b = FatTestImages.Boot(img);
        uint subdir = FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, "SUBDIR     "));
        byte[] file0 = FatCheckTests.Mtype(img, "/file0.bin");
        byte[] file1 = FatCheckTests.Mtype(img, "/file1.bin");
        byte[] file2 = FatCheckTests.Mtype(img, "/file2.bin");
        foreach (int sector in new[] { 0, 6 })
        {
            FatTestImages.Patch(img, (sector * b.BytesPerSector) + FatBootRecord.Offsets.RootCluster, BitConverter.GetBytes(subdir));
        }
        (string copy, _) = FsckFatRepairsACopy(img);

        CheckReport y = FatTestImages.Check(img, repair: true);
        Assert.True(y.ExitCode == 1, FatTestImages.Describe(y));
        FatTestImages.AssertBothClean(img);
        List<byte[]> recs = [.. FatTestImages.RecFiles(img).Values];
        foreach (byte[] data in new[] { file0, file1, file2, "hello"u8.ToArray() })
        {
            Assert.Contains(recs, r => r.Length >= data.Length && r.AsSpan(0, data.Length).SequenceEqual(data));
        }
        Assert.Equal(RecEntries(copy).Select(x => (x.Name, x.Start, x.Size)), RecEntries(img).Select(x => (x.Name, x.Start, x.Size)));
        Assert.Equal("hello"u8.ToArray(), FatCheckTests.Mtype(img, "/Deeper Directory/a long file name.txt"));
    }

    /// <summary>
    /// A chain longer than a file can be (4 GiB − 1 bytes; here a limit of 2 clusters stands
    /// in for it) is cut into pieces that fit, each a chain of its own, in chain order.
    /// </summary>
    [Fact]
    public void FindLostChains_ChainLongerThanAFileCanBe_CutIntoPiecesThatFit()
    {
        using var dir = new ScratchDir("fatrec");
        string img = Build(dir, "16");
        List<uint> chain = Unlink(img, "FILE1   BIN");
        Assert.Equal(5, chain.Count); // 10000 bytes in 2048-byte clusters
        using RumpFs.Kernel.Devices.IBlockDevice dev = FatTestImages.Open(img, readOnly: true);
        Assert.Equal(Errno.OK, FatVolume.Open(dev, out FatVolume? v, out string? error));
        Assert.True(v is not null, error);
        var tree = new FatTreeCheck(v, new CheckReport(), repair: false);
        tree.Run();

        List<LostChain> found = FatLostChains.Find(v, tree.Owners, 2, out FatLostChains cut);
        Assert.Equal([new LostChain(chain[0], 2), new LostChain(chain[2], 2), new LostChain(chain[4], 1)], found);
        Assert.Equal(0, cut.Cuts);
        Assert.True(v.IsEnd(v.Value(chain[1])));
        Assert.True(v.IsEnd(v.Value(chain[3])));
    }
}
