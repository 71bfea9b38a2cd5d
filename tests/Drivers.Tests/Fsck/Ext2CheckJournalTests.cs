using System.Globalization;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Invalid internal journals, which e2fsck refuses to check past ("Cannot proceed"): ours
/// reports each one, under -y too, and leaves the journal whole rather than punching holes
/// into it or clearing another inode.
/// </summary>
public sealed class Ext2CheckJournalTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-journal");

    public void Dispose() => _dir.Dispose();

    private string Image(string type)
    {
        string img = _dir.File(type + ".img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", type, img, "16M");
        return img;
    }

    private static void Poke(string img, long offset, params byte[] bytes)
    {
        using var f = new FileStream(img, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(bytes);
    }

    /// <summary>Both checkers fail the image; our -y exits 4 and the journal inode's bytes stay as they were.</summary>
    private static CheckReport AssertInvalidJournalLeftAlone(string img, string finding)
    {
        ToolResult oracle = E2fsck(img);
        Assert.True((oracle.ExitCode & 4) != 0, oracle.Transcript);
        string journalBefore = DebugfsRead(img, "stat <8>");
        CheckReport n = Check(img, repair: false);
        Assert.True(n.ExitCode == 4, Describe(n));
        Assert.Contains(n.Findings, f => f.Message.Contains(finding, StringComparison.Ordinal) && !f.Repaired);
        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 4, Describe(y));
        Assert.Equal(journalBefore, DebugfsRead(img, "stat <8>"));
        CheckReport again = Check(img, repair: false);
        Assert.True(again.Findings.Count(f => f.Severity == CheckSeverity.Error) == 1, Describe(again));
        return n;
    }

    [Fact]
    public void DamagedJournalSuperblock_Reported()
    {
        string img = Image("ext4");
        long jsb = long.Parse(DebugfsRead(img, "bmap <8> 0").Trim(), CultureInfo.InvariantCulture);
        Poke(img, (jsb * 1024) + 12, 0x95, 0xeb, 0x6e, 0xf6); // s_blocksize
        AssertInvalidJournalLeftAlone(img, "the journal is invalid: its superblock says block size");
    }

    [Fact]
    public void IllegalPointerInTheJournalsMap_ReportedNotCleared()
    {
        string img = Image("ext3");
        // Logical block 300 sits under the first indirect block of the double-indirect tree.
        string stat = DebugfsRead(img, "stat <8>");
        int dind = stat.IndexOf("(DIND):", StringComparison.Ordinal);
        int ind = stat.IndexOf("(IND):", dind, StringComparison.Ordinal) + "(IND):".Length;
        long indBlock = long.Parse(new string([.. stat[ind..].TakeWhile(char.IsAsciiDigit)]), CultureInfo.InvariantCulture);
        Poke(img, (indBlock * 1024) + (20 * 4) + 2, 0x0e, 0x9c);
        CheckReport n = AssertInvalidJournalLeftAlone(img, "is outside the file system or its metadata");
        Assert.DoesNotContain(n.Findings, f => f.Message.Contains("i_blocks", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0x28, new byte[] { 0xff, 0xff, 0xff, 0xff }, "unknown incompatible features")] // s_feature_incompat
    [InlineData(0x40, new byte[] { 0, 0, 0, 2 }, "names 2 file systems as users")] // s_nr_users
    public void JournalSuperblockFieldsE2fsckRefuses_Reported(int offset, byte[] value, string finding)
    {
        string img = Image("ext4");
        long jsb = long.Parse(DebugfsRead(img, "bmap <8> 0").Trim(), CultureInfo.InvariantCulture);
        Poke(img, (jsb * 1024) + offset, value);
        AssertInvalidJournalLeftAlone(img, finding);
    }

    /// <summary>A log shorter than its inode, or one whose first-block field is 0: e2fsck accepts both, and so does ours.</summary>
    [Theory]
    [InlineData(0x10, new byte[] { 0, 0, 0, 16 })] // s_maxlen
    [InlineData(0x14, new byte[] { 0, 0, 0, 0 })] // s_first
    public void JournalSuperblockFieldsE2fsckAccepts_Clean(int offset, byte[] value)
    {
        string img = Image("ext3");
        long jsb = long.Parse(DebugfsRead(img, "bmap <8> 0").Trim(), CultureInfo.InvariantCulture);
        Poke(img, (jsb * 1024) + offset, value);
        AssertBothClean(img);
    }

    [Fact]
    public void JournalNamedInAnotherInode_ReportedAndInode8Kept()
    {
        string img = Image("ext4");
        Debugfs(img, "ssv journal_inum 2");
        AssertInvalidJournalLeftAlone(img, "the journal is named as inode 2");
    }
}
