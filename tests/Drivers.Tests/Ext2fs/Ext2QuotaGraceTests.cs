using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Ext2fs.Ext2QuotaLimitTests;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// Grace times come from each quota file's own info (dqi_bgrace, dqi_igrace), as the
/// kernel's v2_read_file_info reads them and check_bdq / check_idq add them to the clock:
/// the bytes are patched into files mke2fs made (which hold e2fsprogs's week), the mount
/// runs on a clock the test moves, and the deadlines are read back after unmount from the
/// file debugfs dumps.
/// </summary>
public sealed class Ext2QuotaGraceTests : IDisposable
{
    private const int KiB = 1024;
    private static readonly Credentials Root = Credentials.Root;
    private static readonly Credentials User = new(1000, 1000);
    private readonly ScratchDir _dir = new("ext2-quota-grace");

    /// <summary>Two hours ago: the clock moves up to an hour on and stays in the past, which e2fsck accepts.</summary>
    private static readonly long T0 = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 7200;

    public void Dispose() => _dir.Dispose();

    private string Image()
    {
        string img = _dir.File($"grace-{Guid.NewGuid():N}.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-I", "256", "-O", "quota", img, "32M");
        return img;
    }

    /// <summary>Write dqi_bgrace and dqi_igrace (bytes 8 and 12 of the file) of quota inode <paramref name="qino"/> in place.</summary>
    private static void PatchGrace(string img, uint qino, uint space, uint inodes)
    {
        long at = Bmap(img, $"<{qino}>", 0) * 1024;
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, space);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), inodes);
        Patch(img, at + 8, bytes);
    }

    /// <summary>The grace times and id <paramref name="id"/>'s record of quota inode <paramref name="qino"/> (type <paramref name="type"/>), as debugfs dumps the file.</summary>
    private static (uint SpaceGrace, uint InodeGrace, Ext2QuotaEntry Record) ReadBack(string img, uint qino, int type, uint id)
    {
        byte[] file = DumpInode(img, qino);
        List<Ext2QuotaEntry>? entries = Ext2QuotaTree.Read(file, type, out string? why);
        Assert.True(entries is not null && why is null, why);
        return (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12)),
            Assert.Single(entries, e => e.Id == id));
    }

    private static Timespec At(long seconds) => new(seconds, 0);

    /// <summary>
    /// User 1000 with soft limits of 50 KiB and 2 inodes in the user quota file, whose info
    /// says 60 s for space and 3600 s for inodes; the group file keeps mke2fs's week and a
    /// soft space limit for group 1000. Passing the limits starts deadlines of the clock plus
    /// each file's grace; once the clock reaches one, the user's next allocation of that kind
    /// is EDQUOT (root's blocks still pass). After unmount the records hold those deadlines (not
    /// the time of the write-back), the info its grace times, and e2fsck and ours find it clean.
    /// </summary>
    [Fact]
    public void FileGrace_DeadlinesStartAtTheClockPlusEachFilesGrace_EdquotOncePassed()
    {
        string img = Image();
        SetLimits(img, 0, 1000, q =>
        {
            q.SpaceSoftLimit = 50;
            q.InodeSoftLimit = 2;
        });
        SetLimits(img, 1, 1000, q => q.SpaceSoftLimit = 50);
        PatchGrace(img, 3, 60, 3600);
        var clock = new ManualClock(At(T0));
        WithMount(img, "usrquota,grpquota", root =>
        {
            Vnode d = OpenDir(root, "home");
            Vnode f = UserFile(d, "f");
            UserFile(d, "g").Release();
            UserFile(d, "h").Release(); // the third inode: over the soft limit of 2
            Assert.Equal(Errno.OK, Vop.Write(f, 0, new byte[80 * KiB], User, out int written));
            Assert.Equal(80 * KiB, written); // over the soft limit, inside the grace time

            clock.Set(At(T0 + 59));
            Assert.Equal(Errno.OK, Vop.Write(f, 80 * KiB, new byte[KiB], User, out _));
            clock.Set(At(T0 + 60));
            Assert.Equal(Errno.EDQUOT, Vop.Write(f, 90 * KiB, new byte[KiB], User, out _));
            Assert.Equal(Errno.OK, Vop.Write(f, 90 * KiB, new byte[KiB], Root, out _));
            UserFile(d, "i").Release(); // the inode grace is an hour

            clock.Set(At(T0 + 3599));
            UserFile(d, "j").Release();
            clock.Set(At(T0 + 3600));
            Assert.Equal(Errno.EDQUOT, Vop.Create(d, "k", 0x1A4, User, out _));
            clock.Set(At(T0 + 4000)); // the write-back happens later still
            f.Release();
            d.Release();
        }, clock);
        Ext2Oracle.AssertFsckClean(img);

        (uint spaceGrace, uint inodeGrace, Ext2QuotaEntry user) = ReadBack(img, 3, 0, 1000);
        Assert.Equal((60u, 3600u), (spaceGrace, inodeGrace)); // the file's info stays as it was
        Assert.Equal((ulong)T0 + 60, user.SpaceGraceEnd);
        Assert.Equal((ulong)T0 + 3600, user.InodeGraceEnd);
        (spaceGrace, inodeGrace, Ext2QuotaEntry group) = ReadBack(img, 4, 1, 1000);
        Assert.Equal((604800u, 604800u), (spaceGrace, inodeGrace));
        Assert.Equal((ulong)T0 + 604800, group.SpaceGraceEnd);
        Assert.Equal(0UL, group.InodeGraceEnd); // no inode soft limit

        // A new mount takes the deadlines from the file.
        WithMount(img, "usrquota", root =>
        {
            Vnode f = Ext2Fixture.Resolve(root.Mount, "/home/f");
            Assert.Equal(Errno.EDQUOT, Vop.Write(f, 100 * KiB, new byte[KiB], User, out _));
            f.Release();
        }, new ManualClock(At(T0 + 60)));
        WithMount(img, "usrquota", root =>
        {
            Vnode f = Ext2Fixture.Resolve(root.Mount, "/home/f");
            Assert.Equal(Errno.OK, Vop.Write(f, 100 * KiB, new byte[KiB], User, out _));
            f.Release();
        }, new ManualClock(At(T0 + 59)));
        AssertBothClean(img); // e2fsck -fn and ours
    }

    /// <summary>
    /// The kernel takes any grace as it stands: 0 makes the deadline the moment the soft
    /// limit is passed (the allocation that passes it is allowed, the next one is EDQUOT at
    /// once), and 4294967295 is added in full, past 2038, without wrapping.
    /// </summary>
    [Theory]
    [InlineData(0u)]
    [InlineData(uint.MaxValue)]
    public void FileGrace_ZeroOrHuge_TakenAsItStands(uint grace)
    {
        string img = Image();
        SetLimits(img, 0, 1000, q =>
        {
            q.SpaceSoftLimit = 50;
            q.InodeSoftLimit = 1;
        });
        PatchGrace(img, 3, grace, grace);
        var clock = new ManualClock(At(T0));
        WithMount(img, "usrquota", root =>
        {
            Vnode d = OpenDir(root, "home");
            Vnode f = UserFile(d, "f");
            UserFile(d, "g").Release(); // the second inode passes the inode soft limit
            Assert.Equal(Errno.OK, Vop.Write(f, 0, new byte[80 * KiB], User, out int written));
            Assert.InRange(written, (50 * KiB) + 1, 80 * KiB); // the allocation that passes the soft limit is allowed
            Errno expected = grace == 0 ? Errno.EDQUOT : Errno.OK;
            Assert.Equal(expected, Vop.Write(f, written, new byte[KiB], User, out _));
            Errno created = Vop.Create(d, "h", 0x1A4, User, out Vnode? h);
            Assert.Equal(expected, created);
            h?.Release();
            f.Release();
            d.Release();
        }, clock);
        AssertBothClean(img);
        (uint spaceGrace, uint inodeGrace, Ext2QuotaEntry user) = ReadBack(img, 3, 0, 1000);
        Assert.Equal((grace, grace), (spaceGrace, inodeGrace));
        Assert.Equal((ulong)T0 + grace, user.SpaceGraceEnd);
        Assert.Equal((ulong)T0 + grace, user.InodeGraceEnd);
    }
}
