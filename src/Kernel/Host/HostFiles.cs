using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RumpFs.Kernel.Host;

/// <summary>
/// Host file calls the BCL lacks: open-file-description locks, block-device size, fdatasync,
/// read-ahead advice and file-type tests. All go through Tmds.LibC, the maintained raw libc binding.
/// </summary>
internal static unsafe class HostFiles
{
    // _IOR(0x12, 114, size_t): the size of a block device in bytes.
    private const int BLKGETSIZE64 = unchecked((int)0x80081272);

    public static Errno LockWholeFile(SafeFileHandle handle, bool exclusive)
    {
        var fl = new flock
        {
            l_type = (short)(exclusive ? F_WRLCK : F_RDLCK),
            l_whence = (short)SEEK_SET,
            l_start = 0,
            l_len = 0,
            l_pid = 0,
        };
        int fd = (int)handle.DangerousGetHandle();
        if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
        {
            return Errno.OK;
        }
        int err = errno;
        return err == EAGAIN || err == EACCES ? Errno.EAGAIN : (Errno)err;
    }

    public static Errno BlockDeviceSize(SafeFileHandle handle, out long size)
    {
        ulong bytes = 0;
        int fd = (int)handle.DangerousGetHandle();
        if (ioctl(fd, BLKGETSIZE64, &bytes) != 0)
        {
            size = 0;
            return (Errno)errno;
        }
        size = (long)bytes;
        return Errno.OK;
    }

    public static Errno DataSync(SafeFileHandle handle, bool isBlockDevice)
    {
        int fd = (int)handle.DangerousGetHandle();
        int rc = isBlockDevice ? fsync(fd) : fdatasync(fd);
        return rc == 0 ? Errno.OK : (Errno)errno;
    }

    /// <summary>
    /// Ask the host kernel to start reading [offset, offset+length) into its page cache
    /// (posix_fadvise WILLNEED). Only a hint: a failure changes nothing and is not reported.
    /// </summary>
    public static void AdviseWillNeed(SafeFileHandle handle, long offset, long length)
    {
        int fd = (int)handle.DangerousGetHandle();
        _ = posix_fadvise(fd, offset, length, POSIX_FADV_WILLNEED);
    }

    public static bool IsBlockDevice(string path)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        stat st;
        fixed (byte* p = bytes)
        {
            if (LibC.stat(p, &st) != 0)
            {
                return false;
            }
        }
        return ((uint)st.st_mode & 0xF000) == 0x6000;
    }
}
