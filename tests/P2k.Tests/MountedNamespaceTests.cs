using RumpFs.P2k.Tests.Support;
using Tmds.Linux;

namespace RumpFs.P2k.Tests;

/// <summary>The VFS conformance cases again, through the kernel: ordinary system calls on a rump_tmpfs mount.</summary>
public sealed class MountedNamespaceTests(TmpfsMountFixture mount) : IClassFixture<TmpfsMountFixture>
{
    [Fact]
    public void Create_ThenStat_ReportsRegularFileOwnedByCaller()
    {
        string f = Path.Combine(mount.NewDir(), "file");
        File.WriteAllText(f, "");
        Assert.Equal(0, Sys.Stat(f, out stat st));
        Assert.Equal(0x8000u, (uint)st.st_mode & 0xF000);
        Assert.Equal(0L, (long)st.st_size);
        Assert.Equal(1UL, (ulong)st.st_nlink);
        Assert.Equal(0u, (uint)st.st_uid);
        Assert.Equal(0x1A4u, (uint)st.st_mode & 0xFFF); // 0644 after the umask of 022
    }

    [Fact]
    public void Mkdir_ExistingName_ReturnsEexist_MissingParentEnoent_UnderFileEnotdir()
    {
        string d = mount.NewDir();
        File.WriteAllText(Path.Combine(d, "f"), "x");
        Assert.Equal(0, Sys.Mkdir(Path.Combine(d, "sub")));
        Assert.Equal(Sys.EEXIST, Sys.Mkdir(Path.Combine(d, "sub")));
        Assert.Equal(Sys.EEXIST, Sys.Mkdir(Path.Combine(d, "f")));
        Assert.Equal(Sys.ENOENT, Sys.Mkdir(Path.Combine(d, "missing", "x")));
        Assert.Equal(Sys.ENOTDIR, Sys.Mkdir(Path.Combine(d, "f", "x")));
    }

    [Fact]
    public void Create_NameOver255Bytes_ReturnsEnametoolong()
    {
        string d = mount.NewDir();
        Assert.Equal(Sys.ENAMETOOLONG, Sys.Mkdir(Path.Combine(d, new string('n', 256))));
        Assert.Equal(0, Sys.Mkdir(Path.Combine(d, new string('n', 255))));
    }

    [Fact]
    public void Unlink_MissingOrDirectory_ReturnsEnoentOrEisdir_RmdirNonEmptyOrFile_ReturnsEnotemptyOrEnotdir()
    {
        string d = mount.NewDir();
        Directory.CreateDirectory(Path.Combine(d, "sub"));
        File.WriteAllText(Path.Combine(d, "sub", "f"), "x");
        Assert.Equal(Sys.ENOENT, Sys.Unlink(Path.Combine(d, "nothing")));
        Assert.Equal(Sys.EISDIR, Sys.Unlink(Path.Combine(d, "sub")));
        Assert.Equal(Sys.ENOTEMPTY, Sys.Rmdir(Path.Combine(d, "sub")));
        Assert.Equal(Sys.ENOTDIR, Sys.Rmdir(Path.Combine(d, "sub", "f")));
        Assert.Equal(0, Sys.Unlink(Path.Combine(d, "sub", "f")));
        Assert.Equal(0, Sys.Rmdir(Path.Combine(d, "sub")));
        Assert.False(Directory.Exists(Path.Combine(d, "sub")));
    }

    [Fact]
    public void Rename_FileOverFile_ReplacesTargetAndKeepsInode()
    {
        string d = mount.NewDir();
        string a = Path.Combine(d, "a"), b = Path.Combine(d, "b");
        File.WriteAllText(a, "from a");
        File.WriteAllText(b, "from b");
        Assert.Equal(0, Sys.Stat(a, out stat before));
        Assert.Equal(0, Sys.Rename(a, b));
        Assert.False(File.Exists(a));
        Assert.Equal("from a", File.ReadAllText(b));
        Assert.Equal(0, Sys.Stat(b, out stat after));
        Assert.Equal((ulong)before.st_ino, (ulong)after.st_ino);
    }

    [Fact]
    public void Rename_DirectoryIntoItsOwnChild_ReturnsEinval_OverNonEmptyDirectory_ReturnsEnotempty()
    {
        string d = mount.NewDir();
        Directory.CreateDirectory(Path.Combine(d, "p", "c"));
        Directory.CreateDirectory(Path.Combine(d, "full", "x"));
        Assert.Equal(Sys.EINVAL, Sys.Rename(Path.Combine(d, "p"), Path.Combine(d, "p", "c", "p2")));
        Assert.Equal(Sys.ENOTEMPTY, Sys.Rename(Path.Combine(d, "p"), Path.Combine(d, "full")));
        Assert.True(Directory.Exists(Path.Combine(d, "p", "c")));
    }

