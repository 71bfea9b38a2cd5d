using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A file's chain that runs on into the first cluster of a directory met later in the walk
/// (a damaged FAT entry in the file's chain). fsck.fat gives the cluster to the file and
/// truncates the directory to nothing, losing what is under it; ours knows the directories'
/// first clusters before it claims any chain, cuts the file there instead, and keeps the
/// directory whole. The file's own cluster that the damage cut off is saved as FSCK0000.REC.
/// </summary>
public sealed class FatChainIntoDirectoryTests
{
    public static TheoryData<string> Kinds => new() { "12", "16", "32" };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void FileChainIntoALaterDirectory_FileCut_DirectoryKept(string bits)
    {
        using var dir = new ScratchDir("fat-chain-into-dir");
        string img = dir.File($"fat{bits}.img");
        FatTestImages.CreateFile(img, bits switch { "12" => 3L << 20, "16" => 24L << 20, _ => 40L << 20 });
        OracleTool.RunExpect(0, "mkfs.fat", "-F", bits, "-s", bits == "12" ? "2" : "1", img);
        int clusterBytes = (int)FatTestImages.Boot(img).ClusterBytes;
        // Written first, so the root lists the file before the directory.
        byte[] data = new byte[3 * clusterBytes];
        new Random(5).NextBytes(data);
        File.WriteAllBytes(dir.File("a.bin"), data);
        OracleTool.RunExpect(0, "mcopy", "-i", img, dir.File("a.bin"), "::/A.BIN");
        OracleTool.RunExpect(0, "mmd", "-i", img, "::/LATER");
        OracleTool.RunExpect(0, "mmd", "-i", img, "::/LATER/INNER");
        File.WriteAllText(dir.File("in.txt"), "inside");
        OracleTool.RunExpect(0, "mcopy", "-i", img, dir.File("in.txt"), "::/LATER/INNER/IN.TXT");

        uint a = FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, "A       BIN"));
        uint later = FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, "LATER      "));
        List<uint> chain = FatTestImages.Chain(img, a);
        Assert.Equal(3, chain.Count);
        FatTestImages.SetFatEntry(img, chain[1], later);

        CheckReport before = FatTestImages.AssertBothDamaged(img);
        Assert.Contains(before.Findings, f => f.Message.Contains($"runs on into cluster {later}, the first cluster of a directory", StringComparison.Ordinal));
        CheckReport fix = FatTestImages.Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, FatTestImages.Describe(fix));
        FatTestImages.AssertBothClean(img);

        Assert.Equal("inside"u8.ToArray(), FatCheckTests.Mtype(img, "/LATER/INNER/IN.TXT"));
        Assert.Equal(data[..(2 * clusterBytes)], FatCheckTests.Mtype(img, "/A.BIN"));
        SortedDictionary<string, byte[]> recs = FatTestImages.RecFiles(img);
        Assert.Equal(data[(2 * clusterBytes)..], Assert.Single(recs).Value);
    }
}
