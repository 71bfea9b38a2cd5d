using RumpFs.TestSupport;
using static RumpFs.Integration.Tests.Sys;

namespace RumpFs.Integration.Tests;

/// <summary>
/// POSIX behaviour through the kernel, in the spirit of pjdfstest: ordinary system calls on a
/// mounted rump_* file system must give the errno POSIX requires.
/// </summary>
public class PosixKernelTests
{
    private const int EPERM = 1, ENOENT = 2, EEXIST = 17, ENOTDIR = 20, EISDIR = 21, EINVAL = 22,
        ENAMETOOLONG = 36, ENOTEMPTY = 39;

    [Theory, MemberData(nameof(MountedTargets.Names), MemberType = typeof(MountedTargets))]
    public void DirectoryCalls_GiveThePosixErrnos(string target)
    {
        using var scratch = new ScratchDir("rumpfs-posix");
        using FuseMount m = MountedTargets.Get(target).Mount(scratch, out _);
        string d = m.Path("d");
        Assert.Equal(0, Mkdir(d));
        Assert.Equal(EEXIST, Mkdir(d));
        Assert.Equal(0, Mkdir(m.Path("d/sub")));
        Assert.Equal(ENOTEMPTY, Rmdir(d));
        Assert.Equal(EINVAL, Rename(d, m.Path("d/sub/inside")));
        Assert.Equal(EISDIR, Unlink(d));
        Assert.Equal(ENOENT, Rmdir(m.Path("missing")));
        Assert.Equal(ENOENT, Mkdir(m.Path("missing/child")));
        Assert.Equal(ENAMETOOLONG, Mkdir(m.Path(new string('x', 256))));
        Assert.Equal(0, Rmdir(m.Path("d/sub")));
        Assert.Equal(0, Rmdir(d));
        Assert.False(Directory.Exists(d));
    }

    [Theory, MemberData(nameof(MountedTargets.Names), MemberType = typeof(MountedTargets))]
    public void FileCalls_GiveThePosixErrnos(string target)
    {
        using var scratch = new ScratchDir("rumpfs-posix");
        MountedTarget t = MountedTargets.Get(target);
        using FuseMount m = t.Mount(scratch, out _);
        string f = m.Path("file");
        Assert.Equal(0, OpenClose(f, O_CREAT | O_EXCL | O_WRONLY));
        Assert.Equal(EEXIST, OpenClose(f, O_CREAT | O_EXCL | O_WRONLY));
        Assert.Equal(ENOTDIR, Rmdir(f));
        Assert.Equal(ENOTDIR, OpenClose(m.Path("file/x"), O_CREAT | O_WRONLY));
        Assert.Equal(0, Mkdir(m.Path("dir")));
        Assert.Equal(EISDIR, OpenClose(m.Path("dir"), O_WRONLY));
        Assert.Equal(EISDIR, Rename(f, m.Path("dir")));
        Assert.Equal(ENOTDIR, Rename(m.Path("dir"), f));
        Assert.Equal(EPERM, Link(m.Path("dir"), m.Path("dirlink")));
        File.WriteAllText(f, "0123456789");
        Assert.Equal(0, Truncate(f, 4));
        Assert.Equal("0123", File.ReadAllText(f));
        Assert.Equal(0, Truncate(f, 100_000));
        byte[] grown = File.ReadAllBytes(f);
        Assert.Equal(100_000, grown.Length);
        Assert.All(grown[4..], b => Assert.Equal(0, b));
        Assert.Equal(0, SetTimes(f, 1_000_000_000, 0, 1_234_567_890, 0));
        Assert.Equal(0, Stat(f, out var st));
        Assert.Equal(1_234_567_890, (long)st.st_mtim.tv_sec);
    }

    [Theory, MemberData(nameof(MountedTargets.Names), MemberType = typeof(MountedTargets))]
    public void Fallocate_Mode0GrowsWithZeros_KeepSizeOnExt4AndTmpfs_OtherModesEopnotsupp(string target)
    {
        const int EOPNOTSUPP = 95, FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_COLLAPSE_RANGE = 8;
        using var scratch = new ScratchDir("rumpfs-posix");
        using FuseMount m = MountedTargets.Get(target).Mount(scratch, out _);
        string f = m.Path("pre");
        File.WriteAllText(f, "abc");
        Assert.Equal(0, Fallocate(f, 0, 1000, 1 << 20));
        byte[] back = File.ReadAllBytes(f);
        Assert.Equal(1000 + (1 << 20), back.Length);
        Assert.Equal("abc"u8.ToArray(), back[..3]);
        Assert.All(back[3..], b => Assert.Equal(0, b));
        Assert.Equal(0, Stat(f, out var st));
        Assert.True((long)st.st_blocks * 512 >= back.Length, $"{st.st_blocks} blocks of 512 bytes for {back.Length} bytes");
        Assert.Equal(EOPNOTSUPP, Fallocate(f, FALLOC_FL_COLLAPSE_RANGE, 0, 1 << 16));
        // Storage past the end without a new size: FFS, FAT and block-mapped ext2 cannot hold it.
        int keepSize = Fallocate(f, FALLOC_FL_KEEP_SIZE, 0, 8 << 20);
        if (target is "ext4" or "tmpfs")
        {
            Assert.Equal(0, keepSize);
            Assert.Equal(back.Length, new FileInfo(f).Length);
            Assert.Equal(0, Stat(f, out st));
            Assert.True((long)st.st_blocks * 512 >= 8 << 20, $"{st.st_blocks} blocks of 512 bytes reserved");
        }
        else
        {
            Assert.Equal(EOPNOTSUPP, keepSize);
        }
    }