    [Fact]
    public void Rename2_NoReplaceOverExisting_ReturnsEexist_ExchangeSwapsEntries()
    {
        string d = mount.NewDir();
        string a = Path.Combine(d, "a"), b = Path.Combine(d, "b");
        File.WriteAllText(a, "A");
        File.WriteAllText(b, "B");
        Assert.Equal(Sys.EEXIST, Sys.Rename(a, b, Sys.RENAME_NOREPLACE));
        Assert.Equal("B", File.ReadAllText(b));
        Assert.Equal(0, Sys.Rename(a, b, Sys.RENAME_EXCHANGE));
        Assert.Equal("B", File.ReadAllText(a));
        Assert.Equal("A", File.ReadAllText(b));
        Assert.Equal(Sys.ENOENT, Sys.Rename(Path.Combine(d, "none"), Path.Combine(d, "c"), Sys.RENAME_NOREPLACE));
    }

    [Fact]
    public void Rename_DirectoryAcrossParents_UpdatesDotDotAndLinkCounts()
    {
        string d = mount.NewDir();
        Directory.CreateDirectory(Path.Combine(d, "p1", "moved"));
        Directory.CreateDirectory(Path.Combine(d, "p2"));
        Assert.Equal(0, Sys.Rename(Path.Combine(d, "p1", "moved"), Path.Combine(d, "p2", "moved")));
        Assert.Equal(0, Sys.Stat(Path.Combine(d, "p1"), out stat p1));
        Assert.Equal(0, Sys.Stat(Path.Combine(d, "p2"), out stat p2));
        Assert.Equal(2UL, (ulong)p1.st_nlink);
        Assert.Equal(3UL, (ulong)p2.st_nlink);
        Assert.Equal(0, Sys.Stat(Path.Combine(d, "p2", "moved", ".."), out stat dotdot));
        Assert.Equal((ulong)p2.st_ino, (ulong)dotdot.st_ino);
    }

    [Fact]
    public void Link_RaisesCount_RemoveLowersIt_ContentShared_DirectoryEperm()
    {
        string d = mount.NewDir();
        string a = Path.Combine(d, "a"), b = Path.Combine(d, "b");
        File.WriteAllText(a, "shared");
        Assert.Equal(0, Sys.Link(a, b));
        Assert.Equal(0, Sys.Stat(a, out stat sa));
        Assert.Equal(0, Sys.Stat(b, out stat sb));
        Assert.Equal(2UL, (ulong)sa.st_nlink);
        Assert.Equal((ulong)sa.st_ino, (ulong)sb.st_ino);
        File.AppendAllText(b, "!");
        Assert.Equal("shared!", File.ReadAllText(a));
        Assert.Equal(0, Sys.Unlink(a));
        Assert.Equal(0, Sys.Stat(b, out sb));
        Assert.Equal(1UL, (ulong)sb.st_nlink);
        Directory.CreateDirectory(Path.Combine(d, "dir"));
        Assert.Equal(Sys.EPERM, Sys.Link(Path.Combine(d, "dir"), Path.Combine(d, "dir2")));
        Assert.Equal(Sys.EEXIST, Sys.Link(b, Path.Combine(d, "dir")));
    }

    [Fact]
    public void Symlink_ReadlinkAndFollow_ResolveTarget()
    {
        string d = mount.NewDir();
        Directory.CreateDirectory(Path.Combine(d, "dir"));
        File.WriteAllText(Path.Combine(d, "dir", "data"), "payload");
        Assert.Equal(0, Sys.Symlink("dir/data", Path.Combine(d, "link")));
        Assert.Equal("dir/data", new FileInfo(Path.Combine(d, "link")).LinkTarget);
        Assert.Equal("payload", File.ReadAllText(Path.Combine(d, "link")));
        Assert.Equal(0, Sys.Stat(Path.Combine(d, "link"), out stat st, follow: false));
        Assert.Equal(0xA000u, (uint)st.st_mode & 0xF000);
        Assert.Equal(8L, (long)st.st_size);
        Assert.Equal(Sys.EEXIST, Sys.Symlink("x", Path.Combine(d, "link")));
    }

    [Fact]
    public void Mknod_FifoAndCharDevice_ReportTypeAndRdev()
    {
        string d = mount.NewDir();
        Assert.Equal(0, Sys.Mknod(Path.Combine(d, "fifo"), 0x1000 | 0x1A4, 0));
        Assert.Equal(0, Sys.Mknod(Path.Combine(d, "null"), 0x2000 | 0x1B6, (1 << 8) | 3));
        Assert.Equal(0, Sys.Stat(Path.Combine(d, "fifo"), out stat fifo));
        Assert.Equal(0x1000u, (uint)fifo.st_mode & 0xF000);
        Assert.Equal(0, Sys.Stat(Path.Combine(d, "null"), out stat dev));
        Assert.Equal(0x2000u, (uint)dev.st_mode & 0xF000);
        Assert.Equal((ulong)((1 << 8) | 3), (ulong)dev.st_rdev);
    }

