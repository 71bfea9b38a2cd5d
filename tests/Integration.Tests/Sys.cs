using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RumpFs.Integration.Tests;

/// <summary>
/// Plain system calls through Tmds.LibC, returning the errno (0 on success), so tests can
/// assert the exact error the kernel passes back from the FUSE daemon.
/// </summary>
public static unsafe partial class Sys
{
    private static byte[] Z(string s) => Encoding.UTF8.GetBytes(s + "\0");

    private static int Result(int rc) => rc == 0 ? 0 : errno;

    public static int Mkdir(string path, int mode = 0x1ED)
    {
        fixed (byte* p = Z(path))
        {
            return Result(mkdir(p, (mode_t)(uint)mode));
        }
    }

    public static int Rmdir(string path)
    {
        fixed (byte* p = Z(path))
        {
            return Result(rmdir(p));
        }
    }

    public static int Unlink(string path)
    {
        fixed (byte* p = Z(path))
        {
            return Result(unlink(p));
        }
    }

    public static int Rename(string from, string to)
    {
        fixed (byte* a = Z(from))
        fixed (byte* b = Z(to))
        {
            return RenameNative.rename(a, b) == 0 ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        }
    }

    public static int Link(string existing, string newPath)
    {
        fixed (byte* a = Z(existing))
        fixed (byte* b = Z(newPath))
        {
            return Result(link(a, b));
        }
    }

    public static int Symlink(string target, string path)
    {
        fixed (byte* a = Z(target))
        fixed (byte* b = Z(path))
        {
            return Result(symlink(a, b));
        }
    }

    public static int Mkfifo(string path, int mode = 0x1A4)
    {
        fixed (byte* p = Z(path))
        {
            return Result(mkfifo(p, (mode_t)(uint)mode));
        }
    }

    /// <summary>open(2) then close; returns the errno of open.</summary>
    public static int OpenClose(string path, int flags, int mode = 0x1A4)
    {
        fixed (byte* p = Z(path))
        {
            int fd = open(p, flags, (mode_t)(uint)mode);
            if (fd < 0)
            {
                return errno;
            }
            close(fd);
            return 0;
        }
    }

    /// <summary>fallocate(2) on the file opened for writing: 0 or the errno.</summary>
    public static int Fallocate(string path, int mode, long offset, long length)
    {
        fixed (byte* p = Z(path))
        {
            int fd = open(p, O_WRONLY);
            if (fd < 0)
            {
                return errno;
            }
            int rc = Result(fallocate(fd, mode, offset, length));
            close(fd);
            return rc;
        }
    }

    public static int Truncate(string path, long size)
    {
        fixed (byte* p = Z(path))
        {
            return Result(truncate(p, size));
        }
    }

    public static int Chmod(string path, int mode)
    {
        fixed (byte* p = Z(path))
        {
            return Result(chmod(p, (mode_t)(uint)mode));
        }
    }

    public static int Chown(string path, uint uid, uint gid)
    {
        fixed (byte* p = Z(path))
        {
            return Result(chown(p, uid, gid));
        }
    }

    /// <summary>utimensat with explicit times (seconds, nanoseconds) for atime and mtime.</summary>
    public static int SetTimes(string path, long atimeSec, long atimeNsec, long mtimeSec, long mtimeNsec)
    {
        timespec* times = stackalloc timespec[2];
        times[0].tv_sec = (time_t)atimeSec;
        times[0].tv_nsec = (long_t)atimeNsec;
        times[1].tv_sec = (time_t)mtimeSec;
        times[1].tv_nsec = (long_t)mtimeNsec;
        fixed (byte* p = Z(path))
        {
            return Result(utimensat(AT_FDCWD, p, times, 0));
        }
    }

    public static int Stat(string path, out stat st, bool follow = true)
    {
        stat s;
        fixed (byte* p = Z(path))
        {
            int rc = follow ? stat(p, &s) : lstat(p, &s);
            st = s;
            return Result(rc);
        }
    }

    public static int StatVfs(string path, out statvfs st)
    {
        statvfs s;
        fixed (byte* p = Z(path))
        {
            int rc = statvfs(p, &s);
            st = s;
            return Result(rc);
        }
    }

    /// <summary>Open a file or directory, fsync it, close it; returns the errno.</summary>
    public static int FsyncPath(string path)
    {
        fixed (byte* p = Z(path))
        {
            int fd = open(p, O_RDONLY, default);
            if (fd < 0)
            {
                return errno;
            }
            int rc = fsync(fd) == 0 ? 0 : errno;
            close(fd);
            return rc;
        }
    }

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_TRUNC = 0x200;
    public const int O_DIRECTORY = 0x10000;
}

/// <summary>rename(2), which Tmds.LibC does not bind.</summary>
internal static unsafe partial class RenameNative
{
    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    public static partial int rename(byte* from, byte* to);
}
