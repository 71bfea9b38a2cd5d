using System.Text;
using RumpFs.Kernel;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RumpFs.P2k.Protocol;

/// <summary>
/// Mounting and unmounting the kernel side: mount(2) with the "fd=N,rootmode=..." data
/// string when we are root, <see cref="Fusermount"/> otherwise.
/// </summary>
internal static unsafe class KernelMount
{
    /// <summary>
    /// Mount a FUSE file system at <paramref name="mountPoint"/> and return the session's
    /// /dev/fuse descriptor. <paramref name="error"/> is one line for the user on failure.
    /// </summary>
    public static Errno Mount(string mountPoint, FuseMountOptions options, out FuseDevice? device, out string? error)
    {
        return geteuid() == 0
            ? MountAsRoot(mountPoint, options, out device, out error)
            : Fusermount.Mount(mountPoint, options, out device, out error);
    }

    private static Errno MountAsRoot(string mountPoint, FuseMountOptions options, out FuseDevice? device, out string? error)
    {
        device = null;
        error = null;
        Errno e = FuseDevice.Open(out FuseDevice? dev);
        if (e != Errno.OK)
        {
            error = $"cannot open /dev/fuse: {e.Describe()}";
            return e;
        }
        var data = new StringBuilder();
        data.Append($"fd={dev!.Fd},rootmode=40000,user_id={getuid()},group_id={getgid()}");
        if (options.DefaultPermissions)
        {
            data.Append(",default_permissions");
        }
        if (options.AllowOther)
        {
            data.Append(",allow_other");
        }
        ulong flags = 0;
        flags |= options.ReadOnly ? (ulong)MS_RDONLY : 0;
        flags |= options.NoSuid ? (ulong)MS_NOSUID : 0;
        flags |= options.NoDev ? (ulong)MS_NODEV : 0;
        flags |= options.NoExec ? (ulong)MS_NOEXEC : 0;
        flags |= options.NoAtime ? (ulong)MS_NOATIME : 0;
        flags |= options.Synchronous ? (ulong)MS_SYNCHRONOUS : 0;

        byte[] source = Encoding.UTF8.GetBytes(options.Source + "\0");
        byte[] target = Encoding.UTF8.GetBytes(mountPoint + "\0");
        byte[] type = Encoding.UTF8.GetBytes("fuse." + options.Subtype + "\0");
        byte[] dataBytes = Encoding.UTF8.GetBytes(data + "\0");
        fixed (byte* s = source, t = target, ty = type, d = dataBytes)
        {
            if (mount(s, t, ty, (ulong_t)flags, d) != 0)
            {
                e = (Errno)errno;
                dev.Dispose();
                error = $"mount {mountPoint}: {e.Describe()}";
                return e;
            }
        }
        device = dev;
        return Errno.OK;
    }

    /// <summary>
    /// Unmount <paramref name="mountPoint"/>: a plain unmount first, a lazy one when it is
    /// busy (it then goes when the last user lets go).
    /// </summary>
    public static Errno Unmount(string mountPoint)
    {
        if (geteuid() != 0)
        {
            return Fusermount.Unmount(mountPoint);
        }
        byte[] target = Encoding.UTF8.GetBytes(mountPoint + "\0");
        fixed (byte* t = target)
        {
            if (umount2(t, 0) == 0)
            {
                return Errno.OK;
            }
            Errno e = (Errno)errno;
            if (e != Errno.EBUSY)
            {
                return e;
            }
            return umount2(t, MNT_DETACH) == 0 ? Errno.OK : (Errno)errno;
        }
    }
}
