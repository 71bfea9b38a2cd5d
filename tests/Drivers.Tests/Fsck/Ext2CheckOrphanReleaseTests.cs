using System.Text.RegularExpressions;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// The orphans a crash leaves on the superblock's list (s_last_orphan, chained through
/// i_dtime): our repair finishes them before pass 1 as e2fsck -fy does (a file with links cut
/// to its size, one without deleted), with notes only, and leaves the same blocks and free
/// counts as e2fsck -fy on a copy. Damage in the list stops the release, as in e2fsck.
/// </summary>
public sealed class Ext2CheckOrphanReleaseTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-orphans");

    public void Dispose() => _dir.Dispose();

    /// <summary>/big.bin (300 000 bytes) cut to <paramref name="size"/> mid-truncate, then /d/small.bin unlinked while open, both on the list.</summary>
    private static (uint Big, uint Small) CrashWithOrphans(string img, int size)
    {
        uint big = InodeNumber(img, "/big.bin");
        uint small = InodeNumber(img, "/d/small.bin");
        Debugfs(img, $"set_inode_field /big.bin size {size}");
        Debugfs(img, "unlink /d/small.bin");
        Debugfs(img, $"set_inode_field <{small}> links_count 0");
        Debugfs(img, $"set_inode_field <{big}> dtime {small}");
        Debugfs(img, $"ssv last_orphan {big}");
        return (big, small);
    }

    /// <summary>
    /// Cuts inside the direct blocks (ext2: the indirect and double indirect blocks go too),
    /// inside the indirect block, and to nothing; on extents across an extent and to nothing.
    /// </summary>
    [Theory]
    [InlineData("ext2", 5000)]
    [InlineData("ext2", 70_000)]
    [InlineData("ext2", 0)]
    [InlineData("ext4", 70_000)]
    [InlineData("ext4-nocsum", 1)]
    [InlineData("ext4", 0)]
    public void Check_InterruptedTruncateAndOpenUnlinkedFile_ReleasedAsE2fsckReleasesThem(string flavour, int size)
    {
        string img = Make(_dir, flavour);
        (uint big, uint small) = CrashWithOrphans(img, size);
        string theirs = CopyBeside(img, "theirs.img");
        byte[] kept = DumpInode(img, big);

        CheckReport fix = ReleaseRoundTrip(img);
        Assert.Contains(fix.Findings, f => f.Location == $"inode {big}" && f.Message.StartsWith("truncating orphaned inode", StringComparison.Ordinal));
        Assert.Contains(fix.Findings, f => f.Location == $"inode {small}" && f.Message.StartsWith("clearing orphaned inode", StringComparison.Ordinal));
        ToolResult e2fsck = OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.True(e2fsck.ExitCode == 0, e2fsck.Transcript);
        Assert.Equal(FreeCounts(theirs), FreeCounts(img));
        Assert.Equal(DebugfsRead(theirs, "blocks /big.bin"), DebugfsRead(img, "blocks /big.bin"));
        Assert.Equal(BlockCount(theirs, big), BlockCount(img, big));
        Assert.Equal(kept, DumpInode(img, big));
        Assert.Contains("is not in use", DebugfsRead(img, $"testi <{small}>"), StringComparison.Ordinal);
    }

    private static string BlockCount(string img, uint ino) =>
        Regex.Match(DebugfsRead(img, $"stat <{ino}>"), @"Blockcount: \d+").Value;

    /// <summary>
    /// A list that comes back to an orphan with links (A, B, A): e2fsck cuts it again, which
    /// frees nothing more, and its dtime, cleared the first time, ends the list. Ours the same.
    /// </summary>
    [Fact]
    public void Check_ListComingBackToACutOrphan_CutOnceNotesOnly()
    {
        string img = Make(_dir, "ext4");
        (uint big, uint small) = CrashWithOrphans(img, 70_000);
        Debugfs(img, $"set_inode_field <{small}> links_count 1");
        Debugfs(img, $"ln <{small}> /d/small.bin");
        Debugfs(img, $"set_inode_field <{small}> dtime {big}");
        string theirs = CopyBeside(img, "theirs.img");

        CheckReport fix = ReleaseRoundTrip(img);
        Assert.Equal(2, fix.Findings.Count(f => f.Location == $"inode {big}" && f.Message.StartsWith("truncating", StringComparison.Ordinal)));
        Assert.Equal(0, OracleTool.Run("e2fsck", "-fy", theirs).ExitCode);
        Assert.Equal(DebugfsRead(theirs, "blocks /big.bin"), DebugfsRead(img, "blocks /big.bin"));
        Assert.Equal(FreeCounts(theirs), FreeCounts(img));
    }

    /// <summary>An orphan whose inode checksum does not match is not trusted (e2fsck will not read it): the release stops, pass 1 judges it.</summary>
    [Fact]
    public void Check_OrphanWithABadInodeChecksum_NotReleased()
    {
        string img = Make(_dir, "ext4");
        string blocks = DebugfsRead(img, "blocks /big.bin");
        (uint big, _) = CrashWithOrphans(img, 3000);
        Debugfs(img, $"set_inode_field <{big}> checksum 0x1234");
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        Assert.Contains(fix.Findings, f => f.Location == $"inode {big}" && f.Message.Contains("checksum does not match; the orphan release stops", StringComparison.Ordinal));
        Assert.DoesNotContain(fix.Findings, f => f.Message.StartsWith("truncating", StringComparison.Ordinal));
        AssertBothClean(img);
        Assert.Equal(blocks, DebugfsRead(img, "blocks /big.bin"));
    }

    /// <summary>A quota image: the usage the orphans held comes off the quota files with them, as e2fsck -fy writes them.</summary>
    [Fact]
    public void Check_OrphansOnAQuotaImage_UsageTakenOffAsE2fsckTakesIt()
    {
        string src = _dir.File("qsrc");
        Directory.CreateDirectory(src);
        string img = _dir.File("quota.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext4", "-O", "quota", img, "16M");
        byte[] bytes = new byte[300_000];
        new Random(5).NextBytes(bytes);
        string host = _dir.File("payload");
        File.WriteAllBytes(host, bytes);
        Debugfs(img, $"write {host} big.bin");
        Debugfs(img, "mkdir d");
        Debugfs(img, $"write {host} d/small.bin");
        Debugfs(img, "set_inode_field /d/small.bin uid 1234");
        Debugfs(img, "set_inode_field /big.bin gid 77");
        // debugfs does not keep the quota files: e2fsck makes them right before the crash.
        Assert.True(OracleTool.Run("e2fsck", "-fy", img).ExitCode <= 1);
        Assert.Equal(0, OracleTool.Run("e2fsck", "-fn", img).ExitCode);
        CrashWithOrphans(img, 20_000);
        string theirs = CopyBeside(img, "theirs.img");

        CheckReport fix = ReleaseRoundTrip(img);
        Assert.Contains(fix.Findings, f => f.Phase == "quota" && f.Message.Contains("released orphans", StringComparison.Ordinal));
        Assert.True(OracleTool.Run("e2fsck", "-fy", theirs).ExitCode <= 1);
        Assert.Equal(DumpInode(theirs, 3), DumpInode(img, 3));
        Assert.Equal(DumpInode(theirs, 4), DumpInode(img, 4));
    }

    /// <summary>A block past the cut is already free in the bitmap: the release stops there (an error), the passes finish the job.</summary>
    [Fact]
    public void Check_OrphanBlockAlreadyFree_ReleaseStopsAndThePassesRepair()
    {
        string img = Make(_dir, "ext4");
        CrashWithOrphans(img, 5000);
        Debugfs(img, $"freeb {Bmap(img, "/big.bin", 100)}");
        AssertBothDamaged(img);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        Assert.Contains(fix.Findings, f => f.Message.Contains("already free; the orphan release stops here", StringComparison.Ordinal));
        AssertBothClean(img);
    }

    /// <summary>
    /// A size past what the map can address (2^64 - 256): no block goes, and pass 1 corrects
    /// the size. (e2fsck 1.47's block count for the cut overflows to 0 there, so it frees the
    /// whole file.)
    /// </summary>
    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Check_OrphanWithAHugeSize_KeepsEveryBlock(string flavour)
    {
        string img = Make(_dir, flavour);
        string blocks = DebugfsRead(img, "blocks /big.bin");
        (uint big, _) = CrashWithOrphans(img, 0);
        Debugfs(img, $"set_inode_field <{big}> size 0xffffffffffffff00");
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        Assert.Contains(fix.Findings, f => f.Message.Contains("size 18446744073709551360", StringComparison.Ordinal));
        AssertBothClean(img);
        Assert.Equal(blocks, DebugfsRead(img, "blocks /big.bin"));
    }

    /// <summary>Marked with errors: neither list is trusted (e2fsck's rule), so the passes judge the inodes.</summary>
    [Fact]
    public void Check_FileSystemMarkedWithErrors_OrphansLeftToThePasses()
    {
        string img = Make(_dir, "ext2");
        (uint big, _) = CrashWithOrphans(img, 5000);
        Debugfs(img, "ssv state 3");
        string theirs = CopyBeside(img, "theirs.img");
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        Assert.Contains(fix.Findings, f => f.Message.Contains("marked with errors", StringComparison.Ordinal));
        Assert.DoesNotContain(fix.Findings, f => f.Message.StartsWith("truncating orphaned", StringComparison.Ordinal));
        AssertBothClean(img);
        OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.Equal(BlockCount(theirs, big), BlockCount(img, big));
    }
}
