using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// `ukfs getfacl` and `setfacl` on ext4 images: the same setfacl command lines run on a host
/// tree (the acl package on the host's file system) and through ukfs on an image of that
/// tree must leave the same ACLs, as getfacl -n prints them on the host, through ukfs, and
/// on the kernel's own ext4 driver reading the image (a read-only loop mount).
/// </summary>
public sealed class CliAclTests : IDisposable
{
    private readonly ScratchDir _dir = new("ukfs-acl");
    private readonly CliHarness _cli = CliHarness.OnImages();

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    /// <summary>setfacl command lines, each run as "setfacl ARGS... PATH".</summary>
    private static readonly (string[] Args, string Path)[] s_steps =
    [
        (["-m", "u:1234:rwx,g:5:r"], "f"),
        (["-m", "d:u:1:rwx,d:g:9:rx"], "d"),
        (["-m", "u:77:r"], "d"),
        (["-x", "u:1234"], "f"),
        (["-m", "m::r"], "f"),
        (["--set", "u::rw,g::r,o::-,u:5:rw,g:6:rwx"], "g"),
        (["-x", "d:g:9"], "d"),
        (["-m", "u:8:rw,u:9:r"], "d2"),
        (["-m", "d:u:3:r"], "d2"),
        (["-b"], "d2"),
        (["-k"], "d3"),
        (["-d", "-m", "u:4:x"], "d3"),
        (["-n", "-m", "u:10:rwx"], "g"),
    ];

    private static readonly string[] s_paths = ["f", "g", "d", "d2", "d3"];

    private string HostTree()
    {
        string tree = _dir.File("tree");
        foreach (string d in new[] { "d", "d2", "d3" })
        {
            Directory.CreateDirectory(Path.Combine(tree, d));
        }
        File.WriteAllText(Path.Combine(tree, "f"), "f\n");
        File.WriteAllText(Path.Combine(tree, "g"), "g\n");
        OracleTool.RunExpect(0, "chmod", "640", Path.Combine(tree, "f"), Path.Combine(tree, "g"));
        OracleTool.RunExpect(0, "chmod", "755", Path.Combine(tree, "d"), Path.Combine(tree, "d2"), Path.Combine(tree, "d3"));
        return tree;
    }

    [Fact]
    public void Setfacl_SameCommandLines_SameAclsAsOnTheHost_TheKernelReadsThem()
    {
        string tree = HostTree();
        string img = _dir.File("acl.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "8M");
        foreach ((string[] args, string path) in s_steps)
        {
            OracleTool.RunExpect(0, "setfacl", [.. args, Path.Combine(tree, path)]);
            _cli.Ok([img, "setfacl", .. args, "/" + path]);
        }
        string host = OracleTool.RunExpect(0, "sh", "-c", $"cd {tree} && getfacl -n {string.Join(' ', s_paths)}").Stdout;
        string ours = _cli.Ok([img, "getfacl", .. s_paths.Select(p => "/" + p)]).Stdout;
        Assert.Contains("user:5:rw-", host, StringComparison.Ordinal);
        Assert.Equal(host, ours);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);

        string mnt = _dir.File("mnt");
        Directory.CreateDirectory(mnt);
        OracleTool.RunExpect(0, "mount", "-o", "ro,loop", "-t", "ext4", img, mnt);
        try
        {
            Assert.Equal(host, OracleTool.RunExpect(0, "sh", "-c", $"cd {mnt} && getfacl -n {string.Join(' ', s_paths)}").Stdout);
        }
        finally
        {
            if (OracleTool.Run("umount", mnt).ExitCode != 0)
            {
                OracleTool.Run("umount", "-l", mnt);
            }
        }
    }

