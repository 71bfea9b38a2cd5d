using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A wrong fs_maxfilesize in the superblock, as fsck_ffs's setup treats it ("INCORRECT
/// MAXFILESIZE=... IN SUPERBLOCK", FIX): -n reports it (exit 4, nothing written), -y sets it
/// to what the block size gives (exit 1), a second run is clean. The driver never takes the
/// stored value: it bounds files by the computed limit either way.
/// </summary>
public sealed class FfsMaxFileSizeFieldTests
{
    [Theory]
    [InlineData(1, 4096, 512, 1000L)]
    [InlineData(2, 4096, 512, 1000L)]
    [InlineData(1, 16384, 2048, -1L)]
    [InlineData(2, 32768, 4096, long.MaxValue)]
    public void Check_WrongMaxFileSize_ReportedThenFixedOnce(int version, int bsize, int fsize, long stored)
    {
        using var dir = new ScratchDir("ffsmaxfs");
        FfsDamage img = FfsSmallImages.Damage(dir, FfsSmallImages.Image(version, bsize, fsize));
        long right = img.Sb.SetupMaxFileSize;
        Assert.Equal(right, StoredMaxFileSize(img.Bytes));
        SetStoredMaxFileSize(img.Bytes, stored);
        byte[] damaged = (byte[])img.Bytes.Clone();

        FfsCheckReport found = FfsCheck.Run(new MemoryBlockDevice(img.Bytes, readOnly: true));
        Assert.Null(found.Unusable);
        FfsFinding only = Assert.Single(found.Findings);
        Assert.Equal(FfsFindingKind.Superblock, only.Kind);
        Assert.Contains($"fs_maxfilesize {stored}", only.Message, StringComparison.Ordinal);
        Assert.Contains("INCORRECT MAXFILESIZE", only.Message, StringComparison.Ordinal);

        var checker = new FfsChecker();
        CheckReport n = checker.Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false);
        Assert.True(n.ExitCode == 4, FfsRepairTests.Describe(n));
        Assert.True(damaged.AsSpan().SequenceEqual(img.Bytes), "-n changed the image");

        CheckReport y = checker.Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        Assert.Equal(right, StoredMaxFileSize(img.Bytes));
        byte[] repaired = (byte[])img.Bytes.Clone();
        CheckReport y2 = checker.Check(img.Device, repair: true);
        Assert.True(y2.ExitCode == 0, FfsRepairTests.Describe(y2));
        Assert.True(repaired.AsSpan().SequenceEqual(img.Bytes), "a second -y changed the image");
        CheckReport again = checker.Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false);
        Assert.True(again.ExitCode == 0, FfsRepairTests.Describe(again));
    }

    /// <summary>A stored limit far below the files' sizes changes nothing for the driver: every file reads back whole.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Driver_WrongMaxFileSize_ComputedLimitStillUsed(int version)
    {
        byte[] img = FfsSmallImages.Image(version);
        SetStoredMaxFileSize(img, 1000);
        Errno rc = FfsTestMount.TryMount(new MemoryBlockDevice(img, readOnly: true), true, out Mount? mp, out string? msg);
        Assert.True(rc == Errno.OK, $"mount: {rc} {msg}");
        try
        {
            var mount = (FfsMount)mp!;
            Assert.Equal(mount.Sb.MaxFileSize, FfsSmallImages.Superblock(FfsSmallImages.Image(version)).MaxFileSize);
            Vnode vp = FfsTestMount.Resolve(mp!, "/indir");
            Assert.Equal((4096 * 14) + 5, FfsTestMount.ReadAll(vp).Length);
            vp.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, mp!.Unmount());
        }
    }

    private static long StoredMaxFileSize(byte[] image)
    {
        FfsSuperblock sb = FfsSmallImages.Superblock(image);
        return sb.Order.I64(image.AsSpan((int)sb.Location, FfsSuperblockCheck.ReadSize), SuperblockFields.MaxFileSize);
    }

    private static void SetStoredMaxFileSize(byte[] image, long value)
    {
        FfsSuperblock sb = FfsSmallImages.Superblock(image);
        sb.Order.W64(image.AsSpan((int)sb.Location, FfsSuperblockCheck.ReadSize), SuperblockFields.MaxFileSize, value);
    }
}
