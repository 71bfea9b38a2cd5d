using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RumpFs.P2k.Daemon;

/// <summary>
/// Going to the background without fork (which .NET cannot do safely): the parent starts a
/// copy of itself in the foreground with a readiness pipe named in the environment, and
/// exits 0 when the child reports the mount ready, or 1 with the child's one-line error.
/// </summary>
internal static unsafe class Detach
{
    public const string ReadyFdVariable = "RUMPFS_P2K_READY_FD";

    private const string ReadyMessage = "ready";
    private const string ErrorPrefix = "error ";

    /// <summary>In the parent: run the child and report its outcome; returns the exit status.</summary>
    public static int RunChild(string program, IReadOnlyList<string> args)
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, O_CLOEXEC) != 0)
        {
            Console.Error.WriteLine($"{program}: pipe: {(RumpFs.Kernel.Errno)errno}");
            return 1;
        }
        int readFd = fds[0], writeFd = fds[1];
        // The write end crosses exec into the child; the read end stays here.
        fcntl(writeFd, F_SETFD, 0);
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        if (IsDotnetHost(Environment.ProcessPath!))
        {
            psi.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }
        psi.ArgumentList.Add("-f");
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment[ReadyFdVariable] = writeFd.ToString(CultureInfo.InvariantCulture);
        Process child;
        try
        {
            child = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            close(writeFd);
            close(readFd);
            Console.Error.WriteLine($"{program}: cannot start the daemon: {ex.Message}");
            return 1;
        }
        close(writeFd);

        string message;
        using (var stream = new FileStream(new SafeFileHandle(readFd, ownsHandle: true), FileAccess.Read, 1))
        using (var reader = new StreamReader(stream, Encoding.UTF8))
        {
            message = reader.ReadLine() ?? "";
        }
        if (message == ReadyMessage)
        {
            child.Dispose();
            return 0;
        }
        if (message.StartsWith(ErrorPrefix, StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"{program}: {message[ErrorPrefix.Length..]}");
        }
        else
        {
            child.WaitForExit(5000);
            string status = child.HasExited ? child.ExitCode.ToString(CultureInfo.InvariantCulture) : "unknown";
            Console.Error.WriteLine($"{program}: the daemon ended before the mount was ready (status {status})");
        }
        child.Dispose();
        return 1;
    }

    /// <summary>In the child: the readiness descriptor from the environment, or -1 (plain -f).</summary>
    public static int TakeReadyFd()
    {
        string? text = Environment.GetEnvironmentVariable(ReadyFdVariable);
        Environment.SetEnvironmentVariable(ReadyFdVariable, null);
        if (text is null || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int fd))
        {
            return -1;
        }
        // Keep it out of helpers we start (fusermount3), or the parent would wait for them too.
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        return fd;
    }

    public static void ReportReady(int fd) => Report(fd, ReadyMessage);

    public static void ReportError(int fd, string error) => Report(fd, ErrorPrefix + error.Replace('\n', ' '));

    /// <summary>Leave the parent's session, so the terminal's signals no longer reach us.</summary>
    public static void LeaveSession() => setsid();

    /// <summary>
    /// Once ready: point stdio at /dev/null, and every other descriptor the runtime holds on
    /// the same files (it keeps duplicates of stdout and stderr), so that nothing waits on
    /// the parent's pipes or terminal any more.
    /// </summary>
    public static void CloseStdio()
    {
        var targets = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i <= 2; i++)
        {
            if (LinkOf(i) is { } t && t != "/dev/null")
            {
                targets.Add(t);
            }
        }
        var victims = new List<int> { 0, 1, 2 };
        foreach (string entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int fd)
                && fd > 2 && LinkOf(fd) is { } t && targets.Contains(t))
            {
                victims.Add(fd);
            }
        }
        fixed (byte* devNull = "/dev/null\0"u8)
        {
            int nullFd = open(devNull, O_RDWR | O_CLOEXEC, 0);
            if (nullFd < 0)
            {
                return;
            }
            foreach (int fd in victims)
            {
                // dup2 keeps the descriptor number valid for whoever owns it.
                dup2(nullFd, fd);
            }
            close(nullFd);
        }
    }

    private static string? LinkOf(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>A log sink that writes to descriptor 2 directly.</summary>
    public static void WriteStderr(RumpFs.Kernel.LogLevel level, string line)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(line + "\n");
        fixed (byte* p = bytes)
        {
            write(2, p, bytes.Length);
        }
    }

    private static void Report(int fd, string line)
    {
        if (fd < 0)
        {
            return;
        }
        byte[] bytes = Encoding.UTF8.GetBytes(line + "\n");
        fixed (byte* p = bytes)
        {
            write(fd, p, bytes.Length);
        }
        close(fd);
    }

    private static bool IsDotnetHost(string path) =>
        Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.Ordinal);
}
