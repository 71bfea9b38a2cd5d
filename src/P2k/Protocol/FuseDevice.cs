using Microsoft.Win32.SafeHandles;
using RumpFs.Kernel;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RumpFs.P2k.Protocol;

/// <summary>
/// A descriptor on /dev/fuse: the session's own, or a clone of it (FUSE_DEV_IOC_CLONE) so
/// that each worker thread reads its own queue. Reads return one whole request; writes
/// carry one whole reply.
/// </summary>
internal sealed unsafe class FuseDevice : SafeHandleZeroOrMinusOneIsInvalid
{
    // _IOR(229, 0, uint32_t)
    private const int FUSE_DEV_IOC_CLONE = unchecked((int)0x8004E500);

    public FuseDevice(int fd, bool ownsHandle = true)
        : base(ownsHandle)
    {
        SetHandle(fd);
    }

    public int Fd => (int)handle;

    /// <summary>Open /dev/fuse read-write (close-on-exec).</summary>
    public static Errno Open(out FuseDevice? device)
    {
        device = null;
        fixed (byte* path = "/dev/fuse\0"u8)
        {
            int fd = open(path, O_RDWR | O_CLOEXEC, 0);
            if (fd < 0)
            {
                return (Errno)errno;
            }
            device = new FuseDevice(fd);
            return Errno.OK;
        }
    }

    /// <summary>
    /// A new descriptor attached to this session's connection, with its own request queue
    /// for the thread that reads it. Needs the right to open /dev/fuse (root, usually).
    /// </summary>
    public Errno Clone(out FuseDevice? clone)
    {
        clone = null;
        Errno e = Open(out FuseDevice? fresh);
        if (e != Errno.OK)
        {
            return e;
        }
        uint master = (uint)Fd;
        if (ioctl(fresh!.Fd, FUSE_DEV_IOC_CLONE, &master) != 0)
        {
            e = (Errno)errno;
            fresh.Dispose();
            return e;
        }
        clone = fresh;
        return Errno.OK;
    }

    /// <summary>
    /// Read one request into <paramref name="buffer"/>. Retries EINTR and EAGAIN (another
    /// reader took the request); ENODEV means the file system was unmounted.
    /// </summary>
    public Errno Read(byte[] buffer, out int length)
    {
        length = 0;
        fixed (byte* p = buffer)
        {
            while (true)
            {
                long n = read(Fd, p, buffer.Length);
                if (n == 0)
                {
                    // End of file: only a socket stands in for /dev/fuse like this (tests); the peer is gone.
                    return Errno.ENODEV;
                }
                if (n > 0)
                {
                    length = (int)n;
                    return Errno.OK;
                }
                int err = errno;
                if (err == EINTR || err == EAGAIN)
                {
                    continue;
                }
                // ENOENT: the request was interrupted before we could read it; read the next one.
                if (err == ENOENT)
                {
                    continue;
                }
                return (Errno)err;
            }
        }
    }

    /// <summary>Write one whole reply.</summary>
    public Errno Write(ReadOnlySpan<byte> reply)
    {
        fixed (byte* p = reply)
        {
            while (true)
            {
                long n = write(Fd, p, reply.Length);
                if (n >= 0)
                {
                    return Errno.OK;
                }
                int err = errno;
                if (err != EINTR)
                {
                    return (Errno)err;
                }
            }
        }
    }

    protected override bool ReleaseHandle() => close((int)handle) == 0;
}
