using RumpFs.Drivers.Tests.Msdosfs;
using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A subdirectory (directory attribute, no size) whose first cluster does not open with "."
/// and "..": both checkers find it, the repair makes the dot entries again and moves an
/// entry found in their place further down, so every file stays with its name and data.
/// </summary>
public sealed class FatDotEntryTests
{
    private const int Slot = 32;

    public static TheoryData<string, string> Damage => new()
    {
        { "12", "free" }, { "12", "file" }, { "12", "swapped" }, { "12", "longname" },
        { "16", "free" }, { "16", "file" }, { "16", "swapped" }, { "16", "longname" },
        { "32", "free" }, { "32", "file" }, { "32", "swapped" }, { "32", "longname" },
    };

    public static TheoryData<string> Kinds => new() { "12", "16", "32" };

    private static readonly byte[] Small = "small file"u8.ToArray();
    private static readonly byte[] Long = "the one with a long name"u8.ToArray();

    /// <summary>An image with /DIR holding SMALL.TXT and "A long file name.txt" (two long-name slots and a short entry).</summary>
    private static string Build(ScratchDir dir, string bits)
    {
        string img = dir.File($"fat{bits}.img");
        FatTestImages.CreateFile(img, bits switch { "12" => 3L << 20, "16" => 24L << 20, _ => 40L << 20 });
        OracleTool.RunExpect(0, "mkfs.fat", "-F", bits, img);
        OracleTool.RunExpect(0, "mmd", "-i", img, "::/DIR");
        File.WriteAllBytes(dir.File("SMALL.TXT"), Small);
        File.WriteAllBytes(dir.File("A long file name.txt"), Long);
        OracleTool.RunExpect(0, "mcopy", "-i", img, dir.File("SMALL.TXT"), dir.File("A long file name.txt"), "::/DIR/");
        return img;
    }

