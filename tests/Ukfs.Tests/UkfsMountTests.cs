using System.Text;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.Ukfs.Tests;

/// <summary>The path API on a tmpfs mount (no image needed).</summary>
public sealed class UkfsMountTests : IDisposable
{
    private readonly UkfsMount _fs = UkfsMount.Open("tmpfs", (IBlockDevice?)null);

    public void Dispose() => _fs.Dispose();

    private static Errno ErrnoOf(Action a) => Assert.Throws<UkfsException>(a).Errno;

    [Fact]
    public void WriteAllBytes_ThenReadAllBytes_SameContentAndSize()
    {
        byte[] data = new byte[300_000];
        new Random(1).NextBytes(data);
        _fs.WriteAllBytes("/f.bin", data);
        Assert.Equal(data, _fs.ReadAllBytes("/f.bin"));
        VAttr va = _fs.Stat("/f.bin");
        Assert.Equal(VType.Regular, va.Type);
        Assert.Equal(data.Length, va.Size);
        Assert.Equal(UkfsMount.DefaultFileMode, va.Mode);
    }

    [Fact]
    public void Stream_SeekWriteSetLength_BehavesLikeAFile()
    {
        using (UkfsFileStream s = _fs.Open("/s", FileMode.CreateNew, FileAccess.ReadWrite))
        {
            s.Write("hello world"u8);
            s.Seek(6, SeekOrigin.Begin);
            s.Write("WORLD"u8);
            s.SetLength(8);
            Assert.Equal(8, s.Length);
            s.Position = 0;
            byte[] buf = new byte[20];
            Assert.Equal(8, s.Read(buf));
            Assert.Equal("hello WO", Encoding.ASCII.GetString(buf, 0, 8));
            Assert.Equal(0, s.Read(buf));
        }
        using (UkfsFileStream a = _fs.Open("/s", FileMode.Append))
        {
            a.Write("!"u8);
        }
        Assert.Equal("hello WO!", Encoding.ASCII.GetString(_fs.ReadAllBytes("/s")));
        Assert.Equal(Errno.EEXIST, ErrnoOf(() => _fs.Open("/s", FileMode.CreateNew, FileAccess.Write).Dispose()));
        using (UkfsFileStream t = _fs.Open("/s", FileMode.Truncate, FileAccess.Write))
        {
            Assert.Equal(0, t.Length);
        }
    }

    [Fact]
    public void Namespace_MkdirRenameLinkSymlinkRemove()
    {
        _fs.Mkdir("/a/b/c", parents: true);
        _fs.Mkdir("/a/b/c", parents: true); // exists: fine with -p
        Assert.Equal(Errno.EEXIST, ErrnoOf(() => _fs.Mkdir("/a")));
        _fs.WriteAllBytes("/a/b/c/f", "x"u8);
        _fs.Link("/a/b/c/f", "/a/hard");
        Assert.Equal(2u, _fs.Stat("/a/hard").Nlink);
        _fs.Symlink("b/c/f", "/a/sym");
        Assert.Equal("b/c/f", _fs.ReadLink("/a/sym"));
        Assert.Equal(VType.Symlink, _fs.Lstat("/a/sym").Type);
        Assert.Equal(VType.Regular, _fs.Stat("/a/sym").Type);
        _fs.Rename("/a/b", "/a/moved");
        Assert.False(_fs.Exists("/a/b"));
        Assert.Equal("x"u8.ToArray(), _fs.ReadAllBytes("/a/moved/c/f"));
        Assert.Equal(Errno.ENOENT, ErrnoOf(() => _fs.Stat("/a/sym"))); // dangling now
        Assert.Equal(Errno.EINVAL, ErrnoOf(() => _fs.Rename("/a", "/a/moved/inside")));
        Assert.Equal(Errno.ENOTEMPTY, ErrnoOf(() => _fs.Rmdir("/a/moved")));
        Assert.Equal(Errno.EISDIR, ErrnoOf(() => _fs.Remove("/a/moved")));
        _fs.RemoveTree("/a");
        Assert.Empty(_fs.ReadDirectory("/"));
    }

