using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A primary superblock or descriptor table that must be refused, with group 1's copies
/// intact: e2fsck "tries backup blocks", checks with them and writes them back as the
/// primary; so do we. Under -n the check reports it and writes nothing; after -y both
/// checkers find the image clean and every file reads as before.
/// </summary>
public sealed class Ext2CheckBackupSuperblockTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-backup-sb");

    public void Dispose() => _dir.Dispose();

    private Dictionary<string, string> Tree(string img, string name) => RdumpTree(_dir, img, name);

    private static void Zero(string img, long offset, int count) => Patch(img, offset, new byte[count]);

    [Theory]
    [InlineData("ext2", "magic")]
    [InlineData("ext4", "magic")]
    [InlineData("ext4-nocsum", "magic")]
    [InlineData("ext2", "descriptors")]
    [InlineData("ext4", "descriptors")]
    [InlineData("ext4", "whole superblock")]
    [InlineData("ext2", "inode table over the descriptors")]
    public void DamagedPrimary_CheckedWithGroup1Copy_AndRewrittenFromIt(string flavour, string damage)
    {
        string img = Make(_dir, flavour);
        Dictionary<string, string> before = Tree(img, "before");
        switch (damage)
        {
            case "magic":
                Zero(img, 1024 + 0x38, 2);
                break;
            case "inode table over the descriptors":
                // e2fsck's check_desc refuses a table whose inode table overlaps the descriptor blocks.
                Debugfs(img, "set_bg 0 inode_table 2");
                break;
            case "descriptors":
                // 1 KiB blocks: the primary table starts in block 2.
                Zero(img, 2 * 1024, 1024);
                break;
            default:
                Zero(img, 1024, 1024);
                break;
        }
        byte[] damaged = File.ReadAllBytes(img);

        CheckReport n = Check(img, repair: false);
        Assert.True(n.ExitCode == 4, Describe(n));
        Assert.Contains(n.Findings, f => f.Phase == "superblock" && f.Message.Contains("checked with the backup in block 8193", StringComparison.Ordinal));
        Assert.True(damaged.AsSpan().SequenceEqual(File.ReadAllBytes(img)), "a check without -y wrote to the image");

        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        AssertBothClean(img);
        Assert.Equal(before, Tree(img, "after"));
        Assert.Contains("Filesystem magic number:  0xEF53", DebugfsRead(img, "stats"), StringComparison.Ordinal);
    }

    /// <summary>meta_bg: the only descriptor block zeroed; its copy in the meta group's second group is read, as libext2fs reads it.</summary>
    [Fact]
    public void MetaBgDescriptorBlockZeroed_CopyInTheSecondGroupUsed()
    {
        string src = _dir.File("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "keep"), "kept");
        string img = _dir.File("meta-bg.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext4", "-O", "64bit,meta_bg,^resize_inode", "-d", src, img, "24M");
        Zero(img, 2 * 1024, 1024);
        CheckReport n = Check(img, repair: false);
        Assert.True(n.ExitCode == 4, Describe(n));
        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        AssertBothClean(img);
        Assert.Equal("kept", DebugfsRead(img, "cat /keep"));
    }

    [Fact]
    public void NoUsableCopy_RefusedWithExit8_NothingWritten()
    {
        string img = Make(_dir, "ext2");
        Zero(img, 1024 + 0x38, 2);
        Zero(img, (8193L * 1024) + 0x38, 2);
        byte[] damaged = File.ReadAllBytes(img);
        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 8 && y.OperationalError!.Contains("bad magic number", StringComparison.Ordinal), Describe(y));
        Assert.True(damaged.AsSpan().SequenceEqual(File.ReadAllBytes(img)), "a refused check wrote to the image");
    }
}