    [Theory, MemberData(nameof(MountedTargets.Names), MemberType = typeof(MountedTargets))]
    public void Fallocate_PunchHoleAndZeroRange_ZeroAndFreeWhereTheFormatHasHoles(string target)
    {
        const int EOPNOTSUPP = 95, FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2, FALLOC_FL_ZERO_RANGE = 0x10;
        using var scratch = new ScratchDir("rumpfs-posix");
        using FuseMount m = MountedTargets.Get(target).Mount(scratch, out _);
        string f = m.Path("holes");
        byte[] expected = new byte[4 << 20];
        new Random(3).NextBytes(expected);
        File.WriteAllBytes(f, expected);
        Assert.Equal(0, Stat(f, out var before));
        // Linux takes PUNCH_HOLE only with KEEP_SIZE.
        Assert.Equal(EOPNOTSUPP, Fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, 4096));
        int punch = Fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100_000, 3_000_000);
        int zero = Fallocate(f, FALLOC_FL_ZERO_RANGE, 3_500_000, 1_000_000);
        if (target == "fat32")
        {
            // FAT has no holes, as with Linux's vfat.
            Assert.Equal(EOPNOTSUPP, punch);
            Assert.Equal(EOPNOTSUPP, zero);
            Assert.Equal(expected, File.ReadAllBytes(f));
            return;
        }
        Assert.Equal(0, punch);
        Assert.Equal(0, zero);
        expected.AsSpan(100_000, 3_000_000).Clear();
        expected.AsSpan(3_500_000).Clear();
        Array.Resize(ref expected, 4_500_000);
        Assert.Equal(expected, File.ReadAllBytes(f));
        Assert.Equal(0, Stat(f, out var after));
        Assert.True((long)(before.st_blocks - after.st_blocks) * 512 >= 2_500_000,
            $"{before.st_blocks} -> {after.st_blocks} blocks of 512 bytes");
    }

    [Theory, MemberData(nameof(MountedTargets.Names), MemberType = typeof(MountedTargets))]
    public void LinksAndSpecialFiles_WorkOrFailAsTheFormatDocuments(string target)
    {
        using var scratch = new ScratchDir("rumpfs-posix");
        MountedTarget t = MountedTargets.Get(target);
        using FuseMount m = t.Mount(scratch, out _);
        File.WriteAllText(m.Path("orig"), "linked");
        int link = Link(m.Path("orig"), m.Path("hard"));
        int sym = Symlink("orig", m.Path("soft"));
        int fifo = Mkfifo(m.Path("fifo"));
        if (t.Dev.HardLinks)
        {
            Assert.Equal(0, link);
            Assert.Equal(0, Stat(m.Path("orig"), out var st));
            Assert.Equal(2UL, (ulong)st.st_nlink);
            Assert.Equal("linked", File.ReadAllText(m.Path("hard")));
        }
        else
        {
            Assert.Equal(EPERM, link);
        }
        if (t.Dev.Symlinks)
        {
            Assert.Equal(0, sym);
            Assert.Equal("orig", new FileInfo(m.Path("soft")).LinkTarget);
            Assert.Equal("linked", File.ReadAllText(m.Path("soft")));
        }
        else
        {
            Assert.Equal(EPERM, sym);
        }
        if (t.Dev.SpecialFiles)
        {
            Assert.Equal(0, fifo);
            Assert.Equal(0, Stat(m.Path("fifo"), out var fst));
            Assert.Equal(0x1000u, (uint)fst.st_mode & 0xF000);
        }
        else
        {
            Assert.Equal(EPERM, fifo);
        }
    }

    [Theory, MemberData(nameof(MountedTargets.Names), MemberType = typeof(MountedTargets))]
    public void UnprivilegedUser_IsHeldToModesAndStickyBits(string target)
    {
        MountedTarget t = MountedTargets.Get(target);
        if (!t.Dev.PermissionBits || !t.Dev.Ownership)
        {
            return;
        }
        using var scratch = new ScratchDir("rumpfs-posix");
        using FuseMount m = t.Mount(scratch, out _, "allow_other");
        Assert.Equal(0, Chmod(m.MountPoint, 0x1ED));
        Assert.Equal(0, Mkdir(m.Path("rootonly"), 0x1ED));
        Assert.Equal(0, Mkdir(m.Path("shared"), 0x3FF));
        Assert.Equal(0, Chmod(m.Path("shared"), 0x3FF));
        File.WriteAllText(m.Path("shared/roots-file"), "root");
        ToolResult denied = AsUser(1000, $"touch '{m.Path("rootonly/x")}'");
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Contains("Permission denied", denied.Stderr);
        ToolResult own = AsUser(1000, $"echo mine > '{m.Path("shared/users-file")}'");
        Assert.True(own.ExitCode == 0, own.Transcript);
        Assert.Equal(0, Stat(m.Path("shared/users-file"), out var st));
        Assert.Equal(1000u, (uint)st.st_uid);
        ToolResult sticky = AsUser(1001, $"rm -f '{m.Path("shared/users-file")}'");
        Assert.NotEqual(0, sticky.ExitCode);
        Assert.Contains("Operation not permitted", sticky.Stderr);
        ToolResult stickyRoot = AsUser(1000, $"rm -f '{m.Path("shared/roots-file")}'");
        Assert.NotEqual(0, stickyRoot.ExitCode);
        Assert.True(File.Exists(m.Path("shared/users-file")));
    }

    [Theory, MemberData(nameof(MountedTargets.Names), MemberType = typeof(MountedTargets))]
    public void SetgidDirectory_PassesItsGroupOnAndNonMembersCannotKeepSetgid(string target)
    {
        MountedTarget t = MountedTargets.Get(target);
        if (!t.Dev.PermissionBits || !t.Dev.Ownership)
        {
            return;
        }
        using var scratch = new ScratchDir("rumpfs-posix");
        using FuseMount m = t.Mount(scratch, out _, "allow_other");
        const uint group = 4321;
        Assert.Equal(0, Chmod(m.MountPoint, 0x1ED));
        Assert.Equal(0, Mkdir(m.Path("sg"), 0x1FF));
        Assert.Equal(0, Chown(m.Path("sg"), 0, group));
        Assert.Equal(0, Chmod(m.Path("sg"), 0x400 | 0x1FF));

        ToolResult made = AsUser(1000, $"echo data > '{m.Path("sg/file")}' && mkdir '{m.Path("sg/sub")}'");
        Assert.True(made.ExitCode == 0, made.Transcript);
        Assert.Equal(0, Stat(m.Path("sg/file"), out var file));
        Assert.Equal(1000u, (uint)file.st_uid);
        Assert.Equal(group, (uint)file.st_gid);
        Assert.Equal(0u, (uint)file.st_mode & 0x400);
        Assert.Equal(0, Stat(m.Path("sg/sub"), out var sub));
        Assert.Equal(group, (uint)sub.st_gid);
        Assert.Equal(0x400u, (uint)sub.st_mode & 0x400);

        // A user outside the file's group asking for setgid gets the mode without it (Linux).
        ToolResult chmod = AsUser(1000, $"chmod 2755 '{m.Path("sg/file")}'");
        Assert.True(chmod.ExitCode == 0, chmod.Transcript);
        Assert.Equal(0, Stat(m.Path("sg/file"), out var after));
        Assert.Equal(0x1EDu, (uint)after.st_mode & 0xFFF);

        // Nor may the owner give the file to a group it is not in.
        ToolResult chgrp = AsUser(1000, $"chgrp 1001 '{m.Path("sg/file")}'");
        Assert.NotEqual(0, chgrp.ExitCode);
        Assert.Contains("Operation not permitted", chgrp.Stderr);

        // Root's chown of an executable setgid file clears the bit.
        Assert.Equal(0, Chmod(m.Path("sg/file"), 0x400 | 0x1ED));
        Assert.Equal(0, Chown(m.Path("sg/file"), 1001, 1001));
        Assert.Equal(0, Stat(m.Path("sg/file"), out var chowned));
        Assert.Equal(0u, (uint)chowned.st_mode & 0x400);
        Assert.Equal(1001u, (uint)chowned.st_gid);
    }

    private static ToolResult AsUser(int uid, string command) =>
        OracleTool.Run("setpriv", $"--reuid={uid}", $"--regid={uid}", "--clear-groups", "sh", "-c", command);
}
