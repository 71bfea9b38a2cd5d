using RumpFs.Drivers.Tests.Msdosfs;
using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// FAT subdirectories whose start cluster is that of a directory containing them (the one
/// holding the entry, one further up, or the root): every walk would go round for ever. The
/// repair deletes the entry, as fsck.fat does, and the rest of the tree stays as it was.
/// </summary>
public sealed class FatDirectoryCycleTests
{
    private const string Deeper = "/SUBDIR/Deeper Directory";

    public static TheoryData<string, string> Cycles => new()
    {
        { "12", "containing" }, { "12", "ancestor" }, { "12", "root" },
        { "16", "containing" }, { "16", "ancestor" }, { "16", "root" },
        { "32", "containing" }, { "32", "ancestor" }, { "32", "root" }, { "32", "zero" },
    };

    public static TheoryData<string> Kinds => new() { "12", "16", "32" };

    /// <summary>The checker tests' image plus /SUBDIR/Deeper Directory/INNER holding a file.</summary>
    private static string Build(ScratchDir dir, string bits)
    {
        string img = dir.File($"fat{bits}.img");
        FatTestImages.MkfsWithFiles(img, bits switch { "12" => 3L << 20, "16" => 24L << 20, _ => 40L << 20 }, bits);
        OracleTool.RunExpect(0, "mmd", "-i", img, "::" + Deeper + "/INNER");
        File.WriteAllText(dir.File("inner.txt"), "inside");
        OracleTool.RunExpect(0, "mcopy", "-i", img, dir.File("inner.txt"), "::" + Deeper + "/INNER/");
        return img;
    }