    /// <summary>
    /// rm -r of the root, or of a path ending in "." or "..", is refused before anything goes
    /// (before, everything below was removed and only then did rmdir refuse).
    /// </summary>
    [Theory]
    [InlineData("/", Errno.EBUSY)]
    [InlineData("//", Errno.EBUSY)]
    [InlineData("/d/..", Errno.EINVAL)]
    [InlineData("/d/.", Errno.EINVAL)]
    [InlineData("/d/./", Errno.EINVAL)]
    public void RemoveTree_OfTheRootOrDotNames_RefusedWithNothingRemoved(string path, Errno expected)
    {
        _fs.Mkdir("/d");
        _fs.WriteAllBytes("/d/f", [1]);
        _fs.WriteAllBytes("/g", [2]);
        Assert.Equal(expected, ErrnoOf(() => _fs.RemoveTree(path)));
        Assert.Equal([1], _fs.ReadAllBytes("/d/f"));
        Assert.Equal([2], _fs.ReadAllBytes("/g"));
    }

    [Fact]
    public void Mknod_FifoSocketDevice_TypeModeAndDeviceNumberKept()
    {
        _fs.Mknod("/fifo", VType.Fifo, 0x1A0);
        _fs.Mknod("/sock", VType.Socket, 0x1ED);
        ulong rdev = (259UL << 8) | 7; // major 259, minor 7
        _fs.Mknod("/blk", VType.BlockDevice, 0x180, rdev);
        Assert.Equal((VType.Fifo, 0x1A0u), (_fs.Lstat("/fifo").Type, _fs.Lstat("/fifo").Mode));
        Assert.Equal(VType.Socket, _fs.Lstat("/sock").Type);
        Assert.Equal((VType.BlockDevice, rdev), (_fs.Lstat("/blk").Type, _fs.Lstat("/blk").Rdev));
        Assert.Equal(Errno.EEXIST, ErrnoOf(() => _fs.Mknod("/fifo", VType.Fifo, 0x1A4)));
        Assert.Equal(Errno.EINVAL, ErrnoOf(() => _fs.Mknod("/reg", VType.Regular, 0x1A4)));
        Assert.Equal(Errno.ENOENT, ErrnoOf(() => _fs.Mknod("/no/such/fifo", VType.Fifo, 0x1A4)));
        _fs.Credentials = new Credentials(1000, 1000);
        Assert.Equal(Errno.EPERM, ErrnoOf(() => _fs.Mknod("/tmp-dev", VType.CharDevice, 0x1A4, 1)));
    }

    [Fact]
    public void Xattrs_SetGetListRemove_WithTheirErrnos()
    {
        _fs.WriteAllBytes("/f", "x"u8);
        _fs.SetXattr("/f", "user.comment", "hello"u8.ToArray());
        _fs.SetXattr("/f", "user.empty", []);
        _fs.SetXattr("/f", "user.comment", "replaced"u8.ToArray());
        Assert.Equal(["user.comment", "user.empty"], _fs.ListXattrs("/f").Order(StringComparer.Ordinal));
        Assert.Equal("replaced"u8.ToArray(), _fs.GetXattr("/f", "user.comment"));
        Assert.Empty(_fs.GetXattr("/f", "user.empty"));
        _fs.RemoveXattr("/f", "user.empty");
        Assert.Equal(["user.comment"], _fs.ListXattrs("/f"));
        Assert.Equal(Errno.ENODATA, ErrnoOf(() => _fs.GetXattr("/f", "user.empty")));
        Assert.Equal(Errno.ENODATA, ErrnoOf(() => _fs.RemoveXattr("/f", "user.empty")));
        Assert.Equal(Errno.E2BIG, ErrnoOf(() => _fs.SetXattr("/f", "user.big", new byte[(64 << 10) + 1])));
        _fs.Symlink("f", "/link");
        Assert.Equal(["user.comment"], _fs.ListXattrs("/link"));
        Assert.Empty(_fs.ListXattrs("/link", follow: false));
        Assert.Equal(Errno.EPERM, ErrnoOf(() => _fs.SetXattr("/link", "user.x", [1], follow: false)));
    }

