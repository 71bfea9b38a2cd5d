using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>The FFS driver (UFS1 and UFS2, either byte order): NetBSD's sys/ufs/ffs.</summary>
public sealed class FfsDriver : IFileSystemDriver
{
    public string Name => "ffs";

    public bool NeedsDevice => true;

    public bool Probe(IBlockDevice device)
    {
        try
        {
            FfsSuperblock? sb = FfsSuperblockCheck.Find(device, out _);
            return sb is not null && FfsSuperblockCheck.Validate(sb, device.Length) is null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    public Errno Mount(IBlockDevice? device, MountOptions options, out Mount? mount, out string? message)
    {
        mount = null;
        if (device is null)
        {
            message = "ffs needs a device";
            return Errno.EINVAL;
        }
        foreach ((string key, string? value) in options.Extra)
        {
            if (key == FfsMount.PosixAclsOption && value is null)
            {
                continue;
            }
            message = key == FfsMount.PosixAclsOption
                ? $"ffs: mount option '{key}' takes no value"
                : $"ffs: unknown mount option '{key}'";
            return Errno.EINVAL;
        }
        return FfsMount.MountDevice(device, options, out mount, out message);
    }
}
