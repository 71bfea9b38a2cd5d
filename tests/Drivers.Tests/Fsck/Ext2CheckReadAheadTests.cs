using RumpFs.FsDrivers.Ext2fs.Check;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Pass 1 reads the inode tables a run of blocks at a time rather than one device read per
/// inode (as e2fsck's inode scan reads them), and an inode a repair changed is read back as
/// changed, never from the run read before the change.
/// </summary>
public sealed class Ext2CheckReadAheadTests
{
    [Fact]
    public void Check_Ext2WithoutUnusedInodeMarks_ReadsItsInodeTablesInRunsNotPerInode()
    {
        using var dir = new ScratchDir("ext2ck-ahead");
        // ext2 has no unused-inode counts: every inode of every group is scanned.
        string img = Make(dir, "ext2");
        var dev = new MemoryBlockDevice(File.ReadAllBytes(img), readOnly: true);
        CheckReport report = new Ext2Checker().Check(dev, new CheckOptions { Repair = false });
        Assert.True(report.ExitCode == 0, Describe(report));
        uint inodes = uint.Parse(System.Text.RegularExpressions.Regex.Match(
            DebugfsRead(img, "stats"), @"Inode count:\s+(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(inodes >= 4000, $"inodes {inodes}");
        // One read per inode would be at least `inodes`; by runs it is the groups' tables, the
        // bitmaps and descriptors, and the directories' blocks.
        Assert.True(dev.ReadCount < inodes / 16, $"{dev.ReadCount} device reads for {inodes} inodes");
    }

    /// <summary>
    /// A one-group image, so pass 1's last run still holds the inode when pass 4 reads it
    /// again: the dtime pass 1 clears must not come back when pass 4 fixes the link count.
    /// </summary>
    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Check_InodeRepairedInPass1AndAgainInPass4_KeepsBothRepairs(string flavour)
    {
        using var dir = new ScratchDir("ext2ck-ahead");
        string src = dir.File("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "a.txt"), "hello\n");
        string img = dir.File("one-group.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", flavour, "-d", src, img, "4M");
        Assert.Contains(" Group  0:", DebugfsRead(img, "stats"), StringComparison.Ordinal);
        Assert.DoesNotContain(" Group  1:", DebugfsRead(img, "stats"), StringComparison.Ordinal);
        Debugfs(img, "set_inode_field /a.txt dtime 12345");
        Debugfs(img, "set_inode_field /a.txt links_count 5");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("dtime set", StringComparison.Ordinal));
        string stat = DebugfsRead(img, "stat /a.txt");
        // debugfs shows a dtime line only when the field is set.
        Assert.DoesNotContain("dtime:", stat, StringComparison.Ordinal);
        Assert.Contains("Links: 1", stat, StringComparison.Ordinal);
    }
}
