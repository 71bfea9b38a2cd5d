using RumpFs.Drivers.Tests.Msdosfs;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// FAT32 with mirroring off (BPB_ExtFlags = 0x81: only FAT 2 is active). The driver, as
/// NetBSD's msdosfs, keeps FAT 2 alone; the checker must judge the volume by that FAT too,
/// or a repair truncates what the driver wrote.
/// </summary>
public sealed class FatMirroringOffTests : IDisposable
{
    private const int ExtFlagsOffset = 40;

    private readonly ScratchDir _dir = new("fat-mirroring-off");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void FileWrittenIntoTheActiveFat_CheckClean_RepairKeepsIt()
    {
        string img = _dir.File("m.img");
        FatTestImages.MkfsWithFiles(img, 40L << 20, "32");
        FatTestImages.Patch(img, ExtFlagsOffset, 0x81, 0x00);
        byte[] data = [.. Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7))];
        Mount m = FatTestUtil.MountImage(img);
        Assert.Equal(Errno.OK, FatTestUtil.Create(m, "/NEW.BIN", out Vnode? vp));
        Assert.Equal(Errno.OK, Vop.Write(vp!, 0, data, out int n));
        Assert.Equal(data.Length, n);
        vp!.Release();
        Assert.Equal(Errno.OK, m.Unmount());

        CheckReport check = FatTestImages.Check(img, repair: false);
        Assert.True(check.ExitCode == 0, FatTestImages.Describe(check));
        CheckReport repair = FatTestImages.Check(img, repair: true);
        Assert.True(repair.ExitCode == 0, FatTestImages.Describe(repair));
        Mount ro = FatTestUtil.MountImage(img, readOnly: true);
        Assert.Equal(data, FatTestUtil.ReadAll(ro, "/NEW.BIN"));
        Assert.Equal(Errno.OK, ro.Unmount());
    }
}
