using System.Text;
using RumpFs.Kernel.Devices;
using RumpFs.Tools.Ukfs;

namespace RumpFs.Ukfs.Tests;

/// <summary>The output of one `ukfs` run.</summary>
internal sealed record CliResult(int Exit, string Stdout, string Stderr, byte[] Binary)
{
    public override string ToString() => $"exit {Exit}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs `ukfs` in-process, against an image or against one shared tmpfs mount.</summary>
internal sealed class CliHarness : IDisposable
{
    private readonly UkfsMount? _tmpfs;

    private CliHarness(UkfsMount? tmpfs) => _tmpfs = tmpfs;

    /// <summary>Every command runs against the same tmpfs, whatever IMAGE says.</summary>
    public static CliHarness OnTmpfs() => new(UkfsMount.Open("tmpfs", (IBlockDevice?)null));

    /// <summary>Commands open the IMAGE they are given.</summary>
    public static CliHarness OnImages() => new(null);

    public UkfsMount Tmpfs => _tmpfs ?? throw new InvalidOperationException("not a tmpfs harness");

    public CliResult Run(params string[] args) => RunWithInput(null, args);

    /// <summary>Run with <paramref name="stdin"/> as standard input (put -).</summary>
    public CliResult RunWithInput(byte[]? stdin, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var binary = new MemoryStream();
        Stream? input = stdin is null ? null : new MemoryStream(stdin);
        int exit = _tmpfs is null
            ? Cli.Run(args, stdout, stderr, progress: false, binary, null, input)
            : Cli.Run(args, stdout, stderr, progress: false, binary, (_, _, _) => (_tmpfs, false), input);
        return new CliResult(exit, stdout.ToString(), stderr.ToString(), binary.ToArray());
    }

    /// <summary>Run and assert exit 0 with nothing on stderr.</summary>
    public CliResult Ok(params string[] args)
    {
        CliResult r = Run(args);
        Assert.True(r.Exit == 0 && r.Stderr.Length == 0, $"ukfs {string.Join(' ', args)}\n{r}");
        return r;
    }

    /// <summary>Run and assert exit 1 with exactly one line on stderr.</summary>
    public CliResult Fails(params string[] args)
    {
        CliResult r = Run(args);
        Assert.True(r.Exit == 1, $"ukfs {string.Join(' ', args)}\n{r}");
        Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("ukfs: ", r.Stderr, StringComparison.Ordinal);
        return r;
    }

    public static string Text(CliResult r) => Encoding.UTF8.GetString(r.Binary);

    public void Dispose() => _tmpfs?.Dispose();
}
