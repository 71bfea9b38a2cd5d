using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Blocks claimed by more than one file (pass 1b/1d): which files get copies, and where the
/// copies go, as e2fsck decides it. Each repair is compared block for block with e2fsck -fy
/// on a copy of the same damaged image.
/// </summary>
public sealed partial class Ext2CheckSharedBlockTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-shared");

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// A directory names, past a hole, a block of a file with a lower inode: the file takes the
    /// copy, the directory keeps the block, and its rebuild then drops it. The block must go
    /// back to the free pool (the claim counts are pass 1d's, not pass 1's); before, it stayed
    /// set in the bitmap and e2fsck found a difference after our repair.
    /// </summary>
    [Theory]
    [InlineData("ext2")]
    [InlineData("ext3")]
    public void Check_DirectoryKeepsASharedBlockThenIsTrimmed_BlockFreed(string flavour)
    {
        string img = Make(_dir, flavour);
        Assert.True(InodeNumber(img, "/big.bin") < InodeNumber(img, "/many"));
        Debugfs(img, $"set_inode_field /many block[9] {Bmap(img, "/big.bin", 3)}");
        string content = DebugfsRead(img, "cat /big.bin");
        string oracle = CopyBeside(img, "oracle.img");
        OracleTool.Run("e2fsck", "-fy", oracle);
        RepairRoundTrip(img);
        Assert.Equal(FreeCounts(oracle), FreeCounts(img));
        Assert.Equal(content, DebugfsRead(img, "cat /big.bin"));
    }

    /// <summary>
    /// A file naming the resize inode's double-indirect block: the resize inode's claim
    /// counts (it is never given a copy itself), so the file takes the copy and the resize
    /// inode keeps its block, as e2fsck -fy decides. Before, the file kept the block and
    /// e2fsck still found it claimed twice.
    /// </summary>
    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Check_FileNamingTheResizeInodesBlock_FileTakesTheCopy(string flavour)
    {
        string img = Make(_dir, flavour);
        long dind = long.Parse(Regex.Match(DebugfsRead(img, "stat <7>"), @"\(DIND\):(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        string victim = "/d/small.bin";
        uint ino = InodeNumber(img, victim);
        Debugfs(img, flavour == "ext2" ? $"set_inode_field <{ino}> block[0] {dind}" : $"set_inode_field <{ino}> block[5] {dind}");
        string oracle = CopyBeside(img, "oracle.img");
        OracleTool.Run("e2fsck", "-fy", oracle);

        AssertBothDamaged(img);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);
        Assert.Contains($"(DIND):{dind}", DebugfsRead(img, "stat <7>"), StringComparison.Ordinal);
        Assert.NotEqual(dind, Bmap(img, victim, 0));
        Assert.Equal(DebugfsRead(oracle, $"cat {victim}"), DebugfsRead(img, $"cat {victim}"));
    }

    /// <summary>
    /// Fuzz round 11 fault 6 in small: on a file system with 329 free blocks, all single
    /// blocks between other files, /big's extent is stretched over ten small files, part of
    /// another and group 1's backup superblock, descriptors and reserved descriptor blocks.
    /// /big has the lowest inode, so it alone gets copies (one free block each, not one run
    /// the extent's length, which does not exist); the small files keep theirs.
    /// </summary>
    [Fact]
    public void Check_FileStretchedOverSmallFilesAndBackupSuperblock_NearlyFull_CopiesAsE2fsck()
    {
        string img = MakeNearlyFull();
        uint big = InodeNumber(img, "/big");
        long start = Bmap(img, "/s01", 0);
        long end = ReservedGdtEnd(img, group: 1) + 1;
        Assert.True(start < 8193 && end - start > 64, $"layout changed: /s01 at {start}, group 1 data from {end}");
        // i_block words 4 and 5: the only extent's length (start_hi 0) and start.
        Debugfs(img, $"set_inode_field <{big}> block[4] {end - start}");
        Debugfs(img, $"set_inode_field <{big}> block[5] {start}");
        var others = Enumerable.Range(1, 10).Select(i => $"/s{i:00}").Append("/c001").ToArray();
        var before = others.ToDictionary(p => p, p => DebugfsRead(img, $"blocks {p}"));
        string oracle = CopyBeside(img, "oracle.img");
        ToolResult fixedByE2fsck = OracleTool.Run("e2fsck", "-fy", oracle);
        Assert.True(fixedByE2fsck.ExitCode == 1, fixedByE2fsck.Transcript);

        CheckReport found = RepairRoundTrip(img);

        Assert.Contains(found.Findings, f => f.Location == $"inode {big}" && f.Message.Contains("claimed by another inode or by metadata", StringComparison.Ordinal));
        foreach (string p in others)
        {
            Assert.Equal(before[p], DebugfsRead(img, $"blocks {p}"));
            Assert.Equal(DebugfsRead(oracle, $"blocks {p}"), DebugfsRead(img, $"blocks {p}"));
        }
        // The same blocks as e2fsck's (which of them hold the extent tree may differ: its leaves split as they fill).
        Assert.Equal(SortedBlocks(oracle, "/big"), SortedBlocks(img, "/big"));
        Assert.Equal(FreeBlocks(oracle), FreeBlocks(img));
        Assert.Equal(DumpFile(oracle, "/big"), DumpFile(img, "/big"));
    }

    /// <summary>
    /// Two one-block files made to share one block: the one with the lower inode number gets
    /// the copy; the other then shares only with a file already copied and keeps the block
    /// (e2fsck: "Multiply-claimed blocks already reassigned or cloned").
    /// </summary>
    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Check_FileSharingOnlyWithAFileAlreadyCopied_KeepsItsBlock(string flavour)
    {
        string img = Make(_dir, flavour);
        string[] pair = new[] { "/many/file1", "/many/file2" }.OrderBy(p => InodeNumber(img, p)).ToArray();
        string first = pair[0];
        string second = pair[1];
        long shared = Bmap(img, first, 0);
        string content = DebugfsRead(img, $"cat {first}");
        uint firstIno = InodeNumber(img, first);
        uint secondIno = InodeNumber(img, second);
        // ext2: the first direct pointer; ext4: the only extent's start (i_block word 5).
        Debugfs(img, flavour == "ext2" ? $"set_inode_field <{secondIno}> block[0] {shared}" : $"set_inode_field <{secondIno}> block[5] {shared}");
        string oracle = CopyBeside(img, "oracle.img");
        ToolResult fixedByE2fsck = OracleTool.Run("e2fsck", "-fy", oracle);
        Assert.True(fixedByE2fsck.ExitCode == 1, fixedByE2fsck.Transcript);

        // Under -n nothing is copied, so both are errors (e2fsck asks to clone each).
        CheckReport found = AssertBothDamaged(img);
        Assert.All(new[] { firstIno, secondIno }, ino => Assert.Contains(found.Findings, f => f.Location == $"inode {ino}"
            && f.Severity == CheckSeverity.Error && f.Message.Contains("claimed by another inode", StringComparison.Ordinal)));
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);

        Assert.Contains(fix.Findings, f => f.Location == $"inode {firstIno}" && f.Severity == CheckSeverity.Error && f.Repaired);
        Assert.Contains(fix.Findings, f => f.Location == $"inode {secondIno}" && f.Severity == CheckSeverity.Note
            && f.Message.Contains("already given their own copies", StringComparison.Ordinal));
        Assert.Equal(shared, Bmap(img, second, 0));
        Assert.NotEqual(shared, Bmap(img, first, 0));
        Assert.Equal(Bmap(oracle, first, 0), Bmap(img, first, 0));
        Assert.Equal(content, DebugfsRead(img, $"cat {first}"));
        Assert.Equal(content, DebugfsRead(img, $"cat {second}"));
    }

    /// <summary>
    /// A file deleted because a full file system has no room to copy its shared data takes
    /// its reference off the attribute block it shares with another file, as e2fsck's
    /// delete_file does: the block stays, with one reference. Before, the count kept the
    /// deleted file and e2fsck found it one too high after our repair.
    /// </summary>
    [Fact]
    public void Check_FileDeletedForWantOfRoom_LowersItsSharedAttributeBlocksCount()
    {
        string img = _dir.File("xattr-full.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-I", "128", "-N", "256", "-m", "0", img, "1M");
        WriteRandom("one-block", 1024, 7);
        WriteRandom("twelve", 12 * 1024, 8);
        string one = _dir.File("one-block");
        RunDebugfsScript(img, "setup.cmds", [$"write {one} a", $"write {one} b", $"write {one} c", "ea_set a user.shared 0123456789"]);
        uint b = InodeNumber(img, "/b");
        Assert.True(b < InodeNumber(img, "/c"));
        long acl = long.Parse(Regex.Match(DebugfsRead(img, "stat /a"), @"File ACL: (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Debugfs(img, $"sif /b file_acl {acl}");
        Debugfs(img, "sif /b blocks 4");
        Patch(img, (acl * 1024) + 4, 2, 0, 0, 0); // h_refcount: /a and /b
        // /c claims /b's block as its second, so no block of its own goes free for the copy.
        Debugfs(img, $"sif /c block[1] {Bmap(img, "/b", 0)}");
        Debugfs(img, "sif /c size 2048");
        Debugfs(img, "sif /c blocks 4");
        // Fill every free block, so the copy pass 1d wants finds none.
        var fill = new List<string>();
        for (int i = 0; i < 120; i++)
        {
            fill.Add($"write {_dir.File("twelve")} t{i:000}");
        }
        for (int i = 0; i < 200; i++)
        {
            fill.Add($"write {one} o{i:000}");
        }
        RunDebugfsScript(img, "fill.cmds", fill);
        Assert.Contains("Free blocks:              0", OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout, StringComparison.Ordinal);
        string oracle = CopyBeside(img, "oracle.img");
        OracleTool.Run("e2fsck", "-fy", oracle);
        Assert.Equal(0, E2fsck(oracle).ExitCode);

        RepairRoundTrip(img);
        Assert.Contains($"File ACL: {acl}", DebugfsRead(img, "stat /a"), StringComparison.Ordinal);
        Assert.Equal(1u, RefCountOf(img, acl));
        Assert.Equal(RefCountOf(oracle, acl), RefCountOf(img, acl));
        Assert.False(NamesB(oracle));
        Assert.False(NamesB(img));
    }

    /// <summary>
    /// 32 MiB, 1 KiB blocks, no journal: /big (64 blocks, the lowest inode), a filler up to 30
    /// blocks before group 1, /s01../s10 (3 blocks each) there, then 72-block chunks with a
    /// one-block file between each two, until the file system is full; the one-block files
    /// are then removed, leaving the free space in single blocks.
    /// </summary>
    private string MakeNearlyFull()
    {
        string img = _dir.File("full.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-N", "1024", "-O", "^has_journal",
            "-E", "lazy_itable_init=0", img, "32M");
        Match g0 = Group0Free().Match(OracleTool.RunExpect(0, "dumpe2fs", img).Stdout);
        Assert.True(g0.Success);
        int free0 = int.Parse(g0.Groups[1].Value, CultureInfo.InvariantCulture);
        WriteRandom("big", 64 * 1024, 1);
        WriteRandom("fill0", (free0 - 64 - 30 - 3) * 1024, 2);
        WriteRandom("small", 3 * 1024, 3);
        WriteRandom("chunk", 72 * 1024, 4);
        WriteRandom("one", 1024, 5);
        var cmds = new List<string> { $"write {_dir.File("big")} big", $"write {_dir.File("fill0")} fill0" };
        cmds.AddRange(Enumerable.Range(1, 10).Select(i => $"write {_dir.File("small")} s{i:00}"));
        for (int i = 1; i <= 340; i++)
        {
            cmds.Add($"write {_dir.File("chunk")} c{i:000}");
            cmds.Add($"write {_dir.File("one")} x{i:000}");
        }
        RunDebugfsScript(img, "fill.cmds", cmds);
        RunDebugfsScript(img, "holes.cmds", Enumerable.Range(1, 340).Select(i => $"rm x{i:000}"));
        return img;
    }

    private static uint RefCountOf(string img, long block) => BitConverter.ToUInt32(ReadAt(img, (block * 1024) + 4, 4));

    /// <summary>Whether the root still names /b with an inode (e2fsck leaves a cleared entry as inode 0).</summary>
    private static bool NamesB(string img) => Regex.IsMatch(DebugfsRead(img, "ls /"), @"(^|\s)[1-9]\d*\s+\(\d+\) b\s");

    private void WriteRandom(string name, int bytes, int seed)
    {
        byte[] b = new byte[bytes];
        new Random(seed).NextBytes(b);
        File.WriteAllBytes(_dir.File(name), b);
    }

    /// <summary>Runs debugfs -w -f over the commands; the last writes fail once the file system is full, as meant.</summary>
    private void RunDebugfsScript(string img, string name, IEnumerable<string> commands)
    {
        string script = _dir.File(name);
        File.WriteAllLines(script, commands);
        _ = OracleTool.Run("debugfs", "-w", "-f", script, img);
    }

    private static long ReservedGdtEnd(string img, int group)
    {
        string text = OracleTool.RunExpect(0, "dumpe2fs", img).Stdout;
        string part = text[text.IndexOf($"Group {group}:", StringComparison.Ordinal)..];
        Match m = ReservedGdtLine().Match(part);
        Assert.True(m.Success, part);
        return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static long[] SortedBlocks(string img, string path) =>
        [.. DebugfsRead(img, $"blocks {path}").Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture)).Order()];

    private static string FreeBlocks(string img) =>
        FreeBlocksLine().Match(OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout).Value;

    private static string DumpFile(string img, string path) =>
        Convert.ToBase64String(DumpInode(img, InodeNumber(img, path)));

    [GeneratedRegex(@"Group 0:[\s\S]*?\n\s+(\d+) free blocks")]
    private static partial Regex Group0Free();

    [GeneratedRegex(@"Reserved GDT blocks at \d+-(\d+)")]
    private static partial Regex ReservedGdtLine();

    [GeneratedRegex(@"Free blocks:\s+\d+")]
    private static partial Regex FreeBlocksLine();
}
