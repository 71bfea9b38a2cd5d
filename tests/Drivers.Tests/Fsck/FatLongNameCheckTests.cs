using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>Long-name slots the FAT check finds broken, as fsck.fat does, and what the repair leaves.</summary>
public sealed class FatLongNameCheckTests
{
    private const string LongDir = "LONGDIR    ";

    /// <summary>
    /// Adds /LONGDIR with enough files named file_with_a_longish_name_N.txt (three slots and a
    /// short entry each) to spill past its first cluster. After "." and "..", runs of four
    /// entries never end on a cluster boundary, so the first cluster ends inside a run.
    /// </summary>
    private static string BuildWithLongDirectory(ScratchDir dir, string bits)
    {
        string img = FatCheckTests.Build(dir, bits);
        int perCluster = FatTestImages.Boot(img).ClusterBytes / 32;
        using var src = new ScratchDir("fatsrc");
        var files = new List<string>();
        for (int i = 0; i < perCluster / 4 + 2; i++)
        {
            string f = src.File($"file_with_a_longish_name_{i}.txt");
            File.WriteAllText(f, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            files.Add(f);
        }
        OracleTool.RunExpect(0, "mmd", "-i", img, "::/LONGDIR");
        OracleTool.RunExpect(0, "mcopy", ["-i", img, .. files, "::/LONGDIR/"]);
        return img;
    }

    /// <summary>
    /// A directory's chain cut after its first cluster, whose last slots begin a long name
    /// whose short entry was in the next cluster: the slots are orphans (fsck.fat: "Orphaned
    /// long file name part") and are deleted, the files before them kept.
    /// </summary>
    [Theory]
    [MemberData(nameof(FatCheckTests.Kinds), MemberType = typeof(FatCheckTests))]
    public void Check_LongNameSlotsAtTheEndOfADirectory_FoundAndDeleted(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = BuildWithLongDirectory(dir, bits);
        FatBootRecord b = FatTestImages.Boot(img);
        uint start = FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, LongDir));
        List<uint> chain = FatTestImages.Chain(img, start);
        Assert.True(chain.Count >= 2);
        Assert.True(FatDirRecord.IsLongName(FatTestImages.ReadAt(img, b.ClusterOffset(start) + b.ClusterBytes - 32, 32)));
        FatTestImages.SetFatEntry(img, start, FatTable.EndMark(b.Kind));

        string text = FatCheckTests.RepairRoundTrip(img, "directories");
        Assert.Contains("at the end of the directory with no short entry after them", text, StringComparison.Ordinal);
        Assert.Equal("0"u8.ToArray(), FatCheckTests.Mtype(img, "/LONGDIR/file_with_a_longish_name_0.txt"));
    }

    /// <summary>
    /// A long-name slot's type byte (offset 12, always 0 in a name slot) set: found by both
    /// (fsck.fat: "Reserved field in VFAT long filename slot is not 0"), set to 0, the name kept.
    /// </summary>
    [Theory]
    [MemberData(nameof(FatCheckTests.Kinds), MemberType = typeof(FatCheckTests))]
    public void Check_LongNameSlotWithType_SetToZeroAndNameKept(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = FatCheckTests.Build(dir, bits);
        long slot = FatTestImages.RootEntryOffset(img, "ALONGF~1TXT") - 32;
        Assert.True(FatDirRecord.IsLongName(FatTestImages.ReadAt(img, slot, 32)));
        FatTestImages.Patch(img, slot + FatDirRecord.LfnType, 0x40);

        string text = FatCheckTests.RepairRoundTrip(img, "directories");
        Assert.Contains("has type 0x40; set to 0", text, StringComparison.Ordinal);
        Assert.Equal(0, FatTestImages.ReadAt(img, slot + FatDirRecord.LfnType, 1)[0]);
        Assert.Equal("hello"u8.ToArray(), FatCheckTests.Mtype(img, "/a long file name.txt"));
    }
}
