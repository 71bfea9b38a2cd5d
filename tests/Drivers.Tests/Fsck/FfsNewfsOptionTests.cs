using System.Globalization;
using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Newfs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>FFS newfs options, defaults, the geometry next to makefs's, and formatting over old contents.</summary>
public sealed class FfsNewfsOptionTests : IDisposable
{
    private const long Mib = 1L << 20;

    private readonly ScratchDir _scratch = new("ffs-newfs-opt");

    public void Dispose() => _scratch.Dispose();

    private static Dictionary<string, string?> Options(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(kv => kv.Split('=', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : null);

    private static Errno Format(IBlockDevice dev, string options, out string? message) =>
        new FfsFormatter(new ManualClock(FfsNewfsTree.FormatTime)).Format(dev, Options(options), out message);

    private static FfsSuperblock Superblock(IBlockDevice dev)
    {
        FfsSuperblock? sb = FfsSuperblockCheck.Find(dev, out string? why);
        Assert.True(sb is not null, why);
        Assert.Null(FfsSuperblockCheck.Validate(sb!, dev.Length));
        return sb!;
    }

    [Theory]
    [InlineData("version=4", "version=4")]
    [InlineData("endian=middle", "endian=middle")]
    [InlineData("bsize=3000", "bsize=3000")]
    [InlineData("bsize=2048", "bsize=2048")]
    [InlineData("bsize=131072", "bsize=131072")]
    [InlineData("fsize=256", "fsize=256")]
    [InlineData("bsize=65536,fsize=4096", "too small for bsize=65536")]
    [InlineData("bsize=4096,fsize=8192", "larger than bsize")]
    [InlineData("density=0", "density=0")]
    [InlineData("density=-5", "density=-5")]
    [InlineData("minfree=100", "minfree=100")]
    [InlineData("optimization=speed", "optimization=speed")]
    [InlineData("label=0123456789012345678901234567890123", "at most 31 bytes")]
    [InlineData("version=1,label=old", "needs UFS2")]
    [InlineData("nosuch=1", "unknown ffs newfs option 'nosuch'")]
    public void Newfs_ImpossibleOption_ReturnsEinvalAndWritesNothing(string options, string why)
    {
        using var dev = new MemoryBlockDevice(16 * Mib);
        Assert.Equal(Errno.EINVAL, Format(dev, options, out string? message));
        Assert.Contains(why, message, StringComparison.Ordinal);
        Assert.Equal(0, dev.WriteCount);
    }

    [Theory]
    [InlineData(64 * 1024, "")]
    [InlineData(300 * 1024, "bsize=65536")]
    [InlineData(150 * 1024, "version=1,bsize=32768")]
    public void Newfs_DeviceTooSmall_ReturnsEinvalAndWritesNothing(long size, string options)
    {
        using var dev = new MemoryBlockDevice(size);
        Assert.Equal(Errno.EINVAL, Format(dev, options, out string? message));
        Assert.Contains("too small", message, StringComparison.Ordinal);
        Assert.Equal(0, dev.WriteCount);
    }

    [Theory]
    [InlineData(1L << 40, "")]
    [InlineData(16L << 40, "")]
    [InlineData(100L << 40, "bsize=65536")]
    [InlineData(1L << 40, "version=1")]
    [InlineData(3L << 30, "version=1,bsize=4096,density=512")]
    public void Geometry_LargeDevices_FitsEveryGroupMapAndTheSummaryArea(long size, string options)
    {
        FfsFormatOptions? o = FfsFormatOptions.Parse(Options(options), out string? error);
        Assert.True(o is not null, error);
        FfsGeometry? g = FfsGeometry.Choose(size, o!, out error);
        Assert.True(g is not null, error);
        Assert.True(g!.CgSize <= g.Bsize && g.NextFreeOff <= g.CgSize, $"cg {g.CgSize} bytes, maps end at {g.NextFreeOff}");
        Assert.True(g.Dblkno + g.CsFrags + g.Frag <= g.Fpg, "the summary area and the root fit in group 0");
        Assert.True((long)g.Ipg * g.Ncg < 1L << 32);
        Assert.InRange(g.Size * g.Fsize, size - ((long)g.Fpg * g.Fsize) - g.Bsize, size);
        byte[] sb = FfsNewfsSuperblock.Encode(g, new FfsCsum(1, 1, 1, 1), 0, 0, 0);
        Assert.Null(FfsSuperblockCheck.Validate(new FfsSuperblock(sb, g.Order, g.SblockLoc), size));
    }

    [Theory]
    [InlineData(16L << 40, "version=1", "too many for UFS1")]
    [InlineData(1L << 40, "version=1,bsize=4096", "too many for UFS1")]
    public void Geometry_Ufs1BeyondItsFragmentCount_IsRefused(long size, string options, string why)
    {
        FfsFormatOptions o = FfsFormatOptions.Parse(Options(options), out _)!;
        Assert.Null(FfsGeometry.Choose(size, o, out string? error));
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Newfs_ReadOnlyDevice_ReturnsErofs()
    {
        using var dev = new MemoryBlockDevice(8 * Mib, readOnly: true);
        Assert.Equal(Errno.EROFS, Format(dev, "", out string? message));
        Assert.False(string.IsNullOrEmpty(message));
    }

    [Theory]
    [InlineData(4 * Mib, 4096, 512, 3)]
    [InlineData(64 * Mib, 8192, 1024, 4)]
    [InlineData(1200 * Mib, 16384, 2048, 7)]
    public void Newfs_Defaults_AreUfs2LittleEndianWithBlocksSizedToTheDevice(long size, int bsize, int fsize, int ncg)
    {
        string img = FfsNewfsTree.Newfs(_scratch.File("d.img"), size);
        FfsSuperblock sb = FfsNewfsTree.ReadSuperblock(img);
        Assert.True(sb.IsUfs2);
        Assert.False(sb.Order.IsBigEndian);
        Assert.Equal((bsize, fsize), (sb.Bsize, sb.Fsize));
        Assert.Equal(65536, sb.SblockLoc);
        Assert.Equal(8, sb.MinFree);
        Assert.Equal(0, sb.Order.I32(sb.Raw, SuperblockFields.Optim)); // FS_OPTTIME
        Assert.Equal(Ufs2Dinode.PointerArea, sb.MaxSymlinkLen);
        Assert.Equal(FfsGeometry.AvgFileSize, sb.AvgFileSize);
        Assert.Equal(FfsGeometry.AvgFpdir, sb.AvgFpdir);
        Assert.Equal(bsize / 8, sb.MaxBpg);
        Assert.Equal(Math.Max(1, 65536 / bsize), sb.MaxContig);
        Assert.Equal(Math.Min(16, 65536 / bsize), sb.ContigSumSize);
        Assert.Equal(0, sb.Flags);
        Assert.Equal(FfsNewfsTree.FormatTime.Seconds, sb.Time);
        // One inode per four fragments of data, give or take the rounding to inode blocks.
        long wantInodes = size / (4 * fsize);
        Assert.InRange(sb.TotalInodes, wantInodes * 8 / 10, wantInodes);
        // At least four groups (MINCYLGRPS) unless the device is too small for them; more
        // when one group's map would not fit in a block.
        Assert.Equal(ncg, sb.Ncg);
        FfsNewfsTree.AssertClean(img, 1, 1);
    }

    [Theory]
    [InlineData("version=1", 37 * Mib)]
    [InlineData("version=2,endian=big,bsize=65536", 20 * Mib)]
    [InlineData("version=2,bsize=4096,minfree=0", 9 * Mib)]
    public void Newfs_FreshImage_StatvfsCountsAllButTheRootFragmentFree(string options, long size)
    {
        using var dev = new MemoryBlockDevice(size);
        Assert.Equal(Errno.OK, Format(dev, options, out _));
        FfsSuperblock sb = Superblock(dev);
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(dev, true, out Mount? mp, out string? msg));
        Assert.True(mp is not null, msg);
        Assert.Equal(Errno.OK, mp!.Statvfs(out StatVfs st));
        Assert.Equal(Errno.OK, mp.Unmount());
        // fs_dsize is every fragment outside the metadata; only the root directory's is used.
        Assert.Equal(st.Blocks - 1, st.BlocksFree);
        Assert.Equal(st.BlocksFree - (st.Blocks * sb.MinFree / 100), st.BlocksAvailable);
        Assert.Equal(sb.TotalInodes - 3, st.FilesFree);
        Assert.True(st.Blocks * sb.Fsize > size * 8 / 10, $"{st.Blocks} data fragments of {sb.Fsize} bytes on {size}");
    }

    [Fact]
    public void Newfs_64MiBUfs2_GeometryIsSaneNextToMakefs()
    {
        string mine = FfsNewfsTree.Newfs(_scratch.File("mine.img"), 64 * Mib, ("version", "2"));
        string theirs = _scratch.File("makefs.img");
        Directory.CreateDirectory(_scratch.File("empty"));
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", "version=2", "-s", "64m", theirs, _scratch.File("empty"));
        FfsSuperblock a = FfsNewfsTree.ReadSuperblock(mine);
        FfsSuperblock b = FfsNewfsTree.ReadSuperblock(theirs);
        string both = $"ours: bsize {a.Bsize} fsize {a.Fsize} ncg {a.Ncg} fpg {a.Fpg} ipg {a.Ipg}; makefs: bsize {b.Bsize} fsize {b.Fsize} ncg {b.Ncg} fpg {b.Fpg} ipg {b.Ipg}";
        Assert.True(a.IsUfs2 && b.IsUfs2, both);
        Assert.True(a.Bsize == b.Bsize && a.Fsize == b.Fsize, both);
        Assert.True(a.Size == b.Size, both);
        // makefs fits the inode count to the (empty) tree, so it makes fewer, larger groups;
        // both stay within a few groups and one order of magnitude of group size.
        Assert.True(a.Ncg is >= 1 and <= 8 && b.Ncg is >= 1 and <= 8, both);
        Assert.True(a.Fpg * 10L > b.Fpg && b.Fpg * 10L > a.Fpg, both);
        Assert.True(a.TotalInodes >= b.TotalInodes, both);
        Assert.True(a.Dblkno > a.Iblkno && a.Iblkno > a.Cblkno && a.Cblkno > a.Sblkno, both);
    }

    [Theory]
    [InlineData(65536, 800, 1024)]
    [InlineData(2048, 26000, 32768)]
    public void Newfs_Density_SetsTheInodeCount(int density, long min, long max)
    {
        string img = FfsNewfsTree.Newfs(_scratch.File("i.img"), 64 * Mib, ("density", density.ToString(CultureInfo.InvariantCulture)));
        Assert.InRange(FfsNewfsTree.ReadSuperblock(img).TotalInodes, min, max);
        FfsNewfsTree.AssertClean(img, 1, 1);
    }

    [Fact]
    public void Newfs_MinfreeBelowDefault_OptimisesForSpace()
    {
        string img = FfsNewfsTree.Newfs(_scratch.File("m.img"), 16 * Mib, ("minfree", "2"));
        FfsSuperblock sb = FfsNewfsTree.ReadSuperblock(img);
        Assert.Equal(2, sb.MinFree);
        Assert.Equal(1, sb.Order.I32(sb.Raw, SuperblockFields.Optim)); // FS_OPTSPACE
    }

    [Fact]
    public void Newfs_Label_IsTheVolumeName()
    {
        string img = FfsNewfsTree.Newfs(_scratch.File("l.img"), 16 * Mib, ("label", "rump-vol"));
        Assert.Equal("rump-vol", FfsNewfsTree.ReadSuperblock(img).VolumeName);
    }

    [Theory]
    [InlineData("version=1,endian=big,bsize=16384")]
    [InlineData("version=2,bsize=4096")]
    public void Newfs_EveryGroup_HoldsAMatchingSuperblockCopy(string options)
    {
        using var dev = new MemoryBlockDevice(48 * Mib);
        Assert.Equal(Errno.OK, Format(dev, options, out string? message));
        FfsSuperblock sb = Superblock(dev);
        Assert.True(sb.Ncg >= 4, message);
        byte[] copy = new byte[FfsSuperblockCheck.ReadSize];
        for (int cg = 0; cg < sb.Ncg; cg++)
        {
            long at = sb.FragToBytes(sb.CgStart(cg) + sb.Sblkno);
            Assert.Equal(Errno.OK, dev.Read(at, copy));
            var c = new FfsSuperblock(copy, sb.Order, at);
            Assert.Equal((sb.Magic, sb.Ncg, sb.Fpg, sb.Ipg, sb.Size, sb.CsAddr, sb.SblockLoc), (c.Magic, c.Ncg, c.Fpg, c.Ipg, c.Size, c.CsAddr, c.SblockLoc));
        }
    }

    [Fact]
    public void Newfs_Ufs2_InitialisesTwoInodeBlocksAndTheDriverTheRest()
    {
        using var dev = new MemoryBlockDevice(4 * Mib);
        Assert.Equal(Errno.OK, Format(dev, "bsize=4096", out _));
        FfsSuperblock sb = Superblock(dev);
        byte[] cgBlock = new byte[sb.CgSize];
        Assert.Equal(Errno.OK, dev.Read(sb.FragToBytes(sb.CgTod(0)), cgBlock));
        Assert.Equal(2 * sb.Inopb, new CylinderGroup(cgBlock, sb.Order).InitedIblk);

        Assert.Equal(Errno.OK, FfsTestMount.TryMount(dev, false, out Mount? mp, out string? msg));
        Assert.True(mp is not null, msg);
        Assert.Equal(Errno.OK, mp!.Root(out Vnode? root));
        int files = 3 * sb.Inopb;
        for (int i = 0; i < files; i++)
        {
            Assert.Equal(Errno.OK, Vop.Create(root!, $"f{i}", 0x1A4, Credentials.Root, out Vnode? vp));
            vp!.Release();
        }
        root!.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
        FfsCheckReport r = FfsCheck.Run(dev);
        Assert.True(r.IsClean, r.ToString());
        Assert.Equal(1 + files, r.InodesInUse);
    }

    [Theory]
    [InlineData("version=1")]
    [InlineData("version=2,endian=big")]
    public void Newfs_OverGarbage_NeedsNothingZeroedBeforehand(string options)
    {
        byte[] junk = new byte[12 * Mib];
        new Random(5).NextBytes(junk);
        using var dev = new MemoryBlockDevice(junk);
        Assert.Equal(Errno.OK, Format(dev, options, out _));
        FfsCheckReport fresh = FfsCheck.Run(dev);
        Assert.True(fresh.IsClean, fresh.ToString());
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(dev, false, out Mount? mp, out string? msg));
        Assert.True(mp is not null, msg);
        var tree = new FfsNewfsTree();
        FfsSuperblock sb = Superblock(dev);
        tree.Write(mp!, sb.Bsize, sb.Fsize);
        tree.Verify(mp!);
        Assert.Equal(Errno.OK, mp!.Unmount());
        FfsCheckReport after = FfsCheck.Run(dev);
        Assert.True(after.IsClean, after.ToString());
        Assert.Equal(tree.InodeCount, after.InodesInUse);
    }

    [Fact]
    public void Newfs_OverAMakefsUfs1Image_OnlyTheNewFileSystemIsFound()
    {
        string img = _scratch.File("old.img");
        Directory.CreateDirectory(_scratch.File("empty"));
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-B", "be", "-o", "version=1,bsize=65536,fsize=8192", "-s", "32m", img, _scratch.File("empty"));
        FfsNewfsTree.Newfs(img, new FileInfo(img).Length, ("version", "2"), ("bsize", "8192"));
        FfsSuperblock sb = FfsNewfsTree.ReadSuperblock(img);
        Assert.True(sb.IsUfs2 && !sb.Order.IsBigEndian && sb.Bsize == 8192, $"found {sb.Magic:x} at {sb.Location}");
        byte[] old = new byte[4];
        using (var f = File.OpenRead(img))
        {
            f.Position = 8192 + SuperblockFields.Magic;
            f.ReadExactly(old);
        }
        Assert.Equal(new byte[4], old);
        FfsNewfsTree.AssertClean(img, 1, 1);
    }
}