    [Fact]
    public void ChmodChownTruncate_AreStored()
    {
        string d = mount.NewDir();
        string f = Path.Combine(d, "f");
        File.WriteAllBytes(f, [1, 2, 3, 4]);
        Assert.Equal(0, Sys.Chmod(f, 0x1C0 | 0x800)); // 04700
        Assert.Equal(0, Sys.Chown(f, 1234, 5678));
        Assert.Equal(0, Sys.Truncate(f, 10));
        Assert.Equal(0, Sys.Stat(f, out stat st));
        Assert.Equal(1234u, (uint)st.st_uid);
        Assert.Equal(5678u, (uint)st.st_gid);
        Assert.Equal(10L, (long)st.st_size);
        // chown by root of a setuid file dropped the setuid bit (Linux rule).
        Assert.Equal(0x1C0u, (uint)st.st_mode & 0xFFF);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 0, 0, 0, 0, 0, 0 }, File.ReadAllBytes(f));
        Assert.Equal(0, Sys.Truncate(f, 2));
        Assert.Equal(new byte[] { 1, 2 }, File.ReadAllBytes(f));
    }

    [Fact]
    public void SetTimes_ExplicitValuesAreStoredToTheNanosecond_NowIsNow()
    {
        string f = Path.Combine(mount.NewDir(), "f");
        File.WriteAllText(f, "t");
        Assert.Equal(0, Sys.SetTimes(f, (1_000_000_000, 123_456_789), (1_100_000_000, 987_654_321)));
        Assert.Equal(0, Sys.Stat(f, out stat st));
        Assert.Equal(1_000_000_000L, (long)st.st_atim.tv_sec);
        Assert.Equal(123_456_789L, (long)st.st_atim.tv_nsec);
        Assert.Equal(1_100_000_000L, (long)st.st_mtim.tv_sec);
        Assert.Equal(987_654_321L, (long)st.st_mtim.tv_nsec);
        long before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.Equal(0, Sys.SetTimes(f, null, null));
        Assert.Equal(0, Sys.Stat(f, out st));
        Assert.InRange((long)st.st_mtim.tv_sec, before - 1, before + 5);
    }

    [Fact]
    public void Permissions_OtherUserCannotCreateInRootOwnedDirectory_NorChmodRootsFile()
    {
        string d = mount.NewDir();
        File.SetUnixFileMode(d, (UnixFileMode)0x1ED); // 0755
        string f = Path.Combine(d, "rootfile");
        File.WriteAllText(f, "r");
        Assert.NotEqual(0, AsNobody.Run("touch", Path.Combine(d, "x")).ExitCode);
        Assert.False(File.Exists(Path.Combine(d, "x")));
        Assert.NotEqual(0, AsNobody.Run("chmod", "777", f).ExitCode);
        Assert.Equal("r", AsNobody.Run("cat", f).Output);
        File.SetUnixFileMode(d, (UnixFileMode)0x3FF); // 01777: sticky, open to all
        Assert.Equal(0, AsNobody.Run("touch", Path.Combine(d, "mine")).ExitCode);
        Assert.Equal(0, Sys.Stat(Path.Combine(d, "mine"), out stat st));
        Assert.Equal(AsNobody.Id, (uint)st.st_uid);
        Assert.Equal(AsNobody.Id, (uint)st.st_gid);
        // Sticky directory: nobody may not remove root's file.
        Assert.NotEqual(0, AsNobody.Run("rm", "-f", f).ExitCode);
        Assert.True(File.Exists(f));
    }

    [Fact]
    public void Xattr_SetGetListRemove_RoundTrip()
    {
        string f = Path.Combine(mount.NewDir(), "f");
        File.WriteAllText(f, "x");
        Assert.Equal(Sys.ENODATA, Sys.GetXattr(f, "user.color"));
        Assert.Equal(0, Sys.SetXattr(f, "user.color", "blue"u8, 0));
        Assert.Equal(Sys.EEXIST, Sys.SetXattr(f, "user.color", "red"u8, Sys.XATTR_CREATE));
        Assert.Equal(Sys.ENODATA, Sys.SetXattr(f, "user.other", "red"u8, Sys.XATTR_REPLACE));
        Assert.Equal(0, Sys.GetXattr(f, "user.color", out byte[] value));
        Assert.Equal("blue"u8.ToArray(), value);
        Assert.Equal(["user.color"], Sys.ListXattr(f));
        Assert.Equal(0, Sys.RemoveXattr(f, "user.color"));
        Assert.Equal(Sys.ENODATA, Sys.GetXattr(f, "user.color"));
        Assert.Empty(Sys.ListXattr(f));
    }

    [Fact]
    public void RemovedFile_StaysReadableWhileOpen()
    {
        string f = Path.Combine(mount.NewDir(), "f");
        File.WriteAllText(f, "still here");
        using var s = new FileStream(f, FileMode.Open, FileAccess.Read);
        File.Delete(f);
        Assert.False(File.Exists(f));
        var buf = new byte[64];
        int n = s.Read(buf);
        Assert.Equal("still here", System.Text.Encoding.UTF8.GetString(buf, 0, n));
    }
}
