using System.Text.RegularExpressions;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// Read-write mounts of quota file systems (mke2fs -O quota) keep the quota files as the
/// kernel keeps them: after files are made, given to other owners, grown, shrunk and removed,
/// e2fsck -fn (which counts every id's usage and compares) finds the image clean, and
/// debugfs lists the usage the files hold.
/// </summary>
public sealed partial class Ext2QuotaTests : IDisposable
{
    private static readonly Credentials Root = Credentials.Root;
    private readonly ScratchDir _dir = new("ext2-quota");

    public void Dispose() => _dir.Dispose();

    private string Image(string blockSize)
    {
        string img = _dir.File($"quota-{blockSize}.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", blockSize, "-I", "256", "-O", "quota", img, "32M");
        return img;
    }

    private static void Chown(Vnode vp, uint uid, uint gid)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Uid | VAttrMask.Gid);
        va.Uid = uid;
        va.Gid = gid;
        Assert.Equal(Errno.OK, Vop.SetAttr(vp, va, Root));
    }

    private static Vnode CreateFile(Vnode dir, string name, int bytes, uint uid, uint gid)
    {
        Assert.Equal(Errno.OK, Vop.Create(dir, name, 0x1A4, Root, out Vnode? f));
        Chown(f!, uid, gid);
        if (bytes > 0)
        {
            Assert.Equal(Errno.OK, Vop.Write(f!, 0, new byte[bytes], out int written));
            Assert.Equal(bytes, written);
        }
        return f!;
    }

    /// <summary>debugfs's list_quota: id → (space, inodes).</summary>
    private static Dictionary<uint, (long Space, long Inodes)> ListQuota(string img, string type)
    {
        var usage = new Dictionary<uint, (long, long)>();
        foreach (Match m in QuotaLine().Matches(OracleTool.RunExpect(0, "debugfs", "-R", $"lq {type}", img).Stdout))
        {
            usage[uint.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)] =
                (long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture),
                 long.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        return usage;
    }

    [GeneratedRegex(@"^\s*(\d+)\s+(\d+)\s+\d+\s+\d+\s+(\d+)\s", RegexOptions.Multiline)]
    private static partial Regex QuotaLine();

    [Theory]
    [InlineData("1024")]
    [InlineData("4096")]
    public void Writes_ChownsAndRemovals_LeaveTheUsageE2fsckCounts(string blockSize)
    {
        string img = Image(blockSize);
        Mount m = Ext2Fixture.MountImage(img, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Mkdir(root!, "home", 0x1ED, Root, out Vnode? home));
            Chown(home!, 1000, 100);
            CreateFile(home!, "a", 50_000, 1000, 100).Release();
            CreateFile(home!, "b", 10_000, 1001, 100).Release();
            Vnode moved = CreateFile(root!, "c", 30_000, 1001, 200);
            Chown(moved, 1002, 200); // usage moves with the owner
            moved.Release();
            Vnode shrunk = CreateFile(root!, "d", 200_000, 1000, 100);
            VAttr size = VAttr.ForSet(VAttrMask.Size);
            size.Size = 5_000;
            Assert.Equal(Errno.OK, Vop.SetAttr(shrunk, size, Root));
            shrunk.Release();
            CreateFile(root!, "gone", 70_000, 1003, 300).Release();
            Assert.Equal(Errno.OK, Vop.Remove(root!, "gone", Root));
            home!.Release();
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount(force: false));
        }
        Ext2Oracle.AssertFsckClean(img);
        Dictionary<uint, (long Space, long Inodes)> users = ListQuota(img, "user");
        Assert.Equal(3, users[1000].Inodes); // /home, /home/a and /d
        Assert.Equal(1, users[1001].Inodes);
        Assert.Equal(1, users[1002].Inodes);
        Assert.True(users[1002].Space >= 30_000, $"{users[1002].Space}");
        Assert.False(users.TryGetValue(1003, out var gone) && gone.Inodes != 0, "the removed file's owner still charged");
        Dictionary<uint, (long Space, long Inodes)> groups = ListQuota(img, "group");
        Assert.Equal(1, groups[200].Inodes);
    }

    /// <summary>Sixty owners need more quota-file blocks than mke2fs gave: the file grows and stays clean.</summary>
    [Fact]
    public void ManyOwners_QuotaFileGrows_E2fsckClean()
    {
        string img = Image("1024");
        Mount m = Ext2Fixture.MountImage(img, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            for (uint i = 0; i < 60; i++)
            {
                CreateFile(root!, $"f{i}", 1000, 5000 + (i * 257), 7000 + i).Release();
            }
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount(force: false));
        }
        Ext2Oracle.AssertFsckClean(img);
        Assert.Equal(61, ListQuota(img, "user").Count);
    }

    /// <summary>
    /// A quota file that is no quota tree (a damaged header, or a tree block naming the root
    /// again: a loop) is not written over; the writes stand and fsck is asked for.
    /// </summary>
    [Theory]
    [InlineData(0, new byte[] { 0xde, 0xad, 0xbe, 0xef })]
    [InlineData(2, new byte[] { 1, 0, 0, 0 })]
    public void DamagedQuotaFile_NotWrittenOver_FileSystemMarkedInError(int fileBlock, byte[] patch)
    {
        string img = Image("1024");
        long at = long.Parse(OracleTool.RunExpect(0, "debugfs", "-R", $"bmap <3> {fileBlock}", img).Stdout.Trim(),
            System.Globalization.CultureInfo.InvariantCulture) * 1024;
        using (var f = new FileStream(img, FileMode.Open, FileAccess.Write))
        {
            f.Position = at;
            f.Write(patch);
        }
        byte[] before = Fsck.Ext2CheckImages.DumpInode(img, 3);
        Mount m = Ext2Fixture.MountImage(img, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            CreateFile(root!, "x", 3000, 42, 42).Release();
            root!.Release();
        }
        finally
        {
            m.Unmount(force: false);
        }
        Assert.Equal(before, Fsck.Ext2CheckImages.DumpInode(img, 3));
        Assert.Contains("with errors", OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout, StringComparison.Ordinal);
        Assert.Contains("3000", OracleTool.RunExpect(0, "debugfs", "-R", "stat /x", img).Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// Project quotas: a directory with the project-inherit flag (set with debugfs, as chattr
    /// -p/+P leave it) gives its id to what is made in it, links and renames from another
    /// project give EXDEV, and the project quota file holds the usage e2fsck counts.
    /// </summary>
    [Fact]
    public void ProjectDirectory_PassesItsIdOn_RefusesOtherProjects_UsageKept()
    {
        string img = _dir.File("project.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-I", "256", "-O", "quota,project", img, "32M");
        Mount m = Ext2Fixture.MountImage(img, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Mkdir(root!, "p", 0x1ED, Root, out Vnode? p));
            CreateFile(root!, "outside", 4000, 0, 0).Release();
            p!.Release();
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount(force: false));
        }
        // EXTENTS 0x80000 | PROJINHERIT 0x20000000, project 42.
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "sif /p flags 0x20080000", img);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "sif /p projid 42", img);
        OracleTool.RunExpect(1, "e2fsck", "-fy", img); // the project's usage moved: let e2fsck set the base

        m = Ext2Fixture.MountImage(img, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Vnode p = Ext2Fixture.Resolve(m, "/p");
            Vnode inside = CreateFile(p, "inside", 30_000, 1000, 1000);
            Assert.Equal(Errno.OK, Vop.Mkdir(p, "sub", 0x1ED, Root, out Vnode? sub));
            Vnode outside = Ext2Fixture.Resolve(m, "/outside");
            Assert.Equal(Errno.EXDEV, Vop.Link(outside, p, "link", Root));
            Assert.Equal(Errno.EXDEV, Vop.Rename(root!, "outside", p, "moved", Root));
            Assert.Equal(Errno.OK, Vop.Rename(p, "inside", sub!, "inside", Root));
            Assert.Equal(Errno.OK, Vop.Rename(sub!, "inside", root!, "out-again", Root)); // the root has no project flag
            outside.Release();
            inside.Release();
            sub!.Release();
            p.Release();
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount(force: false));
        }
        Ext2Oracle.AssertFsckClean(img);
        Assert.Contains("Project:    42", Stat(img, "/p/sub"), StringComparison.Ordinal);
        Assert.Contains("Project:    42", Stat(img, "/out-again"), StringComparison.Ordinal);
        Dictionary<uint, (long Space, long Inodes)> projects = ListQuota(img, "project");
        Assert.Equal(3, projects[42].Inodes); // /p, /p/sub and the file now at /out-again
    }

    /// <summary>A user quota file with no links (e2fsck asks none of it) is kept, not deleted, by a write.</summary>
    [Fact]
    public void QuotaFileWithoutLinks_KeptByWrites()
    {
        string img = Image("1024");
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "sif <3> links_count 0", img);
        Mount m = Ext2Fixture.MountImage(img, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            CreateFile(root!, "x", 5000, 77, 77).Release();
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount(force: false));
        }
        Ext2Oracle.AssertFsckClean(img);
        Assert.Equal(1, ListQuota(img, "user")[77].Inodes);
    }

    /// <summary>New inodes take their directory's inheritable flags, as ext4 passes them on.</summary>
    [Fact]
    public void NewInodes_TakeTheDirectorysInheritableFlags()
    {
        string img = _dir.File("flags.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", img, "8M");
        Mount m = Ext2Fixture.MountImage(img, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Mkdir(root!, "d", 0x1ED, Root, out Vnode? d));
            VAttr flags = VAttr.ForSet(VAttrMask.Flags);
            flags.Flags = (uint)(FileFlags.NoAtime | FileFlags.DirSync | FileFlags.NoDump);
            Assert.Equal(Errno.OK, Vop.SetAttr(d!, flags, Root));
            CreateFile(d!, "f", 10, 0, 0).Release();
            Assert.Equal(Errno.OK, Vop.Mkdir(d!, "sub", 0x1ED, Root, out Vnode? sub));
            Assert.Equal(Errno.OK, Vop.Symlink(d!, "l", "f", Root, out Vnode? link));
            link!.Release();
            sub!.Release();
            d!.Release();
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount(force: false));
        }
        Ext2Oracle.AssertFsckClean(img);
        // NOATIME 0x80, NODUMP 0x40, DIRSYNC 0x10000; EXTENTS 0x80000 on mapped inodes.
        Assert.Contains("Flags: 0x800c0\n", Stat(img, "/d/f"), StringComparison.Ordinal);
        Assert.Contains("Flags: 0x900c0\n", Stat(img, "/d/sub"), StringComparison.Ordinal);
        Assert.Contains("Flags: 0xc0\n", Stat(img, "/d/l"), StringComparison.Ordinal);
    }

    private static string Stat(string img, string path) => OracleTool.RunExpect(0, "debugfs", "-R", $"stat {path}", img).Stdout;
}
