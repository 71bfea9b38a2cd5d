using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>The consistency checker: clean on makefs images, and it finds planted damage.</summary>
public class FfsCheckTests
{
    public static TheoryData<string> Images => Corpus.NamesOf("ffs");

    internal static FfsCheckReport CheckImage(string path)
    {
        Assert.Equal(Errno.OK, FileBlockDevice.Open(path, true, out FileBlockDevice? dev, out _));
        using (dev)
        {
            return FfsCheck.Run(dev!);
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Check_MakefsImage_IsClean(string name)
    {
        FfsCheckReport r = CheckImage(Corpus.Get(name).ImagePath);
        Assert.True(r.IsClean, r.ToString());
        Assert.True(r.InodesInUse >= 1 && r.Directories >= 1);
    }

    [Fact]
    public void Check_FreedBlockStillReferenced_ReportsBitmapAndCounts()
    {
        byte[] img = File.ReadAllBytes(Corpus.Get("ffs1-le-8k-f2").ImagePath);
        var dev = new MemoryBlockDevice(img);
        FfsSuperblock sb = FfsSuperblockCheck.Find(dev, out _)!;
        // Mark the first data fragment of group 0 (the root directory's) free.
        long cgOff = sb.FragToBytes(sb.CgTod(0));
        var g = new CylinderGroup(img.AsSpan((int)cgOff, sb.CgSize), sb.Order);
        int f = (int)sb.CgDMin(0);
        while (g.FragFree(f))
        {
            f++;
        }
        g.SetFragFree(f, true);
        FfsCheckReport r = FfsCheck.Run(dev);
        Assert.Contains(r.Findings, x => x.Kind == FfsFindingKind.Bitmap);
        Assert.Contains(r.Findings, x => x.Kind == FfsFindingKind.Summary);
    }

    /// <summary>
    /// Only the root's bit in the inode map is cleared: that bit and the free-inode counts
    /// are reported, not every file below the root as unreferenced (fsck_ffs trusts the
    /// inode's contents too).
    /// </summary>
    [Fact]
    public void Check_RootFreeInTheInodeMap_OnlyTheBitAndTheCountsReported()
    {
        byte[] img = File.ReadAllBytes(Corpus.Get("ffs2-le-8k-f2").ImagePath);
        var dev = new MemoryBlockDevice(img);
        FfsSuperblock sb = FfsSuperblockCheck.Find(dev, out _)!;
        var g = new CylinderGroup(img.AsSpan((int)sb.FragToBytes(sb.CgTod(0)), sb.CgSize), sb.Order);
        g.SetInodeUsed(FfsSuperblock.RootIno, false);
        FfsCheckReport r = FfsCheck.Run(dev);
        Assert.Equal([$"mode 41ed but free in the map"], r.Findings.Where(f => f.Kind == FfsFindingKind.Inode).Select(f => f.Message));
        Assert.Equal(FfsSuperblock.RootIno, r.Findings.Single(f => f.Kind == FfsFindingKind.Inode).Location);
        Assert.All(r.Findings, f => Assert.True(f.Kind is FfsFindingKind.Inode or FfsFindingKind.Summary, r.ToString()));
        string counts = $"nifree {g.Nifree}, counted {g.Nifree + 1}";
        Assert.Contains(r.Findings, f => f.Message == counts);
    }

    [Fact]
    public void Check_WrongLinkCount_Reported()
    {
        byte[] img = File.ReadAllBytes(Corpus.Get("ffs2-le-8k-f2").ImagePath);
        var dev = new MemoryBlockDevice(img);
        FfsSuperblock sb = FfsSuperblockCheck.Find(dev, out _)!;
        long off = sb.FragToBytes(sb.InoToFsba(FfsSuperblock.RootIno)) + (sb.InoToFsbo(FfsSuperblock.RootIno) * sb.DinodeSize);
        sb.Order.W16(img.AsSpan((int)off), Ufs2Dinode.Nlink, 99);
        FfsCheckReport r = FfsCheck.Run(dev);
        Assert.Contains(r.Findings, x => x.Kind == FfsFindingKind.LinkCount && x.Location == FfsSuperblock.RootIno);
    }

    [Fact]
    public void Checker_ThroughVfsInterface_ReportsExitCodes()
    {
        FsDrivers.AllDrivers.Register();
        Vfs.IFileSystemChecker checker = Vfs.FileSystemTools.FindChecker("ffs")!;
        Assert.Equal(Errno.OK, FileBlockDevice.Open(Corpus.Get("ffs1-le-8k-f2").ImagePath, true, out FileBlockDevice? dev, out _));
        using (dev)
        {
            Assert.Equal(0, checker.Check(dev!, repair: false).ExitCode);
        }
        byte[] img = File.ReadAllBytes(Corpus.Get("ffs2-le-8k-f2").ImagePath);
        var bad = new MemoryBlockDevice(img);
        FfsSuperblock sb = FfsSuperblockCheck.Find(bad, out _)!;
        long off = sb.FragToBytes(sb.InoToFsba(FfsSuperblock.RootIno)) + (sb.InoToFsbo(FfsSuperblock.RootIno) * sb.DinodeSize);
        sb.Order.W16(img.AsSpan((int)off), Ufs2Dinode.Nlink, 7);
        Assert.Equal(4, checker.Check(bad, repair: false).ExitCode);
        Assert.Equal(8, checker.Check(new MemoryBlockDevice(1 << 20), repair: false).ExitCode);
    }
}
