using System.Buffers.Binary;
using System.Text.RegularExpressions;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Our ext2/ext3/ext4 check against e2fsck -fn on images made by mke2fs -d, clean and
/// damaged in known ways with debugfs -w or byte patches: both must agree, and after our
/// repair both must find the image clean.
/// </summary>
public sealed partial class Ext2CheckTests
{
    public static TheoryData<string> Flavours => new() { "ext2", "ext3", "ext4", "ext4-nocsum" };

    public static TheoryData<string> CorpusImages => Corpus.NamesOf("ext2fs");

    private static string Stat(string img, string path) => DebugfsRead(img, $"stat {path}");

    private static int Links(string img, string path) =>
        int.Parse(LinksLine().Match(Stat(img, path)).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Links: (\d+)")]
    private static partial Regex LinksLine();

    [Theory]
    [MemberData(nameof(CorpusImages))]
    public void Check_CorpusImage_IsCleanForBoth(string name)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Corpus.Get(name).CopyTo(dir);
        AssertBothClean(img);
        string theirs = dir.File("theirs.img");
        File.Copy(img, theirs);
        CheckReport r = Check(img, repair: true);
        Assert.True(r.ExitCode == 0, Describe(r));
        Assert.All(r.Findings, f => Assert.Equal(CheckSeverity.Note, f.Severity));
        // The only write -y makes to a clean image is e2fsck's: indexing the directories of
        // three blocks or more that have no index (mke2fs -d never indexes), in pass 3A.
        bool indexed = r.Findings.Any(f => f.Phase == "rebuild");
        ToolResult e2 = OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.True(e2.ExitCode == 0, e2.Transcript);
        Assert.Equal(indexed, e2.Transcript.Contains("Pass 3A", StringComparison.Ordinal));
        if (indexed)
        {
            AssertBothClean(img);
        }
        else
        {
            Assert.Equal(File.ReadAllBytes(Corpus.Get(name).ImagePath), File.ReadAllBytes(img));
        }
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_CleanMke2fsImage_IsCleanForBoth(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        AssertBothClean(Make(dir, flavour));
    }

    /// <summary>
    /// An indirect pointer into the inode table: read as block numbers the table is garbage,
    /// and a repair that cleared those "illegal blocks" in place would wipe the inodes stored
    /// there. It is not followed (e2fsck: "conflicts with critical metadata"), only cleared.
    /// </summary>
    [Theory]
    [InlineData("ext2")]
    [InlineData("ext3")]
    public void Check_IndirectBlockInTheInodeTable_NotFollowed_RepairNeverWritesTheTable(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        long tableBlock = InodeOffset(img, InodeNumber(img, "/many/file5")) / 1024;
        Debugfs(img, $"sif /big.bin block[IND] {tableBlock}");
        byte[] table = ReadAt(img, tableBlock * 1024, 1024);

        CheckReport first = AssertBothDamaged(img);
        Assert.Contains(first.Findings, f => f.Message.Contains($"indirect block {tableBlock} is file-system metadata", StringComparison.Ordinal));
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        Assert.Equal(table, ReadAt(img, tableBlock * 1024, 1024));
        AssertBothClean(img);
        Assert.Equal("5", DebugfsRead(img, "cat /many/file5"));
    }

    /// <summary>The same for an extent tree: an index entry naming the inode table's block.</summary>
    [Fact]
    public void Check_ExtentIndexInTheInodeTable_NotFollowed_RepairLeavesTheOtherInodesAlone()
    {
        using var dir = new ScratchDir("ext2ck");
        string src = dir.File("frag-src");
        Directory.CreateDirectory(src);
        using (var f = new FileStream(Path.Combine(src, "frag"), FileMode.CreateNew))
        {
            // Eight pieces with holes between: more extents than the inode holds, so a tree of depth 1.
            for (int i = 0; i < 8; i++)
            {
                f.Position = i * 8192;
                f.Write(new byte[1024].Select(_ => (byte)'D').ToArray());
            }
        }
        File.WriteAllText(Path.Combine(src, "other"), "other\n");
        string img = dir.File("frag.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-O", "^metadata_csum,^64bit", "-b", "1024", "-d", src, img, "16M");
        Assert.Contains(" 0/ 1 ", DebugfsRead(img, "ex /frag"), StringComparison.Ordinal);
        long at = InodeOffset(img, InodeNumber(img, "/frag"));
        long tableBlock = at / 1024;
        Patch(img, at + 40 + 12 + 4, BitConverter.GetBytes((uint)tableBlock)); // i_block: header, then ei_block, ei_leaf_lo
        int inodeSize = 256;
        byte[] othersBefore = [.. ReadAt(img, tableBlock * 1024, (int)(at % 1024)), .. ReadAt(img, at + inodeSize, (int)(1024 - (at % 1024) - inodeSize))];

        CheckReport first = AssertBothDamaged(img);
        Assert.Contains(first.Findings, f => f.Message.Contains($"extent block {tableBlock} is file-system metadata", StringComparison.Ordinal));
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        byte[] othersAfter = [.. ReadAt(img, tableBlock * 1024, (int)(at % 1024)), .. ReadAt(img, at + inodeSize, (int)(1024 - (at % 1024) - inodeSize))];
        Assert.Equal(othersBefore, othersAfter);
        AssertBothClean(img);
        Assert.Equal("other\n", DebugfsRead(img, "cat /other"));
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_LinkCountTooHigh_FoundAndSetToReferences(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Debugfs(img, "set_inode_field /a.txt links_count 5");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Phase == "references" && f.Message.Contains("link count is 5, should be 1", StringComparison.Ordinal));
        Assert.Equal(1, Links(img, "/a.txt"));
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_DirectoryLinkCountWrong_FoundAndFixed(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Debugfs(img, "set_inode_field /d links_count 7");
        RepairRoundTrip(img);
        Assert.Equal(3, Links(img, "/d"));
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_SuperblockFreeBlocksWrong_NotedLikeE2fsckThenFixedByRepair(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Debugfs(img, "set_super_value free_blocks_count 1");
        // e2fsck -fn mentions it but does not call it an error (exit 0): neither do we.
        ToolResult oracle = E2fsck(img);
        Assert.Equal(0, oracle.ExitCode);
        Assert.Contains("Free blocks count wrong", oracle.Stdout, StringComparison.Ordinal);
        CheckReport ours = Check(img, repair: false);
        Assert.True(ours.ExitCode == 0, Describe(ours));
        Assert.Contains(ours.Findings, f => f.Severity == CheckSeverity.Note && f.Location == "superblock");
        CheckReport fix = Check(img, repair: true);
        Assert.Equal(1, fix.ExitCode);
        Assert.DoesNotContain("Free blocks count wrong", E2fsck(img).Stdout, StringComparison.Ordinal);
        Assert.Empty(Check(img, repair: false).Findings);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_GroupFreeInodesWrong_FoundAndFixed(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Debugfs(img, "set_bg 0 free_inodes_count 3");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Location == "group 0" && f.Message.Contains("free inodes count is 3", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_GroupFreeBlocksWrong_FoundAndFixed(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Debugfs(img, "set_bg 1 free_blocks_count 3");
        RepairRoundTrip(img);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_UsedBlockMarkedFree_FoundAndMarkedAgain(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        long blk = Bmap(img, "/big.bin", 100);
        Debugfs(img, $"freeb {blk}");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Phase == "summary" && f.Message.Contains($"+{blk}", StringComparison.Ordinal));
        Assert.Contains("marked in use", DebugfsRead(img, $"testb {blk}"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_FreeBlockMarkedUsed_FoundAndFreed(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Debugfs(img, "setb 15000");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Phase == "summary" && f.Message.Contains("-15000", StringComparison.Ordinal));
        Assert.Contains("not in use", DebugfsRead(img, "testb 15000"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_UsedInodeMarkedFree_FoundAndMarkedAgain(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        uint ino = InodeNumber(img, "/big.bin");
        Debugfs(img, "freei /big.bin");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Phase == "summary" && f.Message.Contains($"+{ino}", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_ClearedInodeStillNamed_EntryRemovedAndBlocksFreed(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        long blk = Bmap(img, "/big.bin", 0);
        Debugfs(img, "clri /big.bin");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Phase == "directories" && f.Message.Contains("'big.bin'", StringComparison.Ordinal));
        Assert.DoesNotContain("big.bin", DebugfsRead(img, "ls /"), StringComparison.Ordinal);
        Assert.Contains("not in use", DebugfsRead(img, $"testb {blk}"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_UnlinkedFile_ReconnectedToLostAndFound(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        uint ino = InodeNumber(img, "/big.bin");
        Debugfs(img, "unlink /big.bin");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Phase == "references" && f.Location == $"inode {ino}");
        Assert.Equal(ino, InodeNumber(img, $"/lost+found/#{ino}"));
        Assert.Equal(1, Links(img, $"/lost+found/#{ino}"));
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_UnlinkedFileWithoutLostAndFound_LostAndFoundCreatedAndFileReconnected(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Debugfs(img, "rmdir /lost+found");
        AssertBothClean(img);
        uint ino = InodeNumber(img, "/d/small.bin");
        Debugfs(img, "unlink /d/small.bin");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Phase == "references" && f.Location == $"inode {ino}");
        Assert.Equal(ino, InodeNumber(img, $"/lost+found/#{ino}"));
        Assert.Contains("Mode:  0700", Stat(img, "/lost+found"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Check_OrphanListLeftByACrash_ReleasedWithNotesOnly(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        uint ino = InodeNumber(img, "/big.bin");
        long blk = Bmap(img, "/big.bin", 0);
        Debugfs(img, "unlink /big.bin");
        Debugfs(img, $"set_inode_field <{ino}> links_count 0");
        Debugfs(img, $"ssv last_orphan {ino}");
        CheckReport fix = ReleaseRoundTrip(img);
        Assert.Contains(fix.Findings, f => f.Location == $"inode {ino}" && f.Message.StartsWith("clearing orphaned inode", StringComparison.Ordinal));
        Assert.DoesNotContain("First orphan inode", OracleTool.Run("dumpe2fs", "-h", img).Stdout, StringComparison.Ordinal);
        Assert.Contains("not in use", DebugfsRead(img, $"testb {blk}"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_UnlinkedEmptyFile_Cleared(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        uint ino = InodeNumber(img, "/empty");
        Debugfs(img, "unlink /empty");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("zero-length", StringComparison.Ordinal));
        Assert.DoesNotContain($"#{ino}", DebugfsRead(img, "ls /lost+found"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_UnlinkedDirectory_ReconnectedWithDotDotFixed(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        uint ino = InodeNumber(img, "/d");
        Debugfs(img, "unlink /d");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Phase == "connectivity" && f.Location == $"inode {ino}");
        Assert.Contains("x", DebugfsRead(img, $"ls /lost+found/#{ino}/e"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_InUseInodeWithDtime_FoundAndCleared(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Debugfs(img, "set_inode_field /a.txt dtime 12345");
        RepairRoundTrip(img);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_WrongBlockCount_FoundAndFixed(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Debugfs(img, "set_inode_field /big.bin blocks 10");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("i_blocks is 10", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_DirectorySizeWrong_FoundAndFixed(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Debugfs(img, "set_inode_field /d size 5000");
        RepairRoundTrip(img);
        Assert.Contains("Size: 1024", Stat(img, "/d"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ext2", 3)]
    [InlineData("ext2", 70)]
    [InlineData("ext4", 3)]
    [InlineData("ext4", 70)]
    public void Check_SymlinkSizeWrong_InvalidForBothAndCleared(string flavour, int size)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Debugfs(img, $"set_inode_field /link size {size}");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("symbolic link", StringComparison.Ordinal));
        Assert.DoesNotContain("link", DebugfsRead(img, "ls /"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext3")]
    public void Check_BlockSharedByTwoFiles_FoundAndCopied(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        long shared = Bmap(img, "/a.txt", 0);
        Debugfs(img, $"set_inode_field /big.bin block[0] {shared}");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("claimed by another inode", StringComparison.Ordinal));
        Assert.Equal("hello\n", DebugfsRead(img, "cat /a.txt"));
        Assert.NotEqual(Bmap(img, "/a.txt", 0), Bmap(img, "/big.bin", 0));
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Check_BlockPointerOutsideFileSystem_FoundAndCleared(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        if (flavour == "ext2")
        {
            Debugfs(img, "set_inode_field /big.bin block[IND] 999999");
        }
        else
        {
            // The first extent of the root (i_block + header 12 + ee_start_lo at 8) points past the end.
            long at = InodeOffset(img, InodeNumber(img, "/big.bin")) + 0x28 + 12 + 8;
            Patch(img, at, 0x9F, 0x86, 0x01, 0x00);
        }
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Phase == "inodes" && f.Message.Contains("illegal block", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_InodeChecksumByteFlipped_FoundAndRecomputed()
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, "ext4");
        long at = InodeOffset(img, InodeNumber(img, "/a.txt")) + 0x7C;
        byte[] b = ReadAt(img, at, 1);
        Patch(img, at, (byte)(b[0] ^ 0x5A));
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("inode checksum", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_SuperblockChecksumWrong_FoundAndRecomputed()
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, "ext4");
        Patch(img, 1024 + 0x3FC, 0x00, 0x11);
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("superblock checksum", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_DirectoryBlockChecksumWrong_FoundAndRecomputed()
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, "ext4");
        long blk = Bmap(img, "/many", 0);
        Patch(img, (blk * 1024) + 1020, 0xAB);
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("directory block checksum", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_DirectoryEntryBadRecLen_FoundAndRestReconnected(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        long blk = Bmap(img, "/many", 0);
        // ".", ".." then the first file: give that third record a rec_len of 3.
        long third = (blk * 1024) + 24;
        Assert.NotEqual(0u, BinaryPrimitives.ReadUInt32LittleEndian(ReadAt(img, third, 4)));
        Patch(img, third + 4, 0x03, 0x00);
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Phase == "directories" && f.Message.Contains("rec_len 3", StringComparison.Ordinal));
        Assert.Contains("#", DebugfsRead(img, "ls /lost+found"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Check_DotDotEntryCorrupt_RebuiltAndPointsAtParent(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        long blk = Bmap(img, "/d", 0);
        Patch(img, (blk * 1024) + 12 + 4, 0x05, 0x00);
        RepairRoundTrip(img);
        Assert.Matches(@"\b2\s+\(\d+\)\s+\.\.", DebugfsRead(img, "ls /d"));
    }

    [Theory]
    [InlineData("ext3", 0x28, new byte[] { 0xFF, 0xFF, 0xFF, 0x7F })]
    [InlineData("ext3", 0x2C, new byte[] { 0x03, 0x00, 0x00, 0x00 })]
    [InlineData("ext3", 0x1D, new byte[] { 0x07 })]
    [InlineData("ext3", 0x22, new byte[] { 0x02, 0x00 })]
    [InlineData("ext4", 0x28, new byte[] { 0xFF, 0xFF, 0xFF, 0x7F })]
    [InlineData("ext4", 0x1D, new byte[] { 0x07 })]
    public void Check_HashTreeRootDamaged_FoundAndIndexCleared(string flavour, int offset, byte[] bytes)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = MakeIndexed(dir, flavour);
        Assert.Equal(0, Check(img, repair: false).ExitCode);
        long blk = Bmap(img, "/big", 0);
        Patch(img, (blk * 1024) + offset, bytes);
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("hash-tree", StringComparison.Ordinal));
        Assert.Contains("name-number-299", DebugfsRead(img, "ls /big"), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_HashTreeLeafNameChanged_FoundOutsideItsHashRange()
    {
        using var dir = new ScratchDir("ext2ck");
        string img = MakeIndexed(dir, "ext3");
        // Rename the first name of leaf block 1 in place (same length). Some new names still hash
        // into the leaf's range, others do not: for each, both checkers must agree.
        long at = Bmap(img, "/big", 1) * 1024;
        int nameLen = ReadAt(img, at + 6, 1)[0];
        byte[] original = File.ReadAllBytes(img);
        CheckReport? before = null;
        for (char c = 'A'; c <= 'Z' && before is null; c++)
        {
            File.WriteAllBytes(img, original);
            Patch(img, at + 8 + nameLen - 1, (byte)c);
            int oracle = E2fsck(img).ExitCode;
            CheckReport ours = Check(img, repair: false);
            Assert.True(ours.ExitCode == (oracle == 0 ? 0 : 4), $"'{c}': e2fsck {oracle}\n" + Describe(ours));
            if (oracle != 0)
            {
                before = RepairRoundTrip(img);
            }
        }
        Assert.NotNull(before);
        Assert.Contains(before.Findings, f => f.Message.Contains("hashing to", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_JournalNeedsRecovery_ReportedThenReplayedByRepair()
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, "ext4");
        string cmds = dir.File("journal.cmds");
        File.WriteAllText(cmds, "jo\njw -b 15000 /dev/null\njc\n");
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", cmds, img);
        Assert.Contains("needs_recovery", OracleTool.Run("dumpe2fs", "-h", img).Stdout, StringComparison.Ordinal);
        CheckReport ours = Check(img, repair: false);
        Assert.Equal(E2fsck(img).ExitCode, ours.ExitCode);
        Assert.Contains(ours.Findings, f => f.Phase == "journal" && f.Severity == CheckSeverity.Note);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        Assert.DoesNotContain("needs_recovery", OracleTool.Run("dumpe2fs", "-h", img).Stdout, StringComparison.Ordinal);
        AssertBothClean(img);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Check_RandomBytesInInodeTable_DamagedNeverThrowsAndRepairIsAcceptedByE2fsck(int seed)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, "ext4");
        byte[] junk = new byte[4096];
        new Random(seed).NextBytes(junk);
        Patch(img, InodeOffset(img, 12), junk);
        CheckReport ours = Check(img, repair: false);
        Assert.True(ours.ExitCode is 4 or 8, Describe(ours));
        Assert.NotEqual(0, E2fsck(img).ExitCode);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode is 1 or 4 or 8, Describe(fix));
        CheckReport again = Check(img, repair: false);
        Assert.True(again.ExitCode is 0 or 4 or 8, Describe(again));
    }

    [Theory]
    [InlineData("ext3", 1)]
    [InlineData("ext3", 3)]
    [InlineData("ext3", 5)]
    [InlineData("ext4", 1)]
    [InlineData("ext4", 2)]
    [InlineData("ext4", 8)]
    public void Check_RandomByteFlipsInInodesAndDirectories_SameVerdictAsE2fsckBeforeAndAfterRepair(string flavour, int seed)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = MakeIndexed(dir, flavour);
        Match m = Regex.Match(OracleTool.RunExpect(0, "dumpe2fs", img).Stdout, @"Inode table at (\d+)");
        long start = long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 1024;
        var rng = new Random(seed);
        for (int i = 0; i < 60; i++)
        {
            Patch(img, start + rng.Next(3000 * 1024), (byte)rng.Next(256));
        }
        int oracle = E2fsck(img).ExitCode;
        CheckReport ours = Check(img, repair: false);
        Assert.True(ours.ExitCode == (oracle == 0 ? 0 : 4), $"e2fsck {oracle}\n" + Describe(ours));
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == (oracle == 0 ? 0 : 1), Describe(fix));
        AssertBothClean(img);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Check_RandomBytesInSuperblock_RestoredFromTheBackup(int seed)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, "ext2");
        byte[] junk = new byte[1024];
        new Random(seed).NextBytes(junk);
        Patch(img, 1024, junk);
        CheckReport ours = Check(img, repair: false);
        Assert.True(ours.ExitCode == 4, Describe(ours));
        Assert.Contains(ours.Findings, f => f.Message.Contains("checked with the backup in block 8193", StringComparison.Ordinal));
        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        AssertBothClean(img);
    }

    /// <summary>The resize inode's double-indirect pointer names the root directory's block: recreated in one -y, the root's block not copied.</summary>
    [Fact]
    public void Check_ResizeInodeNamingTheRootsBlock_RecreatedWithoutACopy()
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, "ext2");
        long rootBlock = Bmap(img, "<2>", 0);
        Debugfs(img, $"set_inode_field <7> block[DIND] {rootBlock}");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("resize inode is not valid", StringComparison.Ordinal));
        Assert.Equal(rootBlock, Bmap(img, "<2>", 0));
    }

    /// <summary>What e2fsck's check_resize_inode and pass 1 also require of inode 7: a regular file in use, no extents flag, its full size.</summary>
    [Theory]
    [InlineData("mode 0")]
    [InlineData("flags 0x80000")]
    [InlineData("size 0")]
    public void Check_ResizeInodeFieldsWrong_DamagedForBoth_Recreated(string field)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, "ext2");
        string fresh = DebugfsRead(img, "stat <7>");
        Debugfs(img, "set_inode_field <7> " + field);
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("resize inode is not valid", StringComparison.Ordinal));
        string after = DebugfsRead(img, "stat <7>");
        Assert.Contains("Type: regular", after, StringComparison.Ordinal);
        Assert.Equal(fresh.Split('\n').First(l => l.Contains("Size:", StringComparison.Ordinal)),
            after.Split('\n').First(l => l.Contains("Size:", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Check_ResizeInodeBroken_DamagedForBoth_Recreated(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        string fresh = DebugfsRead(img, "stat <7>");
        Debugfs(img, "set_inode_field <7> block[DIND] 5000");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("resize inode is not valid", StringComparison.Ordinal) && !f.Repaired);
        // As mke2fs made it, but for the double-indirect block's place and the times.
        string[] Shape(string stat) => [.. stat.Split('\n').Where(l => l.Contains("Size:", StringComparison.Ordinal) || l.Contains("Links:", StringComparison.Ordinal) || l.Contains("Type:", StringComparison.Ordinal))];
        Assert.Equal(Shape(fresh), Shape(DebugfsRead(img, "stat <7>")));
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Check_InodeBitmapPaddingCleared_FoundAndSet(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Match m = Regex.Match(OracleTool.RunExpect(0, "dumpe2fs", img).Stdout, @"Inode bitmap at (\d+)");
        long at = (long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 1024) + 1000;
        Patch(img, at, 0x00);
        RepairRoundTrip(img);
        Assert.Equal(0xFF, ReadAt(img, at, 1)[0]);
    }

    [Fact]
    public void Check_TruncatedImage_OperationalError()
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, "ext4");
        using (var f = new FileStream(img, FileMode.Open, FileAccess.Write))
        {
            f.SetLength(4L << 20);
        }
        CheckReport ours = Check(img, repair: false);
        Assert.Equal(8, ours.ExitCode);
        Assert.Contains("larger than the device", ours.OperationalError, StringComparison.Ordinal);
    }

    /// <summary>
    /// A '/' in a name of an indexed directory (ext3, block maps): the repair rewrites it
    /// ('.'), and when the new name hashes outside its leaf the index is judged by it, found
    /// bad and rebuilt in pass 3A; a second check and e2fsck then find the directory clean,
    /// indexed, every name still listed.
    /// </summary>
    [Fact]
    public void Check_SlashInANameOfAnIndexedDirectory_NameRewrittenAndIndexRebuilt()
    {
        using var dir = new ScratchDir("ext2ck");
        string img = MakeIndexed(dir, "ext3");
        long at = Bmap(img, "/big", 1) * 1024;
        byte[] leaf = ReadAt(img, at, 1024);
        // A name of the leaf whose rewritten form ('.') hashes outside the leaf's range: the
        // hash seed is fixed, so the same name is found every run.
        string trial = dir.File("trial.img");
        long chosen = -1;
        for (int i = leaf.AsSpan().IndexOf("name-number-"u8); i >= 0 && chosen < 0;
            i = leaf.AsSpan(i + 1).IndexOf("name-number-"u8) is var n and >= 0 ? i + 1 + n : -1)
        {
            File.Copy(img, trial, overwrite: true);
            Patch(trial, at + i + 4, (byte)'.');
            bool dotOutside = Check(trial, repair: false).Findings.Any(f => f.Message.Contains("hash-tree", StringComparison.Ordinal));
            chosen = dotOutside ? at + i + 4 : -1;
        }
        Assert.True(chosen >= 0, "no name of the leaf hashes as needed");
        Patch(img, chosen, (byte)'/');
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("has '/' or NUL in its name", StringComparison.Ordinal));
        Assert.Contains(before.Findings, f => f.Message.Contains("hash-tree index is invalid", StringComparison.Ordinal));
        string listed = DebugfsRead(img, "ls /big");
        Assert.Equal(300, System.Text.RegularExpressions.Regex.Count(listed, @"name.number-\d+"));
        Assert.Contains("Flags: 0x1000", Stat(img, "/big"), StringComparison.Ordinal);
    }

    /// <summary>
    /// A file's size beyond what its map can address (i_size_high damaged): e2fsck's "too
    /// big" rule, found by both and set to the end of its last block.
    /// </summary>
    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_SizePastWhatTheMapAddresses_SetToItsLastBlock(string flavour)
    {
        using var dir = new ScratchDir("ext2ck");
        string img = Make(dir, flavour);
        Debugfs(img, "set_inode_field /a.txt size 0x40000000000003");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("more than its block map can address", StringComparison.Ordinal));
        Assert.Contains("Size: 1024", Stat(img, "/a.txt"), StringComparison.Ordinal);
    }

    /// <summary>
    /// Three one-block files; the middle inode's extent grows to cover all three blocks.
    /// The first inode takes a copy of its block, then the middle one copies its whole run:
    /// the first file's old block has no claimant left and must be freed (it stayed marked
    /// in use, and the repair did not converge).
    /// </summary>
    [Fact]
    public void Check_RunOverlappingTwoFiles_EveryBlockLeftBehindIsFreed()
    {
        using var dir = new ScratchDir("ext2ck");
        string src = dir.File("three");
        Directory.CreateDirectory(src);
        foreach (string name in new[] { "a", "b", "c" })
        {
            File.WriteAllText(Path.Combine(src, name), name + "\n");
        }
        string img = dir.File("overlap.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext4", "-O", "^metadata_csum", "-d", src, img, "8M");
        var files = new[] { "/a", "/b", "/c" }.Select(p => (Path: p, Ino: InodeNumber(img, p), Block: Bmap(img, p, 0)))
            .OrderBy(f => f.Ino).ToArray();
        Assert.Equal(files[0].Block + 2, files[2].Block);
        Assert.Equal(files[0].Block + 1, files[1].Block);
        // i_block words 4 and 5: the first extent's length (start_hi 0) and start.
        Debugfs(img, $"set_inode_field <{files[1].Ino}> block[4] 3");
        Debugfs(img, $"set_inode_field <{files[1].Ino}> block[5] {files[0].Block}");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("claimed by another inode", StringComparison.Ordinal));
        Assert.Equal(files[0].Path[1..] + "\n", DebugfsRead(img, "cat " + files[0].Path));
        Assert.Equal(files[2].Path[1..] + "\n", DebugfsRead(img, "cat " + files[2].Path));
    }

    /// <summary>A file of 2 GiB or more on a file system without large_file: found by both, the feature set.</summary>
    [Fact]
    public void Check_LargeFileWithoutTheFeature_FeatureSet()
    {
        using var dir = new ScratchDir("ext2ck");
        string img = dir.File("no-large-file.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext2", "-O", "^large_file", img, "8M");
        File.WriteAllText(dir.File("f"), "x");
        Debugfs(img, $"write {dir.File("f")} f");
        Debugfs(img, "set_inode_field /f size 0x90000000");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("large_file", StringComparison.Ordinal));
        Assert.Contains("large_file", OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout, StringComparison.Ordinal);
    }
}
