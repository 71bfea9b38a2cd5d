using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// `ukfs tree` against tree 2 (`LC_ALL=C tree --charset=ascii`) on the kernel's ext4 (a loop
/// mount of the same image): the drawing, -a, -d, -L, several paths, symbolic links to
/// directories counted as directories and not followed, and the report line.
/// </summary>
public sealed class CliTreeTests : IDisposable
{
    private readonly ScratchDir _dir = new("ukfs-tree");
    private readonly CliHarness _cli = CliHarness.OnImages();

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    private string Image()
    {
        string tree = _dir.File("tree");
        Directory.CreateDirectory(Path.Combine(tree, "a", "b", "c"));
        Directory.CreateDirectory(Path.Combine(tree, "a", ".hidden-dir"));
        Directory.CreateDirectory(Path.Combine(tree, "e"));
        File.WriteAllText(Path.Combine(tree, "a", "b", "small"), "x");
        File.WriteAllText(Path.Combine(tree, "a", "big"), "big");
        File.WriteAllText(Path.Combine(tree, ".dotfile"), "");
        File.WriteAllText(Path.Combine(tree, "e", "only"), "");
        File.CreateSymbolicLink(Path.Combine(tree, "a", "sl"), "big");
        File.CreateSymbolicLink(Path.Combine(tree, "dlink"), "a");
        File.CreateSymbolicLink(Path.Combine(tree, "broken"), "nowhere");
        string img = _dir.File("tree.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "8M");
        return img;
    }

    [Theory]
    [InlineData("")]
    [InlineData("-a")]
    [InlineData("-d")]
    [InlineData("-L 1")]
    [InlineData("-L 2 -a")]
    [InlineData("-d -L 2")]
    [InlineData("a e")]
    [InlineData("dlink")]
    [InlineData("-a a")]
    public void Tree_AsTreeOnTheKernelsMount(string argLine)
    {
        string img = Image();
        string[] args = argLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string? theirs = KernelExt4.Run(_dir, img, "LC_ALL=C tree --charset=ascii \"$@\"", args: args);
        if (theirs is null)
        {
            return; // no loop mounts here
        }
        Assert.Equal(theirs, _cli.Ok([img, "tree", .. args]).Stdout);
    }

    [Fact]
    public void Tree_MissingPath_OneErrorExit1_OthersDrawn()
    {
        string img = Image();
        CliResult r = _cli.Run(img, "tree", "e", "nope");
        Assert.Equal(1, r.Exit);
        Assert.Equal("e\n`-- only\n\n1 directory, 1 file\n", r.Stdout);
        Assert.Equal("ukfs: nope: No such file or directory\n", r.Stderr);
    }

    [Fact]
    public void Tree_LevelBelowOne_OneLineError()
    {
        string img = Image();
        Assert.Equal("ukfs: tree: Invalid level, must be greater than 0.\n", _cli.Fails(img, "tree", "-L", "0").Stderr);
    }
}
