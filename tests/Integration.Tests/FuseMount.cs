using System.Diagnostics;
using RumpFs.TestSupport;

namespace RumpFs.Integration.Tests;

/// <summary>
/// A rump_* daemon this test started in the foreground (-f), serving one mount. Dispose
/// always unmounts (fusermount3 -u, then -u -z as a last resort) and ends the daemon, by
/// its process id only.
/// </summary>
public sealed class FuseMount : IDisposable
{
    private readonly Process _daemon;
    private readonly System.Text.StringBuilder _log = new();
    private bool _disposed;

    private FuseMount(Process daemon, string mountPoint)
    {
        _daemon = daemon;
        MountPoint = mountPoint;
    }

    public string MountPoint { get; }

    public int DaemonPid => _daemon.Id;

    public bool DaemonExited => _daemon.HasExited;

    /// <summary>What the daemon wrote to stderr so far.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public string Path(string relative) => System.IO.Path.Combine(MountPoint, relative.TrimStart('/'));

    /// <summary>The folder the rump_* tools were built into (next to this test assembly).</summary>
    public static string ToolDll(string tool) => System.IO.Path.Combine(AppContext.BaseDirectory, tool + ".dll");

    /// <summary>Start <paramref name="tool"/> with <paramref name="args"/> (image and options) and wait for the mount.</summary>
    public static FuseMount Start(string tool, string mountPoint, params string[] args)
    {
        Directory.CreateDirectory(mountPoint);
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(ToolDll(tool));
        psi.ArgumentList.Add("-f");
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.ArgumentList.Add(mountPoint);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + tool);
        var mount = new FuseMount(p, mountPoint);
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (mount._log)
                {
                    mount._log.AppendLine(e.Data);
                }
            }
        };
        p.OutputDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (IsMounted(mountPoint))
            {
                return mount;
            }
            if (p.HasExited)
            {
                string log = mount.Log;
                mount.Dispose();
                throw new InvalidOperationException($"{tool} exited with {p.ExitCode} before mounting:\n{log}");
            }
            Thread.Sleep(50);
        }
        mount.Dispose();
        throw new TimeoutException($"{tool} did not mount {mountPoint} in time:\n{mount.Log}");
    }

    public static bool IsMounted(string mountPoint)
    {
        string full = System.IO.Path.GetFullPath(mountPoint).TrimEnd('/');
        return File.ReadAllLines("/proc/self/mounts")
            .Select(l => l.Split(' '))
            .Any(f => f.Length > 2 && f[1].Replace("\\040", " ", StringComparison.Ordinal) == full);
    }

    /// <summary>Unmount from outside as a user would and wait for the daemon to end; returns its exit code.</summary>
    public int Unmount()
    {
        ToolResult r = OracleTool.Run("fusermount3", "-u", MountPoint);
        // A file closed a moment ago can still pin the mount while the kernel finishes the
        // close (EBUSY); a user would try again, and so does the test, for a few seconds.
        for (int attempt = 0; attempt < 50 && r.ExitCode != 0 && r.Stderr.Contains("busy", StringComparison.Ordinal); attempt++)
        {
            Thread.Sleep(100);
            r = OracleTool.Run("fusermount3", "-u", MountPoint);
        }
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException("unmount failed\n" + r.Transcript + "\n" + Log);
        }
        if (!_daemon.WaitForExit(60_000))
        {
            throw new TimeoutException("daemon did not exit after unmount\n" + Log);
        }
        _disposed = true;
        return _daemon.ExitCode;
    }

    /// <summary>SIGKILL the daemon (a crash) and recover the mount point with fusermount3 -u.</summary>
    public void Crash()
    {
        _daemon.Kill();
        _daemon.WaitForExit(30_000);
        ToolResult r = OracleTool.Run("fusermount3", "-u", MountPoint);
        if (r.ExitCode != 0)
        {
            OracleTool.Run("fusermount3", "-u", "-z", MountPoint);
        }
        _disposed = true;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            _daemon.Dispose();
            return;
        }
        _disposed = true;
        try
        {
            if (IsMounted(MountPoint))
            {
                ToolResult r = OracleTool.Run("fusermount3", "-u", MountPoint);
                if (r.ExitCode != 0)
                {
                    OracleTool.Run("fusermount3", "-u", "-z", MountPoint);
                }
            }
            if (!_daemon.WaitForExit(30_000))
            {
                _daemon.Kill();
                _daemon.WaitForExit(10_000);
            }
        }
        finally
        {
            _daemon.Dispose();
        }
    }
}
