using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// `ukfs cp` inside an image against GNU cp on the kernel's ext4: the same copies are made
/// by cp on a loop mount of one copy of an image and by ukfs on another, and the two trees
/// are read back through the kernel (names, types, modes, link counts, owners, sizes,
/// blocks, link targets, contents, kept times, extended attributes, ACLs); e2fsck calls ours clean.
/// </summary>
public sealed class CliCpTests : IDisposable
{
    /// <summary>What each tree is read back as, from the root of a loop mount.</summary>
    private const string Snapshot = """
        find . -path ./lost+found -prune -o -printf '%p %y %m %n %U %G %s %b %l\n' | sort
        find . -type f -exec sha256sum {} + | sort -k2
        find a pf -printf '%p %T@\n' | sort
        getfattr -R -d -m - a r pf keep 2>/dev/null
        getfacl -R -n a r 2>/dev/null
        """;

    private readonly ScratchDir _dir = new("ukfs-cp");
    private readonly CliHarness _cli = CliHarness.OnImages();

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    /// <summary>
    /// ext4 by mke2fs -d: /d holds a setuid file with an attribute and a second link, a
    /// symlink, a fifo, a device node, a sparse file and a subdirectory with an ACL; times
    /// with nanoseconds.
    /// </summary>
    private string Image()
    {
        string d = Path.Combine(_dir.File("tree"), "d");
        Directory.CreateDirectory(Path.Combine(d, "sub"));
        File.WriteAllText(Path.Combine(d, "f"), "hello\n");
        OracleTool.RunExpect(0, "chmod", "6755", Path.Combine(d, "f"));
        OracleTool.RunExpect(0, "ln", Path.Combine(d, "f"), Path.Combine(d, "hl"));
        File.CreateSymbolicLink(Path.Combine(d, "sl"), "f");
        OracleTool.RunExpect(0, "mkfifo", Path.Combine(d, "p"));
        OracleTool.RunExpect(0, "mknod", Path.Combine(d, "c"), "c", "4", "5");
        using (FileStream f = File.Create(Path.Combine(d, "sparse")))
        {
            f.SetLength(3 << 20);
            f.Position = 2_000_000;
            f.WriteByte(9);
        }
        File.WriteAllText(Path.Combine(d, "sub", "inner"), "inner\n");
        OracleTool.RunExpect(0, "setfattr", "-n", "user.k", "-v", "v", Path.Combine(d, "f"));
        OracleTool.RunExpect(0, "setfacl", "-m", "u:1000:rw", Path.Combine(d, "sub"));
        OracleTool.RunExpect(0, "chown", "-h", "1234:56", Path.Combine(d, "sl"));
        OracleTool.RunExpect(0, "touch", "-d", "2001-01-01 01:01:01.123456789", Path.Combine(d, "f"), Path.Combine(d, "sub"), d);
        File.WriteAllText(Path.Combine(_dir.Path, "tree", "keep"), "old contents, longer than the new\n");
        OracleTool.RunExpect(0, "chmod", "600", Path.Combine(_dir.Path, "tree", "keep"));
        string img = _dir.File("cp.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-I", "256", "-d", _dir.File("tree"), img, "16M");
        return img;
    }

    [Fact]
    public void Copies_AsGnuCpOnTheKernelsMount()
    {
        string[][] copies =
        [
            ["-a", "d", "a"],
            ["-r", "d", "r"],
            ["-p", "d/f", "pf"],
            ["d/sl", "follow"],
            ["-P", "d/sl", "nofollow"],
            ["d/f", "keep"],
            ["-R", "d/sub", "d/f", "r"],
            ["-n", "d/sparse", "keep"],
        ];
        string img = Image();
        string theirsImg = _dir.File("theirs.img");
        File.Copy(img, theirsImg);
        string script = string.Join(" && ", copies.Select(c => "cp " + string.Join(' ', c)));
        if (KernelExt4.Run(_dir, theirsImg, script, readOnly: false) is null)
        {
            return; // no loop mounts here
        }
        foreach (string[] c in copies)
        {
            _cli.Ok([img, "cp", .. c]);
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        Assert.Equal(KernelExt4.Run(_dir, theirsImg, Snapshot), KernelExt4.Run(_dir, img, Snapshot));
    }

    [Theory]
    [InlineData(new[] { "d", "x" }, "-r not specified; omitting directory 'd'")]
    [InlineData(new[] { "-r", "d", "d/sub" }, "cannot copy a directory, 'd', into itself, 'd/sub/d'")]
    [InlineData(new[] { "-r", "d", "d/sub/.." }, "cannot copy a directory, 'd', into itself, 'd/sub/../d'")]
    [InlineData(new[] { "d/f", "d/f" }, "'d/f' and 'd/f' are the same file")]
    [InlineData(new[] { "d/f", "d/hl" }, "'d/f' and 'd/hl' are the same file")]
    [InlineData(new[] { "d/f", "d/sl", "nowhere" }, "cp: target 'nowhere': No such file or directory")]
    [InlineData(new[] { "d/f", "d/sl", "keep" }, "cp: target 'keep' is not a directory")]
    [InlineData(new[] { "-r", "d", "keep" }, "cannot overwrite non-directory 'keep' with directory 'd'")]
    [InlineData(new[] { "d/p", "fifo" }, "'d/p' is a special file: use -R to copy it as one")]
    [InlineData(new[] { "d/f" }, "cp: missing destination file operand after 'd/f'")]
    public void Refused_OneLineErrorExit1_NothingWritten(string[] args, string message)
    {
        string img = Image();
        string before = _cli.Ok(img, "ls", "-l", "-R", "/").Stdout;
        CliResult r = _cli.Fails([img, "cp", .. args]);
        Assert.Equal("ukfs: " + message + "\n", r.Stderr);
        Assert.Equal(before, _cli.Ok(img, "ls", "-l", "-R", "/").Stdout);
    }

    [Fact]
    public void SparseCopy_KeepsItsHoles()
    {
        string img = Image();
        _cli.Ok(img, "cp", "d/sparse", "copy");
        string[] cells = _cli.Ok(img, "stat", "-c", "%s %b", "d/sparse", "copy").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(cells[0], cells[1]);
        Assert.Equal(_cli.Ok(img, "cat", "d/sparse").Binary, _cli.Ok(img, "cat", "copy").Binary);
    }
}
