using RumpFs.Drivers.Tests.Conformance;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Msdosfs;

/// <summary>A conformance target: a fresh mkfs.fat image of one FAT type, mounted read-write.</summary>
internal sealed class MsdosConformanceFs : IConformanceFs
{
    private readonly string _image;
    private readonly IClock _clock;

    public MsdosConformanceFs(ScratchDir scratch, IClock clock, int fatBits)
    {
        _clock = clock;
        _image = fatBits switch
        {
            12 => FatTestUtil.NewImage(scratch, "conf12", 8000, "-F", "12", "-s", "4"),
            16 => FatTestUtil.NewImage(scratch, "conf16", 40000, "-F", "16", "-s", "2"),
            _ => FatTestUtil.NewImage(scratch, "conf32", 80000, "-F", "32", "-s", "1"),
        };
        Mount = MountIt();
    }

    public Mount Mount { get; private set; }

    private Mount MountIt()
    {
        MountOptions.Parse("gmtoff=0", out MountOptions options, out _);
        options.Clock = _clock;
        // The image's lock lives in its open file description, which a child forked at that
        // moment by another test (mkfs.fat, fsck.fat) holds until its exec: retry briefly.
        FileBlockDevice? dev = null;
        string? error = null;
        for (int attempt = 0; attempt < 50; attempt++)
        {
            Errno e = FileBlockDevice.Open(_image, false, out dev, out error);
            if (e != Errno.EBUSY)
            {
                Assert.True(e == Errno.OK, error);
                break;
            }
            Thread.Sleep(50);
        }
        Assert.True(dev is not null, error);
        return ConformanceTargets.MountOrFail("msdos", dev, options);
    }

    public Mount? Remount()
    {
        Assert.Equal(Errno.OK, Mount.Unmount(force: true));
        Mount = MountIt();
        return Mount;
    }

    public void Dispose()
    {
        Mount.Unmount(force: true);
        // Whatever the test did, the volume it leaves must be consistent.
        FatTestUtil.FsckClean(_image);
    }

    /// <summary>FAT's documented exceptions to POSIX (docs/msdosfs.md).</summary>
    public static FsDeviations Deviations { get; } = new()
    {
        HardLinks = false,
        Symlinks = false,
        SpecialFiles = false,
        Ownership = false,
        PermissionBits = false,
        DirectoryLinkCounts = true,
        CaseSensitive = false,
        MtimeGranularityNs = 2_000_000_000,
        UnsupportedErrno = Errno.EPERM,
        FileFlags = false,
        RenameExchange = false,
    };
}
