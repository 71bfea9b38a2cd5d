using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RumpFs.P2k.Tests.Support;

/// <summary>System calls on paths that report the errno (0 on success), for assertions.</summary>
internal static unsafe partial class Sys
{
    public const int ENOENT = 2, EACCES = 13, EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EISDIR = 21, EINVAL = 22,
        ENOTEMPTY = 39, ENAMETOOLONG = 36, EPERM = 1, ENOTCONN = 107, EROFS = 30, ENOTSUP = 95, ENODATA = 61;

    private static byte[] Z(string s) => Encoding.UTF8.GetBytes(s + "\0");

    public static int Mkdir(string path, uint mode = 0x1ED)
    {
        fixed (byte* p = Z(path))
        {
            return mkdir(p, (ushort)mode) == 0 ? 0 : errno;
        }
    }

    public static int Rmdir(string path)
    {
        fixed (byte* p = Z(path))
        {
            return rmdir(p) == 0 ? 0 : errno;
        }
    }

    public static int Unlink(string path)
    {
        fixed (byte* p = Z(path))
        {
            return unlink(p) == 0 ? 0 : errno;
        }
    }

    public static int Link(string from, string to)
    {
        fixed (byte* a = Z(from), b = Z(to))
        {
            return link(a, b) == 0 ? 0 : errno;
        }
    }

    public static int Symlink(string target, string path)
    {
        fixed (byte* a = Z(target), b = Z(path))
        {
            return symlink(a, b) == 0 ? 0 : errno;
        }
    }

    public static int Chmod(string path, uint mode)
    {
        fixed (byte* p = Z(path))
        {
            return chmod(p, (ushort)mode) == 0 ? 0 : errno;
        }
    }

    public static int Chown(string path, uint uid, uint gid)
    {
        fixed (byte* p = Z(path))
        {
            return chown(p, uid, gid) == 0 ? 0 : errno;
        }
    }

    public static int Truncate(string path, long size)
    {
        fixed (byte* p = Z(path))
        {
            return truncate(p, size) == 0 ? 0 : errno;
        }
    }

    /// <summary>utimensat(2); a null time means UTIME_NOW.</summary>
    public static int SetTimes(string path, (long Sec, long Nsec)? atime, (long Sec, long Nsec)? mtime)
    {
        timespec* ts = stackalloc timespec[2];
        ts[0] = atime is { } a ? new timespec { tv_sec = a.Sec, tv_nsec = (long_t)a.Nsec } : new timespec { tv_nsec = UTIME_NOW };
        ts[1] = mtime is { } m ? new timespec { tv_sec = m.Sec, tv_nsec = (long_t)m.Nsec } : new timespec { tv_nsec = UTIME_NOW };
        fixed (byte* p = Z(path))
        {
            return utimensat(AT_FDCWD, p, ts, 0) == 0 ? 0 : errno;
        }
    }

    public static int Stat(string path, out stat st, bool follow = true)
    {
        fixed (byte* p = Z(path))
        fixed (stat* s = &st)
        {
            int rc = follow ? stat(p, s) : lstat(p, s);
            return rc == 0 ? 0 : errno;
        }
    }

    public static int StatVfs(string path, out statvfs st)
    {
        fixed (byte* p = Z(path))
        fixed (statvfs* s = &st)
        {
            return statvfs(p, s) == 0 ? 0 : errno;
        }
    }

    public static int Rename(string from, string to, uint flags = 0)
    {
        fixed (byte* a = Z(from), b = Z(to))
        {
            return renameat2(AT_FDCWD, a, AT_FDCWD, b, flags) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    public static int Mknod(string path, uint mode, ulong dev)
    {
        fixed (byte* p = Z(path))
        {
            return mknod(p, (ushort)mode, dev) == 0 ? 0 : errno;
        }
    }

    public const int XATTR_CREATE = 1, XATTR_REPLACE = 2;

    public static int GetXattr(string path, string name) => GetXattr(path, name, out _);

    public static int GetXattr(string path, string name, out byte[] value)
    {
        value = [];
        byte* buf = stackalloc byte[256];
        fixed (byte* p = Z(path), n = Z(name))
        {
            nint len = getxattr(p, n, buf, 256);
            if (len < 0)
            {
                return Marshal.GetLastPInvokeError();
            }
            value = new ReadOnlySpan<byte>(buf, (int)len).ToArray();
            return 0;
        }
    }

    public static int SetXattr(string path, string name, ReadOnlySpan<byte> value, int flags)
    {
        fixed (byte* p = Z(path), n = Z(name), v = value)
        {
            return setxattr(p, n, v, value.Length, flags) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    public static int RemoveXattr(string path, string name)
    {
        fixed (byte* p = Z(path), n = Z(name))
        {
            return removexattr(p, n) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    public static string[] ListXattr(string path)
    {
        byte* buf = stackalloc byte[1024];
        fixed (byte* p = Z(path))
        {
            nint len = listxattr(p, buf, 1024);
            if (len < 0)
            {
                throw new IOException($"listxattr {path}: errno {Marshal.GetLastPInvokeError()}");
            }
            return Encoding.UTF8.GetString(buf, (int)len).Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
    }

    public const uint RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int renameat2(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint getxattr(byte* path, byte* name, byte* value, nint size);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setxattr(byte* path, byte* name, byte* value, nint size, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int removexattr(byte* path, byte* name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint listxattr(byte* path, byte* list, nint size);
}
