using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.FsDrivers.Ext2fs;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// Quota limits enforced with -o usrquota, grpquota, prjquota as ext4 enforces them
/// (dquot.c's check_bdq and check_idq): hard limits at once, soft limits once their grace
/// time has run out, root past both, nothing refused without the options. Limits are
/// written into the quota file with the driver's own Ext2QuotaTree: e2fsprogs has no
/// limit setter, and setquota needs a kernel mount with quota support, which the test
/// machines' kernels lack (CONFIG_QUOTA off: ext4 refuses to mount quota images
/// read-write). debugfs then lists the limits, which shows e2fsprogs reads the file.
/// </summary>
public sealed partial class Ext2QuotaLimitTests : IDisposable
{
    private const int KiB = 1024;
    private static readonly Credentials Root = Credentials.Root;
    private static readonly Credentials User = new(1000, 1000);
    private readonly ScratchDir _dir = new("ext2-quota-limits");

    public void Dispose() => _dir.Dispose();

    private string Image(string features = "quota,project")
    {
        string img = _dir.File($"limits-{Guid.NewGuid():N}.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-I", "256", "-O", features, img, "32M");
        return img;
    }

    /// <summary>Set one id's limits (space in KiB, as the file keeps them) in quota file <paramref name="type"/>.</summary>
    internal static void SetLimits(string img, int type, uint id, Action<Ext2QuotaEntry> set)
    {
        Mount m = Ext2Fixture.MountImage(img, readOnly: false);
        try
        {
            var fs = (Ext2Mount)m;
            Assert.Equal(Errno.OK, fs.VGet(fs.Sb.QuotaInum(type), out Vnode? vp));
            var n = (Ext2Node)vp!;
            lock (n.Lock)
            {
                byte[] content = new byte[n.Din.Size];
                Assert.Equal(Errno.OK, n.Read(0, content, out int got));
                List<Ext2QuotaEntry> entries = Ext2QuotaTree.Read(content.AsSpan(0, got), type, out Ext2QuotaInfo info, out string? why)!;
                Assert.Null(why);
                Ext2QuotaEntry q = entries.FirstOrDefault(e => e.Id == id) ?? new Ext2QuotaEntry(id);
                if (!entries.Contains(q))
                {
                    entries.Add(q);
                }
                set(q);
                byte[] rebuilt = Ext2QuotaTree.Build(type, entries, info.Grace);
                byte[] whole = new byte[Math.Max(content.Length, rebuilt.Length)];
                rebuilt.CopyTo(whole, 0);
                Assert.Equal(Errno.OK, n.Write(0, whole, out int written));
                Assert.Equal(whole.Length, written);
                Assert.Equal(Errno.OK, n.Update());
            }
            vp!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount(force: false));
        }
    }

    /// <summary>debugfs lq: id → (space in bytes, space hard limit in KiB, inodes).</summary>
    private static Dictionary<uint, (long Space, long HardKiB, long Inodes)> ListQuota(string img, string type)
    {
        var usage = new Dictionary<uint, (long, long, long)>();
        foreach (Match m in QuotaLine().Matches(OracleTool.RunExpect(0, "debugfs", "-R", $"lq {type}", img).Stdout))
        {
            usage[uint.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)] = (long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
                long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture));
        }
        return usage;
    }

    // id, space, soft and hard limits (KiB), inodes, soft and hard limits; debugfs shows no grace times.
    [GeneratedRegex(@"^\s*(\d+)\s+(\d+)\s+\d+\s+(\d+)\s+(\d+)\s", RegexOptions.Multiline)]
    private static partial Regex QuotaLine();

    internal static void WithMount(string img, string? options, Action<Vnode> body, IClock? clock = null)
    {
        Mount m = Ext2Fixture.MountImage(img, readOnly: false, options, clock);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            try
            {
                body(root!);
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

    /// <summary>A directory anyone may write in, for the user's files.</summary>
    internal static Vnode OpenDir(Vnode root, string name)
    {
        Assert.Equal(Errno.OK, Vop.Mkdir(root, name, 0x1FF, Root, out Vnode? d));
        return d!;
    }

    internal static Vnode UserFile(Vnode dir, string name)
    {
        Assert.Equal(Errno.OK, Vop.Create(dir, name, 0x1A4, User, out Vnode? f));
        return f!;
    }

    [Fact]
    public void HardSpaceLimit_ShortWriteThenEdquot_RootPasses_WithoutTheOptionNothingRefused()
    {
        string img = Image();
        SetLimits(img, 0, 1000, q => q.SpaceHardLimit = 100);
        Assert.Equal(100, ListQuota(img, "user")[1000].HardKiB); // e2fsprogs reads what was written
        WithMount(img, "usrquota", root =>
        {
            Vnode d = OpenDir(root, "home");
            Vnode f = UserFile(d, "big");
            Assert.Equal(Errno.OK, Vop.Write(f, 0, new byte[150 * KiB], User, out int written));
            Assert.True(written is > 80 * KiB and <= 100 * KiB, $"{written}"); // cut short at the limit
            Assert.Equal(Errno.EDQUOT, Vop.Write(f, written, new byte[10 * KiB], User, out _));
            Assert.Equal(Errno.OK, Vop.Write(f, written, new byte[10 * KiB], Root, out int byRoot)); // CAP_SYS_RESOURCE
            Assert.Equal(10 * KiB, byRoot);
            Vnode empty = UserFile(d, "empty"); // an inode without blocks asks only the inode limits
            empty.Release();
            f.Release();
            d.Release();
        });
        Ext2Oracle.AssertFsckClean(img);
        long used = ListQuota(img, "user")[1000].Space;
        Assert.True(used is > 100 * KiB and <= 115 * KiB, $"{used}");

        WithMount(img, null, root => // accounting only: the user passes the limit
        {
            Vnode f = Ext2Fixture.Resolve(root.Mount, "/home/big");
            Assert.Equal(Errno.OK, Vop.Write(f, 200 * KiB, new byte[50 * KiB], User, out int written));
            Assert.Equal(50 * KiB, written);
            f.Release();
        });
        Ext2Oracle.AssertFsckClean(img);
    }

    /// <summary>
    /// A soft limit: passing it starts the grace time and is allowed; once the deadline in
    /// the quota file is past, the next block is EDQUOT (root still passes).
    /// </summary>
    [Fact]
    public void SoftSpaceLimit_AllowedUntilTheGraceRunsOut()
    {
        string img = Image();
        SetLimits(img, 1, 1000, q => q.SpaceSoftLimit = 50);
        WithMount(img, "grpquota", root =>
        {
            Vnode d = OpenDir(root, "g");
            Vnode f = UserFile(d, "f");
            Assert.Equal(Errno.OK, Vop.Write(f, 0, new byte[80 * KiB], User, out int written));
            Assert.Equal(80 * KiB, written); // over the soft limit, inside the grace time
            Assert.Equal(Errno.OK, Vop.Write(f, written, new byte[8 * KiB], User, out written));
            Assert.Equal(8 * KiB, written);
            f.Release();
            d.Release();
        });
        Ext2Oracle.AssertFsckClean(img);
        Assert.Equal(1, ListQuota(img, "group")[1000].Inodes);
        ulong deadline = 0;
        SetLimits(img, 1, 1000, q => deadline = q.SpaceGraceEnd); // read back: a deadline a week on
        Assert.InRange((long)deadline - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), (7 * 86400) - 600, 7 * 86400);

        SetLimits(img, 1, 1000, q => q.SpaceGraceEnd = 1_000_000); // 1970: run out
        WithMount(img, "grpquota", root =>
        {
            Vnode f = Ext2Fixture.Resolve(root.Mount, "/g/f");
            Assert.Equal(Errno.EDQUOT, Vop.Write(f, 100 * KiB, new byte[KiB], User, out _));
            Assert.Equal(Errno.OK, Vop.Write(f, 100 * KiB, new byte[KiB], Root, out _));
            Assert.Equal(Errno.EDQUOT, Vop.Write(f, 110 * KiB, new byte[KiB], User, out _)); // root's blocks ended no grace
            // Back under the soft limit the grace time ends: the user may write again.
            VAttr size = VAttr.ForSet(VAttrMask.Size);
            size.Size = 0;
            Assert.Equal(Errno.OK, Vop.SetAttr(f, size, Root));
            Assert.Equal(Errno.OK, Vop.Write(f, 0, new byte[10 * KiB], User, out int written));
            Assert.Equal(10 * KiB, written);
            f.Release();
        });
        Ext2Oracle.AssertFsckClean(img);
    }

    /// <summary>
    /// Project limits (prjquota): an inode hard limit refuses the next file made in the
    /// project's directory and a file moved into the project by chattr -p; root passes.
    /// </summary>
    [Fact]
    public void ProjectInodeLimit_RefusesNewFilesAndMovesIntoTheProject()
    {
        string img = Image();
        SetLimits(img, 2, 42, q => q.InodeHardLimit = 2);
        WithMount(img, "prjquota", root =>
        {
            Vnode d = OpenDir(root, "p");
            Assert.Equal(Errno.OK, Vop.GetFileFlags(d, out FileFlags flags));
            Assert.Equal(Errno.OK, Vop.SetFileAttr(d, flags | FileFlags.ProjectInherit, 42, Root)); // the directory: 1 inode
            Vnode a = UserFile(d, "a"); // 2
            Assert.Equal(Errno.EDQUOT, Vop.Create(d, "b", 0x1A4, User, out _));
            Assert.Equal(Errno.EDQUOT, Vop.Mkdir(d, "sub", 0x1ED, User, out _));
            Vnode o = OpenDir(root, "o");
            Vnode outside = UserFile(o, "outside");
            Assert.Equal(Errno.OK, Vop.GetFileFlags(outside, out FileFlags of));
            Assert.Equal(Errno.EDQUOT, Vop.SetFileAttr(outside, of, 42, User));
            Assert.Equal(Errno.OK, Vop.SetFileAttr(outside, of, 42, Root)); // CAP_SYS_RESOURCE
            Assert.Equal(Errno.OK, Vop.Create(d, "c", 0x1A4, Root, out Vnode? c));
            c!.Release();
            outside.Release();
            o.Release();
            a.Release();
            d.Release();
        });
        Ext2Oracle.AssertFsckClean(img);
        Assert.Equal(4, ListQuota(img, "project")[42].Inodes);
    }

    /// <summary>A chown to a group at its inode limit is EDQUOT (dquot_transfer), before anything changes.</summary>
    [Fact]
    public void Chown_ToAGroupAtItsLimit_Edquot()
    {
        string img = Image();
        SetLimits(img, 1, 2000, q => q.InodeHardLimit = 1);
        WithMount(img, "grpquota", root =>
        {
            Vnode d = OpenDir(root, "d");
            Vnode a = UserFile(d, "a");
            Vnode b = UserFile(d, "b");
            VAttr chgrp = VAttr.ForSet(VAttrMask.Gid);
            chgrp.Gid = 2000;
            Assert.Equal(Errno.OK, Vop.SetAttr(a, chgrp, new Credentials(1000, 1000, [2000])));
            Assert.Equal(Errno.EDQUOT, Vop.SetAttr(b, chgrp, new Credentials(1000, 1000, [2000])));
            Assert.Equal(Errno.OK, Vop.GetAttr(b, out VAttr va));
            Assert.Equal(1000u, va.Gid);
            b.Release();
            a.Release();
            d.Release();
        });
        Ext2Oracle.AssertFsckClean(img);
        Assert.Equal(1, ListQuota(img, "group")[2000].Inodes);
    }

    [Fact]
    public void Options_PrjquotaWithoutTheProjectFeature_Einval_UnknownStillRefused()
    {
        string img = Image("quota");
        Assert.Equal(Errno.EINVAL, Ext2Fixture.TryMount(img, false, "prjquota", out _, out string? message));
        Assert.Equal("Project quota feature not enabled. Cannot enable project quota enforcement.", message);
        Assert.Equal(Errno.EINVAL, Ext2Fixture.TryMount(img, false, "usrquota,bogus", out _, out message));
        Assert.Contains("'bogus'", message, StringComparison.Ordinal);
        WithMount(img, "quota,usrquota,grpquota", root => { });
        Ext2Oracle.AssertFsckClean(img);
    }
}
