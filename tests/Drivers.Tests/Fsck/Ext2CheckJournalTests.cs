using System.Globalization;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Invalid internal journals, which e2fsck -n refuses to check past ("Cannot proceed"): ours
/// reports each one; -y deletes it whole (never punching holes into it) and makes a new one
/// in inode 8, as e2fsck -y does, after which both checkers find the image clean with its
/// files intact and a journal of mke2fs's size for the volume.
/// </summary>
public sealed class Ext2CheckJournalTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-journal");

    public void Dispose() => _dir.Dispose();

    private string Image(string type, string name = "check")
    {
        string src = _dir.File("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "keep"), "kept through the repair\n");
        string img = _dir.File($"{type}-{name}.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", type, "-d", src, img, "16M");
        return img;
    }

    /// <summary>The journal lines of dumpe2fs -h (inode, backup, size), to compare with a fresh mke2fs image's.</summary>
    private static string JournalSummary(string img) => string.Join('\n',
        OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout.Split('\n')
            .Where(l => l.StartsWith("Journal inode:", StringComparison.Ordinal) || l.StartsWith("Journal backup:", StringComparison.Ordinal)
                || l.StartsWith("Total journal size:", StringComparison.Ordinal) || l.StartsWith("Journal features:", StringComparison.Ordinal)));

    private static void Poke(string img, long offset, params byte[] bytes)
    {
        using var f = new FileStream(img, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(bytes);
    }

    /// <summary>
    /// Both checkers fail the image and -n writes nothing; our -y exits 1, and then both find
    /// it clean, with /keep intact and a journal like the one mke2fs makes for the volume.
    /// </summary>
    private CheckReport AssertInvalidJournalRecreated(string img, string type, string finding)
    {
        ToolResult oracle = E2fsck(img);
        Assert.True((oracle.ExitCode & 4) != 0, oracle.Transcript);
        byte[] before = File.ReadAllBytes(img);
        CheckReport n = Check(img, repair: false);
        Assert.True(n.ExitCode == 4, Describe(n));
        Assert.Contains(n.Findings, f => f.Message.Contains(finding, StringComparison.Ordinal) && !f.Repaired);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(img)), "a check without -y wrote to the image");

        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        Assert.Contains(y.Findings, f => f.Message.Contains(finding, StringComparison.Ordinal) && f.Repaired);
        Assert.Contains(y.Findings, f => f.Message.StartsWith("journal recreated", StringComparison.Ordinal));
        AssertBothClean(img);
        Assert.Equal("kept through the repair\n", DebugfsRead(img, "cat /keep"));
        Assert.Equal(JournalSummary(Image(type, "fresh")), JournalSummary(img));
        return n;
    }

    /// <summary>
    /// The new journal works: the kernel mounts the repaired image and writes through it; a
    /// copy taken before the unmount needs recovery, and replaying it (e2fsck's replay, and
    /// ours) gives a clean image holding what was written.
    /// </summary>
    [Theory]
    [InlineData("ext3")]
    [InlineData("ext4")]
    public void RecreatedJournal_CarriesAKernelTransaction(string type)
    {
        if (!Ext2fs.Ext2Oracle.CanLoopMount)
        {
            return;
        }
        string img = Image(type);
        // Without the superblock's copy of its map, which would bring the journal back instead.
        Debugfs(img, "ssv jnl_backup_type 0");
        Debugfs(img, "sif <8> size 4096");
        CheckReport y = Check(img, repair: true);
        Assert.Equal(1, y.ExitCode);
        Assert.Contains(y.Findings, f => f.Message.StartsWith("journal recreated", StringComparison.Ordinal));
        string mnt = _dir.File("mnt");
        Directory.CreateDirectory(mnt);
        ToolResult m = OracleTool.Run("mount", "-o", "loop,commit=600", "-t", type, img, mnt);
        Assert.True(m.ExitCode == 0, m.Transcript);
        string crashed = _dir.File("crashed.img");
        byte[] data = new byte[30000];
        new Random(7).NextBytes(data);
        try
        {
            File.WriteAllBytes(Path.Combine(mnt, "written-after"), data);
            OracleTool.RunExpect(0, "sync", "-f", mnt);
            File.Copy(img, crashed);
        }
        finally
        {
            OracleTool.Run("umount", mnt);
        }
        Assert.Contains("needs_recovery", OracleTool.RunExpect(0, "dumpe2fs", "-h", crashed).Stdout, StringComparison.Ordinal);
        string ours = _dir.File("crashed-ours.img");
        File.Copy(crashed, ours);

        ToolResult replay = OracleTool.Run("e2fsck", "-fy", crashed);
        Assert.True(replay.ExitCode <= 1, replay.Transcript);
        Assert.Equal(0, E2fsck(crashed).ExitCode);
        Assert.Equal(1, Check(ours, repair: true).ExitCode);
        AssertBothClean(ours);
        foreach (string copy in new[] { img, crashed, ours })
        {
            string dump = _dir.File("dump");
            OracleTool.RunExpect(0, "debugfs", "-R", $"dump /written-after {dump}", copy);
            Assert.Equal(data, File.ReadAllBytes(dump));
        }
    }

    [Fact]
    public void DamagedJournalSuperblock_JournalRecreated()
    {
        string img = Image("ext4");
        long jsb = long.Parse(DebugfsRead(img, "bmap <8> 0").Trim(), CultureInfo.InvariantCulture);
        Poke(img, (jsb * 1024) + 12, 0x95, 0xeb, 0x6e, 0xf6); // s_blocksize
        AssertInvalidJournalRecreated(img, "ext4", "the journal is invalid: its superblock says block size");
    }

    /// <summary>
    /// Free space in one-block pieces: the new journal needs over a thousand extents, so its
    /// tree gets index blocks below the root (two levels), as e2fsck's does. The free counts
    /// equal e2fsck's (before, the recreation gave up and left the old journal's blocks marked).
    /// </summary>
    [Fact]
    public void JournalRecreatedOnFragmentedFreeSpace_DepthTwoTree_FreeCountsAsE2fsck()
    {
        string img = _dir.File("frag.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext4", "-O", "^has_journal", img, "12M");
        string one = _dir.File("one");
        File.WriteAllText(one, "x");
        string fill = _dir.File("fill.cmds");
        File.WriteAllLines(fill, ["mkdir /fill", .. Enumerable.Range(1, 3000).Select(i => $"write {one} /fill/x{i}")]);
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", fill, img);
        string punch = _dir.File("punch.cmds");
        File.WriteAllLines(punch, Enumerable.Range(0, 1500).Select(i => $"rm /fill/x{1 + (2 * i)}"));
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", punch, img);
        OracleTool.Run("e2fsck", "-fy", img);
        OracleTool.RunExpect(0, "tune2fs", "-O", "has_journal", "-J", "size=1", img);
        AssertBothClean(img);
        long jsb = long.Parse(DebugfsRead(img, "bmap <8> 0").Trim(), CultureInfo.InvariantCulture);
        Poke(img, jsb * 1024, new byte[1024]);
        string theirs = CopyBeside(img, "theirs.img");

        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        Assert.Contains(fix.Findings, f => f.Message.Contains("journal recreated (1024 blocks)", StringComparison.Ordinal));
        AssertBothClean(img);
        Assert.Equal(0, Check(img, repair: true).ExitCode);
        OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.Equal(FreeCounts(theirs), FreeCounts(img));
        Assert.Matches(@"^\s*0/\s*2\s", DebugfsRead(img, "ex <8>").Split('\n')[1]); // level 0 of a depth-2 tree
    }

    [Fact]
    public void IllegalPointerInTheJournalsMap_JournalRecreatedNotPunched()
    {
        string img = Image("ext3");
        // Logical block 300 sits under the first indirect block of the double-indirect tree.
        string stat = DebugfsRead(img, "stat <8>");
        int dind = stat.IndexOf("(DIND):", StringComparison.Ordinal);
        int ind = stat.IndexOf("(IND):", dind, StringComparison.Ordinal) + "(IND):".Length;
        long indBlock = long.Parse(new string([.. stat[ind..].TakeWhile(char.IsAsciiDigit)]), CultureInfo.InvariantCulture);
        Poke(img, (indBlock * 1024) + (20 * 4) + 2, 0x0e, 0x9c);
        CheckReport n = AssertInvalidJournalRecreated(img, "ext3", "is outside the file system or its metadata");
        Assert.DoesNotContain(n.Findings, f => f.Message.Contains("i_blocks", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0x28, new byte[] { 0xff, 0xff, 0xff, 0xff }, "unknown incompatible features")] // s_feature_incompat
    [InlineData(0x40, new byte[] { 0, 0, 0, 2 }, "names 2 file systems as users")] // s_nr_users
    [InlineData(0x2C, new byte[] { 0, 0, 0, 1 }, "unknown read-only features")] // s_feature_ro_compat
    [InlineData(0x28, new byte[] { 0, 0, 0, 0x10 }, "not crc32c")] // CSUM_V3 with checksum type 0
    public void JournalSuperblockFieldsE2fsckRefuses_JournalRecreated(int offset, byte[] value, string finding)
    {
        string img = Image("ext4");
        long jsb = long.Parse(DebugfsRead(img, "bmap <8> 0").Trim(), CultureInfo.InvariantCulture);
        Poke(img, (jsb * 1024) + offset, value);
        AssertInvalidJournalRecreated(img, "ext4", finding);
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

    /// <summary>
    /// The journal's extent header read as a block map (its extents flag cleared): the words
    /// name blocks of the file system's own, one of them twice. Deleting the journal drops
    /// every one of those claims, so nothing is copied or leaked and one -y converges.
    /// </summary>
    [Fact]
    public void JournalExtentHeaderReadAsABlockMap_OneRepairConverges()
    {
        string src = _dir.File("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "keep"), "kept through the repair\n");
        string img = _dir.File("ext4-4k.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "4096", "-t", "ext4", "-O", "^metadata_csum", "-d", src, img, "16M");
        Debugfs(img, "sif <8> flags 0");
        AssertBothDamaged(img);
        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        Assert.DoesNotContain(y.Findings, f => f.Message.Contains("copied", StringComparison.Ordinal));
        AssertBothClean(img);
        Assert.Equal("kept through the repair\n", DebugfsRead(img, "cat /keep"));
    }

    /// <summary>has_journal with no journal inode or device: e2fsck clears it and makes a journal; so do we.</summary>
    [Fact]
    public void HasJournalWithNoJournalNamed_JournalMadeInInode8()
    {
        string img = Image("ext3");
        Debugfs(img, "ssv journal_inum 0");
        AssertInvalidJournalRecreated(img, "ext3", "has_journal is set but no journal is named");
    }

    [Fact]
    public void JournalNamedInAnotherInode_Inode2KeptAsTheRoot_JournalMadeInInode8()
    {
        string img = Image("ext4");
        Debugfs(img, "ssv journal_inum 2");
        AssertInvalidJournalRecreated(img, "ext4", "the journal is named as inode 2");
        Assert.Contains("Type: directory", DebugfsRead(img, "stat <2>"), StringComparison.Ordinal);
    }
}
