using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// UFS2 cg_initediblk below inodes the group's map shows in use: the inode blocks are
/// intact, so the check reads those inodes as any other and says the count is raised, the
/// repair raises it (to whole inode blocks), and no file of the group is lost.
/// </summary>
public sealed class FfsCgInitedIblkTests
{
    [Fact]
    public void Check_InitialisedCountZeroInAGroupWithFiles_RaisedAndEveryFileKept()
    {
        byte[] img = FfsCgHeaderImages.Image(2);
        FfsSuperblock sb = FfsCgHeaderImages.Superblock(img);
        int last = LastUsedInode(img, sb, cg: 1);
        Assert.True(last >= 0, "group 1 of the image holds no files");
        int raised = Math.Min(sb.Ipg, (last + sb.Inopb) / sb.Inopb * sb.Inopb);
        FfsCgHeaderImages.Poke(img, 1, CgFields.InitedIblk, 0);
        var dev = new MemoryBlockDevice(img);
        var checker = new FfsChecker();

        CheckReport n = checker.Check(dev, repair: false);
        Assert.True(n.ExitCode == 4, FfsRepairTests.Describe(n));
        Assert.Contains(n.Findings, f => f.Location == "cylinder group 1"
            && f.Message == $"cg_initediblk 0 below used inodes; raised to {raised}");
        Assert.DoesNotContain(n.Findings, f => f.Phase is "blocks" or "directories" or "link counts");
        CheckReport y = checker.Check(dev, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        Assert.True(checker.Check(dev, repair: false).ExitCode == 0);
        Assert.Equal(raised, FfsCgHeaderImages.Peek(img, 1, CgFields.InitedIblk));
        FfsCgHeaderCheckTests.AssertTreeKept(img, 2);
    }

    /// <summary>A count past fs_ipg is none at all: reported, and set from the map, with the tree kept.</summary>
    [Fact]
    public void Check_InitialisedCountPastTheGroup_SetFromTheMapAndEveryFileKept()
    {
        byte[] img = FfsCgHeaderImages.Image(2);
        FfsSuperblock sb = FfsCgHeaderImages.Superblock(img);
        FfsCgHeaderImages.Poke(img, 1, CgFields.InitedIblk, sb.Ipg + sb.Inopb);
        var dev = new MemoryBlockDevice(img);
        var checker = new FfsChecker();

        CheckReport n = checker.Check(dev, repair: false);
        Assert.True(n.ExitCode == 4, FfsRepairTests.Describe(n));
        Assert.Contains(n.Findings, f => f.Location == "cylinder group 1" && f.Message.Contains("cg_initediblk", StringComparison.Ordinal));
        Assert.Equal(1, checker.Check(dev, repair: true).ExitCode);
        Assert.Equal(0, checker.Check(dev, repair: false).ExitCode);
        int after = FfsCgHeaderImages.Peek(img, 1, CgFields.InitedIblk);
        Assert.True(after > LastUsedInode(img, sb, 1) && after <= sb.Ipg, $"cg_initediblk {after}");
        FfsCgHeaderCheckTests.AssertTreeKept(img, 2);
    }

    /// <summary>The corpus image's group 0 (root and every file there) with the count at 0: each file kept.</summary>
    [Theory]
    [InlineData("ffs2-le-8k-f2")]
    [InlineData("ffs2-be-8k-f2")]
    public void Repair_InitialisedCountZeroInGroupZero_TreeKept(string image)
    {
        var img = new FfsDamage(Corpus.Get(image).ImagePath);
        Dictionary<string, string> before = FfsRepairTests.Tree(img.Bytes);
        img.WithGroup(0, g => g.InitedIblk = 0);
        CheckReport n = new FfsChecker().Check(img.Device, repair: false);
        Assert.Contains(n.Findings, f => f.Message.StartsWith("cg_initediblk 0 below used inodes; raised to ", StringComparison.Ordinal));
        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        Assert.True(FfsCheck.Run(img.Device).IsClean);
        Assert.Equal(before, FfsRepairTests.Tree(img.Bytes));
    }

    private static int LastUsedInode(byte[] img, FfsSuperblock sb, int cg)
    {
        var g = new CylinderGroup(img.AsSpan((int)sb.FragToBytes(sb.CgTod(cg)), sb.CgSize), sb.Order);
        for (int i = sb.Ipg - 1; i >= 0; i--)
        {
            if (g.InodeUsed(i))
            {
                return i;
            }
        }
        return -1;
    }
}
