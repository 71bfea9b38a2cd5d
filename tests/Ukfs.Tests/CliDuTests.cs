using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// `ukfs du` against GNU du on the kernel's ext4 (a loop mount of the same image): blocks,
/// apparent sizes, -a, -s, -c, -d, -h, hard links counted once.
/// </summary>
public sealed class CliDuTests : IDisposable
{
    private readonly ScratchDir _dir = new("ukfs-du");
    private readonly CliHarness _cli = CliHarness.OnImages();

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    /// <summary>
    /// ext4 by mke2fs -d: nested directories, a file with a second link in the same
    /// directory (a/big, a/twin), a sparse file, short and long symlinks, an empty directory.
    /// </summary>
    private string Image()
    {
        string tree = _dir.File("tree");
        Directory.CreateDirectory(Path.Combine(tree, "a", "b", "c"));
        Directory.CreateDirectory(Path.Combine(tree, "e"));
        File.WriteAllBytes(Path.Combine(tree, "a", "big"), [.. Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7))]);
        File.WriteAllText(Path.Combine(tree, "a", "b", "small"), "x\n");
        File.WriteAllText(Path.Combine(tree, "e", "note"), new string('n', 5000));
        OracleTool.RunExpect(0, "ln", Path.Combine(tree, "a", "big"), Path.Combine(tree, "a", "twin"));
        File.CreateSymbolicLink(Path.Combine(tree, "a", "short"), "big");
        File.CreateSymbolicLink(Path.Combine(tree, "long"), new string('t', 200));
        using (FileStream f = File.Create(Path.Combine(tree, "sparse")))
        {
            f.SetLength(5 << 20);
            f.Position = 3_000_000;
            f.WriteByte(1);
        }
        string img = _dir.File("du.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "16M");
        return img;
    }

    /// <summary>
    /// The lines as a set: du on a mount walks each directory in its own order, ukfs in name
    /// order, so only which of two links of one file is listed under -a may differ (dropped).
    /// </summary>
    private static string[] Lines(string output, bool dropLinks) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !dropLinks || !(l.EndsWith("/big", StringComparison.Ordinal) || l.EndsWith("/twin", StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal)];

    [Theory]
    [InlineData("")]
    [InlineData("-a")]
    [InlineData("-s")]
    [InlineData("-b")]
    [InlineData("-b -a")]
    [InlineData("--apparent-size")]
    [InlineData("-h -a")]
    [InlineData("-d 1")]
    [InlineData("--max-depth=0")]
    [InlineData("-c -s a e")]
    [InlineData("-a a/big a/twin sparse")]
    [InlineData("-s e a . a")]
    [InlineData("-k a")]
    public void Du_AsGnuDuOnTheKernelsMount(string argLine)
    {
        string img = Image();
        string[] args = argLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string? theirs = KernelExt4.Run(_dir, img, "du \"$@\"", args: args);
        if (theirs is null)
        {
            return; // no loop mounts here
        }
        string ours = _cli.Ok([img, "du", .. args]).Stdout;
        bool dropLinks = args.Contains("-a") && !argLine.Contains("a/big", StringComparison.Ordinal);
        Assert.Equal(Lines(theirs, dropLinks), Lines(ours, dropLinks));
    }

    [Fact]
    public void Du_EachDirectoryAfterItsContents_LinkedFileCountedOnceAtItsFirstName()
    {
        string img = Image();
        string[] lines = _cli.Ok(img, "du", "-a", "-b", "a").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] names = [.. lines.Select(l => l.Split('\t')[1])];
        Assert.Equal(["a/b/c", "a/b/small", "a/b", "a/big", "a/short", "a"], names);
        Assert.Equal("70000\ta/big", lines[3]);
    }

    [Fact]
    public void Du_MissingPath_ReportedAndExit1_OthersShown()
    {
        string img = Image();
        CliResult r = _cli.Run(img, "du", "-s", "missing", "e");
        Assert.Equal(1, r.Exit);
        Assert.Matches(@"^\d+\te\n$", r.Stdout);
        Assert.Contains("missing", r.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-s -a", "du: cannot both summarize and show all entries")]
    [InlineData("-s -d 2", "du: summarizing conflicts with --max-depth=2")]
    [InlineData("-d -1", "du: invalid maximum depth '-1'")]
    public void Du_ConflictingOptions_OneLineError(string argLine, string message)
    {
        string img = Image();
        CliResult r = _cli.Fails([img, "du", .. argLine.Split(' ')]);
        Assert.Equal("ukfs: " + message + "\n", r.Stderr);
    }
}
