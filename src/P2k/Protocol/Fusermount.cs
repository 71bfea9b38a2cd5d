using System.Diagnostics;
using RumpFs.Kernel;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RumpFs.P2k.Protocol;

/// <summary>
/// Mounting without root through the set-uid helper fusermount3: it opens /dev/fuse, mounts,
/// and passes the descriptor back over the socket named by _FUSE_COMMFD (SCM_RIGHTS).
/// </summary>
internal static unsafe class Fusermount
{
    public const string Helper = "fusermount3";

    public static Errno Mount(string mountPoint, FuseMountOptions options, out FuseDevice? device, out string? error)
    {
        device = null;
        error = null;
        int* sv = stackalloc int[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        {
            Errno se = (Errno)errno;
            error = $"socketpair: {se.Describe()}";
            return se;
        }
        int ours = sv[0], theirs = sv[1];
        // Only the helper's end may cross exec.
        fcntl(ours, F_SETFD, FD_CLOEXEC);
        try
        {
            var psi = new ProcessStartInfo(Helper)
            {
                UseShellExecute = false,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            psi.ArgumentList.Add("-o");
            psi.ArgumentList.Add(OptionString(options));
            psi.ArgumentList.Add("--");
            psi.ArgumentList.Add(mountPoint);
            psi.Environment["_FUSE_COMMFD"] = theirs.ToString(System.Globalization.CultureInfo.InvariantCulture);
            using Process? p = StartHelper(psi, out error);
            close(theirs);
            theirs = -1;
            if (p is null)
            {
                return Errno.ENOENT;
            }
            int fd = ReceiveFd(ours);
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (fd < 0 || p.ExitCode != 0)
            {
                if (fd >= 0)
                {
                    close(fd);
                }
                error = FirstLine(stderr) ?? $"{Helper} failed with status {p.ExitCode}";
                return Errno.EPERM;
            }
            fcntl(fd, F_SETFD, FD_CLOEXEC);
            device = new FuseDevice(fd);
            return Errno.OK;
        }
        finally
        {
            if (theirs >= 0)
            {
                close(theirs);
            }
            close(ours);
        }
    }

    /// <summary>fusermount3 -u (plain, then lazy when busy).</summary>
    public static Errno Unmount(string mountPoint)
    {
        if (RunUnmount(mountPoint, lazy: false) == 0)
        {
            return Errno.OK;
        }
        return RunUnmount(mountPoint, lazy: true) == 0 ? Errno.OK : Errno.EBUSY;
    }

    private static int RunUnmount(string mountPoint, bool lazy)
    {
        var psi = new ProcessStartInfo(Helper)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        psi.ArgumentList.Add(lazy ? "-uqz" : "-uq");
        psi.ArgumentList.Add("--");
        psi.ArgumentList.Add(mountPoint);
        using Process? p = StartHelper(psi, out _);
        if (p is null)
        {
            return -1;
        }
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }

    private static Process? StartHelper(ProcessStartInfo psi, out string? error)
    {
        error = null;
        try
        {
            return Process.Start(psi);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            error = $"cannot run {Helper}: {ex.Message}";
            return null;
        }
    }

    private static string OptionString(FuseMountOptions o)
    {
        var opts = new List<string>
        {
            o.ReadOnly ? "ro" : "rw",
            "nosuid",
            "nodev",
            $"fsname={o.Source.Replace(",", "\\,", StringComparison.Ordinal)}",
            $"subtype={o.Subtype}",
        };
        if (o.NoExec)
        {
            opts.Add("noexec");
        }
        if (o.NoAtime)
        {
            opts.Add("noatime");
        }
        if (o.Synchronous)
        {
            opts.Add("sync");
        }
        if (o.DefaultPermissions)
        {
            opts.Add("default_permissions");
        }
        if (o.AllowOther)
        {
            opts.Add("allow_other");
        }
        return string.Join(',', opts);
    }

    /// <summary>Receive one descriptor sent with SCM_RIGHTS; -1 when the helper sent none.</summary>
    private static int ReceiveFd(int socket)
    {
        byte data = 0;
        int space = CMSG_SPACE(sizeof(int));
        byte* control = stackalloc byte[space];
        new Span<byte>(control, space).Clear();
        var iov = new iovec { iov_base = &data, iov_len = 1 };
        var msg = new msghdr
        {
            msg_iov = &iov,
            msg_iovlen = 1,
            msg_control = control,
            msg_controllen = space,
        };
        long n;
        do
        {
            n = recvmsg(socket, &msg, 0);
        }
        while (n < 0 && errno == EINTR);
        if (n <= 0)
        {
            return -1;
        }
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != null; c = CMSG_NXTHDR(&msg, c))
        {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            {
                return *(int*)CMSG_DATA(c);
            }
        }
        return -1;
    }

    private static string? FirstLine(string text)
    {
        foreach (string line in text.Split('\n'))
        {
            if (line.Trim().Length > 0)
            {
                return line.Trim();
            }
        }
        return null;
    }
}
