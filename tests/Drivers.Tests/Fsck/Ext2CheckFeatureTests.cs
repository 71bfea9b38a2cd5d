using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Superblock features that contradict the contents, made with debugfs on mke2fs images.
/// Where e2fsck -fn stays clean (it only asks), ours notes the finding and exits 0; under
/// -y both remove what the feature no longer covers, and e2fsck then finds the image clean.
/// </summary>
public sealed partial class Ext2CheckFeatureTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-features");

    public void Dispose() => _dir.Dispose();

    /// <summary>An image of <paramref name="type"/> holding /keep, whose bytes every repair must leave alone.</summary>
    private string Image(string type, string size)
    {
        string tree = _dir.File("tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "keep"), "kept through the repair\n");
        string img = _dir.File(type + ".img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", type, "-d", tree, img, size);
        return img;
    }

    private static long FreeBlocks(string img) =>
        long.Parse(FreeBlocksLine().Match(OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout).Groups[1].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Free blocks:\s+(\d+)")]
    private static partial Regex FreeBlocksLine();

    /// <summary>Under -n: exit 0, a note naming <paramref name="what"/>, e2fsck -fn clean too; the image unchanged.</summary>
    private static void AssertOnlyNoted(string img, string what)
    {
        byte[] before = File.ReadAllBytes(img);
        CheckReport n = Check(img, repair: false);
        Assert.True(n.ExitCode == 0, Describe(n));
        Assert.Contains(n.Findings, f => f.Severity == CheckSeverity.Note && f.Message.Contains(what, StringComparison.Ordinal));
        Assert.True(E2fsck(img).ExitCode == 0, E2fsck(img).Transcript);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(img)), "a check without -y wrote to the image");
    }

    /// <summary>Under -y: exit 1, then ours and e2fsck -fn clean with nothing left to note, /keep intact.</summary>
    private static CheckReport AssertRepaired(string img)
    {
        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        AssertBothClean(img);
        CheckReport after = Check(img, repair: false);
        Assert.True(after.Findings.Count == 0, Describe(after));
        Assert.Equal("kept through the repair\n", DebugfsRead(img, "cat /keep"));
        return y;
    }

    [Fact]
    public void JournalWithHasJournalClear_NotedUnderN_RemovedUnderY()
    {
        string img = Image("ext3", "8M");
        Debugfs(img, "feature -has_journal");
        long free = FreeBlocks(img);
        AssertOnlyNoted(img, "has_journal is clear, but a journal is present (inode 8)");

        CheckReport y = AssertRepaired(img);
        Assert.Contains(y.Findings, f => f.Message.Contains("journal inode is not in use", StringComparison.Ordinal) && f.Repaired);
        string sb = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        Assert.DoesNotContain("Journal inode", sb, StringComparison.Ordinal);
        // mke2fs gives an 8 MiB ext3 a 1024-block journal: its blocks and its map come back.
        Assert.True(FreeBlocks(img) - free >= 1024, $"{free} free before, {FreeBlocks(img)} after");
        Assert.Contains("Links: 0   Blockcount: 0", DebugfsRead(img, "stat <8>"), StringComparison.Ordinal);
    }

    [Fact]
    public void JournalInodeHoldingDataWithoutAJournal_BothFindIt_Cleared()
    {
        string img = Image("ext3", "8M");
        Debugfs(img, "feature -has_journal");
        Debugfs(img, "ssv journal_inum 0");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Severity == CheckSeverity.Error && f.Location == "inode 8");
        Assert.Equal("kept through the repair\n", DebugfsRead(img, "cat /keep"));
    }

    [Fact]
    public void ResizeInodeWithTheFeatureClear_NotedUnderN_ClearedUnderY()
    {
        string img = Image("ext4", "32M");
        Debugfs(img, "feature -resize_inode");
        string sb = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        int reserved = int.Parse(Regex.Match(sb, @"Reserved GDT blocks:\s+(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(reserved > 0, sb);
        long free = FreeBlocks(img);
        AssertOnlyNoted(img, $"{reserved} descriptor blocks are reserved");
        AssertOnlyNoted(img, "the resize inode is not");

        AssertRepaired(img);
        Assert.DoesNotContain("Reserved GDT blocks", OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout, StringComparison.Ordinal);
        // The reserved blocks of the primary table and of each backup, and the inode's map block.
        Assert.True(FreeBlocks(img) - free > reserved, $"{free} free before, {FreeBlocks(img)} after");
    }

    /// <summary>
    /// Fields e2fsck refuses (its check_super_value limits) in the primary superblock: the
    /// driver refuses the mount; both checkers turn to group 1's copy ("trying backup
    /// blocks"), and after our -y the primary is the copy again and mounts.
    /// </summary>
    [Theory]
    [InlineData("ext2", "log_groups_per_flex 64", "log_groups_per_flex 64 is out of range")]
    [InlineData("ext4", "log_cluster_size 5", "differs from the block size")]
    [InlineData("ext2", "r_blocks_count 9000", "reserved block count 9000 is more than half of the 16384 blocks")]
    [InlineData("ext4", "first_ino 5", "first inode 5 is impossible")]
    [InlineData("ext2", "blocks_per_group 4", "blocks per group 4 is outside 8..8192")]
    [InlineData("ext4", "blocks_per_group 8191", "clusters per group 8192 differs from blocks per group 8191")]
    public void ImpossibleSizeFields_DriverRefuses_CheckerRestoresFromTheBackup(string type, string field, string message)
    {
        string img = Image(type, "16M");
        Debugfs(img, "ssv " + field);
        // e2fsck refuses the primary superblock too, and goes on from a backup copy.
        string oracle = E2fsck(img).Transcript;
        Assert.True(oracle.Contains("superblock is corrupt", StringComparison.Ordinal)
            || oracle.Contains("Corruption found in superblock", StringComparison.Ordinal)
            || oracle.Contains("does not describe a valid", StringComparison.Ordinal), oracle);
        Assert.Equal(Errno.EINVAL, Ext2fs.Ext2Fixture.TryMount(img, readOnly: true, null, out _, out string? why));
        Assert.Contains(message, why, StringComparison.Ordinal);
        byte[] before = File.ReadAllBytes(img);
        CheckReport n = Check(img, repair: false);
        Assert.True(n.ExitCode == 4 && n.Findings.Any(f => f.Message.Contains(message, StringComparison.Ordinal)
            && f.Message.Contains("checked with the backup", StringComparison.Ordinal)), Describe(n));
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(img)), "a check without -y wrote to the image");
        AssertRepaired(img);
        Assert.Equal(Errno.OK, Ext2fs.Ext2Fixture.TryMount(img, readOnly: true, null, out Mount? mounted, out _));
        Assert.Equal(Errno.OK, mounted!.Unmount());
    }

    /// <summary>
    /// A stale unused-inode count with an inode in use past it: e2fsck -fn, told not to clear
    /// the count, honours it and fails; so does ours. -y clears the count.
    /// </summary>
    [Fact]
    public void UnusedInodeCountWithoutChecksumsOverALiveInode_BothFail_Cleared()
    {
        string img = Image("ext2", "8M");
        string sb = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        int perGroup = int.Parse(Regex.Match(sb, @"Inodes per group:\s+(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        // Leaves inodes 1..11 below the mark: /keep (inode 12) is past it.
        Debugfs(img, $"set_bg 0 itable_unused {perGroup - 11}");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Severity == CheckSeverity.Error && f.Message.Contains("past the unused-inode count", StringComparison.Ordinal));
        Assert.Equal("kept through the repair\n", DebugfsRead(img, "cat /keep"));
    }

    /// <summary>e2fsck's "Reserved inode has invalid mode": found by both, the mode cleared.</summary>
    [Theory]
    [InlineData(10, "0100400")]
    [InlineData(6, "0120777")]
    [InlineData(5, "040755")]
    public void ReservedInodeWithAMode_BothFindIt_ModeCleared(int ino, string mode)
    {
        string img = Image("ext2", "8M");
        Debugfs(img, $"sif <{ino}> mode {mode}");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Location == $"inode {ino}" && f.Message.Contains("invalid mode", StringComparison.Ordinal));
        Assert.Contains("Mode:  0000", DebugfsRead(img, $"stat <{ino}>"), StringComparison.Ordinal);
    }

    /// <summary>
    /// e2fsck's check_blocks on the reserved inodes without a role, whatever their mode:
    /// i_blocks, the index flag, a size no map addresses, an attribute block that is none.
    /// Found by both, repaired to what e2fsck writes, and the field then reads as e2fsck leaves it.
    /// </summary>
    [Theory]
    [InlineData("ext4", "sif <5> blocks 8", "i_blocks is 8, should be 0", 5, "Blockcount: 0 Fragment")]
    [InlineData("ext2", "sif <10> blocks 2", "i_blocks is 2, should be 0", 10, "Blockcount: 0 Fragment")]
    [InlineData("ext4", "sif <7> flags 0x1000", "hash-index flag", 7, "Flags: 0x0 Generation")]
    [InlineData("ext4", "sif <6> flags 0x1000", "hash-index flag", 6, "Flags: 0x0 Generation")]
    [InlineData("ext2", "sif <9> size 0x7fffffffffff", "more than its block map can address", 9, "Size: 0 File ACL")]
    [InlineData("ext4", "sif <10> file_acl 300", "extended attribute block 300", 10, "File ACL: 0 Links")]
    public void ReservedInodeFieldDamage_BothFindIt_FieldRepaired(string type, string damage, string finding, int ino, string after)
    {
        string img = Image(type, "8M");
        Debugfs(img, damage);
        (CheckReport before, _) = ConvergingRepair(img);
        Assert.Contains(before.Findings, f => f.Location == $"inode {ino}" && f.Message.Contains(finding, StringComparison.Ordinal));
        string stat = Regex.Replace(DebugfsRead(img, $"stat <{ino}>"), @"\s+", " ");
        Assert.Contains(after, stat, StringComparison.Ordinal);
        Assert.Equal("kept through the repair\n", DebugfsRead(img, "cat /keep"));
    }

    /// <summary>Inode 5 may be a regular file (the boot loader's): its blocks are its own, counted and kept.</summary>
    [Fact]
    public void BootLoaderInodeAsRegularFile_BothClean_BlocksKept()
    {
        string img = Image("ext4", "8M");
        string payload = _dir.File("loader");
        File.WriteAllBytes(payload, Enumerable.Range(0, 5000).Select(i => (byte)(i * 7)).ToArray());
        Debugfs(img, $"write {payload} loader");
        uint ino = InodeNumber(img, "/loader");
        // Move the file into slot 5: copy the inode, then drop the name and the old slot.
        Debugfs(img, $"copy_inode <{ino}> <5>");
        Debugfs(img, "unlink /loader");
        Debugfs(img, $"clri <{ino}>");
        Debugfs(img, $"freei <{ino}>");
        Debugfs(img, "sif <5> links_count 0");
        // debugfs's freei leaves the free-inode counts as they were; e2fsck puts them right
        // (and, as -fn shows before, finds nothing else).
        Assert.Equal(1, OracleTool.Run("e2fsck", "-fy", img).ExitCode);
        AssertBothClean(img);
        string dumped = _dir.File("dumped");
        Debugfs(img, $"dump <5> {dumped}");
        Assert.Equal(File.ReadAllBytes(payload), File.ReadAllBytes(dumped));
        Assert.Contains("Blockcount: 10 Fragment", Regex.Replace(DebugfsRead(img, "stat <5>"), @"\s+", " "), StringComparison.Ordinal);
    }

    [Fact]
    public void UninitMarksWithoutGroupChecksums_NotedUnderN_ClearedUnderY()
    {
        string img = Image("ext2", "32M");
        Debugfs(img, "set_bg 1 flags 3");
        Debugfs(img, "set_bg 2 itable_unused 5");
        Assert.Contains("[Inode not init, Block not init]", DebugfsRead(img, "stats"), StringComparison.Ordinal);
        AssertOnlyNoted(img, "without uninit_bg or metadata_csum");

        CheckReport y = AssertRepaired(img);
        Assert.Equal(2, y.Findings.Count(f => f.Message.Contains("without uninit_bg", StringComparison.Ordinal) && f.Repaired));
        // debugfs shows the flags whatever the features; dumpe2fs only the unused count.
        Assert.DoesNotContain("not init", DebugfsRead(img, "stats"), StringComparison.Ordinal);
        Assert.DoesNotContain("unused inodes", OracleTool.RunExpect(0, "dumpe2fs", img).Stdout, StringComparison.Ordinal);
    }
}
