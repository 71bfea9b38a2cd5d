using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// `ukfs lsattr` and `ukfs chattr` against e2fsprogs' lsattr on the kernel's ext4 (loop
/// mount of the same image) and debugfs; on FFS through our own driver; FAT has no flags.
/// </summary>
public sealed class CliFileFlagsTests : IDisposable
{
    private readonly CliHarness _cli = CliHarness.OnImages();
    private readonly ScratchDir _dir = new("ukfs-flags");

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    /// <summary>ext4 by mke2fs -d: /frozen (immutable), /log (append-only), /plain, /link, /sub/inner.</summary>
    private string Ext4Image()
    {
        string tree = _dir.File("tree");
        Directory.CreateDirectory(Path.Combine(tree, "sub"));
        File.WriteAllText(Path.Combine(tree, "frozen"), "frozen\n");
        File.WriteAllText(Path.Combine(tree, "log"), "one\n");
        File.WriteAllText(Path.Combine(tree, "plain"), "plain\n");
        File.WriteAllText(Path.Combine(tree, "sub", "inner"), "inner\n");
        File.CreateSymbolicLink(Path.Combine(tree, "link"), "plain");
        string img = _dir.File("flags.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "8M");
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "set_inode_field /frozen flags 0x80010", img);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "set_inode_field /log flags 0x80020", img);
        return img;
    }

    private static string WithSlashes(string kernelLines) =>
        string.Join("", kernelLines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Replace(" ", " /", StringComparison.Ordinal) + "\n"));

    [Fact]
    public void Lsattr_ShowsWhatE2fsprogsShows_AndChattrWritesWhatDebugfsReads()
    {
        string img = Ext4Image();
        string ours = _cli.Ok(img, "lsattr", "-d", "/frozen", "/log", "/plain", "/sub").Stdout;
        Assert.Equal("----i---------e------- /frozen\n-----a--------e------- /log\n--------------e------- /plain\n--------------e------- /sub\n", ours);
        if (KernelExt4.Run(_dir, img, "lsattr -d \"$@\"", args: ["frozen", "log", "plain", "sub"]) is string kernel)
        {
            Assert.Equal(WithSlashes(kernel), ours);
        }

        _cli.Ok(img, "chattr", "-i", "/frozen");
        _cli.Ok(img, "chattr", "+dA", "-a", "/log");
        _cli.Ok(img, "chattr", "-R", "+d", "/sub");
        _cli.Ok(img, "chattr", "=S", "/plain");
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        string Flags(string path) => OracleTool.RunExpect(0, "debugfs", "-R", $"stat {path}", img).Stdout.Split("Flags: ")[1].Split('\n')[0];
        Assert.Equal(["0x80000", "0x800c0", "0x80040", "0x80040", "0x80008"],
            new[] { "/frozen", "/log", "/sub", "/sub/inner", "/plain" }.Select(Flags));
        if (KernelExt4.Run(_dir, img, "lsattr -d \"$@\"", args: ["frozen", "log", "plain", "sub", "sub/inner"]) is string after)
        {
            Assert.Equal(WithSlashes(after), _cli.Ok(img, "lsattr", "-d", "/frozen", "/log", "/plain", "/sub", "/sub/inner").Stdout);
        }
    }

    [Fact]
    public void Lsattr_ListsAFolderInNameOrder_SkipsLinks_RecursesWithHeaders()
    {
        string img = Ext4Image();
        Assert.Equal("""
            ----i---------e------- /frozen
            -----a--------e------- /log
            --------------e------- /lost+found
            --------------e------- /plain
            --------------e------- /sub

            /sub:
            --------------e------- /sub/inner


            """, _cli.Ok(img, "lsattr", "-R", "/").Stdout.Replace("\n/lost+found:\n\n", "", StringComparison.Ordinal));
        Assert.Contains("/link: symlink has no flags", _cli.Fails(img, "lsattr", "/link").Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ImmutableFileFromChattr_RefusesUkfsChanges_UntilCleared()
    {
        string img = Ext4Image();
        _cli.Ok(img, "chattr", "+i", "/plain");
        Assert.Contains("Operation not permitted", _cli.Fails(img, "rm", "/plain").Stderr, StringComparison.Ordinal);
        Assert.Contains("Operation not permitted", _cli.Fails(img, "chmod", "600", "/plain").Stderr, StringComparison.Ordinal);
        string host = _dir.File("new.txt");
        File.WriteAllText(host, "replaced");
        Assert.Equal(1, _cli.Run(img, "put", host, "/plain").Exit);
        Assert.Equal("plain\n", CliHarness.Text(_cli.Ok(img, "cat", "/plain")));
        _cli.Ok(img, "chattr", "-i", "/plain");
        _cli.Ok(img, "rm", "/plain");
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
    }

    [Fact]
    public void Ffs_KeepsImmutableAppendAndNoDump_AndRefusesOthers()
    {
        string tree = _dir.File("fftree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "f"), "f\n");
        string img = _dir.File("ffs.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-s", "8m", img, tree);
        Assert.Contains("Operation not supported", _cli.Fails(img, "chattr", "+S", "/f").Stderr, StringComparison.Ordinal);
        _cli.Ok(img, "chattr", "+iad", "/f");
        Assert.Equal("----iad--------------- /f\n", _cli.Ok(img, "lsattr", "/f").Stdout);
        Assert.Contains("Operation not permitted", _cli.Fails(img, "rm", "/f").Stderr, StringComparison.Ordinal);
        _cli.Ok(img, "chattr", "=", "/f");
        Assert.Equal("---------------------- /f\n", _cli.Ok(img, "lsattr", "/f").Stdout);
        _cli.Ok(img, "rm", "/f");
        _cli.Ok(img, "fsck", "-n");
    }

    [Fact]
    public void Fat_HasNoFlags_AndModeMistakesAreOneLine()
    {
        string fat = DiskBuilder.FatImage(_dir, "f.img", 65536, 16, "A.TXT", "a");
        Assert.Contains("Inappropriate ioctl for device", _cli.Fails(fat, "lsattr", "/A.TXT").Stderr, StringComparison.Ordinal);
        Assert.Contains("give a mode", _cli.Fails(fat, "chattr", "/A.TXT").Stderr, StringComparison.Ordinal);
        Assert.Contains("bad flag 'E'", _cli.Fails(fat, "chattr", "+E", "/A.TXT").Stderr, StringComparison.Ordinal);
        Assert.Contains("= cannot go with", _cli.Fails(fat, "chattr", "=i", "+a", "/A.TXT").Stderr, StringComparison.Ordinal);
        OracleTool.RunExpect(0, "fsck.fat", "-n", fat);
    }
}
