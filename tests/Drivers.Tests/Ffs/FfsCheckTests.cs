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
}
