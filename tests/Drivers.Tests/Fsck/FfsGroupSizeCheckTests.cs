using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A one-group file system whose fs_fpg claims more fragments than the file system has: the
/// superblock is refused (exit 8, one line, nothing written), as a two-group one already
/// was, and group maps smaller than the superblock's geometry bound every map walk, so no
/// header or superblock value indexes past the group block.
/// </summary>
public sealed class FfsGroupSizeCheckTests
{
    [Theory]
    [InlineData(1, 16384, 2048, 2)]
    [InlineData(1, 16384, 2048, 8)]
    [InlineData(2, 32768, 4096, 2)]
    [InlineData(2, 32768, 4096, 8)]
    public void Check_OneGroupLargerThanTheFileSystem_RefusedExit8NothingWritten(int version, int bsize, int fsize, int factor)
    {
        byte[] img = FfsSmallImages.Image(version, bsize, fsize);
        FfsSuperblock sb = FfsSmallImages.Superblock(img);
        Assert.Equal(1, sb.Ncg);
        FfsSmallImages.PokeSuperblock(img, SuperblockFields.Fpg, sb.Fpg * factor);
        byte[] damaged = (byte[])img.Clone();

        foreach (bool repair in new[] { false, true })
        {
            CheckReport r = new FfsChecker().Check(new MemoryBlockDevice(img), repair);
            Assert.True(r.ExitCode == 8, FfsRepairTests.Describe(r));
            Assert.Contains("larger than the file system", r.OperationalError ?? "", StringComparison.Ordinal);
            Assert.DoesNotContain('\n', r.OperationalError!);
        }
        Assert.True(damaged.AsSpan().SequenceEqual(img), "a refused image was written");
        Errno rc = FfsTestMount.TryMount(new MemoryBlockDevice(img, readOnly: true), true, out _, out _);
        Assert.NotEqual(Errno.OK, rc);
    }

    /// <summary>The undamaged one-group images (fs_fpg equal to the size) still pass.</summary>
    [Theory]
    [InlineData(1, 16384, 2048)]
    [InlineData(2, 32768, 4096)]
    public void Check_OneGroupOfTheFileSystemsSize_Clean(int version, int bsize, int fsize)
    {
        byte[] img = FfsSmallImages.Image(version, bsize, fsize);
        CheckReport r = new FfsChecker().Check(new MemoryBlockDevice(img, readOnly: true), repair: false);
        Assert.True(r.ExitCode == 0, FfsRepairTests.Describe(r));
    }

    /// <summary>
    /// fs_cgsize below what the maps of fs_ipg inodes and fs_fpg fragments need (CGSIZE):
    /// far below (512 bytes) or a few bytes short. The kernel's ffs_superblock_validate
    /// refuses such a superblock, and fsck_ffs's pass 5 would lay its maps out past the group
    /// buffer: the check and -y both stop at the superblock (exit 8, one line, nothing
    /// written) and the driver refuses the mount.
    /// </summary>
    [Theory]
    [InlineData(1, 16384, 2048, 0)]
    [InlineData(2, 32768, 4096, 0)]
    [InlineData(2, 4096, 512, 0)]
    [InlineData(1, 16384, 2048, 1)]
    [InlineData(2, 4096, 512, 1)]
    public void Check_GroupBlockSmallerThanItsMaps_RefusedExit8NothingWritten(int version, int bsize, int fsize, int justShort)
    {
        byte[] img = FfsSmallImages.Image(version, bsize, fsize);
        FfsSuperblock sb = FfsSmallImages.Superblock(img);
        long mapsEnd = FfsCylinderGroupHeader.Layout(sb).NextFreeOff;
        int cgsize = justShort == 1 ? (int)mapsEnd - 4 : 512;
        Assert.True(cgsize < mapsEnd && cgsize <= sb.CgSize, $"maps end at {mapsEnd}, fs_cgsize {sb.CgSize}");
        FfsSmallImages.PokeSuperblock(img, SuperblockFields.CgSize, cgsize);
        byte[] damaged = (byte[])img.Clone();

        FfsCheckReport found = FfsCheck.Run(new MemoryBlockDevice(img, readOnly: true));
        Assert.Contains("too small for its maps", found.Unusable ?? "", StringComparison.Ordinal);
        foreach (bool repair in new[] { false, true })
        {
            CheckReport r = new FfsChecker().Check(new MemoryBlockDevice(img, readOnly: !repair), repair);
            Assert.True(r.ExitCode == 8, FfsRepairTests.Describe(r));
            Assert.Contains($"cylinder-group size {cgsize} too small for its maps", r.OperationalError ?? "", StringComparison.Ordinal);
            Assert.DoesNotContain('\n', r.OperationalError!);
        }
        Assert.True(damaged.AsSpan().SequenceEqual(img), "a refused image was written");
        Errno rc = FfsTestMount.TryMount(new MemoryBlockDevice(img, readOnly: true), true, out _, out string? msg);
        Assert.NotEqual(Errno.OK, rc);
        Assert.Contains("too small for its maps", msg ?? "", StringComparison.Ordinal);
    }
}