    private static (uint Subdir, uint Deeper, long DeeperEntry, long InnerEntry) Locate(string img)
    {
        uint subdir = FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, "SUBDIR     "));
        long deeperEntry = FatTestImages.EntryOffset(img, subdir, "DEEPER~1   ");
        uint deeper = FatTestImages.StartCluster(img, deeperEntry);
        return (subdir, deeper, deeperEntry, FatTestImages.EntryOffset(img, deeper, "INNER      "));
    }

    /// <summary>Every path under <paramref name="path"/> as our driver lists it (depth-limited, so a cycle fails instead of hanging).</summary>
    private static void Walk(Mount m, string path, List<string> into, int depth = 0)
    {
        Assert.True(depth < 8, $"{path}: deeper than the tree is");
        foreach (DirEntry d in FatTestUtil.List(m, path).Where(d => d.Name is not "." and not ".."))
        {
            string child = (path == "/" ? "/" : path + "/") + d.Name;
            into.Add(child);
            if (d.Type == VType.Directory)
            {
                Walk(m, child, into, depth + 1);
            }
        }
    }

    private static List<string> Tree(string img)
    {
        var paths = new List<string>();
        Mount m = FatTestUtil.MountImage(img, readOnly: true);
        try
        {
            Walk(m, "/", paths);
        }
        finally
        {
            m.Unmount();
        }
        paths.Sort(StringComparer.Ordinal);
        return paths;
    }

    /// <summary>Damage found by both checkers; our repair exits 1 with everything fixed; then both are clean.</summary>
    private static string Repair(string img)
    {
        CheckReport before = FatTestImages.AssertBothDamaged(img);
        CheckReport fix = FatTestImages.Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, FatTestImages.Describe(fix));
        Assert.All(fix.Findings.Where(f => f.Severity == CheckSeverity.Error), f => Assert.True(f.Repaired, FatTestImages.Describe(fix)));
        FatTestImages.AssertBothClean(img);
        return FatTestImages.Describe(before);
    }

    [Theory]
    [MemberData(nameof(Cycles))]
    public void Check_SubdirectoryStartingAtADirectoryThatContainsIt_EntryDeletedRestKept(string bits, string target)
    {
        using var dir = new ScratchDir("fatcycle");
        string img = Build(dir, bits);
        List<string> treeBefore = Tree(img);
        byte[] file1 = FatTestUtil.Mcopy(img, Deeper + "/file1.bin");
        (uint subdir, uint deeper, _, long innerEntry) = Locate(img);
        FatBootRecord boot = FatTestImages.Boot(img);
        uint cluster = target switch
        {
            "containing" => deeper,
            "ancestor" => subdir,
            "root" => boot.Kind == FatKind.Fat32 ? boot.RootCluster : 0,
            _ => 0,
        };
        FatTestImages.SetStartCluster(img, innerEntry, cluster);

        string found = Repair(img);
        Assert.Contains("/SUBDIR/DEEPER~1/INNER: directory", found, StringComparison.Ordinal);
        Assert.Contains(cluster == 0 ? "stands for the root directory" : "which contains it: a directory cycle", found, StringComparison.Ordinal);
        Assert.Equal(FatDirRecord.Deleted, FatTestImages.ReadAt(img, innerEntry, 1)[0]);
        // INNER's own cluster and inner.txt's are lost: two chains, saved in the root.
        Assert.Equal(
            treeBefore.Where(p => !p.StartsWith(Deeper + "/INNER", StringComparison.Ordinal)).Append("/FSCK0000.REC").Append("/FSCK0001.REC").Order(StringComparer.Ordinal),
            Tree(img));
        Assert.Contains(FatTestImages.RecFiles(img).Values, data => data.AsSpan().StartsWith("inside"u8));
        Assert.Equal(file1, FatTestUtil.Mcopy(img, Deeper + "/file1.bin"));
    }

    /// <summary>A directory with a long name pointing at the one holding it: the long-name entries go with it, so fsck.fat finds no orphans.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_LongNamedDirectoryStartingAtItsParent_EntryAndLongNameDeleted(string bits)
    {
        using var dir = new ScratchDir("fatcycle");
        string img = Build(dir, bits);
        (uint subdir, _, long deeperEntry, _) = Locate(img);
        Assert.True(FatDirRecord.IsLongName(FatTestImages.ReadAt(img, deeperEntry - 32, 32)));
        FatTestImages.SetStartCluster(img, deeperEntry, subdir);

        Repair(img);
        Assert.Equal(FatDirRecord.Deleted, FatTestImages.ReadAt(img, deeperEntry, 1)[0]);
        Assert.Equal(FatDirRecord.Deleted, FatTestImages.ReadAt(img, deeperEntry - 32, 1)[0]);
        Assert.Equal(["/SUBDIR", "/a long file name.txt", "/file0.bin", "/file1.bin", "/file2.bin"],
            Tree(img).Where(p => !p.StartsWith("/FSCK", StringComparison.Ordinal)));
        // What the deleted directory held is lost, and saved: its files' data among the .REC files.
        SortedDictionary<string, byte[]> recs = FatTestImages.RecFiles(img);
        Assert.Contains(recs.Values, data => data.AsSpan().StartsWith("hello"u8));
        Assert.Contains(recs.Values, data => data.AsSpan().StartsWith("inside"u8));
    }

    /// <summary>A directory whose chain runs on into a directory containing it: cut where it does, it keeps its own entries.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_DirectoryChainRunningIntoAnAncestor_CutAndContentsKept(string bits)
    {
        using var dir = new ScratchDir("fatcycle");
        string img = Build(dir, bits);
        List<string> treeBefore = Tree(img);
        (uint subdir, uint deeper, _, _) = Locate(img);
        List<uint> chain = FatTestImages.Chain(img, deeper);
        FatTestImages.SetFatEntry(img, chain[^1], subdir);

        string found = Repair(img);
        Assert.Contains("shares clusters", found, StringComparison.Ordinal);
        Assert.Equal(chain, FatTestImages.Chain(img, deeper));
        Assert.Equal(treeBefore, Tree(img));
        Assert.Equal("inside"u8.ToArray(), FatTestUtil.Mcopy(img, Deeper + "/INNER/inner.txt"));
    }

    /// <summary>Two sibling directories starting at the same cluster: the second has nothing of its own and is deleted.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_DirectoryStartingAtASiblingsCluster_SecondEntryDeleted(string bits)
    {
        using var dir = new ScratchDir("fatcycle");
        string img = Build(dir, bits);
        OracleTool.RunExpect(0, "mmd", "-i", img, "::/OTHER");
        (uint subdir, _, _, _) = Locate(img);
        long other = FatTestImages.RootEntryOffset(img, "OTHER      ");
        FatTestImages.SetStartCluster(img, other, subdir);

        string found = Repair(img);
        Assert.Contains("belongs to directory /SUBDIR", found, StringComparison.Ordinal);
        // OTHER's own (empty) cluster is lost: saved in the first free slot, OTHER's.
        Assert.Equal("FSCK0000REC"u8.ToArray(), FatTestImages.ReadAt(img, other, 11));
        Assert.Equal("inside"u8.ToArray(), FatTestUtil.Mcopy(img, Deeper + "/INNER/inner.txt"));
    }
}
