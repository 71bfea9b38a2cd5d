using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// trusted.* and security.* attributes in the ext2 driver: written by root only, stored
/// under their own name indexes (debugfs and e2fsck read them), trusted.* hidden from
/// other users; security.capability dropped by a write, a truncate or a chown, as Linux
/// drops a file's capabilities.
/// </summary>
public sealed class Ext2PrivilegedXattrTests : IDisposable
{
    private static readonly Credentials Root = Credentials.Root;
    private static readonly Credentials Owner = new(1000, 1000);

    /// <summary>A version-2 capability value (cap_net_raw in the permitted set, effective bit set).</summary>
    private static readonly byte[] NetRaw = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private readonly ScratchDir _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("ext2-1k")]
    [InlineData("ext4-4k")]
    public void TrustedAndSecurity_RootWrites_OthersRefused_DebugfsReadsThem(string flavour)
    {
        string image = Ext2WriteTests.MakeImage(_scratch, flavour, "16M");
        WithFile(image, f =>
        {
            Assert.Equal(Errno.OK, Vop.SetXattr(f, "trusted.overlay.opaque", "y"u8, XattrSetMode.Any, Root));
            Assert.Equal(Errno.OK, Vop.SetXattr(f, "security.selinux", "system_u:object_r:bin_t:s0\0"u8, XattrSetMode.Any, Root));
            Assert.Equal(Errno.OK, Vop.SetXattr(f, "user.note", "n"u8, XattrSetMode.Any, Root));

            // The owner: user.* yes; trusted.* neither seen nor set; security.* read, not set.
            Assert.Equal(Errno.EPERM, Vop.SetXattr(f, "trusted.x", "1"u8, XattrSetMode.Any, Owner));
            Assert.Equal(Errno.EPERM, Vop.SetXattr(f, "security.x", "1"u8, XattrSetMode.Any, Owner));
            Assert.Equal(Errno.EPERM, Vop.RemoveXattr(f, "security.selinux", Owner));
            Assert.Equal(Errno.ENODATA, Vop.GetXattr(f, "trusted.overlay.opaque", Owner, out _));
            Assert.Equal(Errno.OK, Vop.GetXattr(f, "security.selinux", Owner, out byte[]? label));
            Assert.Equal("system_u:object_r:bin_t:s0\0"u8.ToArray(), label);
            Assert.Equal(Errno.OK, Vop.ListXattr(f, Owner, out IReadOnlyList<string> seen));
            Assert.Equal(["security.selinux", "user.note"], seen.Order(StringComparer.Ordinal));
            Assert.Equal(Errno.OK, Vop.ListXattr(f, Root, out IReadOnlyList<string> all));
            Assert.Equal(["security.selinux", "trusted.overlay.opaque", "user.note"], all.Order(StringComparer.Ordinal));

            // A prefix alone names nothing; system.* beyond the ACLs is not written, a malformed ACL is refused.
            Assert.Equal(Errno.EINVAL, Vop.SetXattr(f, "security.", "1"u8, XattrSetMode.Any, Root));
            Assert.Equal(Errno.EINVAL, Vop.SetXattr(f, "trusted.", "1"u8, XattrSetMode.Any, Root));
            Assert.Equal(Errno.EOPNOTSUPP, Vop.SetXattr(f, "system.data", "1"u8, XattrSetMode.Any, Root));
            Assert.Equal(Errno.EINVAL, Vop.SetXattr(f, "system.posix_acl_access", "1"u8, XattrSetMode.Any, Root));
        });
        Ext2Oracle.AssertFsckClean(image);
        string list = OracleTool.RunExpect(0, "debugfs", "-R", "ea_list f", image).Stdout;
        Assert.Contains("trusted.overlay.opaque (1) = \"y\"", list, StringComparison.Ordinal);
        Assert.Contains("security.selinux (27)", list, StringComparison.Ordinal);
        Assert.Contains("user.note (1) = \"n\"", list, StringComparison.Ordinal);
    }

    public enum Change
    {
        Write,
        Truncate,
        Chown,
        Chmod,
        Utimes,
    }

    [Theory]
    [InlineData(Change.Write, true)]
    [InlineData(Change.Truncate, true)]
    [InlineData(Change.Chown, true)]
    [InlineData(Change.Chmod, false)]
    [InlineData(Change.Utimes, false)]
    public void Capability_DroppedByWriteTruncateChown_KeptByChmodAndUtimes(Change change, bool dropped)
    {
        string image = Ext2WriteTests.MakeImage(_scratch, "ext4-4k", "16M");
        WithFile(image, f =>
        {
            Assert.Equal(Errno.OK, Vop.SetXattr(f, Vop.CapabilityXattr, NetRaw, XattrSetMode.Any, Root));
            Assert.Equal(Errno.OK, Vop.SetXattr(f, "security.selinux", "l\0"u8, XattrSetMode.Any, Root));
            // Root's own change drops them too: the new contents or owner did not earn them.
            Errno e = change switch
            {
                Change.Write => Vop.Write(f, 0, "new"u8, Root, out _),
                Change.Truncate => Vop.SetAttr(f, Size(0), Root),
                Change.Chown => Vop.SetAttr(f, Owned(0), Root),
                Change.Chmod => Vop.SetAttr(f, Mode(0x1ED), Root),
                _ => Vop.SetAttr(f, VAttr.ForSet(VAttrMask.Mtime | VAttrMask.TimesAreNow), Root),
            };
            Assert.Equal(Errno.OK, e);
            Assert.Equal(dropped ? Errno.ENODATA : Errno.OK, Vop.GetXattr(f, Vop.CapabilityXattr, Root, out _));
            Assert.Equal(Errno.OK, Vop.GetXattr(f, "security.selinux", Root, out _));
        });
        Ext2Oracle.AssertFsckClean(image);
        string list = OracleTool.RunExpect(0, "debugfs", "-R", "ea_list f", image).Stdout;
        Assert.Equal(!dropped, list.Contains("security.capability", StringComparison.Ordinal));
    }

    private static VAttr Size(long size)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Size);
        va.Size = size;
        return va;
    }

    private static VAttr Owned(uint uid)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Uid);
        va.Uid = uid;
        return va;
    }

    private static VAttr Mode(uint mode)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Mode);
        va.Mode = mode;
        return va;
    }

    /// <summary>Mount <paramref name="image"/> read-write, create /f owned by <see cref="Owner"/> with some data, run <paramref name="body"/>, unmount.</summary>
    private static void WithFile(string image, Action<Vnode> body)
    {
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Create(root!, "f", 0x1A4, Root, out Vnode? f));
            Assert.Equal(Errno.OK, Vop.Write(f!, 0, "contents"u8, Root, out _));
            VAttr own = VAttr.ForSet(VAttrMask.Uid | VAttrMask.Gid);
            own.Uid = Owner.Uid;
            own.Gid = Owner.Gid;
            Assert.Equal(Errno.OK, Vop.SetAttr(f!, own, Root));
            try
            {
                body(f!);
            }
            finally
            {
                f!.Release();
                root!.Release();
            }
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
    }
}
