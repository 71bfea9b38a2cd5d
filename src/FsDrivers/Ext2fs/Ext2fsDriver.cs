using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>The ext2/ext3/ext4 driver ("ext2fs").</summary>
public sealed class Ext2fsDriver : IFileSystemDriver
{
    public string Name => "ext2fs";

    public bool NeedsDevice => true;

    public bool Probe(IBlockDevice device)
    {
        try
        {
            if (device.Length < Ext2Superblock.DiskOffset + Ext2Superblock.Size)
            {
                return false;
            }
            byte[] raw = new byte[Ext2Superblock.Size];
            if (device.Read(Ext2Superblock.DiskOffset, raw) != Errno.OK)
            {
                return false;
            }
            var sb = new Ext2Superblock(raw);
            return sb.MagicValue == Ext2Superblock.Magic && sb.LogBlockSize <= 6 && sb.BlocksPerGroup != 0
                && sb.InodesPerGroup != 0 && sb.RevLevel <= 1;
        }
        catch (Exception)
        {
            return false;
        }
    }

    public Errno Mount(IBlockDevice? device, MountOptions options, out Mount? mount, out string? message)
    {
        mount = null;
        if (device is null)
        {
            message = "ext2fs needs a device";
            return Errno.EINVAL;
        }
        try
        {
            Errno e = Ext2VfsOps.MountFs(device, options, out Ext2Mount? m, out message);
            mount = m;
            return e;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A parser bug must not escape as an exception: refuse the mount, name it once.
            KernelLog.Error(Ext2Mount.Subsystem, $"mount of {device.Name} failed: {ex}");
            message = $"cannot mount {device.Name}: internal error ({ex.GetType().Name})";
            return Errno.EIO;
        }
    }
}
