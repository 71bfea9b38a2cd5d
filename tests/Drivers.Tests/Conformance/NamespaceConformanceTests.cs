using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Conformance.ConformanceContext;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>create, lookup, unlink, mkdir, rmdir with the errno POSIX requires.</summary>
public class NamespaceConformanceTests
{
    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Create_ThenStat_ReportsRegularFileOwnedByCaller(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Create("/file", 0x1A4), "create");
        VAttr va = c.Fs.StatOk("/file");
        Assert.Equal(VType.Regular, va.Type);
        Assert.Equal(0L, va.Size);
        Assert.Equal(1u, va.Nlink);
        if (c.Dev.PermissionBits)
        {
            Assert.Equal(0x1A4u, va.Mode);
        }
        Assert.Contains("file", c.Fs.ListOk("/"));
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Create_ExistingName_ReturnsEexist(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Create("/a"), "create");
        Is(Errno.EEXIST, c.Fs.Create("/a"), "second create");
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        Is(Errno.EEXIST, c.Fs.Mkdir("/d"), "second mkdir");
        Is(Errno.EEXIST, c.Fs.Mkdir("/a"), "mkdir over file");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Create_InMissingDirectory_ReturnsEnoent(string target)
    {
        using var c = new ConformanceContext(target);
        Is(Errno.ENOENT, c.Fs.Create("/missing/file"), "create");
        Is(Errno.ENOENT, c.Fs.Stat("/missing", out _), "stat");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Create_UnderRegularFile_ReturnsEnotdir(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Create("/plain"), "create");
        Is(Errno.ENOTDIR, c.Fs.Create("/plain/child"), "create under file");
        Is(Errno.ENOTDIR, c.Fs.Stat("/plain/", out _), "trailing slash on a file");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Create_NameOver255Bytes_ReturnsEnametoolong(string target)
    {
        using var c = new ConformanceContext(target);
        Is(Errno.ENAMETOOLONG, c.Fs.Create("/" + new string('n', 256)), "create");
        Ok(c.Fs.Create("/" + new string('n', 200)), "create 200");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Remove_MissingName_ReturnsEnoent(string target)
    {
        using var c = new ConformanceContext(target);
        Is(Errno.ENOENT, c.Fs.Remove("/nothing"), "remove");
        Is(Errno.ENOENT, c.Fs.Rmdir("/nothing"), "rmdir");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Remove_Directory_ReturnsEisdir(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        Is(Errno.EISDIR, c.Fs.Remove("/d"), "unlink dir");
        Assert.True(c.Fs.Exists("/d"));
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Rmdir_NonEmptyDirectory_ReturnsEnotempty(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        Ok(c.Fs.Create("/d/f"), "create");
        Is(Errno.ENOTEMPTY, c.Fs.Rmdir("/d"), "rmdir");
        Ok(c.Fs.Remove("/d/f"), "remove");
        Ok(c.Fs.Rmdir("/d"), "rmdir empty");
        Assert.False(c.Fs.Exists("/d"));
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Rmdir_RegularFileOrDot_ReturnsEnotdirOrEinval(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Create("/f"), "create");
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        Is(Errno.ENOTDIR, c.Fs.Rmdir("/f"), "rmdir file");
        Is(Errno.EINVAL, c.Fs.Rmdir("/d/."), "rmdir dot");
        Is(Errno.ENOTEMPTY, c.Fs.Rmdir("/d/.."), "rmdir dotdot");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Lookup_DotDotAtRoot_StaysAtRoot(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        VAttr root = c.Fs.StatOk("/");
        Assert.Equal(root.Ino, c.Fs.StatOk("/..").Ino);
        Assert.Equal(root.Ino, c.Fs.StatOk("/d/../..").Ino);
        Assert.Equal(c.Fs.StatOk("/d").Ino, c.Fs.StatOk("/d/.").Ino);
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Symlink_ReadlinkAndFollow_ResolveTarget(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.Symlinks)
        {
            Is(c.Dev.UnsupportedErrno, c.Fs.Symlink("x", "/l"), "symlink");
            return;
        }
        Ok(c.Fs.Mkdir("/dir"), "mkdir");
        c.Fs.WriteFileOk("/dir/data", "payload"u8.ToArray());
        Ok(c.Fs.Symlink("dir/data", "/link"), "symlink");
        Ok(c.Fs.Readlink("/link", out string t), "readlink");
        Assert.Equal("dir/data", t);
        Assert.Equal(VType.Symlink, c.Fs.StatOk("/link", follow: false).Type);
        Assert.Equal("payload"u8.ToArray(), c.Fs.ReadAllOk("/link"));
        Ok(c.Fs.Symlink("loop2", "/loop1"), "symlink loop1");
        Ok(c.Fs.Symlink("loop1", "/loop2"), "symlink loop2");
        Is(Errno.ELOOP, c.Fs.Stat("/loop1", out _), "stat through loop");
        Ok(c.Fs.Symlink("/dir", "/abs"), "absolute symlink");
        Assert.Equal(VType.Regular, c.Fs.StatOk("/abs/data").Type);
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Mknod_FifoAndDevice_ReportTypeAndRdev(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.SpecialFiles)
        {
            Is(c.Dev.UnsupportedErrno, c.Fs.Mknod("/fifo", VType.Fifo), "mknod fifo");
            return;
        }
        Ok(c.Fs.Mknod("/fifo", VType.Fifo), "mknod fifo");
        Ok(c.Fs.Mknod("/null", VType.CharDevice, 0x1B6, (1 << 8) | 3), "mknod chr");
        Assert.Equal(VType.Fifo, c.Fs.StatOk("/fifo").Type);
        VAttr dev = c.Fs.StatOk("/null");
        Assert.Equal(VType.CharDevice, dev.Type);
        Assert.Equal((ulong)((1 << 8) | 3), dev.Rdev);
        c.Fs.Cred = VfsHarness.User;
        Is(Errno.EPERM, c.Fs.Mknod("/tmpdev", VType.BlockDevice), "mknod block as user");
    }
}