    private static long DirCluster(string img, out uint start)
    {
        start = FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, "DIR        "));
        return FatTestImages.Boot(img).ClusterOffset(start);
    }

    private static byte[] Slots(string img, long at, int count) => FatTestImages.ReadAt(img, at, count * Slot);

    private static void AssertDotsAndFiles(string img, params string[] more)
    {
        long at = DirCluster(img, out uint start);
        byte[] first = Slots(img, at, 2);
        FatKind kind = FatTestImages.Boot(img).Kind;
        Assert.Equal(".          "u8.ToArray(), first[..11]);
        Assert.Equal(start, FatDirRecord.Cluster(first, kind));
        Assert.Equal("..         "u8.ToArray(), first[Slot..(Slot + 11)]);
        Assert.Equal(0u, FatDirRecord.Cluster(first.AsSpan(Slot), kind));
        Assert.Equal(Small, FatTestUtil.Mcopy(img, "/DIR/SMALL.TXT"));
        Assert.Equal(Long, FatTestUtil.Mcopy(img, "/DIR/A long file name.txt"));
        Mount m = FatTestUtil.MountImage(img, readOnly: true);
        try
        {
            Assert.Equal(Small, FatTestUtil.ReadAll(m, "/DIR/SMALL.TXT"));
            Assert.Equal(Long, FatTestUtil.ReadAll(m, "/DIR/A long file name.txt"));
            Assert.Equal(new[] { ".", "..", "A long file name.txt", "SMALL.TXT" }.Concat(more).Order(StringComparer.Ordinal),
                FatTestUtil.List(m, "/DIR").Select(d => d.Name).Order(StringComparer.Ordinal));
        }
        finally
        {
            m.Unmount();
        }
    }

    private static string Repair(string img)
    {
        CheckReport before = FatTestImages.AssertBothDamaged(img);
        CheckReport fix = FatTestImages.Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, FatTestImages.Describe(fix));
        Assert.All(fix.Findings.Where(f => f.Severity == CheckSeverity.Error), f => Assert.True(f.Repaired, FatTestImages.Describe(fix)));
        FatTestImages.AssertBothClean(img);
        return FatTestImages.Describe(before) + "\n" + FatTestImages.Describe(fix);
    }

    [Theory]
    [MemberData(nameof(Damage))]
    public void Check_SubdirectoryWithoutDotEntries_DotsMadeAgainAndFilesKept(string bits, string damage)
    {
        using var dir = new ScratchDir("fatdots");
        string img = Build(dir, bits);
        long at = DirCluster(img, out _);
        // Slots 0 "." 1 ".." 2 SMALL.TXT 3-4 the long name 5 its short entry.
        byte[] s = Slots(img, at, 6);
        byte[] dot = s[..Slot], dotDot = s[Slot..(2 * Slot)], small = s[(2 * Slot)..(3 * Slot)];
        byte[] longName = s[(3 * Slot)..];
        Assert.True(FatDirRecord.IsLongName(longName) && FatDirRecord.IsLongName(longName.AsSpan(Slot)));
        Assert.False(FatDirRecord.IsLongName(longName.AsSpan(2 * Slot)));
        byte[] deleted = [.. s[..Slot]];
        deleted[0] = FatDirRecord.Deleted;
        byte[] damaged = damage switch
        {
            "free" => [.. new byte[Slot], .. deleted, .. small, .. longName],
            "file" => [.. small, .. dot, .. dotDot, .. longName],
            "swapped" => [.. dotDot, .. dot, .. small, .. longName],
            _ => [.. longName, .. small, .. deleted, .. deleted, .. deleted],
        };
        FatTestImages.Patch(img, at, damaged);

        string text = Repair(img);
        Assert.Contains(damage switch
        {
            "free" => "no \".\" entry in the first slot, which is free; created",
            "file" => "the first slot holds SMALL.TXT instead of \".\"; the entry moved",
            "swapped" => "the first slot holds \"..\" instead of \".\"; replaced",
            _ => "the first slot holds a long-name entry instead of \".\"; the entry moved",
        }, text, StringComparison.Ordinal);
        AssertDotsAndFiles(img);
    }

    /// <summary>
    /// "." or ".." without the directory attribute (archive, or nothing): fsck.fat's "Invalid
    /// '.' entry in the first slot"; both find it and the attribute is set again.
    /// </summary>
    [Theory]
    [InlineData("12", 0, 0x20)]
    [InlineData("16", 1, 0x00)]
    [InlineData("32", 0, 0x00)]
    [InlineData("32", 1, 0x20)]
    public void Check_DotEntryWithoutTheDirectoryAttribute_AttributeSet(string bits, int slot, byte attribute)
    {
        using var dir = new ScratchDir("fatdots");
        string img = Build(dir, bits);
        long at = DirCluster(img, out _);
        FatTestImages.Patch(img, at + (slot * Slot) + FatDirRecord.Attributes, attribute);
        string text = Repair(img);
        Assert.Contains($"\"{(slot == 0 ? "." : "..")}\" entry without the directory attribute; set", text, StringComparison.Ordinal);
        Assert.NotEqual(0, Slots(img, at, 2)[(slot * Slot) + FatDirRecord.Attributes] & FatDirRecord.AttrDirectory);
        AssertDotsAndFiles(img);
    }

    /// <summary>
    /// A full one-cluster directory with a file in the first slot: there is no free slot to
    /// move it to, so the directory grows by a cluster and the file moves there.
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_FullDirectoryWithAFileInTheFirstSlot_GrowsByACluster(string bits)
    {
        using var dir = new ScratchDir("fatdots");
        string img = Build(dir, bits);
        long at = DirCluster(img, out uint start);
        int perCluster = FatTestImages.Boot(img).ClusterBytes / Slot;
        string[] fill = [.. Enumerable.Range(0, perCluster - 6).Select(i => dir.File($"F{i:D3}.TXT"))];
        foreach (string f in fill)
        {
            File.WriteAllBytes(f, Small);
        }
        OracleTool.RunExpect(0, "mcopy", ["-i", img, .. fill, "::/DIR/"]);
        Assert.Single(FatTestImages.Chain(img, start));
        byte[] s = Slots(img, at, perCluster);
        Assert.NotEqual(0, s[^Slot]);
        // Swap "." with the last file: every slot still in use, a file where "." belongs.
        byte[] dot = s[..Slot];
        s.AsSpan(s.Length - Slot).CopyTo(s);
        dot.CopyTo(s, s.Length - Slot);
        FatTestImages.Patch(img, at, s);

        string text = Repair(img);
        Assert.Contains("the directory grew by cluster", text, StringComparison.Ordinal);
        Assert.Equal(2, FatTestImages.Chain(img, start).Count);
        AssertDotsAndFiles(img, [.. fill.Select(f => Path.GetFileName(f))]);
        Assert.All(fill, f => Assert.Equal(Small, FatTestUtil.Mcopy(img, "/DIR/" + Path.GetFileName(f))));
    }
}
