using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A journal inode that is no journal (no links, a size past its map) while the superblock's
/// copy of its map (s_jnl_blocks) is sound: the journal comes back from the copy, with its
/// log, as e2fsck brings it back, instead of being deleted and made again. A copy that is
/// missing is written by -y, as e2fsck -y writes it.
/// </summary>
public sealed class Ext2CheckJournalBackupTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-jbackup");

    public void Dispose() => _dir.Dispose();

    private string Image(string type, string blockSize)
    {
        string src = _dir.File("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "keep"), "kept through the repair\n");
        string img = _dir.File($"{type}-{blockSize}.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", blockSize, "-t", type, "-d", src, img, "64M");
        return img;
    }

    private static string JournalInode(string img) => DebugfsRead(img, "stat <8>");

    /// <summary>The journal's map (debugfs's blocks list) and the journal superblock's bytes.</summary>
    private static (string Blocks, string Superblock) Journal(string img) =>
        (DebugfsRead(img, "blocks <8>"), DebugfsRead(img, "logdump"));

    [Theory]
    [InlineData("ext3", "1024", "size 67108864", "of its 65536 blocks are mapped")]
    [InlineData("ext3", "4096", "links_count 0", "0 links")]
    [InlineData("ext4", "4096", "size 67108864", "of its 16384 blocks are mapped")]
    [InlineData("ext4", "1024", "links_count 0", "0 links")]
    [InlineData("ext4", "4096", "mode 040700", "mode 040700")]
    public void JournalInodeNoJournal_RestoredFromTheSuperblocksCopy(string type, string blockSize, string damage, string finding)
    {
        string img = Image(type, blockSize);
        (string blocks, string log) = Journal(img);
        Debugfs(img, "sif <8> " + damage);
        byte[] damaged = File.ReadAllBytes(img);

        CheckReport n = Check(img, repair: false);
        Assert.True(n.ExitCode == 4, Describe(n));
        Assert.Contains(n.Findings, f => f.Message.Contains(finding, StringComparison.Ordinal)
            && f.Message.Contains("restored from the superblock's copy", StringComparison.Ordinal) && !f.Repaired);
        Assert.True(damaged.AsSpan().SequenceEqual(File.ReadAllBytes(img)), "a check without -y wrote to the image");

        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        Assert.DoesNotContain(y.Findings, f => f.Message.StartsWith("journal recreated", StringComparison.Ordinal));
        AssertBothClean(img);
        // The same journal, not a new one: the same blocks and the same log.
        Assert.Equal((blocks, log), Journal(img));
        string stat = JournalInode(img);
        Assert.Contains("Mode:  0600", stat, StringComparison.Ordinal);
        Assert.Contains("Links: 1", stat, StringComparison.Ordinal);
        Assert.Equal("kept through the repair\n", DebugfsRead(img, "cat /keep"));
    }

    [Fact]
    public void RestoredExtentJournal_KernelMountsAndWritesThroughIt()
    {
        // e2fsck's restored inode has no extents flag, so it deletes an ext4 journal here; ours keeps it.
        if (!Ext2fs.Ext2Oracle.CanLoopMount)
        {
            return;
        }
        string img = Image("ext4", "4096");
        Debugfs(img, "sif <8> size 67108864");
        Assert.Equal(1, Check(img, repair: true).ExitCode);
        Assert.Contains("Flags: 0x80000", JournalInode(img), StringComparison.Ordinal);
        string mnt = _dir.File("mnt");
        Directory.CreateDirectory(mnt);
        ToolResult m = OracleTool.Run("mount", "-o", "loop", "-t", "ext4", img, mnt);
        Assert.True(m.ExitCode == 0, m.Transcript);
        try
        {
            File.WriteAllText(Path.Combine(mnt, "written-after"), "through the restored journal\n");
        }
        finally
        {
            OracleTool.Run("umount", mnt);
        }
        AssertBothClean(img);
        Assert.Equal("through the restored journal\n", DebugfsRead(img, "cat /written-after"));
    }

    [Fact]
    public void CopyMissing_NotedUnderNoRepair_WrittenUnderRepair()
    {
        string img = Image("ext4", "1024");
        string want = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        Debugfs(img, "ssv jnl_backup_type 0");
        byte[] before = File.ReadAllBytes(img);

        CheckReport n = Check(img, repair: false);
        Assert.True(n.ExitCode == 0, Describe(n));
        Assert.Contains(n.Findings, f => f.Severity == CheckSeverity.Note && f.Message.Contains("s_jnl_blocks", StringComparison.Ordinal));
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(img)), "a check without -y wrote to the image");

        // e2fsck -y writes it without calling the file system damaged (exit 0); so do we.
        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 0, Describe(y));
        Assert.Contains("Journal backup:           inode blocks", OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout, StringComparison.Ordinal);
        Assert.Contains("Journal backup:           inode blocks", want, StringComparison.Ordinal);
        Assert.DoesNotContain(Check(img, repair: false).Findings, f => f.Message.Contains("s_jnl_blocks", StringComparison.Ordinal));
        AssertBothClean(img);
    }

    [Fact]
    public void CopyNamingAFilesBlocks_JournalGetsCopiesAndTheCopyFollowsInOneRun()
    {
        // The restored map shares blocks with /keep: the duplicate pass gives the journal
        // copies of them, and the superblock's copy is written from the map that results.
        string img = Image("ext3", "1024");
        long keep = Bmap(img, "/keep", 0);
        Debugfs(img, "sif <8> links_count 0");
        Debugfs(img, $"ssv jnl_blocks[1] {keep}");

        CheckReport y = Check(img, repair: true);

        Assert.True(y.ExitCode == 1, Describe(y));
        AssertBothClean(img);
        Assert.Empty(Check(img, repair: false).Findings);
        Assert.Equal("kept through the repair\n", DebugfsRead(img, "cat /keep"));
        Assert.NotEqual(keep.ToString(System.Globalization.CultureInfo.InvariantCulture),
            DebugfsRead(img, "bmap <8> 1").Trim());
    }
}
