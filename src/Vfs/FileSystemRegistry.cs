using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.Vfs;

/// <summary>A file-system type the VFS can mount (the kernel's struct vfsops, as seen from mount(2)).</summary>
public interface IFileSystemDriver
{
    /// <summary>The name mounts use: "ffs", "ext2fs", "msdos", "tmpfs".</summary>
    string Name { get; }

    /// <summary>False for memory file systems that take no device.</summary>
    bool NeedsDevice { get; }

    /// <summary>
    /// True when the device holds this file system (superblock magic and basic sanity);
    /// reads only, never throws. Used for type detection.
    /// </summary>
    bool Probe(IBlockDevice device);

    /// <summary>
    /// Validate and mount. On failure <paramref name="message"/> is one line for the user
    /// ("bad superblock magic", "unsupported feature: inline_data") and nothing has been
    /// written to the device. On success the mount owns the device.
    /// </summary>
    Errno Mount(IBlockDevice? device, MountOptions options, out Mount? mount, out string? message);
}

/// <summary>Drivers by name. Front ends find drivers here and never name a driver's types.</summary>
public static class FileSystemRegistry
{
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<string, IFileSystemDriver> s_drivers = new(StringComparer.Ordinal);

    public static void Register(IFileSystemDriver driver)
    {
        lock (s_lock)
        {
            s_drivers[driver.Name] = driver;
        }
    }

    public static IFileSystemDriver? Find(string name)
    {
        lock (s_lock)
        {
            return s_drivers.GetValueOrDefault(name);
        }
    }

    public static IReadOnlyList<IFileSystemDriver> All
    {
        get
        {
            lock (s_lock)
            {
                return [.. s_drivers.Values.OrderBy(d => d.Name, StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>The first registered disk driver whose probe recognises the device, or null.</summary>
    public static IFileSystemDriver? Detect(IBlockDevice device)
    {
        foreach (IFileSystemDriver d in All)
        {
            if (d.NeedsDevice && d.Probe(device))
            {
                return d;
            }
        }
        return null;
    }

    /// <summary>Mount <paramref name="device"/> with the driver named <paramref name="fsType"/>.</summary>
    public static Errno Mount(string fsType, IBlockDevice? device, MountOptions options, out Mount? mount, out string? message)
    {
        mount = null;
        IFileSystemDriver? driver = Find(fsType);
        if (driver is null)
        {
            message = $"unknown file-system type '{fsType}'";
            return Errno.ENODEV;
        }
        if (driver.NeedsDevice && device is null)
        {
            message = $"{fsType} needs a device";
            return Errno.EINVAL;
        }
        return driver.Mount(device, options, out mount, out message);
    }
}
