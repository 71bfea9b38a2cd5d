using System.Runtime.InteropServices;
using CommandLine;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.P2k.Daemon;

/// <summary>
/// The command line shared by every rump_* daemon:
/// <c>rump_X [-o opt[,opt...]] [-f] [-d] image mountpoint</c>. Parses and checks the
/// arguments, detaches (unless -f) once the mount is ready, serves the mount, and on
/// SIGINT/SIGTERM or an unmount from outside writes everything back and exits 0.
/// </summary>
public static class DaemonMain
{
    /// <summary>
    /// Run the daemon for <paramref name="driver"/>; returns the process exit status.
    /// <paramref name="openDevice"/> opens the image operand (the tools pass one that
    /// understands partition selections such as "disk.img%GPT:1%"); by default the operand
    /// is a plain image file or block device.
    /// </summary>
    public static int Run(string[] args, IFileSystemDriver driver, DeviceOpener? openDevice = null)
    {
        s_openDevice = openDevice ?? OpenPlainImage;
        string program = "rump_" + driver.Name;
        if (args.Any(a => a is "--help" or "-h"))
        {
            Console.Out.WriteLine(DaemonHelp.Text(program, driver));
            return 0;
        }
        if (!TryParse(program, driver, args, out DaemonConfig? config, out string? error))
        {
            Console.Error.WriteLine($"{program}: {error} (see {program} --help)");
            return 1;
        }
        if (!config!.Foreground)
        {
            return Detach.RunChild(program, args);
        }
        return Serve(config, driver);
    }

    private static DeviceOpener s_openDevice = OpenPlainImage;

    private static Errno OpenPlainImage(string image, bool readOnly, out IBlockDevice? device, out string? error)
    {
        Errno e = FileBlockDevice.Open(image, readOnly, out FileBlockDevice? file, out error);
        device = file;
        return e;
    }

    internal static bool TryParse(string program, IFileSystemDriver driver, string[] args, out DaemonConfig? config,
        out string? error)
    {
        config = null;
        using var parser = new Parser(s =>
        {
            s.AutoHelp = false;
            s.AutoVersion = false;
            s.HelpWriter = null;
            s.AllowMultiInstance = true;
            s.PosixlyCorrect = false;
            s.EnableDashDash = true;
        });
        var mountOptions = new List<string>();
        string[] rest = DaemonArguments.SplitMountOptions(args, mountOptions, out error);
        if (error is not null)
        {
            return false;
        }
        DaemonArguments? parsed = null;
        string? parseError = null;
        parser.ParseArguments<DaemonArguments>(rest)
            .WithParsed(a => parsed = a)
            .WithNotParsed(errors => parseError = Describe(errors.First()));
        if (parsed is null)
        {
            error = parseError ?? "bad arguments";
            return false;
        }
        parsed.Options = mountOptions;
        return DaemonConfig.TryCreate(program, driver, parsed, out config, out error);
    }

    private static string Describe(Error e) => e switch
    {
        UnknownOptionError u => $"unknown option '{(u.Token.Length == 1 ? "-" : "--")}{u.Token}'",
        MissingValueOptionError m => $"option '-{m.NameInfo.ShortName}' needs a value",
        BadFormatTokenError b => $"bad argument '{b.Token}'",
        _ => $"bad arguments ({e.Tag})",
    };

    /// <summary>The daemon proper (foreground, or the detached child).</summary>
    private static int Serve(DaemonConfig config, IFileSystemDriver driver)
    {
        int readyFd = Detach.TakeReadyFd();
        if (readyFd >= 0)
        {
            Detach.LeaveSession();
            // Console.Error holds a duplicate of fd 2; log through fd 2 itself so that
            // pointing it at /dev/null once ready lets go of the parent's stderr.
            KernelLog.SetSink(Detach.WriteStderr);
        }
        LogFileSink? logFile = null;
        if (config.LogFile is not null)
        {
            if (!LogFileSink.TryOpen(config.LogFile, out logFile, out string? logError))
            {
                return Fail(config, readyFd, logError!);
            }
            KernelLog.SetSink(logFile!.Write);
        }
        using LogFileSink? closeLogFile = logFile;
        using SyslogSink? syslog = readyFd >= 0 && logFile is null ? new SyslogSink(SyslogSink.DefaultSocket, config.Program) : null;
        if (config.Debug)
        {
            KernelLog.MinimumLevel = LogLevel.Debug;
        }
        Directory.SetCurrentDirectory("/");

        if (!MountVfs(config, driver, out Mount? mount, out string? error))
        {
            return Fail(config, readyFd, error!);
        }
        // Taken before the kernel mount: a signal that arrives as soon as the mount point is
        // usable (a test, a script's trap) then unmounts cleanly instead of killing the daemon.
        using var stop = new ManualResetEventSlim(false);
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        void OnSignal(PosixSignalContext ctx)
        {
            ctx.Cancel = true;
            stop.Set();
        }

        var options = new P2kServerOptions
        {
            Kernel = config.Kernel,
            Bridge = config.Bridge,
            Debug = config.Debug,
            SyncInterval = config.SyncInterval,
        };
        if (P2kServer.Start(mount!, config.MountPoint, options, out P2kServer? server, out error) != Errno.OK)
        {
            mount!.Unmount(force: true);
            return Fail(config, readyFd, error ?? "mount failed");
        }

        if (readyFd >= 0)
        {
            Detach.ReportReady(readyFd);
            Detach.CloseStdio();
            if (syslog is not null)
            {
                // Stderr is /dev/null from here on: a detached daemon logs where daemons do.
                KernelLog.SetSink(syslog.Write);
            }
        }
        KernelLog.Info("p2k", $"{config.Source} mounted on {config.MountPoint}");

        using (server)
        {
            WaitHandle.WaitAny([server!.Ended, stop.WaitHandle]);
            if (stop.IsSet)
            {
                server.RequestStop();
                if (!server.WaitForEnd(TimeSpan.FromSeconds(10)))
                {
                    KernelLog.Warning("p2k", $"{config.MountPoint} is still in use; stopping anyway");
                }
            }
            Errno e = server.Shutdown();
            if (e != Errno.OK)
            {
                KernelLog.Error("p2k", $"unmount of {config.Source} failed: {e.Describe()}");
                return 1;
            }
        }
        KernelLog.Info("p2k", $"{config.Source} unmounted cleanly");
        return 0;
    }

    /// <summary>Open the image (when the driver needs one) and mount it in the VFS.</summary>
    private static bool MountVfs(DaemonConfig config, IFileSystemDriver driver, out Mount? mount, out string? error)
    {
        mount = null;
        FileSystemRegistry.Register(driver);
        IBlockDevice? device = null;
        if (driver.NeedsDevice)
        {
            if (s_openDevice(config.Image!, config.VfsOptions.ReadOnly, out device, out error) != Errno.OK)
            {
                error ??= $"cannot open {config.Image}";
                return false;
            }
        }
        Errno e = FileSystemRegistry.Mount(driver.Name, device, config.VfsOptions, out mount, out error);
        if (e != Errno.OK)
        {
            device?.Dispose();
            error ??= $"cannot mount {config.Source}: {e.Describe()}";
            return false;
        }
        return true;
    }

    private static int Fail(DaemonConfig config, int readyFd, string error)
    {
        if (readyFd >= 0)
        {
            Detach.ReportError(readyFd, error);
        }
        else
        {
            Console.Error.WriteLine($"{config.Program}: {error}");
        }
        return 1;
    }
}
