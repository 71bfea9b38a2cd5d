using RumpFs.Kernel;
using RumpFs.Vfs;
using Tmds.Linux;

namespace RumpFs.Tools.Ukfs;

/// <summary>What lstat(2) tells about a host path, in the image's terms.</summary>
internal readonly record struct HostStat(
    VType Type, uint Mode, ulong Ino, ulong Dev, ulong Nlink, uint Uid, uint Gid, ulong Rdev, Timespec Atime, Timespec Mtime);

/// <summary>
/// Host calls .NET lacks: hard links, fifos and device nodes, owners, and times to the
/// nanosecond on the node itself (never through a symbolic link).
/// </summary>
internal static unsafe class HostNodes
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;

    public static bool IsRoot => LibC.geteuid() == 0;

    /// <summary>Whether <paramref name="type"/> is a fifo, a device node or a socket.</summary>
    public static bool IsSpecial(VType type) =>
        type is VType.Fifo or VType.CharDevice or VType.BlockDevice or VType.Socket;

    /// <summary>lstat(2); null when it fails (no such path, say).</summary>
    public static HostStat? Lstat(string path)
    {
        stat st;
        fixed (byte* p = Z(path))
        {
            if (LibC.lstat(p, &st) != 0)
            {
                return null;
            }
        }
        uint mode = (uint)st.st_mode;
        return new HostStat(VTypeExtensions.FromModeBits(mode), mode & 0xFFF, (ulong)st.st_ino, (ulong)st.st_dev, (ulong)st.st_nlink,
            (uint)st.st_uid, (uint)st.st_gid, (ulong)st.st_rdev, Time(st.st_atim), Time(st.st_mtim));
    }

    /// <summary>link(2); an error message, or null on success.</summary>
    public static string? Link(string existing, string newPath)
    {
        fixed (byte* pa = Z(existing), pb = Z(newPath))
        {
            return LibC.link(pa, pb) == 0 ? null : Describe();
        }
    }

    /// <summary>mknod(2) for a fifo, socket or device node; an error message, or null.</summary>
    public static string? Mknod(string path, VType type, uint mode, ulong rdev)
    {
        fixed (byte* p = Z(path))
        {
            return LibC.mknod(p, (mode_t)(type.ToModeBits() | (mode & 0xFFF)), (dev_t)rdev) == 0 ? null : Describe();
        }
    }

    /// <summary>lchown(2): the node itself, a symbolic link included; an error message, or null.</summary>
    public static string? Lchown(string path, uint uid, uint gid)
    {
        fixed (byte* p = Z(path))
        {
            return LibC.lchown(p, (uid_t)uid, (gid_t)gid) == 0 ? null : Describe();
        }
    }

    /// <summary>utimensat(2) on the node itself (a symbolic link is not followed), to the nanosecond; an error message, or null.</summary>
    public static string? SetTimes(string path, Timespec atime, Timespec mtime)
    {
        timespec* times = stackalloc timespec[2];
        times[0].tv_sec = atime.Seconds;
        times[0].tv_nsec = atime.Nanoseconds;
        times[1].tv_sec = mtime.Seconds;
        times[1].tv_nsec = mtime.Nanoseconds;
        fixed (byte* p = Z(path))
        {
            return LibC.utimensat(AtFdCwd, p, times, AtSymlinkNoFollow) == 0 ? null : Describe();
        }
    }

    private static Timespec Time(timespec t) => new((long)t.tv_sec, (int)(long)t.tv_nsec);

    private static string Describe() => new System.ComponentModel.Win32Exception(LibC.errno).Message;

    private static byte[] Z(string path) => HostFiles.Z(path);
}
