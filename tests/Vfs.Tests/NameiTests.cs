using RumpFs.FsDrivers.Tmpfs;
using RumpFs.Kernel;
using RumpFs.TestSupport;

namespace RumpFs.Vfs.Tests;

public class NameiTests
{
    private static VfsHarness NewTmpfs()
    {
        new TmpfsDriver().Mount(null, new MountOptions(), out Mount? m, out _);
        return new VfsHarness(m!);
    }

    [Fact]
    public void EmptyPath_ReturnsEnoent()
    {
        var fs = NewTmpfs();
        Assert.Equal(Errno.ENOENT, fs.Resolve("", out _));
    }

    [Fact]
    public void ComponentOver255Bytes_ReturnsEnametoolong_PathOver4095Bytes_Too()
    {
        var fs = NewTmpfs();
        Assert.Equal(Errno.ENAMETOOLONG, fs.Resolve("/" + new string('a', 256), out _));
        // 255 UTF-8 bytes in 85 three-byte characters is fine; 86 is too long.
        Assert.Equal(Errno.ENOENT, fs.Resolve("/" + new string('日', 85), out _));
        Assert.Equal(Errno.ENAMETOOLONG, fs.Resolve("/" + new string('日', 86), out _));
        string longPath = string.Concat(Enumerable.Repeat("/abcdefg", 512));
        Assert.Equal(Errno.ENAMETOOLONG, fs.Resolve(longPath, out _));
    }

    [Fact]
    public void SymlinkLoop_ReturnsEloop_ChainOf40Works()
    {
        var fs = NewTmpfs();
        fs.Symlink("b", "/a");
        fs.Symlink("a", "/b");
        Assert.Equal(Errno.ELOOP, fs.Resolve("/a", out _));
        Assert.Equal(Errno.OK, fs.Resolve("/a", out Vnode? link, follow: false));
        link!.Release();
        fs.Create("/target");
        fs.Symlink("target", "/l0");
        for (int i = 1; i < 40; i++)
        {
            fs.Symlink($"l{i - 1}", $"/l{i}");
        }
        Assert.Equal(Errno.OK, fs.Resolve("/l39", out Vnode? end));
        Assert.Equal(VType.Regular, end!.Type);
        end.Release();
        fs.Symlink("l39", "/l40");
        Assert.Equal(Errno.ELOOP, fs.Resolve("/l40", out _));
    }

    [Fact]
    public void TrailingSlash_RequiresADirectory_AndFollowsASymlinkToOne()
    {
        var fs = NewTmpfs();
        fs.Mkdir("/dir");
        fs.Create("/file");
        fs.Symlink("dir", "/dirlink");
        Assert.Equal(Errno.OK, fs.Resolve("/dir/", out Vnode? d));
        d!.Release();
        Assert.Equal(Errno.ENOTDIR, fs.Resolve("/file/", out _));
        Assert.Equal(Errno.OK, fs.Resolve("/dirlink/", out Vnode? viaLink, follow: false));
        Assert.Equal(VType.Directory, viaLink!.Type);
        viaLink.Release();
    }

    [Fact]
    public void DotDot_AtRoot_StaysAtRoot_AndRelativeWalksUp()
    {
        var fs = NewTmpfs();
        fs.Mkdir("/a");
        fs.Mkdir("/a/b");
        Assert.Equal(fs.StatOk("/").Ino, fs.StatOk("/../../..").Ino);
        Assert.Equal(fs.StatOk("/a").Ino, fs.StatOk("/a/b/..").Ino);
        Assert.Equal(fs.StatOk("/a/b").Ino, fs.StatOk("//a///b//").Ino);
    }

    [Fact]
    public void IntermediateNonDirectory_ReturnsEnotdir()
    {
        var fs = NewTmpfs();
        fs.Create("/f");
        Assert.Equal(Errno.ENOTDIR, fs.Resolve("/f/x/y", out _));
    }

    [Fact]
    public void ResolveParent_OfRoot_GivesRootAndDot()
    {
        var fs = NewTmpfs();
        Assert.Equal(Errno.OK, Namei.ResolveParent(fs.Mount, "/", Credentials.Root, out Vnode? dvp, out string name, out _));
        Assert.Equal(".", name);
        dvp!.Release();
        Assert.Equal(Errno.EEXIST, fs.Mkdir("/"));
    }
}
