using RumpFs.Drivers.Tests.Conformance;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>A conformance target: a fresh mke2fs image in the test's scratch folder, mounted read-write.</summary>
internal sealed class Ext2ConformanceFs : IConformanceFs
{
    private readonly string _image;
    private readonly IClock _clock;

    public Ext2ConformanceFs(ScratchDir scratch, IClock clock, params string[] mke2fsArgs)
    {
        _clock = clock;
        _image = scratch.File("conformance.img");
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F" }, .. mke2fsArgs, _image, "64M"]);
        // The suite starts from an empty root; lost+found comes back before the final fsck.
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "rmdir lost+found", _image);
        Mount = MountIt();
    }

    public Mount Mount { get; private set; }

    private Mount MountIt()
    {
        Assert.Equal(Errno.OK, FileBlockDevice.Open(_image, false, out FileBlockDevice? dev, out string? err));
        var options = new MountOptions { Clock = _clock };
        return ConformanceTargets.MountOrFail("ext2fs", dev, options);
    }

    public Mount? Remount()
    {
        Errno e = Mount.Unmount();
        Assert.True(e == Errno.OK, $"unmount before remount: {e}");
        Mount = MountIt();
        return Mount;
    }

    public void Dispose()
    {
        Mount.Unmount(force: true);
        OracleTool.Run("debugfs", "-w", "-R", "mkdir lost+found", _image);
        // Whatever the test did, the image must be consistent afterwards.
        Ext2Oracle.AssertFsckClean(_image);
    }
}
