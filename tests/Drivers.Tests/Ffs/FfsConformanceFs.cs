using RumpFs.Drivers.Tests.Conformance;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Newfs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>A conformance target: a private copy of an empty makefs image, mounted read-write.</summary>
internal sealed class FfsConformanceFs : IConformanceFs
{
    private readonly string _image;
    private readonly IClock _clock;

    public FfsConformanceFs(ScratchDir scratch, IClock clock, string corpusImage)
        : this(Corpus.Get(corpusImage).CopyTo(scratch), clock)
    {
    }

    private FfsConformanceFs(string image, IClock clock)
    {
        _image = image;
        _clock = clock;
        Mount = MountImage();
    }

    /// <summary>A 64 MiB image made by this project's newfs with <paramref name="newfsOptions"/> ("version=3,posix1eacls").</summary>
    public static FfsConformanceFs Newfs(ScratchDir scratch, IClock clock, string newfsOptions)
    {
        string image = scratch.File("newfs.img");
        using (var f = new FileStream(image, FileMode.Create, FileAccess.Write))
        {
            f.SetLength(64 << 20);
        }
        Errno e = FileBlockDevice.Open(image, false, out FileBlockDevice? dev, out string? err);
        Assert.True(e == Errno.OK, $"open {image}: {err}");
        using (dev)
        {
            var options = newfsOptions.Split(',', StringSplitOptions.RemoveEmptyEntries).ToDictionary(
                o => o.Split('=')[0], o => o.Contains('=', StringComparison.Ordinal) ? o.Split('=')[1] : null);
            e = new FfsFormatter(clock).Format(dev!, options, out string? message);
            Assert.True(e == Errno.OK, $"newfs {newfsOptions}: {e} {message}");
        }
        return new FfsConformanceFs(image, clock);
    }

    public Mount Mount { get; private set; }

    private Mount MountImage()
    {
        Errno e = FileBlockDevice.Open(_image, false, out FileBlockDevice? dev, out string? err);
        Assert.True(e == Errno.OK, $"open {_image}: {err}");
        var options = new MountOptions { Clock = _clock };
        return ConformanceTargets.MountOrFail("ffs", dev, options);
    }

    public Mount? Remount()
    {
        Assert.Equal(Errno.OK, Mount.Unmount());
        Mount = MountImage();
        return Mount;
    }

    /// <summary>Unmount, then hold the image to the consistency checker: every test leaves a clean file system.</summary>
    public void Dispose()
    {
        if (!Mount.IsUnmounted)
        {
            Errno e = Mount.Unmount();
            if (e == Errno.EBUSY)
            {
                Mount.Unmount(force: true);
            }
        }
        FfsCheckReport r = FfsCheckTests.CheckImage(_image);
        Assert.True(r.IsClean, "after the test: " + r);
    }
}
