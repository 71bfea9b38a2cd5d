using System.Globalization;
using RumpFs.Kernel;
using RumpFs.P2k.Bridge;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Daemon;

/// <summary>
/// A parsed and checked command line: where to mount, what, and with which options. The -o
/// options are split three ways: the kernel mount's (allow_other, nosuid, ...), the
/// daemon's (attr_timeout=, entry_timeout=, syncdelay=, logfile=), and the rest for <see cref="MountOptions"/>
/// (generic ones parsed there, driver-specific ones left in Extra for the driver).
/// </summary>
internal sealed record DaemonConfig
{
    public required string Program { get; init; }
    public string? Image { get; init; }
    public required string Source { get; init; }
    public required string MountPoint { get; init; }
    public required MountOptions VfsOptions { get; init; }
    public required FuseMountOptions Kernel { get; init; }
    public BridgeOptions Bridge { get; init; } = new();
    public bool Foreground { get; init; }
    public bool Debug { get; init; }

    /// <summary>syncdelay=: seconds between periodic write-backs of a read-write mount (0: none).</summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>logfile=: the file log lines go to (absolute); null for stderr, then syslog once detached.</summary>
    public string? LogFile { get; init; }

    /// <summary>Build from arguments; on failure <paramref name="error"/> is one line for stderr.</summary>
    public static bool TryCreate(string program, IFileSystemDriver driver, DaemonArguments args,
        out DaemonConfig? config, out string? error)
    {
        config = null;
        List<string> operands = [.. args.Operands];
        string? image = null;
        string mountPoint;
        if (driver.NeedsDevice)
        {
            if (operands.Count != 2)
            {
                error = operands.Count < 2 ? "expected an image and a mount point" : $"unexpected argument '{operands[2]}'";
                return false;
            }
            image = Path.GetFullPath(operands[0]);
            mountPoint = operands[1];
        }
        else
        {
            // "rump_tmpfs /mnt" or, as mount(8) writes it, "rump_tmpfs tmpfs /mnt".
            if (operands.Count is < 1 or > 2)
            {
                error = operands.Count < 1 ? "expected a mount point" : $"unexpected argument '{operands[^1]}'";
                return false;
            }
            mountPoint = operands[^1];
        }
        string source = image ?? (operands.Count == 2 ? operands[0] : driver.Name);

        bool allowOther = false, defaultPermissions = true, noSuid = false, noDev = false, noExec = false, writeback = false;
        double attrTimeout = 1.0, entryTimeout = 1.0, syncDelay = 30;
        string? logFile = null;
        var vfs = new List<string>();
        foreach (string raw in args.Options.SelectMany(o => o.Split(',')))
        {
            string opt = raw.Trim();
            if (opt.Length == 0)
            {
                continue;
            }
            int eq = opt.IndexOf('=', StringComparison.Ordinal);
            string name = eq < 0 ? opt : opt[..eq];
            string? value = eq < 0 ? null : opt[(eq + 1)..];
            switch (name)
            {
                case "allow_other": allowOther = true; break;
                case "default_permissions": defaultPermissions = true; break;
                case "nosuid": noSuid = true; break;
                case "suid": noSuid = false; break;
                case "nodev": noDev = true; break;
                case "dev": noDev = false; break;
                case "noexec": noExec = true; break;
                case "exec": noExec = false; break;
                case "writeback_cache": writeback = true; break;
                case "no_writeback_cache": writeback = false; break;
                case "attr_timeout":
                case "entry_timeout":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double t) || t < 0)
                    {
                        error = $"{name}={value}: expected seconds (e.g. 1 or 0.5)";
                        return false;
                    }
                    if (name == "attr_timeout")
                    {
                        attrTimeout = t;
                    }
                    else
                    {
                        entryTimeout = t;
                    }
                    break;
                case "syncdelay":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out syncDelay)
                        || syncDelay < 0 || syncDelay > 86400)
                    {
                        error = $"syncdelay={value}: expected seconds between write-backs (0 turns them off)";
                        return false;
                    }
                    break;
                case "logfile":
                    if (string.IsNullOrEmpty(value))
                    {
                        error = "logfile= needs a file name";
                        return false;
                    }
                    logFile = Path.GetFullPath(value);
                    break;
                default:
                    vfs.Add(opt);
                    break;
            }
        }
        if (MountOptions.Parse(string.Join(',', vfs), out MountOptions vfsOptions, out string? optError) != Errno.OK)
        {
            error = optError ?? "bad mount options";
            return false;
        }

        if (!CheckMountPoint(ref mountPoint, out error))
        {
            return false;
        }
        // File.Exists is true for device nodes too (anything not a directory).
        if (image is not null && !File.Exists(image) && !File.Exists(WithoutPartition(image)))
        {
            error = Directory.Exists(image) ? $"{image}: is a directory, not an image" : $"{image}: no such file";
            return false;
        }

        config = new DaemonConfig
        {
            Program = program,
            Image = image,
            Source = source,
            MountPoint = mountPoint,
            VfsOptions = vfsOptions,
            Kernel = new FuseMountOptions
            {
                Source = source,
                Subtype = program,
                ReadOnly = vfsOptions.ReadOnly,
                NoSuid = noSuid,
                NoDev = noDev,
                NoExec = noExec,
                NoAtime = vfsOptions.NoAtime,
                Synchronous = vfsOptions.Synchronous,
                DefaultPermissions = defaultPermissions,
                AllowOther = allowOther,
            },
            Bridge = new BridgeOptions(entryTimeout, attrTimeout, writeback),
            Foreground = args.Foreground || args.Debug,
            Debug = args.Debug,
            SyncInterval = TimeSpan.FromSeconds(syncDelay),
            LogFile = logFile,
        };
        return true;
    }

    /// <summary>The mount point exists, is a directory, and nothing is mounted there yet.</summary>
    private static bool CheckMountPoint(ref string mountPoint, out string? error)
    {
        error = null;
        string full = Path.GetFullPath(mountPoint);
        if (full.Length > 1)
        {
            full = full.TrimEnd('/');
        }
        if (File.Exists(full))
        {
            error = $"mount point {full}: not a directory";
            return false;
        }
        if (!Directory.Exists(full))
        {
            error = $"mount point {full}: no such directory";
            return false;
        }
        // Resolve symbolic links so the check and the mount name the same place.
        string real = new DirectoryInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        if (MountTable.IsMountPoint(real))
        {
            error = $"mount point {real}: busy (something is already mounted there)";
            return false;
        }
        mountPoint = real;
        return true;
    }

    /// <summary>
    /// The image file of a name with a partition selection in the rump syntax
    /// ("disk.img%MBR:2%" → "disk.img"); the selection itself is the device opener's business.
    /// </summary>
    internal static string WithoutPartition(string image)
    {
        if (!image.EndsWith('%'))
        {
            return image;
        }
        int start = image.LastIndexOf('%', image.Length - 2);
        return start > 0 && image.AsSpan(start, image.Length - start).Contains(':') ? image[..start] : image;
    }
}
