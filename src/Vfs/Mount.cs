using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs.Buffers;

namespace RumpFs.Vfs;

/// <summary>
/// One mounted file system (the kernel's struct mount). Drivers subclass it; the generic
/// parts (vnode cache, rename lock, unmount sequence) live here.
/// </summary>
public abstract class Mount
{
    private int _unmounted;

    protected Mount(string fsType, IBlockDevice? device, MountOptions options)
    {
        FsType = fsType;
        Device = device;
        Options = options;
        IsReadOnly = options.ReadOnly || (device?.IsReadOnly ?? false);
        Vnodes = new VnodeCache();
    }

    /// <summary>The driver's registered name ("ffs", "ext2fs", "msdos", "tmpfs").</summary>
    public string FsType { get; }

    /// <summary>The device the file system lives on (null for tmpfs). The mount owns it.</summary>
    public IBlockDevice? Device { get; }

    public MountOptions Options { get; }

    public IClock Clock => Options.Clock;

    public IRandomSource Random => Options.Random;

    /// <summary>
    /// True when mounted read-only; a driver may set it later (errors=remount-ro). Every
    /// modifying Vop fails with EROFS then.
    /// </summary>
    public bool IsReadOnly { get; protected set; }

    public VnodeCache Vnodes { get; }

    /// <summary>
    /// Serialises renames on this mount (the first lock in the lock order), so that the
    /// check "is the target inside the source directory" stays true until the rename is done.
    /// </summary>
    public object RenameLock { get; } = new();

    public bool IsUnmounted => Volatile.Read(ref _unmounted) != 0;

    /// <summary>The root directory, referenced.</summary>
    public abstract Errno Root(out Vnode? root);

    /// <summary>The vnode of inode <paramref name="ino"/>, referenced (through <see cref="Vnodes"/>).</summary>
    public abstract Errno VGet(ulong ino, out Vnode? vp);

    public abstract Errno Statvfs(out StatVfs st);

    /// <summary>Write every dirty inode, buffer and summary to the device and flush it.</summary>
    public abstract Errno Sync();

    /// <summary>
    /// Key facts of the superblock for `ukfs info` (name, value), in display order.
    /// </summary>
    public virtual IReadOnlyList<KeyValuePair<string, string>> Describe() => [];

    /// <summary>
    /// Counters of the mount's buffer cache (null for a file system without one, such as
    /// tmpfs). Lookups (hits plus misses) measure the metadata work an operation did,
    /// independent of the cache's size and of how fast the machine is.
    /// </summary>
    public virtual BufferCacheStats? CacheStats => null;

    /// <summary>
    /// True when names that differ only in case name the same entry (FAT): a rename from one
    /// spelling to another then changes the stored spelling instead of doing nothing.
    /// </summary>
    public virtual bool NamesIgnoreCase => false;

    /// <summary>
    /// False when the format keeps no extended attributes at all (FAT, UFS1): every
    /// <see cref="Vnode.GetXattr"/> then fails with EOPNOTSUPP, whatever the file or name, so
    /// a front end may say so once for the whole mount instead of on every call.
    /// </summary>
    /// <summary>
    /// Whether the driver stores POSIX ACLs (system.posix_acl_access and _default, in the
    /// attribute form of <see cref="PosixAcl"/>); the VFS then applies their rules.
    /// </summary>
    public virtual bool HasPosixAcls => false;

    public virtual bool HasXattrs => true;

    /// <summary>
    /// Unmount: fails with EBUSY while any vnode, the root included, is still referenced
    /// (unless <paramref name="force"/>), so front ends release every vnode first (P2k drops
    /// its node table); then reclaims the vnode cache, lets the driver write everything back
    /// and mark the file system clean, and disposes the device.
    /// </summary>
    public Errno Unmount(bool force = false)
    {
        if (Interlocked.CompareExchange(ref _unmounted, 1, 0) != 0)
        {
            return Errno.EINVAL;
        }
        int referenced = Vnodes.ReclaimUnreferenced();
        if (referenced > 0 && !force)
        {
            Volatile.Write(ref _unmounted, 0);
            return Errno.EBUSY;
        }
        Errno e = UnmountCore(force);
        Device?.Dispose();
        return e;
    }

    /// <summary>
    /// The driver's part of unmount: write back, mark clean (when read-write), flush. Called
    /// once, after the vnode cache has been emptied of unreferenced vnodes.
    /// </summary>
    protected abstract Errno UnmountCore(bool force);

    public override string ToString() => $"{FsType} on {Device?.Name ?? "(none)"}";
}
