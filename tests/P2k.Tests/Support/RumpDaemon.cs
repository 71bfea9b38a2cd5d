using System.Diagnostics;
using System.Text;
using RumpFs.P2k.Protocol;

namespace RumpFs.P2k.Tests.Support;

/// <summary>
/// One rump_* daemon started by a test, in the foreground so its pid and stderr are ours.
/// Dispose always unmounts (umount, then fusermount3 -u -z as a last resort) and kills only
/// this daemon, by its pid.
/// </summary>
internal sealed class RumpDaemon : IDisposable
{
    private readonly StringBuilder _stderr = new();
    private readonly string[]? _runAs;

    private RumpDaemon(string mountPoint, string? scratch, Process process, string[]? runAs)
    {
        MountPoint = mountPoint;
        Scratch = scratch;
        Process = process;
        _runAs = runAs;
    }

    public string MountPoint { get; }

    /// <summary>A folder removed on dispose (holds the mount point), or null.</summary>
    public string? Scratch { get; }

    public Process Process { get; }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public string Path(string name) => System.IO.Path.Combine(MountPoint, name);

    public static string ToolDll(string tool) => System.IO.Path.Combine(AppContext.BaseDirectory, tool + ".dll");

    public static string NewScratch()
    {
        string dir = System.IO.Path.Combine("/tmp", $"p2k-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Start rump_tmpfs -f on a fresh mount point and wait until it is mounted;
    /// <paramref name="runAs"/> is a command prefix (setpriv ...) to run it as another user.
    /// </summary>
    public static RumpDaemon StartTmpfs(string options = "size=1G", string[]? runAs = null) =>
        Start("rump_tmpfs", ["-o", options], runAs);

    /// <summary>Start <paramref name="tool"/> -f with <paramref name="args"/> and a fresh mount point last.</summary>
    public static RumpDaemon Start(string tool, string[] args, string[]? runAs = null)
    {
        string scratch = NewScratch();
        string mnt = System.IO.Path.Combine(scratch, "mnt");
        Directory.CreateDirectory(mnt);
        // Through env --default-signal=INT: a test run started in the background of a
        // non-interactive shell inherits SIGINT ignored, the daemon would inherit that too,
        // and the tests that send it SIGINT would wait for nothing.
        var psi = new ProcessStartInfo("env")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        psi.ArgumentList.Add("--default-signal=INT");
        if (runAs is not null)
        {
            foreach (string a in runAs)
            {
                psi.ArgumentList.Add(a);
            }
            File.SetUnixFileMode(scratch, (UnixFileMode)0x1FF);
            File.SetUnixFileMode(mnt, (UnixFileMode)0x1FF);
        }
        psi.ArgumentList.Add("dotnet");
        foreach (string a in (string[])[ToolDll(tool), "-f", .. args, mnt])
        {
            psi.ArgumentList.Add(a);
        }
        Process p = Process.Start(psi)!;
        var d = new RumpDaemon(mnt, scratch, p, runAs);
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (d._stderr)
                {
                    d._stderr.AppendLine(e.Data);
                }
            }
        };
        p.BeginErrorReadLine();
        p.OutputDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        d.WaitMounted(TimeSpan.FromSeconds(30));
        return d;
    }

    public bool IsMounted => MountTable.IsMountPoint(MountPoint);

    private void WaitMounted(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (IsMounted)
            {
                return;
            }
            if (Process.HasExited)
            {
                break;
            }
            Thread.Sleep(50);
        }
        string err = Stderr;
        Dispose();
        throw new InvalidOperationException($"the daemon did not mount {MountPoint}: {err}");
    }

    /// <summary>Unmount from outside, as a user would (umount as root, fusermount3 -u otherwise).</summary>
    public int UnmountFromOutside() => _runAs is null
        ? Run("umount", MountPoint).ExitCode
        : Run(_runAs[0], [.. _runAs[1..], "fusermount3", "-u", MountPoint]).ExitCode;

    /// <summary>
    /// The detached daemon a test started: the process whose command line names
    /// <paramref name="tool"/> and the test's unique mount point; -1 when there is none.
    /// </summary>
    public static int FindServing(string tool, string mountPoint)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(dir), out int pid))
            {
                continue;
            }
            try
            {
                string cmd = File.ReadAllText(System.IO.Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmd.Contains(tool, StringComparison.Ordinal) && cmd.Contains(mountPoint, StringComparison.Ordinal))
                {
                    return pid;
                }
            }
            catch (IOException)
            {
            }
        }
        return -1;
    }

    /// <summary>The process is alive (not gone, not a zombie waiting to be reaped).</summary>
    public static bool ProcessExists(int pid) =>
        File.Exists($"/proc/{pid}/status") && !File.ReadAllText($"/proc/{pid}/status").Contains("State:\tZ", StringComparison.Ordinal);

    /// <summary>Wait up to <paramref name="timeout"/> for a process this test did not start to end; true when it has.</summary>
    public static bool WaitForProcessEnd(int pid, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (ProcessExists(pid) && sw.Elapsed < timeout)
        {
            Thread.Sleep(50);
        }
        return !ProcessExists(pid);
    }

    /// <summary>
    /// Wait for the daemon to end. After a timed wait succeeds, the untimed one waits for the
    /// redirected stderr to be read to its end, so <see cref="Stderr"/> is complete.
    /// </summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!Process.WaitForExit((int)timeout.TotalMilliseconds))
        {
            return false;
        }
        Process.WaitForExit();
        return true;
    }

    public static (int ExitCode, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }

    public void Dispose()
    {
        if (IsMounted)
        {
            UnmountFromOutside();
        }
        if (!Process.HasExited && !Process.WaitForExit(10_000))
        {
            Process.Kill();
            Process.WaitForExit(5000);
        }
        if (IsMounted)
        {
            Run("fusermount3", "-u", "-z", MountPoint);
        }
        Process.Dispose();
        if (Scratch is not null && !IsMounted)
        {
            try
            {
                Directory.Delete(Scratch, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
