using System.Diagnostics;
using Xunit;

namespace RumpFs.TestSupport;

/// <summary>The outcome of running an external tool.</summary>
public sealed record ToolResult(string Command, int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Everything the tool said, for assertion messages.</summary>
    public string Transcript => $"$ {Command}\n(exit {ExitCode})\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Runs the independent checkers and image makers (e2fsck, fsck.fat, fls, mcopy, makefs,
/// mke2fs, ...) and reports their full output when an expectation fails.
/// </summary>
public static class OracleTool
{
    /// <summary>Run <paramref name="file"/> with <paramref name="args"/>; never throws for a non-zero exit.</summary>
    public static ToolResult Run(string file, IEnumerable<string> args, string? stdin = null,
        IDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["MTOOLS_SKIP_CHECK"] = "1";
        if (env is not null)
        {
            foreach (var kv in env)
            {
                psi.Environment[kv.Key] = kv.Value;
            }
        }
        string command = file + " " + string.Join(' ', psi.ArgumentList.Select(a => a.Contains(' ') ? $"'{a}'" : a));
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return new ToolResult(command, -1, stdout.Result, stderr.Result + "\n(timed out)");
        }
        return new ToolResult(command, p.ExitCode, stdout.Result, stderr.Result);
    }

    public static ToolResult Run(string file, params string[] args) => Run(file, (IEnumerable<string>)args);

    /// <summary>Run and fail the test, with the whole transcript, unless the exit code is expected.</summary>
    public static ToolResult RunExpect(int expectedExit, string file, params string[] args)
    {
        ToolResult r = Run(file, args);
        if (r.ExitCode != expectedExit)
        {
            Assert.Fail($"expected exit {expectedExit}\n{r.Transcript}");
        }
        return r;
    }

    /// <summary>True when <paramref name="tool"/> is on PATH.</summary>
    public static bool Exists(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Concat(["/usr/sbin", "/sbin"])
            .Any(dir => File.Exists(Path.Combine(dir, tool)));
}
