using System.Globalization;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckHtreeRebuildImages;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A bad hash-tree index is rebuilt under -y as e2fsck's pass 3A rebuilds it. Directories
/// made by mke2fs -d and indexed by e2fsck -D (ext2 with a block map, ext4 with extents and
/// metadata_csum; 1 and 4 KiB blocks; a root-only index and one with interior nodes) are
/// damaged by byte edits; e2fsck -fn and our -n must both find it, our -y must leave an image
/// both call clean, with an index debugfs reads, every name with its inode (listed by
/// debugfs, looked up through the index by our driver), and the directory's bytes those
/// e2fsck -fy writes from the same damaged image.
/// </summary>
public sealed class Ext2CheckHtreeRebuildTests(Ext2CheckHtreeRebuildImages images)
    : IClassFixture<Ext2CheckHtreeRebuildImages>, IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-rehash");

    public void Dispose() => _dir.Dispose();

    private string Image(string flavour, int blockSize, int levels)
    {
        string img = _dir.File("img");
        images.CopyTo(flavour, blockSize, levels, img);
        return img;
    }

    /// <summary>
    /// Damage found by both checkers, our -y exits 1 and names the rebuild, then both find the
    /// image clean and <paramref name="dir"/>'s bytes are those e2fsck -fy writes from a copy
    /// of the damaged image; returns our repair's report.
    /// </summary>
    private CheckReport RepairLikeE2fsck(string img, string dir)
    {
        uint ino = InodeNumber(img, dir);
        CheckReport before = AssertBothDamaged(img);
        Assert.Contains(before.Findings, f => f.Location == $"inode {ino}"
            && f.Message.Contains("hash-tree index is invalid", StringComparison.Ordinal)
            && f.Message.EndsWith("the directory would be rebuilt", StringComparison.Ordinal));
        string theirs = _dir.File("e2fsck.img");
        File.Copy(img, theirs, overwrite: true);

        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        Assert.Contains(fix.Findings, f => f.Location == $"inode {ino}" && f.Repaired
            && f.Message.EndsWith("the directory is rebuilt", StringComparison.Ordinal));
        Assert.Contains(fix.Findings, f => f.Location == $"inode {ino}" && f.Phase == "rebuild"
            && f.Message.StartsWith("directory rebuilt", StringComparison.Ordinal));
        AssertBothClean(img);

        ToolResult e2 = OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.True(e2.ExitCode == 1, e2.Transcript);
        Assert.Equal(DirectoryBytes(theirs, dir, _dir), DirectoryBytes(img, dir, _dir));
        Assert.Equal(SizeLines(theirs, dir), SizeLines(img, dir));
        return fix;
    }

    /// <summary>debugfs stat's lines with i_size and i_blocks.</summary>
    private static string[] SizeLines(string img, string dir) =>
        [.. DebugfsRead(img, "stat " + dir).Split('\n').Where(l => l.Contains("Size: ", StringComparison.Ordinal)
            || l.Contains("Blockcount: ", StringComparison.Ordinal))];

    /// <summary>An ext4 image with 1 KiB blocks of <paramref name="files"/> (path, content), made by mke2fs -d.</summary>
    private string Image(IEnumerable<(string Path, string Content)> files)
    {
        string src = _dir.File("tree");
        foreach ((string path, string content) in files)
        {
            string full = Path.Combine(src, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }
        string img = _dir.File("tree.img");
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", "1024", "-N", "4096", "-E", "hash_seed=" + HashSeed, "-U", Uuid },
            .. Features("ext4"), "-d", src, img, "16M"]);
        return img;
    }

    private static IEnumerable<(string, string)> Files(string dir, string stem, int count) =>
        Enumerable.Range(0, count).Select(i => ($"{dir}/{stem}{i}", $"{stem}{i}\n"));

    private void RunDebugfs(string img, IEnumerable<string> commands)
    {
        string cmds = _dir.File("debugfs.cmds");
        File.WriteAllLines(cmds, commands);
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", cmds, img);
    }

    [Theory]
    [InlineData("ext2", 1024, 1, Target.Root, Damage.Limit)]
    [InlineData("ext2", 1024, 1, Target.Root, Damage.HashOrder)]
    [InlineData("ext2", 1024, 1, Target.Root, Damage.Pointer)]
    [InlineData("ext2", 1024, 1, Target.Root, Damage.RootInfo)]
    [InlineData("ext4", 1024, 1, Target.Root, Damage.Limit)]
    [InlineData("ext4", 1024, 1, Target.Root, Damage.HashOrder)]
    [InlineData("ext4", 1024, 1, Target.Root, Damage.Pointer)]
    [InlineData("ext4", 1024, 1, Target.Root, Damage.RootInfo)]
    [InlineData("ext2", 1024, 2, Target.Root, Damage.Limit)]
    [InlineData("ext2", 1024, 2, Target.Node, Damage.HashOrder)]
    [InlineData("ext2", 1024, 2, Target.Node, Damage.Pointer)]
    [InlineData("ext2", 1024, 2, Target.Root, Damage.RootInfo)]
    [InlineData("ext4", 1024, 2, Target.Node, Damage.Limit)]
    [InlineData("ext4", 1024, 2, Target.Node, Damage.HashOrder)]
    [InlineData("ext4", 1024, 2, Target.Node, Damage.Pointer)]
    [InlineData("ext4", 1024, 2, Target.Root, Damage.RootInfo)]
    [InlineData("ext2", 1024, 2, Target.Node, Damage.NodeNameLength)]
    [InlineData("ext4", 1024, 2, Target.Node, Damage.NodeFileType)]
    [InlineData("ext2", 4096, 1, Target.Root, Damage.Limit)]
    [InlineData("ext2", 4096, 1, Target.Root, Damage.Pointer)]
    [InlineData("ext4", 4096, 1, Target.Root, Damage.HashOrder)]
    [InlineData("ext4", 4096, 1, Target.Root, Damage.RootInfo)]
    [InlineData("ext2", 4096, 2, Target.Node, Damage.HashOrder)]
    [InlineData("ext4", 4096, 2, Target.Root, Damage.Limit)]
    [InlineData("ext4", 4096, 2, Target.Node, Damage.Pointer)]
    public void Repair_DamagedIndex_RebuiltWithEveryName(string flavour, int blockSize, int levels, Target target, Damage damage)
    {
        string img = Image(flavour, blockSize, levels);
        SortedDictionary<string, uint> names = Names(img, "/big");
        Assert.Equal(Shape(blockSize, levels).Count, names.Count);
        Apply(img, "/big", blockSize, target, damage);

        RepairLikeE2fsck(img, "/big");

        Assert.Equal(levels - 1, IndirectLevels(img, "/big"));
        Assert.Equal(names, Names(img, "/big"));
        AssertDriverFindsEach(img, "/big", names);
    }

    /// <summary>
    /// The root block's '.' record is corrupt as well: pass 2 writes '.' and '..' again (no
    /// room for a checksum tail there is no longer an error, as the rebuild writes the block
    /// afresh), and the index is rebuilt around them.
    /// </summary>
    /// <summary>
    /// Root info e2fsck's pass 1 rejects though the tree reads right: a hash version stored as
    /// an unsigned variant (3, 4, 5: those come from the superblock's flag, never the root),
    /// siphash (6) in a directory whose names do not carry their hash, an unknown version (7),
    /// the incompatible root flag; and, under metadata_csum, a root whose dx_tail checksum does
    /// not match (e2fsck clears such an index rather than recompute it). Each is found by both
    /// checkers and rebuilt to e2fsck's bytes.
    /// </summary>
    [Theory]
    [InlineData("ext2", 0x1C, 4)]
    [InlineData("ext2", 0x1C, 5)]
    [InlineData("ext2", 0x1C, 6)]
    [InlineData("ext4", 0x1C, 7)]
    [InlineData("ext4", 0x1F, 1)]
    [InlineData("ext4", -1, 0)]
    public void Repair_RootInfoE2fsckRejects_Rebuilt(string flavour, int offset, byte value)
    {
        string img = Image(flavour, 1024, 1);
        SortedDictionary<string, uint> names = Names(img, "/big");
        long root = Bmap(img, "/big", 0) * 1024;
        if (offset >= 0)
        {
            Patch(img, root + offset, value);
        }
        else
        {
            // The dx_tail checksum, after the root's limit entries.
            int limit = ReadAt(img, root + 0x20, 2)[0] | (ReadAt(img, root + 0x21, 1)[0] << 8);
            long sum = root + 0x20 + (limit * 8) + 4;
            Patch(img, sum, (byte)(ReadAt(img, sum, 1)[0] ^ 0x5A));
        }

        CheckReport fix = RepairLikeE2fsck(img, "/big");

        Assert.Contains(fix.Findings, f => f.Message.Contains(offset == 0x1C ? $"unsupported hash version {value}"
            : offset == 0x1F ? "incompatible flag" : "root checksum does not match", StringComparison.Ordinal));
        Assert.Equal(names, Names(img, "/big"));
        AssertDriverFindsEach(img, "/big", names);
    }

    /// <summary>
    /// Two names of one major hash (half_md4 with the images' seed, found by trying names)
    /// whose minor hashes order them against their bytes: e2fsck's rebuild sorts by minor
    /// hash before the name, and so must ours for the leaf to hold the same bytes.
    /// </summary>
    [Fact]
    public void Repair_NamesOfEqualHash_OrderedByMinorHashAsE2fsck()
    {
        byte[] seedBytes = Guid.Parse(HashSeed).ToByteArray(bigEndian: true);
        uint[] seed = [.. Enumerable.Range(0, 4).Select(i => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(seedBytes.AsSpan(4 * i)))];
        var seen = new Dictionary<uint, (string Name, uint Minor)>();
        (string Low, string High)? pair = null;
        for (int i = 0; pair is null && i < 2_000_000; i++)
        {
            string name = "collide-" + i.ToString(CultureInfo.InvariantCulture);
            Assert.True(FsDrivers.Ext2fs.Ext2Htree.Hashes(System.Text.Encoding.ASCII.GetBytes(name), FsDrivers.Ext2fs.Ext2Htree.HashHalfMd4,
                seed, out uint major, out uint minor));
            if (seen.TryGetValue(major, out var other) && other.Minor != minor
                && (string.CompareOrdinal(other.Name, name) < 0) != (other.Minor < minor))
            {
                pair = (other.Name, name);
            }
            seen.TryAdd(major, (name, minor));
        }
        Assert.NotNull(pair);
        string img = Image([.. Files("big", "entry-with-a-long-name-", 300), ("big/" + pair.Value.Low, "low\n"), ("big/" + pair.Value.High, "high\n")]);
        IndexAll(img);
        Assert.Equal(0, IndirectLevels(img, "/big"));
        SortedDictionary<string, uint> names = Names(img, "/big");
        Apply(img, "/big", 1024, Target.Root, Damage.Limit);

        RepairLikeE2fsck(img, "/big");

        Assert.Equal(names, Names(img, "/big"));
        Assert.Equal("high\n", DebugfsRead(img, "cat /big/" + pair.Value.High));
        AssertDriverFindsEach(img, "/big", names);
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Repair_RootDotRecordCorrupt_DotsMadeAgainAndTheIndexRebuilt(string flavour)
    {
        string img = Image(flavour, 1024, 1);
        SortedDictionary<string, uint> names = Names(img, "/big");
        Patch(img, (Bmap(img, "/big", 0) * 1024) + 4, 143, 0);

        AssertBothDamaged(img);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);

        Assert.Contains(fix.Findings, f => f.Message.Contains("corrupt directory entry at offset 0", StringComparison.Ordinal));
        Assert.Contains(fix.Findings, f => f.Phase == "rebuild");
        Assert.Equal(0, IndirectLevels(img, "/big"));
        Assert.Equal(names, Names(img, "/big"));
        Assert.Equal(2u, DotDot(img, "/big"));
        AssertDriverFindsEach(img, "/big", names);
    }

    private static uint DotDot(string img, string dir) =>
        DebugfsRead(img, "ls -p " + dir).Split('\n').Select(l => l.Split('/'))
            .Where(p => p.Length > 5 && p[5] == "..").Select(p => uint.Parse(p[1], CultureInfo.InvariantCulture)).Single();

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void CheckOnly_DamagedIndex_NothingWrittenAndTheRebuildAnnounced(string flavour)
    {
        string img = Image(flavour, 1024, 2);
        Apply(img, "/big", 1024, Target.Node, Damage.Limit);
        byte[] before = File.ReadAllBytes(img);

        CheckReport ours = Check(img, repair: false);

        Assert.True(ours.ExitCode == 4, Describe(ours));
        CheckFinding f = Assert.Single(ours.Findings, x => x.Message.Contains("hash-tree", StringComparison.Ordinal));
        Assert.Equal($"inode {InodeNumber(img, "/big")}", f.Location);
        Assert.EndsWith("the directory would be rebuilt", f.Message, StringComparison.Ordinal);
        Assert.False(f.Repaired);
        Assert.DoesNotContain(ours.Findings, x => x.Phase == "rebuild");
        Assert.Equal(before, File.ReadAllBytes(img));
        Assert.Equal(4, E2fsck(img).ExitCode & 4);
    }

    /// <summary>
    /// Names removed until the rest fit in one block: e2fsck writes such a directory linear,
    /// its index flag cleared, and releases the other blocks; so does our repair.
    /// </summary>
    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Repair_NamesFitInOneBlock_WrittenLinearAndTheRestReleased(string flavour)
    {
        string img = Image(flavour, 1024, 1);
        RunDebugfs(img, Enumerable.Range(0, 300).Where(i => i % 10 != 0).Select(i => "rm /big/" + Name(i, 20)));
        SortedDictionary<string, uint> names = Names(img, "/big");
        Assert.Equal(30, names.Count);
        Apply(img, "/big", 1024, Target.Root, Damage.Limit);

        CheckReport fix = RepairLikeE2fsck(img, "/big");

        Assert.Contains(fix.Findings, f => f.Phase == "rebuild" && f.Message.Contains("linear", StringComparison.Ordinal)
            && f.Message.Contains("released", StringComparison.Ordinal));
        Assert.Equal(-1, IndirectLevels(img, "/big"));
        Assert.Contains("Size: 1024", DebugfsRead(img, "stat /big"), StringComparison.Ordinal);
        Assert.Equal(names, Names(img, "/big"));
        AssertDriverFindsEach(img, "/big", names);
    }

    /// <summary>
    /// Three names in four removed from a directory of 1300: the rebuilt one needs a quarter of
    /// the blocks; the rest go back to the free pool with the mapping blocks left empty (the
    /// double indirect block of the block map; extent tree blocks), and pass 5 takes that as
    /// the repair's own doing, not as damage.
    /// </summary>
    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Repair_DirectoryThatShrank_ReleasesItsTrailingBlocks(string flavour)
    {
        string src = _dir.File("src");
        Directory.CreateDirectory(Path.Combine(src, "big"));
        for (int i = 0; i < 1300; i++)
        {
            File.WriteAllBytes(Path.Combine(src, "big", Name(i, 200)), []);
        }
        string img = _dir.File("shrink.img");
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", "1024", "-N", "1500", "-E", "hash_seed=" + HashSeed, "-U", Uuid },
            .. Features(flavour), "-d", src, img, "16M"]);
        IndexAll(img);
        RunDebugfs(img, Enumerable.Range(0, 1300).Where(i => i % 4 != 0).Select(i => "rm /big/" + Name(i, 200)));
        string stat = DebugfsRead(img, "stat /big");
        if (flavour == "ext2")
        {
            Assert.Contains("(DIND)", stat, StringComparison.Ordinal);
        }
        SortedDictionary<string, uint> names = Names(img, "/big");
        Apply(img, "/big", 1024, Target.Root, Damage.Limit);

        CheckReport fix = RepairLikeE2fsck(img, "/big");

        Assert.Contains(fix.Findings, f => f.Phase == "rebuild" && f.Message.Contains("released", StringComparison.Ordinal));
        Assert.DoesNotContain(fix.Findings, f => f.Phase == "summary" && f.Severity == CheckSeverity.Error);
        Assert.DoesNotContain("(DIND)", DebugfsRead(img, "stat /big"), StringComparison.Ordinal);
        Assert.Equal(0, IndirectLevels(img, "/big"));
        Assert.Equal(names, Names(img, "/big"));
        AssertDriverFindsEach(img, "/big", names);
    }

    /// <summary>
    /// Names added by debugfs into leaves that e2fsck -D left a fifth empty fill them past the
    /// rebuild's slack: the rebuilt directory needs one block more than it has, and grows.
    /// </summary>
    [Fact]
    public void Repair_LeavesFilledPastTheSlack_DirectoryGrows()
    {
        string img = Image("ext4", 1024, 1);
        long size = DirSize(img, "/big");
        RunDebugfs(img, Enumerable.Range(0, 35).Select(i => $"write /dev/null /big/extra-name-{i}"));
        Assert.Equal(size, DirSize(img, "/big"));
        SortedDictionary<string, uint> names = Names(img, "/big");
        Apply(img, "/big", 1024, Target.Root, Damage.Pointer);

        CheckReport fix = RepairLikeE2fsck(img, "/big");

        Assert.Contains(fix.Findings, f => f.Phase == "rebuild" && f.Message.Contains("grown", StringComparison.Ordinal));
        Assert.True(DirSize(img, "/big") > size);
        Assert.Equal(names, Names(img, "/big"));
        AssertDriverFindsEach(img, "/big", names);
    }

    /// <summary>
    /// Pass 3A runs before pass 4: orphans reconnected into a lost+found whose index was bad
    /// go into the leaves the rebuilt index names, and the index stays valid.
    /// </summary>
    [Fact]
    public void Repair_LostFoundIndexDamaged_RebuiltBeforeOrphansGoIntoIt()
    {
        string img = Image([.. Files("lost+found", "previously-recovered-file-", 400), .. Files("o", "f", 30)]);
        IndexAll(img);
        Assert.Equal(0, IndirectLevels(img, "/lost+found"));
        SortedDictionary<string, uint> kept = Names(img, "/lost+found");
        List<uint> orphans = [.. Enumerable.Range(0, 30).Select(i => InodeNumber(img, $"/o/f{i}"))];
        RunDebugfs(img, Enumerable.Range(0, 30).Select(i => $"unlink /o/f{i}"));
        Apply(img, "/lost+found", 1024, Target.Root, Damage.HashOrder);

        AssertBothDamaged(img);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);

        int rebuilt = fix.Findings.FindIndex(f => f.Phase == "rebuild" && f.Message.StartsWith("directory rebuilt", StringComparison.Ordinal));
        int reconnected = fix.Findings.FindIndex(f => f.Message.Contains("unattached inode", StringComparison.Ordinal));
        Assert.True(rebuilt >= 0 && reconnected > rebuilt, Describe(fix));
        Assert.Equal(0, IndirectLevels(img, "/lost+found"));
        SortedDictionary<string, uint> after = Names(img, "/lost+found");
        Assert.All(kept, kv => Assert.Equal(kv.Value, after[kv.Key]));
        Assert.All(orphans, ino => Assert.Equal(ino, after["#" + ino.ToString(CultureInfo.InvariantCulture)]));
        Assert.Equal(kept.Count + orphans.Count, after.Count);
        Assert.Equal("f29\n", DebugfsRead(img, $"cat /lost+found/#{orphans[29]}"));
        AssertDriverFindsEach(img, "/lost+found", after);
    }

    /// <summary>
    /// The root's index is bad, lost+found is gone and a directory is unconnected: pass 3 makes
    /// lost+found, naming it in the root read linearly, and pass 3A then indexes the root with
    /// that name among the others.
    /// </summary>
    [Fact]
    public void Repair_RootIndexDamagedWithoutLostFound_PassThreeNamesAreInTheRebuiltRoot()
    {
        string img = Image([.. Files(".", "root-entry-with-a-long-name-", 300), ("sub/inner/file", "inner bytes\n")]);
        IndexAll(img);
        Debugfs(img, "rmdir /lost+found");
        uint inner = InodeNumber(img, "/sub/inner");
        Debugfs(img, "unlink /sub/inner");
        SortedDictionary<string, uint> names = Names(img, "/");
        Apply(img, "/", 1024, Target.Root, Damage.Limit);

        AssertBothDamaged(img);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);

        Assert.Equal(0, IndirectLevels(img, "/"));
        SortedDictionary<string, uint> after = Names(img, "/");
        names["lost+found"] = InodeNumber(img, "/lost+found");
        Assert.Equal(names, after);
        Assert.Equal("inner bytes\n", DebugfsRead(img, $"cat /lost+found/#{inner}/file"));
        AssertDriverFindsEach(img, "/", after);
    }

    /// <summary>
    /// lost+found left with a few names: written linear, and, as e2fsck keeps them for later
    /// reconnections, its other blocks stay as empty blocks of the directory.
    /// </summary>
    [Fact]
    public void Repair_LostFoundWithFewNamesLeft_WrittenLinearKeepingItsBlocks()
    {
        string img = Image(Files("lost+found", "previously-recovered-file-", 400));
        IndexAll(img);
        long size = DirSize(img, "/lost+found");
        RunDebugfs(img, Enumerable.Range(20, 380).Select(i => $"rm /lost+found/previously-recovered-file-{i}"));
        SortedDictionary<string, uint> names = Names(img, "/lost+found");
        Apply(img, "/lost+found", 1024, Target.Root, Damage.RootInfo);

        CheckReport fix = RepairLikeE2fsck(img, "/lost+found");

        Assert.Contains(fix.Findings, f => f.Phase == "rebuild" && f.Message.Contains("linear", StringComparison.Ordinal));
        Assert.Equal(-1, IndirectLevels(img, "/lost+found"));
        Assert.Equal(size, DirSize(img, "/lost+found"));
        Assert.Equal(names, Names(img, "/lost+found"));
    }

    /// <summary>
    /// lost+found still indexed after the rebuild, with fewer blocks than it had: the rest are
    /// released as for any directory. (e2fsck -fy keeps them, as empty blocks its new index
    /// does not name, which its next check reports as "not referenced".)
    /// </summary>
    [Fact]
    public void Repair_IndexedLostFoundThatShrank_ReleasesItsTrailingBlocks()
    {
        string img = Image(Files("lost+found", "previously-recovered-file-", 400));
        IndexAll(img);
        long size = DirSize(img, "/lost+found");
        RunDebugfs(img, Enumerable.Range(0, 400).Where(i => i % 2 == 0).Select(i => $"rm /lost+found/previously-recovered-file-{i}"));
        SortedDictionary<string, uint> names = Names(img, "/lost+found");
        Apply(img, "/lost+found", 1024, Target.Root, Damage.Pointer);

        AssertBothDamaged(img);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);

        Assert.Contains(fix.Findings, f => f.Phase == "rebuild" && f.Message.Contains("released", StringComparison.Ordinal));
        Assert.Equal(0, IndirectLevels(img, "/lost+found"));
        Assert.True(DirSize(img, "/lost+found") < size);
        Assert.Equal(names, Names(img, "/lost+found"));
        AssertDriverFindsEach(img, "/lost+found", names);
    }

    private static long DirSize(string img, string dir) =>
        long.Parse(DebugfsRead(img, "stat " + dir).Split("Size: ")[1].Split('\n')[0].Trim(), CultureInfo.InvariantCulture);
}
