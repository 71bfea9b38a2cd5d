using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// Project ids set as chattr -p sets them (FS_IOC_FSSETXATTR, ext4_ioctl_setproject), and the
/// project-inherit flag (chattr +P): the errnos ext4 gives, the quota charge moving from the
/// old project to the new one (e2fsck -fn clean, debugfs lq project), i_extra_isize grown
/// for inodes that stop short of i_projid.
/// </summary>
public sealed partial class Ext2ProjectIdTests : IDisposable
{
    private static readonly Credentials Root = Credentials.Root;
    private static readonly Credentials Owner = new(1000, 1000);
    private readonly ScratchDir _dir = new("ext2-projid");

    public void Dispose() => _dir.Dispose();

    private string Image(string name, params string[] mkfs)
    {
        string img = _dir.File(name);
        OracleTool.RunExpect(0, "mke2fs", ["-q", "-F", "-t", "ext4", .. mkfs, img, "16M"]);
        return img;
    }

    private static Vnode CreateFile(Vnode dir, string name, int bytes, uint uid)
    {
        Assert.Equal(Errno.OK, Vop.Create(dir, name, 0x1A4, Root, out Vnode? f));
        VAttr va = VAttr.ForSet(VAttrMask.Uid);
        va.Uid = uid;
        Assert.Equal(Errno.OK, Vop.SetAttr(f!, va, Root));
        if (bytes > 0)
        {
            Assert.Equal(Errno.OK, Vop.Write(f!, 0, new byte[bytes], out int written));
            Assert.Equal(bytes, written);
        }
        return f!;
    }

    private static Errno SetProject(Vnode vp, uint id, Credentials cred)
    {
        Assert.Equal(Errno.OK, Vop.GetFileFlags(vp, out FileFlags flags));
        return Vop.SetFileAttr(vp, flags, id, cred);
    }

    private static uint ProjectOf(Vnode vp)
    {
        Assert.Equal(Errno.OK, Vop.GetFileAttr(vp, out _, out uint id));
        return id;
    }

    private static Dictionary<uint, (long Space, long Inodes)> ListProjects(string img)
    {
        var usage = new Dictionary<uint, (long, long)>();
        foreach (Match m in QuotaLine().Matches(OracleTool.RunExpect(0, "debugfs", "-R", "lq project", img).Stdout))
        {
            usage[uint.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)] =
                (long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
        }
        return usage;
    }

    [GeneratedRegex(@"^\s*(\d+)\s+(\d+)\s+\d+\s+\d+\s+(\d+)\s", RegexOptions.Multiline)]
    private static partial Regex QuotaLine();

    private static string Stat(string img, string path) => OracleTool.RunExpect(0, "debugfs", "-R", $"stat {path}", img).Stdout;

