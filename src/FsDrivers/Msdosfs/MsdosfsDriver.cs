using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>The FAT12/16/32 driver with VFAT long names ("msdos", as NetBSD's msdosfs).</summary>
public sealed class MsdosfsDriver : IFileSystemDriver
{
    public string Name => "msdos";

    public bool NeedsDevice => true;

    public bool Probe(IBlockDevice device)
    {
        if (device.Length < BootSectorLayout.Size)
        {
            return false;
        }
        byte[] boot = new byte[BootSectorLayout.Size];
        return device.Read(0, boot) == Errno.OK && Bpb.LooksLikeFat(boot);
    }

    public Errno Mount(IBlockDevice? device, MountOptions options, out Mount? mount, out string? message)
    {
        mount = null;
        if (device is null)
        {
            message = "msdos needs a device";
            return Errno.EINVAL;
        }
        return MsdosMount.Create(device, options, out mount, out message);
    }
}
