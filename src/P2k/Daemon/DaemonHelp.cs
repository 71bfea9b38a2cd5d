using RumpFs.Vfs;

namespace RumpFs.P2k.Daemon;

/// <summary>--help: the synopsis and options, in the shape of a manual page.</summary>
internal static class DaemonHelp
{
    public static string Text(string program, IFileSystemDriver driver)
    {
        string operands = driver.NeedsDevice ? "image mountpoint" : "[tmpfs] mountpoint";
        string what = driver.NeedsDevice
            ? $"mounts the {driver.Name} file system in image (a file or block device, or one partition of it: image%MBR:2%, image%GPT:1%, image%DISKLABEL:e%) at mountpoint"
            : $"mounts a new {driver.Name} (a file system in memory) at mountpoint";
        return $"""
            NAME
                {program} - serve {(driver.Name.StartsWith('e') ? "an" : "a")} {driver.Name} file system through FUSE

            SYNOPSIS
                {program} [-o option[,option...]] [-f] [-d] {operands}

            DESCRIPTION
                {program} {what}, running the file-system driver in this process and
                speaking the kernel's FUSE protocol over /dev/fuse. As root it mounts with
                mount(2); otherwise through fusermount3. It detaches once the mount is ready
                (a failed mount is reported first, with exit status 1). SIGINT, SIGTERM or an
                unmount from outside (umount, fusermount3 -u) write everything back, mark the
                file system clean and end the daemon with status 0.

            OPTIONS
                -f          Stay in the foreground; log to stderr.
                -d          Log every request and its result (implies -f).
                -o options  Comma-separated; -o may be given more than once:
                    ro, rw              Read-only or read-write (the default).
                    sync                Write every change through to the device at once.
                    noatime             Do not update access times.
                    nosuid, nodev, noexec
                                        The kernel mount flags of the same names.
                    allow_other         Let other users in (as a user, needs
                                        user_allow_other in /etc/fuse.conf).
                    default_permissions The kernel checks file modes (always on).
                    attr_timeout=SEC    How long the kernel caches attributes (1).
                    entry_timeout=SEC   How long the kernel caches names (1).
                    writeback_cache     Let the kernel cache writes and write them back later
                                        (faster small writes; errors such as a full image
                                        then show at fsync or close, not at write).
                    cache=SIZE          Bound of the buffer cache (64M; K, M, G suffixes).
                    syncdelay=SEC       Write everything back every SEC seconds (30; 0 never:
                                        then only fsync and unmount write back).
                    force               Mount read-write although the file system is not clean.
                    logfile=PATH        Append log lines to PATH (default: stderr, and the
                                        system log, /dev/log, once detached).
                Other options go to the {driver.Name} driver{DriverOptions(driver.Name)}.

            EXIT STATUS
                0 when the mount was served and unmounted cleanly; 1 on a usage error or
                when the mount failed (unknown option, missing image, mount point missing or
                busy, image in use by another process).
            """;
    }

    /// <summary>The driver's own options, named in the help by the driver's registered name.</summary>
    private static string DriverOptions(string driver) => driver switch
    {
        "tmpfs" => " (size=SIZE, nr_inodes=N, mode=OCTAL, uid=N, gid=N)",
        "ext2fs" => " (usrquota or quota, grpquota, prjquota: enforce those quota limits)",
        _ => "",
    };
}
