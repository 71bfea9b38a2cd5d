using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// `ukfs setfacl` and `getfacl` on FFSv2ea (NetBSD 10's UFS2 with extended attributes): an
/// image made with newfs's posix1eacls (FS_POSIX1EACLS, as tunefs -p enable sets it) keeps
/// the ACLs and prints them as the same commands print them on an ext4 image; without the
/// flag the mount option -o posix1eacls turns them on, and without either the file system
/// keeps none. The checker calls every image clean.
/// </summary>
public sealed class CliFfsAclTests : IDisposable
{
    private readonly ScratchDir _dir = new("ukfs-ffsacl");
    private readonly CliHarness _cli = CliHarness.OnImages();

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    /// <summary>An image with /f (0644) and /d (0755), made by ukfs newfs with <paramref name="args"/> (none: mke2fs -t ext4).</summary>
    private string Image(string name, params string[] args)
    {
        string img = _dir.File(name);
        if (args.Length == 0)
        {
            OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", img, "16M");
        }
        else
        {
            _cli.Ok([img, "newfs", .. args]);
        }
        _cli.Ok(img, "touch", "/f");
        _cli.Ok(img, "chmod", "644", "/f");
        _cli.Ok(img, "mkdir", "/d");
        _cli.Ok(img, "chmod", "755", "/d");
        return img;
    }

    [Fact]
    public void Setfacl_OnFfsv2eaWithAcls_GetfaclShowsIt_AsOnExt4()
    {
        string ffs = Image("acl.img", "-t", "ffs", "-o", "version=3,posix1eacls", "16M");
        string ext4 = Image("acl-ext4.img");
        foreach (string img in new[] { ffs, ext4 })
        {
            _cli.Ok(img, "setfacl", "-m", "u:1234:rw", "/f");
            _cli.Ok(img, "setfacl", "-d", "-m", "u:1234:rx", "/d");
            _cli.Ok(img, "touch", "/d/new");
        }
        string shown = _cli.Ok(ffs, "getfacl", "/f", "/d", "/d/new").Stdout;
        Assert.Contains("user:1234:rw-", shown, StringComparison.Ordinal);
        Assert.Contains("mask::rw-", shown, StringComparison.Ordinal);
        Assert.Contains("default:user:1234:r-x", shown, StringComparison.Ordinal);
        Assert.Equal(_cli.Ok(ext4, "getfacl", "/f", "/d", "/d/new").Stdout, shown);
        _cli.Ok(ffs, "fsck");
    }

    [Fact]
    public void WithoutTheFlag_MountOptionTurnsAclsOn_ElseNone()
    {
        string img = Image("plain.img", "-t", "ffs", "-o", "version=3", "16M");
        Assert.Contains("keeps no ACLs", _cli.Fails(img, "setfacl", "-m", "u:1234:rw", "/f").Stderr, StringComparison.Ordinal);
        _cli.Ok("-o", "posix1eacls", img, "setfacl", "-m", "u:1234:rw", "/f");
        Assert.Contains("user:1234:rw-", _cli.Ok("-o", "posix1eacls", img, "getfacl", "/f").Stdout, StringComparison.Ordinal);
        _cli.Ok(img, "fsck");
    }
}