    /// <summary>
    /// Corners where setfacl's own rules show: -b narrows group:: by the mask, a new default
    /// ACL starts from the access ACL, -n still adds a mask named entries need, an entry named
    /// twice keeps the last, and -x of default entries on a file does nothing.
    /// </summary>
    [Fact]
    public void Setfacl_Corners_AsTheAclPackageHasThem()
    {
        (string[] Args, string Path)[] steps =
        [
            (["-m", "u:5:rw,g::r-x,m::rw-"], "f"),
            (["-b"], "f"),
            (["-m", "u:5:rwx,g::r-x,m::rwx"], "d"),
            (["-d", "-m", "u:7:r"], "d"),
            (["-n", "-m", "g:1000:---"], "g"),
            (["--set", "u::r-x,g::r-x,o::r,u:1234:r-x,u:1234:---"], "d2"),
            (["-x", "d:g:7"], "f"),
        ];
        string tree = HostTree();
        string img = _dir.File("corners.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "8M");
        foreach ((string[] args, string path) in steps)
        {
            OracleTool.RunExpect(0, "setfacl", [.. args, Path.Combine(tree, path)]);
            _cli.Ok([img, "setfacl", .. args, "/" + path]);
        }
        string host = OracleTool.RunExpect(0, "sh", "-c", $"cd {tree} && getfacl -n f d g d2").Stdout;
        Assert.Equal(host, _cli.Ok([img, "getfacl", "/f", "/d", "/g", "/d2"]).Stdout);
        Assert.Contains("default:group::r-x", host, StringComparison.Ordinal);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
    }

    /// <summary>A stored ACL that does not parse (an unknown tag) is an error for getfacl and setfacl, not "no ACL"; setfacl does not overwrite it.</summary>
    [Fact]
    public void DamagedStoredAcl_IsAnError_NotAnEmptyAcl()
    {
        string img = _dir.File("damaged.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-O", "^metadata_csum", "-d", HostTree(), img, "8M");
        _cli.Ok(img, "setfacl", "-m", "u:1234:r", "/f");
        byte[] bytes = File.ReadAllBytes(img);
        int at = bytes.AsSpan().IndexOf((ReadOnlySpan<byte>)[2, 0, 4, 0, 0xD2, 0x04, 0, 0]); // ACL_USER r-- 1234
        Assert.True(at > 0);
        bytes[at] = 0x40; // no such tag
        File.WriteAllBytes(img, bytes);
        AssertOneLineError(_cli.Fails(img, "getfacl", "/f"), "stored access ACL is damaged");
        AssertOneLineError(_cli.Fails(img, "setfacl", "-m", "u:5:r", "/f"), "stored access ACL is damaged");
        // Not overwritten: the damage is still there to be seen (and repaired by hand).
        AssertOneLineError(_cli.Fails(img, "getfacl", "/f"), "stored access ACL is damaged");
    }

    /// <summary>put keeps a host tree's ACLs (default ACLs too) and get gives them back, as getfacl sees them on both sides.</summary>
    [Fact]
    public void PutThenGet_AclsTravelBothWays()
    {
        string tree = HostTree();
        OracleTool.RunExpect(0, "setfacl", "-m", "u:1234:rwx,g:5:r", Path.Combine(tree, "f"));
        OracleTool.RunExpect(0, "setfacl", "-d", "-m", "u:1:rwx", Path.Combine(tree, "d"));
        OracleTool.RunExpect(0, "setfacl", "-m", "u:2:r", Path.Combine(tree, "d"));
        string img = _dir.File("put.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", img, "8M");
        _cli.Ok(img, "put", tree, "/tree");
        string host = OracleTool.RunExpect(0, "sh", "-c", $"cd {_dir.Path} && getfacl -n tree/f tree/d tree/g").Stdout;
        Assert.Contains("default:user:1:rwx", host, StringComparison.Ordinal);
        Assert.Equal(host, _cli.Ok(img, "getfacl", "/tree/f", "/tree/d", "/tree/g").Stdout);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);

        string back = _dir.File("back");
        Directory.CreateDirectory(back);
        _cli.Ok(img, "get", "/tree", Path.Combine(back, "tree"));
        Assert.Equal(host, OracleTool.RunExpect(0, "sh", "-c", $"cd {back} && getfacl -n tree/f tree/d tree/g").Stdout);
    }

