using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Tmpfs;

/// <summary>The tmpfs driver: a file system in memory.</summary>
public sealed class TmpfsDriver : IFileSystemDriver
{
    public string Name => "tmpfs";
    public bool NeedsDevice => false;
    public bool Probe(IBlockDevice device) => false;

    public Errno Mount(IBlockDevice? device, MountOptions options, out Mount? mount, out string? message)
    {
        mount = null;
        message = "tmpfs: not built yet";
        return Errno.ENOSYS;
    }
}