    private static void WithMount(string img, Action<Mount, Vnode> body)
    {
        Mount m = Ext2Fixture.MountImage(img, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            try
            {
                body(m, root!);
            }
            finally
            {
                root!.Release();
            }
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount(force: false));
        }
    }

    [Fact]
    public void SetProjectId_MovesTheChargeToTheNewProject_E2fsckClean()
    {
        string img = Image("move.img", "-I", "256", "-O", "quota,project");
        WithMount(img, (m, root) =>
        {
            Vnode f = CreateFile(root, "f", 40_000, 1000);
            Vnode g = CreateFile(root, "g", 8_000, 1000);
            Assert.Equal(0u, ProjectOf(f));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr before));
            Thread.Sleep(10);
            Assert.Equal(Errno.OK, SetProject(f, 42, Owner)); // the owner may: Linux asks only for the initial namespace
            Assert.Equal(Errno.OK, SetProject(g, 42, Root));
            Assert.Equal(Errno.OK, SetProject(g, 7, Root)); // moved twice: charged once, to 7
            Assert.Equal(42u, ProjectOf(f));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr after));
            Assert.True(after.Ctime.CompareTo(before.Ctime) > 0, "ctime did not move");
            Assert.Equal(Errno.OK, SetProject(f, 42, Owner)); // the same id: nothing to do
            f.Release();
            g.Release();
        });
        Ext2Oracle.AssertFsckClean(img);
        Assert.Contains("Project:    42", Stat(img, "/f"), StringComparison.Ordinal);
        Dictionary<uint, (long Space, long Inodes)> projects = ListProjects(img);
        Assert.Equal(1, projects[42].Inodes);
        Assert.True(projects[42].Space >= 40_000, $"{projects[42].Space}");
        Assert.Equal(1, projects[7].Inodes);
        Assert.True(projects[7].Space is >= 8_000 and < 40_000, $"{projects[7].Space}");
        Assert.Equal(2, projects[0].Inodes); // the root and lost+found
    }

    [Fact]
    public void SetProjectId_RefusedAsExt4RefusesIt()
    {
        string img = Image("refuse.img", "-I", "256", "-O", "quota,project");
        WithMount(img, (m, root) =>
        {
            Vnode f = CreateFile(root, "f", 100, 1000);
            Assert.Equal(Errno.EPERM, SetProject(f, 42, new Credentials(1001, 1001))); // not the owner
            Assert.Equal(Errno.EINVAL, SetProject(f, Vop.InvalidProjectId, Root));
            Assert.Equal(Errno.OK, Vop.SetFileFlags(f, FileFlags.Immutable | FileFlags.Extents, Root));
            Assert.Equal(Errno.EPERM, SetProject(f, 42, Root));
            Assert.Equal(Errno.OK, SetProject(f, 0, Root)); // the same id passes, immutable or not
            // Clearing immutable and moving at once is allowed (ext4_ioctl_check_immutable).
            Assert.Equal(Errno.OK, Vop.SetFileAttr(f, FileFlags.Extents, 42, Root));
            Assert.Equal(42u, ProjectOf(f));
            f.Release();
        });
        Ext2Oracle.AssertFsckClean(img);
    }

    [Fact]
    public void WithoutTheProjectFeature_OnlyProjectZero()
    {
        string img = Image("noproj.img", "-I", "256", "-O", "quota");
        WithMount(img, (m, root) =>
        {
            Vnode f = CreateFile(root, "f", 100, 0);
            Assert.Equal(Errno.EOPNOTSUPP, SetProject(f, 42, Root));
            Assert.Equal(Errno.OK, SetProject(f, 0, Root));
            Assert.Equal(0u, ProjectOf(f));
            f.Release();
        });
        Ext2Oracle.AssertFsckClean(img);
    }

    /// <summary>mke2fs refuses project with 128-byte inodes; debugfs turns it on anyway, and ext4 answers EOPNOTSUPP.</summary>
    [Fact]
    public void SmallInodes_EOPNOTSUPP()
    {
        string img = Image("small.img", "-I", "128");
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "feature project", img);
        WithMount(img, (m, root) =>
        {
            Vnode f = CreateFile(root, "f", 100, 0);
            Assert.Equal(Errno.EOPNOTSUPP, SetProject(f, 42, Root));
            f.Release();
        });
    }

    /// <summary>
    /// An inode whose i_extra_isize (4) stops short of i_projid grows to 32: its in-inode
    /// attribute moves up with it; one too large to fit above the grown fields is EOVERFLOW.
    /// </summary>
    [Fact]
    public void ShortExtraFields_GrownWhenTheAttributesFit_ElseEoverflow()
    {
        string img = Image("extra.img", "-I", "256", "-O", "quota,project");
        string small = new('y', 40), big = new('x', 90);
        foreach (string name in new[] { "small", "big" })
        {
            OracleTool.RunExpect(0, "debugfs", "-w", "-R", $"write /etc/hostname {name}", img);
            OracleTool.RunExpect(0, "debugfs", "-w", "-R", $"sif /{name} extra_isize 4", img);
        }
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", $"ea_set /small user.v {small}", img);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", $"ea_set /big user.v {big}", img);
        OracleTool.RunExpect(1, "e2fsck", "-fy", img); // debugfs leaves the quota usage behind
        Assert.Contains("File ACL: 0", Stat(img, "/big"), StringComparison.Ordinal); // both in the inode
        WithMount(img, (m, root) =>
        {
            Vnode s = Ext2Fixture.Resolve(m, "/small");
            Vnode b = Ext2Fixture.Resolve(m, "/big");
            Assert.Equal(Errno.OK, SetProject(s, 42, Root));
            Assert.Equal(Errno.EOVERFLOW, SetProject(b, 42, Root));
            Assert.Equal(0u, ProjectOf(b));
            Assert.Equal(Errno.OK, Vop.GetXattr(s, "user.v", Root, out byte[]? v));
            Assert.Equal(small, System.Text.Encoding.ASCII.GetString(v!));
            s.Release();
            b.Release();
        });
        Ext2Oracle.AssertFsckClean(img);
        string st = Stat(img, "/small");
        Assert.Contains("Size of extra inode fields: 32", st, StringComparison.Ordinal);
        Assert.Contains("Project:    42", st, StringComparison.Ordinal);
        Assert.Contains("user.v (40)", st, StringComparison.Ordinal);
        Assert.Contains("Size of extra inode fields: 4", Stat(img, "/big"), StringComparison.Ordinal);
        Assert.Equal(1, ListProjects(img)[42].Inodes);
    }

    /// <summary>
    /// chattr +P: stored on directories, with or without the project feature (ext4 stores it
    /// either way; Linux 6.18 checked); refused on regular files (EOPNOTSUPP, as ext4_fileattr_set).
    /// A directory made +P here passes its project on.
    /// </summary>
    [Theory]
    [InlineData("quota,project")]
    [InlineData("quota")]
    public void ProjectInheritFlag_OnDirectoriesOnly(string features)
    {
        string img = Image($"p-{features.Replace(',', '-')}.img", "-I", "256", "-O", features);
        bool project = features.Contains("project", StringComparison.Ordinal);
        WithMount(img, (m, root) =>
        {
            Assert.Equal(Errno.OK, Vop.Mkdir(root, "d", 0x1ED, Root, out Vnode? d));
            Assert.Equal(Errno.OK, Vop.GetFileFlags(d!, out FileFlags flags));
            Assert.Equal(Errno.OK, Vop.SetFileAttr(d!, flags | FileFlags.ProjectInherit, project ? 42u : 0u, Root));
            Assert.Equal(Errno.OK, Vop.GetFileFlags(d!, out FileFlags now));
            Assert.Equal(FileFlags.ProjectInherit, now & FileFlags.ProjectInherit);
            Vnode f = CreateFile(d!, "f", 5000, 0);
            Assert.Equal(project ? 42u : 0u, ProjectOf(f));
            Assert.Equal(Errno.OK, Vop.GetFileFlags(f, out FileFlags fileFlags));
            Assert.Equal(FileFlags.None, fileFlags & FileFlags.ProjectInherit); // not on regular files
            Assert.Equal(Errno.EOPNOTSUPP, Vop.SetFileFlags(f, fileFlags | FileFlags.ProjectInherit, Root));
            f.Release();
            d!.Release();
        });
        Ext2Oracle.AssertFsckClean(img);
        Assert.Contains("Flags: 0x20080000", Stat(img, "/d"), StringComparison.Ordinal);
        if (project)
        {
            Assert.Equal(2, ListProjects(img)[42].Inodes);
        }
    }
}