    [Fact]
    public void Getfacl_Options_AndAFileWithoutAnAcl()
    {
        string tree = HostTree();
        OracleTool.RunExpect(0, "setfacl", "-m", "u:1234:rwx", Path.Combine(tree, "d"));
        OracleTool.RunExpect(0, "setfacl", "-d", "-m", "u:1:r", Path.Combine(tree, "d"));
        OracleTool.RunExpect(0, "chmod", "g+s", Path.Combine(tree, "d"));
        string img = _dir.File("opts.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "8M");
        foreach (string[] options in new[] { Array.Empty<string>(), ["-a"], ["-d"], ["-c"], ["-n"] })
        {
            string host = OracleTool.RunExpect(0, "sh", "-c", $"cd {tree} && getfacl -n {string.Join(' ', options)} d f").Stdout;
            Assert.Equal(host, _cli.Ok([img, "getfacl", .. options, "/d", "/f"]).Stdout);
        }
        Assert.Contains("# flags: -s-", _cli.Ok(img, "getfacl", "/d").Stdout, StringComparison.Ordinal);
    }

    /// <summary>ls -l marks with "+" the files that carry an access or default ACL, as the host's ls marks them.</summary>
    [Fact]
    public void LsLong_MarksFilesWithAcls_AsTheHostLs()
    {
        string tree = HostTree();
        OracleTool.RunExpect(0, "setfacl", "-m", "u:1234:r", Path.Combine(tree, "f"));
        OracleTool.RunExpect(0, "setfacl", "-d", "-m", "u:1:r", Path.Combine(tree, "d2"));
        OracleTool.RunExpect(0, "setfacl", "-m", "u::rw,g::r,o::-", Path.Combine(tree, "g"));
        File.CreateSymbolicLink(Path.Combine(tree, "link"), "f");
        string img = _dir.File("ls.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "8M");

        Dictionary<string, string> host = ModeFields(OracleTool.RunExpect(0, "ls", "-l", tree).Stdout);
        Dictionary<string, string> ours = ModeFields(_cli.Ok(img, "ls", "-l", "/").Stdout);
        Assert.Equal("-rw-r-----+", host["f"]);
        Assert.Equal("drwxr-xr-x+", host["d2"]);
        foreach (string name in new[] { "f", "g", "d", "d2", "d3", "link" })
        {
            Assert.Equal(host[name], ours[name]);
        }
        _cli.Ok(img, "setfacl", "-b", "/f");
        Assert.Equal("-rw-r-----", ModeFields(_cli.Ok(img, "ls", "-l", "/").Stdout)["f"]);
    }

    /// <summary>The mode column (with ls's ACL mark, if any) of each "ls -l" line, by name.</summary>
    private static Dictionary<string, string> ModeFields(string listing) =>
        listing.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.StartsWith("total", StringComparison.Ordinal))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(f => (Name: f.Length > 2 && f[^2] == "->" ? f[^3] : f[^1], Mode: f[0]))
            .ToDictionary(x => x.Name, x => x.Mode);

    [Fact]
    public void Mistakes_OneLineAndExitOne_AclsUnchanged()
    {
        string img = _dir.File("m.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", HostTree(), img, "8M");
        _cli.Ok(img, "setfacl", "-m", "u:1234:r", "/f");
        byte[] before = File.ReadAllBytes(img);
        string acls = _cli.Ok(img, "getfacl", "/f", "/d").Stdout;
        // Mistakes in the arguments themselves: refused before the image is opened.
        (string[] Args, string Says)[] usage =
        [
            (["setfacl", "/f"], "give one of"),
            (["setfacl", "-m", "u:bob:r", "/f"], "numeric ids"),
            (["setfacl", "-m", "u:1:rwz", "/f"], "rights are"),
            (["setfacl", "-m", "q:1:r", "/f"], "starts with u, g, m or o"),
        ];
        foreach ((string[] args, string says) in usage)
        {
            AssertOneLineError(_cli.Fails([img, .. args]), says);
        }
        Assert.Equal(before, File.ReadAllBytes(img));
        // Mistakes about the files: the image is opened read-write, the ACLs stay.
        (string[] Args, string Says)[] onFiles =
        [
            (["setfacl", "-m", "d:u:1:r", "/f"], "only directories"),
            (["setfacl", "-x", "u::", "/f"], "cannot be removed"),
            (["setfacl", "--set", "u:1:r", "/f"], "needs user::, group:: and other::"),
            (["setfacl", "-m", "u:1:r", "/missing"], "/missing"),
        ];
        foreach ((string[] args, string says) in onFiles)
        {
            AssertOneLineError(_cli.Fails([img, .. args]), says);
        }
        Assert.Equal(acls, _cli.Ok(img, "getfacl", "/f", "/d").Stdout);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);

        string fat = _dir.File("fat.img");
        OracleTool.RunExpect(0, "mkfs.fat", "-C", fat, "4096");
        _cli.Ok(fat, "touch", "/f");
        Assert.Contains("keeps no ACLs", _cli.Fails(fat, "setfacl", "-m", "u:1:r", "/f").Stderr, StringComparison.Ordinal);
    }

    private static void AssertOneLineError(CliResult r, string says)
    {
        Assert.Equal(1, r.Exit);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(says, r.Stderr, StringComparison.Ordinal);
    }
}
