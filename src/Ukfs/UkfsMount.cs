using RumpFs.FsDrivers;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Ukfs.Partitions;
using RumpFs.Vfs;

namespace RumpFs.Ukfs;

/// <summary>
/// A file system image mounted in this process, with path operations on it (NetBSD's
/// ukfs(3)): no FUSE, no root, no kernel. Every operation resolves its path with the VFS's
/// name lookup and goes through the VFS's checked vnode operations as
/// <see cref="Credentials"/>; a failure throws <see cref="UkfsException"/> with the errno
/// and the path. Paths are absolute within the image ("/etc/passwd"); a relative path is
/// taken from the root. Thread-safe as the drivers are. Dispose unmounts, writing
/// everything back.
/// </summary>
public sealed partial class UkfsMount : IDisposable
{
    private readonly Mount _mount;
    private int _unmounted;

    private UkfsMount(Mount mount, string source, Credentials credentials)
    {
        _mount = mount;
        Source = source;
        Credentials = credentials;
    }

    /// <summary>The image (with its partition selection) this mount came from.</summary>
    public string Source { get; }

    /// <summary>The driver's name: "ffs", "ext2fs", "msdos", "tmpfs".</summary>
    public string FsType => _mount.FsType;

    /// <summary>True when mounted read-only (asked for, a read-only image, or the driver decided).</summary>
    public bool IsReadOnly => _mount.IsReadOnly;

    /// <summary>Who performs the operations; root unless set otherwise.</summary>
    public Credentials Credentials { get; set; }

    /// <summary>The clock the file system stamps its times with (the host's unless one was given).</summary>
    public IClock Clock => _mount.Clock;

    /// <summary>
    /// Errors the file system met after an operation had already returned success, each
    /// logged: chiefly a removed file whose inode and blocks could not be freed because the
    /// image is damaged (the name is gone, the storage leaks until fsck). A caller that must
    /// know the image stayed consistent compares this before and after its operations;
    /// readable after unmount too.
    /// </summary>
    public int DeferredErrors => _mount.Vnodes.InactiveFailures;

    /// <summary>The VFS mount, for callers that work with vnodes directly.</summary>
    public Mount VfsMount => _mount;

    /// <summary>
    /// Open <paramref name="imageSpec"/> ("disk.img", "disk.img%MBR:2%", "disk.img%GPT:3%",
    /// "disk.img%DISKLABEL:e%") and mount it.
    /// </summary>
    /// <param name="fsType">The driver name, or null to detect it from the superblock.</param>
    /// <param name="imageSpec">The image and an optional partition selection.</param>
    /// <param name="options">Read-only, mount options, credentials; null for the defaults.</param>
    /// <exception cref="UkfsException">The image cannot be opened, has no such partition, holds no known file system, or the driver refuses it.</exception>
    /// <exception cref="ArgumentException">The partition selection is malformed.</exception>
    public static UkfsMount Open(string? fsType, string imageSpec, UkfsOptions? options = null)
    {
        options ??= new UkfsOptions();
        ImageSpec spec = ImageSpec.Parse(imageSpec);
        IBlockDevice device = DiskImage.Open(spec, options.ReadOnly);
        return MountDevice(fsType, device, spec.ToString(), options);
    }

    /// <summary>
    /// Mount a device that is already open (a partition window, a memory device), or, for a
    /// memory file system such as "tmpfs", no device at all. The mount owns the device.
    /// </summary>
    /// <param name="fsType">The driver name, or null to detect it (a device is then needed).</param>
    /// <param name="device">The device, or null for a file system that needs none.</param>
    /// <param name="options">Read-only, mount options, credentials; null for the defaults.</param>
    /// <exception cref="UkfsException">No driver fits, or the driver refuses the device.</exception>
    public static UkfsMount Open(string? fsType, IBlockDevice? device, UkfsOptions? options = null) =>
        MountDevice(fsType, device, device?.Name ?? fsType ?? "(none)", options ?? new UkfsOptions());

