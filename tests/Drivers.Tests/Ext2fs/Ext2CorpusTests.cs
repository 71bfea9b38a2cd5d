using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>Images made by mke2fs -d from the fixture tree, read and compared with the manifest.</summary>
public class Ext2CorpusTests
{
    public static TheoryData<string> Images => Corpus.NamesOf("ext2fs");

    [Theory]
    [MemberData(nameof(Images))]
    public void ReadOnlyMount_ShowsExactlyTheManifest(string name)
    {
        CorpusImage img = Corpus.Get(name);
        Mount m = Ext2Fixture.MountImage(img.ImagePath, readOnly: true);
        try
        {
            Ext2Fixture.AssertMatchesManifest(m, img.ManifestPath);
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Probe_RecognisesImage(string name)
    {
        CorpusImage img = Corpus.Get(name);
        Assert.Equal(Errno.OK, FileBlockDevice.Open(img.ImagePath, true, out FileBlockDevice? dev, out _));
        using (dev)
        {
            Assert.True(new FsDrivers.Ext2fs.Ext2fsDriver().Probe(dev!));
        }
    }

    [Fact]
    public void Timestamps_KeepNanoseconds()
    {
        // mke2fs -d drops nanoseconds: set them with debugfs (123456789 << 2 in mtime_extra).
        using var scratch = new ScratchDir();
        string path = Corpus.Get("ext4-default").CopyTo(scratch);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "sif old-file mtime_extra 0x1D6F3454", path);
        Mount m = Ext2Fixture.MountImage(path, readOnly: true);
        try
        {
            Vnode vp = Ext2Fixture.Resolve(m, "old-file");
            Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
            vp.Release();
            Assert.Equal(DateTimeOffset.Parse("2001-02-03T04:05:06Z").ToUnixTimeSeconds(), va.Mtime.Seconds);
            Assert.Equal(123456789, va.Mtime.Nanoseconds);
        }
        finally
        {
            m.Unmount();
        }
    }

    [Fact]
    public void DeviceNodes_ReportRdev()
    {
        CorpusImage img = Corpus.Get("ext4-default");
        Mount m = Ext2Fixture.MountImage(img.ImagePath, readOnly: true);
        try
        {
            Vnode vp = Ext2Fixture.Resolve(m, "dev/null");
            Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
            vp.Release();
            Assert.Equal(VType.CharDevice, va.Type);
            Assert.Equal((1UL << 8) | 3, va.Rdev);
        }
        finally
        {
            m.Unmount();
        }
    }

    [Fact]
    public void ReadWriteMount_OfRoFeatureImage_IsRefusedByName()
    {
        using var scratch = new ScratchDir();
        // fs-verity files would need their Merkle trees kept (quota and project are kept).
        string path = scratch.File("verity.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-O", "verity", path, "16M");
        Errno e = Ext2Fixture.TryMount(path, readOnly: false, null, out Mount? m, out string? msg);
        Assert.Equal(Errno.EROFS, e);
        Assert.Contains("verity", msg);
        Assert.Null(m);
        Mount ro = Ext2Fixture.MountImage(path, readOnly: true);
        ro.Unmount();
    }

    [Fact]
    public void UnknownOption_IsEinvalWithMessage()
    {
        CorpusImage img = Corpus.Get("ext2-rev1-1k");
        Errno e = Ext2Fixture.TryMount(img.ImagePath, readOnly: true, "bogus=1", out Mount? m, out string? msg);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Contains("bogus", msg);
        Assert.Null(m);
    }

    [Fact]
    public void IncompatFeature_IsRefusedByName()
    {
        using var scratch = new ScratchDir();
        string path = scratch.File("casefold.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-O", "casefold", path, "16M");
        Errno e = Ext2Fixture.TryMount(path, readOnly: true, null, out _, out string? msg);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Contains("casefold", msg);
    }
}
