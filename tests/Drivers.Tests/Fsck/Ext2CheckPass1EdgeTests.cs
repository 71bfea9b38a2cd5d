using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Pass 1 cases e2fsck judges before anything else: dtimes that are orphan-list links, a
/// block map with more illegal pointers than e2fsck follows, and a group flagged
/// INODE_UNINIT on a file system without group checksums.
/// </summary>
public sealed class Ext2CheckPass1EdgeTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-pass1");

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// The root's only block is garbage, so every name in it goes, lost+found's too. A new
    /// lost+found takes the lowest free inode, past group 0's unused-inode mark when every
    /// inode below it is taken, as e2fsck's does; the old directories are reconnected there.
    /// Before, no inode below the mark was free and the reconnection failed on every run.
    /// </summary>
    [Fact]
    public void Check_RootLostEveryName_NewLostFoundPastTheUnusedMark()
    {
        string img = Make(_dir, "ext4");
        Debugfs(img, "zap_block -f / -p 0xa5 0");
        string oracle = CopyBeside(img, "oracle.img");
        OracleTool.Run("e2fsck", "-fy", oracle);
        RepairRoundTrip(img);
        Assert.Equal(InodeNumber(oracle, "/lost+found"), InodeNumber(img, "/lost+found"));
        Assert.Equal(Names(oracle, "/lost+found"), Names(img, "/lost+found"));
    }

    /// <summary>
    /// e2fsck's "The bad block inode looks invalid": inode 1 with a mode, a link count or an
    /// owner is no list of bad blocks; both find it and it is zeroed (before, only its direct
    /// pointers were cleared, and e2fsck aborted on the result).
    /// </summary>
    [Theory]
    [InlineData("sif <1> mode 0100644")]
    [InlineData("sif <1> links_count 7")]
    [InlineData("sif <1> uid 1000")]
    public void Check_BadBlocksInodeWithAModeOrLinks_Zeroed(string damage)
    {
        string img = Make(_dir, "ext4-nocsum");
        Debugfs(img, "sif <1> block[2] 5000");
        Debugfs(img, damage);
        (CheckReport before, _) = ConvergingRepair(img);
        Assert.Contains(before.Findings, f => f.Location == "inode 1" && f.Message.Contains("bad-blocks inode looks invalid", StringComparison.Ordinal));
        string stat = DebugfsRead(img, "stat <1>");
        Assert.Contains("Mode:  0000", stat, StringComparison.Ordinal);
        Assert.Contains("Links: 0   Blockcount: 0", stat, StringComparison.Ordinal);
    }

    /// <summary>
    /// A missing /lost+found is not reported under -n (e2fsck -n does not either) but -y makes
    /// it and counts that as a repair (exit 1), as e2fsck -y does.
    /// </summary>
    [Fact]
    public void Check_LostFoundMissing_YesMakesItAndExitsOne()
    {
        string img = Make(_dir, "ext4");
        Debugfs(img, "rmdir /lost+found");
        AssertBothClean(img);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        Assert.Contains(fix.Findings, f => f.Repaired && f.Message.Contains("/lost+found not found; created", StringComparison.Ordinal));
        AssertBothClean(img);
        Assert.NotEqual(0u, InodeNumber(img, "/lost+found"));
    }

    /// <summary>
    /// A device with the immutable flag and i_block[4..] in use is no device the kernel made
    /// (e2fsck_pass1_check_device_inode): the inode and its name go, as with e2fsck. With
    /// i_block[4..] zero only the flag is cleared and the device stays.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Check_DeviceWithImmutableFlag_ClearedOnlyWithBlocksPastTheFourth(bool laterBlock)
    {
        string img = Make(_dir, "ext4");
        Debugfs(img, "mknod dev0 c 1 2");
        Debugfs(img, "sif /dev0 flags 0x10");
        if (laterBlock)
        {
            Debugfs(img, "sif /dev0 block[5] 7");
        }
        string oracle = CopyBeside(img, "oracle.img");
        OracleTool.Run("e2fsck", "-fy", oracle);
        if (laterBlock)
        {
            RepairRoundTrip(img);
        }
        else
        {
            // The flag alone: e2fsck -n lets it stand and exits 0; -y clears it (exit 1).
            AssertBothClean(img);
            CheckReport fix = Check(img, repair: true);
            Assert.True(fix.ExitCode == 1, Describe(fix));
            Assert.Contains(fix.Findings, f => f.Message.Contains("flags 0x10 do not apply", StringComparison.Ordinal));
            AssertBothClean(img);
            Assert.Contains("Flags: 0x0", DebugfsRead(img, "stat /dev0"), StringComparison.Ordinal);
        }
        Assert.Equal(Names(oracle, "/"), Names(img, "/"));
        Assert.Equal(!laterBlock, Names(img, "/").Contains("dev0"));
        Assert.Equal(FreeCounts(oracle), FreeCounts(img));
    }

    /// <summary>A symlink with the immutable flag: e2fsck -n lets it stand (exit 0), -y clears it; so do we.</summary>
    [Fact]
    public void Check_SymlinkWithImmutableFlag_NoteUnderN_ClearedUnderY()
    {
        string img = Make(_dir, "ext4");
        Debugfs(img, "symlink sl /somewhere");
        Debugfs(img, "sif /sl flags 0x10");
        CheckReport note = Check(img, repair: false);
        Assert.True(note.ExitCode == 0, Describe(note));
        Assert.Contains(note.Findings, f => f.Message.Contains("symlink has the immutable or append-only flag", StringComparison.Ordinal));
        AssertBothClean(img);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);
        Assert.Contains("Flags: 0x0", DebugfsRead(img, "stat /sl"), StringComparison.Ordinal);
        Assert.DoesNotContain("immutable", OracleTool.RunExpect(0, "e2fsck", "-fn", img).Stdout, StringComparison.Ordinal);
    }

    private static string[] Names(string img, string dir) =>
        [.. DebugfsRead(img, $"ls -p {dir}").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('/')).Where(f => f.Length > 5 && f[5].Length > 0 && f[1] != "0").Select(f => f[5]).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Without a journal, inode 8 is judged by its links, i_blocks and first pointer only, as
    /// e2fsck judges it: a pointer further on is not walked (ours used to claim it, set
    /// i_blocks, and then clear the inode in a second run).
    /// </summary>
    [Fact]
    public void Check_UnusedJournalInodeWithALaterPointer_CleanForBoth()
    {
        string img = Make(_dir, "ext2");
        Debugfs(img, $"sif <8> block[1] {Bmap(img, "/", 0)}");
        AssertBothClean(img);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 0, Describe(fix));
        AssertBothClean(img);
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Check_DeletedInodeWithALowDtime_WasOnABrokenOrphanList_DamagedForBoth(string flavour)
    {
        string img = Make(_dir, flavour);
        uint ino = InodeNumber(img, "/a.txt");
        Debugfs(img, "rm /a.txt");
        Debugfs(img, $"sif <{ino}> dtime 5");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("orphan list", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_InUseFilesWithLowDtimesAndNoLinks_ReleasedAndStamped()
    {
        string img = Make(_dir, "ext4");
        for (int i = 0; i < 5; i++)
        {
            Debugfs(img, $"sif /many/file{i} dtime 1000");
            Debugfs(img, $"sif /many/file{i} links_count 0");
        }
        RepairRoundTrip(img);
    }

    /// <summary>
    /// An indirect pointer naming another file's block of random bytes: e2fsck stops at a dozen
    /// illegal entries and clears the inode; ours too, and leaves that block's bytes alone.
    /// </summary>
    [Fact]
    public void Check_IndirectPointerIntoAnotherFilesData_InodeClearedOtherFileIntact()
    {
        string src = _dir.File("src");
        Directory.CreateDirectory(src);
        var rng = new Random(17);
        byte[] noise = new byte[30_000];
        rng.NextBytes(noise);
        File.WriteAllBytes(Path.Combine(src, "noise.bin"), noise);
        File.WriteAllBytes(Path.Combine(src, "victim.bin"), new byte[20_000]);
        string img = _dir.File("ind.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-d", src, img, "8M");
        long noiseBlock = Bmap(img, "/noise.bin", 10);
        Debugfs(img, $"sif /victim.bin block[IND] {noiseBlock}");
        RepairRoundTrip(img);
        string after = _dir.File("noise-after");
        OracleTool.RunExpect(0, "debugfs", "-R", $"dump /noise.bin {after}", img);
        Assert.Equal(noise, File.ReadAllBytes(after));
    }

    [Fact]
    public void Check_Ext2GroupFlaggedInodeUninitWithInodesInUse_DamagedForBoth()
    {
        string img = Make(_dir, "ext2");
        Debugfs(img, "set_bg 0 flags 1");
        RepairRoundTrip(img);
    }

    /// <summary>
    /// A pre-1970 time stored by an old kernel (negative seconds, both epoch bits set) reads
    /// as a date past 2310. e2fsck lets "no" stand (-n exits 0) and -y clears the epoch bits;
    /// ours does the same, leaving the other bits of the extra field (nanoseconds) alone.
    /// </summary>
    [Fact]
    public void Check_PreEpochTimeWithBothEpochBits_NotDamageButYesClearsThem()
    {
        string img = _dir.File("epoch.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-I", "256", img, "8M");
        string host = _dir.File("epoch-content");
        File.WriteAllText(host, "old\n");
        Debugfs(img, $"write {host} f");
        Debugfs(img, "sif f mtime 0x80000010");
        Debugfs(img, "sif f mtime_extra 7");
        ToolResult oracle = E2fsck(img);
        Assert.True(oracle.ExitCode == 0 && oracle.Stdout.Contains("likely pre-1970", StringComparison.Ordinal), oracle.Transcript);
        CheckReport before = Check(img, repair: false);
        Assert.True(before.ExitCode == 0, Describe(before));
        Assert.Contains(before.Findings, f => f.Severity == CheckSeverity.Note && f.Message.Contains("pre-1970", StringComparison.Ordinal));
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        Assert.Contains("mtime: 0x80000010:00000004", DebugfsRead(img, "stat f"), StringComparison.Ordinal);
        Assert.DoesNotContain("pre-1970", E2fsck(img).Stdout, StringComparison.Ordinal);
        AssertBothClean(img);
    }
}