    private static UkfsMount MountDevice(string? fsType, IBlockDevice? device, string source, UkfsOptions options)
    {
        try
        {
            AllDrivers.Register();
            IFileSystemDriver driver = ChooseDriver(fsType, device, source);
            Errno e = MountOptions.Parse(options.MountOptions, out MountOptions mo, out string? error);
            if (e != Errno.OK)
            {
                throw new UkfsException(e, source, $"{source}: {error}");
            }
            mo.ReadOnly |= options.ReadOnly;
            if (options.Clock is not null)
            {
                mo.Clock = options.Clock;
            }
            if (options.Random is not null)
            {
                mo.Random = options.Random;
            }
            e = driver.Mount(driver.NeedsDevice ? device : null, mo, out Mount? mount, out string? message);
            if (e != Errno.OK || mount is null)
            {
                e = e == Errno.OK ? Errno.EIO : e;
                string why = message ?? e.Describe();
                // Some drivers name themselves in their messages already ("ffs: ...").
                string text = why.StartsWith(driver.Name + ": ", StringComparison.Ordinal) ? why : $"{driver.Name}: {why}";
                throw new UkfsException(e, source, $"{source}: {text}");
            }
            if (!driver.NeedsDevice)
            {
                device?.Dispose();
            }
            return new UkfsMount(mount, source, options.Credentials);
        }
        catch
        {
            device?.Dispose();
            throw;
        }
    }

    private static IFileSystemDriver ChooseDriver(string? fsType, IBlockDevice? device, string source)
    {
        if (fsType is not null)
        {
            return FileSystemRegistry.Find(fsType) ?? throw new UkfsException(Errno.ENODEV, source,
                $"unknown file-system type '{fsType}' (available: {string.Join(", ", FileSystemRegistry.All.Select(d => d.Name))})");
        }
        if (device is null)
        {
            throw new UkfsException(Errno.EINVAL, source, $"{source}: no device to detect a file system on");
        }
        IFileSystemDriver? found = FileSystemRegistry.Detect(device);
        if (found is not null)
        {
            return found;
        }
        FsTypeGuess? guess = FsTypeProbe.Identify(device);
        if (guess is not null)
        {
            throw new UkfsException(Errno.ENODEV, source,
                $"{source}: holds {guess.Variant} ({guess.Driver}), but the {guess.Driver} driver does not accept it or is not available");
        }
        string hint = PartitionProbe.Probe(device).Partitions.Count > 0
            ? " (it is partitioned: select one with IMAGE%MBR:N%, %GPT:N% or %DISKLABEL:x%; see 'probe')"
            : "";
        throw new UkfsException(Errno.ENODEV, source, $"{source}: no known file system found{hint}");
    }

    /// <summary>File-system statistics (df).</summary>
    public StatVfs Statvfs()
    {
        ThrowIfUnmounted();
        Check(Vop.Statvfs(_mount, out StatVfs st), "/");
        return st;
    }

    /// <summary>Write everything changed so far to the image and flush it.</summary>
    public void Sync()
    {
        ThrowIfUnmounted();
        Check(Vop.Sync(_mount), "/");
    }

    /// <summary>Key facts of the superblock, in display order (for `ukfs info`).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Describe()
    {
        ThrowIfUnmounted();
        return _mount.Describe();
    }

    /// <summary>
    /// Unmount: write everything back, mark the file system clean and close the image.
    /// Open streams are closed by force. Throws when the write-back failed.
    /// </summary>
    /// <exception cref="UkfsException">Writing back failed (the image may be inconsistent).</exception>
    public void Unmount()
    {
        if (Interlocked.Exchange(ref _unmounted, 1) != 0)
        {
            return;
        }
        Errno e = _mount.Unmount(force: false);
        if (e == Errno.EBUSY)
        {
            e = _mount.Unmount(force: true);
        }
        Check(e, Source);
    }

    /// <summary>Unmount (see <see cref="Unmount"/>), swallowing a failure; call Unmount to see it.</summary>
    public void Dispose()
    {
        try
        {
            Unmount();
        }
        catch (UkfsException)
        {
        }
    }

    private void ThrowIfUnmounted() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _unmounted) != 0, this);

    internal static void Check(Errno e, string path)
    {
        if (e != Errno.OK)
        {
            throw new UkfsException(e, path);
        }
    }
}