    [Fact]
    public void ReadDirectory_ListsEntriesWithAttributes_NotDots()
    {
        _fs.Mkdir("/d");
        for (int i = 0; i < 600; i++)
        {
            _fs.Create($"/d/f{i:D3}", 0x180);
        }
        _fs.Symlink("nowhere", "/d/link");
        IReadOnlyList<UkfsDirEntry> list = _fs.ReadDirectory("/d");
        Assert.Equal(601, list.Count);
        Assert.Equal(601, list.Select(e => e.Name).Distinct().Count());
        Assert.All(list.Where(e => e.Name.StartsWith('f')), e => Assert.Equal(0x180u, e.Attributes.Mode));
        Assert.Equal(VType.Symlink, list.Single(e => e.Name == "link").Type);
        Assert.Equal(Errno.ENOTDIR, ErrnoOf(() => _fs.ReadDirectory("/d/f000")));
    }

    [Fact]
    public void Attributes_ChmodChownSetTimesTruncate()
    {
        _fs.WriteAllBytes("/f", new byte[1000]);
        _fs.Chmod("/f", 0x1C0 | 0x800);
        _fs.Chown("/f", 1000, null);
        var t = new Timespec(1_000_000_000, 123_456_789);
        _fs.Truncate("/f", 10);
        _fs.SetTimes("/f", t, t);
        VAttr va = _fs.Stat("/f");
        Assert.Equal(0x1C0u, va.Mode & 0x1FF);
        Assert.Equal(1000u, va.Uid);
        Assert.Equal(0u, va.Gid);
        Assert.Equal(t, va.Mtime);
        Assert.Equal(t, va.Atime);
        Assert.Equal(10, va.Size);
        Assert.Equal(Errno.EISDIR, ErrnoOf(() => _fs.Truncate("/", 0)));
    }

    [Fact]
    public void Credentials_NonRoot_GetsPermissionErrors()
    {
        _fs.Mkdir("/private", 0x1C0);
        _fs.Credentials = new Credentials(1000, 1000);
        UkfsException ex = Assert.Throws<UkfsException>(() => _fs.Create("/private/x"));
        Assert.Equal(Errno.EACCES, ex.Errno);
        Assert.Equal("/private/x", ex.Path);
        Assert.Equal(Errno.EPERM, ErrnoOf(() => _fs.Chown("/private", 1000, 1000)));
    }

    [Fact]
    public void Errors_CarryErrnoAndPath()
    {
        UkfsException ex = Assert.Throws<UkfsException>(() => _fs.ReadAllBytes("/missing/file"));
        Assert.Equal(Errno.ENOENT, ex.Errno);
        Assert.Equal("/missing/file", ex.Path);
        Assert.Equal("/missing/file: No such file or directory", ex.Message);
        Assert.IsAssignableFrom<IOException>(ex);
    }

    [Fact]
    public void StatvfsSyncDescribe_Work()
    {
        StatVfs st = _fs.Statvfs();
        Assert.True(st.NameMax > 0);
        _fs.Sync();
        Assert.NotNull(_fs.Describe());
        Assert.Equal("tmpfs", _fs.FsType);
    }

    [Fact]
    public void Open_UnknownType_ThrowsEnodevNamingAvailable()
    {
        UkfsException ex = Assert.Throws<UkfsException>(() => UkfsMount.Open("zfs", (IBlockDevice?)null));
        Assert.Equal(Errno.ENODEV, ex.Errno);
        Assert.Contains("tmpfs", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ZeroedDevice_NoKnownFileSystem()
    {
        UkfsException ex = Assert.Throws<UkfsException>(() => UkfsMount.Open(null, new MemoryBlockDevice(1 << 20)));
        Assert.Equal(Errno.ENODEV, ex.Errno);
        Assert.Contains("no known file system", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_WithOpenStream_StillUnmounts()
    {
        UkfsMount fs = UkfsMount.Open("tmpfs", (IBlockDevice?)null);
        fs.WriteAllBytes("/x", "y"u8);
        UkfsFileStream s = fs.Open("/x");
        fs.Dispose();
        Assert.Throws<ObjectDisposedException>(() => fs.Stat("/x"));
        s.Dispose();
    }
}
