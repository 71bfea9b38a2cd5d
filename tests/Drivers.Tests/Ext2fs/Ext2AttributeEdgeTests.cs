using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// Attribute edge cases compared with ext4: names that are not UTF-8 kept byte for byte,
/// an empty stored ACL read as no ACL, an ACL too large to store leaving the mode alone,
/// and damaged attributes not stopping writes, truncates and chowns.
/// </summary>
public partial class Ext2AttributeEdgeTests
{
    private static readonly Credentials Root = Credentials.Root;

    [GeneratedRegex(@"Inode \d+ is part of block group \d+\s+located at block (\d+), offset 0x([0-9a-f]+)")]
    private static partial Regex ImapLine();

    private static string ImageWithFile(ScratchDir scratch, string inodeSize, string features = "metadata_csum")
    {
        string image = scratch.File("a.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-O", features, "-b", "1024", "-I", inodeSize, image, "8M");
        string host = scratch.File("h");
        File.WriteAllText(host, "hi\n");
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", $"write {host} f", image);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "ea_set f user.x y", image);
        return image;
    }

    /// <summary>Byte offset in the image of inode <paramref name="path"/>'s record.</summary>
    private static long InodeOffset(string image, string path)
    {
        Match m = ImapLine().Match(OracleTool.RunExpect(0, "debugfs", "-R", $"imap {path}", image).Stdout);
        return (long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 1024)
            + long.Parse(m.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    private static void Patch(string image, long offset, params byte[] bytes)
    {
        using var f = new FileStream(image, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(bytes);
    }

    [Fact]
    public void NamesThatAreNotUtf8_AreKeptByteForByte()
    {
        using var scratch = new ScratchDir();
        string image = ImageWithFile(scratch, "256");
        string ffFe = "user." + NameEncoding.GetString([0xFF, 0xFE]);
        string feFf = "user." + NameEncoding.GetString([0xFE, 0xFF]);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode f = Ext2Fixture.Resolve(m, "f");
            Assert.Equal(Errno.OK, Vop.SetXattr(f, ffFe, "one"u8, XattrSetMode.Create, Root));
            Assert.Equal(Errno.OK, Vop.SetXattr(f, feFf, "two"u8, XattrSetMode.Create, Root));
            f.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
        Mount ro = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Vnode f = Ext2Fixture.Resolve(ro, "f");
            Assert.Equal(Errno.OK, Vop.GetXattr(f, ffFe, Root, out byte[]? one));
            Assert.Equal("one"u8.ToArray(), one);
            Assert.Equal(Errno.OK, Vop.GetXattr(f, feFf, Root, out byte[]? two));
            Assert.Equal("two"u8.ToArray(), two);
            Assert.Equal(Errno.OK, Vop.ListXattr(f, Root, out IReadOnlyList<string> names));
            Assert.Equal(new[] { ffFe, feFf, "user.x" }.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
            f.Release();
        }
        finally
        {
            ro.Unmount();
        }
        // The stored name is the raw bytes, as ext4 stores what setxattr gave it.
        Assert.True(File.ReadAllBytes(image).AsSpan().IndexOf((ReadOnlySpan<byte>)[0xFF, 0xFE, 0, 0]) >= 0);
    }

    /// <summary>An empty access ACL value is no ACL (ext4_get_acl), not a damaged one; the other attributes still list.</summary>
    [Fact]
    public void AnEmptyStoredAcl_ReadsAsNoAcl()
    {
        using var scratch = new ScratchDir();
        // Without metadata_csum, so that the patched inode still passes its checks.
        string image = ImageWithFile(scratch, "256", "^metadata_csum");
        // The in-inode entry user.x = "y" (after the 128-byte base, i_extra_isize 32 and the
        // magic) becomes an empty system.posix_acl_access: name length 0, index 2, size 0.
        long entry = InodeOffset(image, "f") + 128 + 32 + 4;
        Patch(image, entry, 0, 2);
        Patch(image, entry + 8, 0, 0, 0, 0);
        Patch(image, entry + 16, 0, 0, 0, 0);
        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Vnode f = Ext2Fixture.Resolve(m, "f");
            Assert.Equal(Errno.ENODATA, Vop.GetXattr(f, PosixAcl.AccessName, Root, out _));
            Assert.Equal(Errno.OK, Vop.ListXattr(f, Root, out _));
            f.Release();
        }
        finally
        {
            m.Unmount();
        }
    }

    /// <summary>
    /// A stored ACL that does not parse refuses what needs it, as Linux's check_acl,
    /// posix_acl_create and posix_acl_chmod do (EINVAL), instead of being taken for no ACL:
    /// a create under a damaged default ACL makes nothing, a stranger's access check and a
    /// chmod fail.
    /// </summary>
    [Fact]
    public void DamagedStoredAcls_RefuseWhatNeedsThem()
    {
        using var scratch = new ScratchDir();
        string image = ImageWithFile(scratch, "256", "^metadata_csum");
        byte[] withStranger = new PosixAcl([
            new AclEntry(AclTag.UserObj, 7, PosixAcl.UndefinedId), new AclEntry(AclTag.User, 4, 1234),
            new AclEntry(AclTag.GroupObj, 5, PosixAcl.UndefinedId), new AclEntry(AclTag.Mask, 5, PosixAcl.UndefinedId),
            new AclEntry(AclTag.Other, 0, PosixAcl.UndefinedId)]).ToXattr();
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Mkdir(root!, "d", 0x1ED, Root, out Vnode? d));
            Assert.Equal(Errno.OK, Vop.SetXattr(d!, PosixAcl.DefaultName, withStranger, XattrSetMode.Any, Root));
            Assert.Equal(Errno.OK, Vop.SetXattr(d!, PosixAcl.AccessName, withStranger, XattrSetMode.Any, Root));
            d!.Release();
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        // Both stored ACLs: the ACL_USER r-- 1234 entry gets a tag no ACL has.
        byte[] bytes = File.ReadAllBytes(image);
        byte[] entry = [2, 0, 4, 0, 0xD2, 0x04, 0, 0];
        int damaged = 0;
        for (int at = bytes.AsSpan().IndexOf(entry); at >= 0; at = bytes.AsSpan().IndexOf(entry))
        {
            bytes[at] = 0x40;
            damaged++;
        }
        Assert.Equal(2, damaged);
        File.WriteAllBytes(image, bytes);

        m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode d = Ext2Fixture.Resolve(m, "d");
            Assert.Equal(Errno.EINVAL, Vop.Mkdir(d, "sub", 0x1ED, Root, out _));
            Assert.Equal(Errno.ENOENT, Vop.Lookup(d, "sub", Root, out _));
            var stranger = new Credentials(1234, 1234);
            Assert.Equal(Errno.EINVAL, Vop.CheckAccess(d, AccessMode.Read, stranger));
            VAttr chmod = VAttr.ForSet(VAttrMask.Mode);
            chmod.Mode = 0x1C0;
            Assert.Equal(Errno.EINVAL, Vop.SetAttr(d, chmod, Root));
            d.Release();
        }
        finally
        {
            m.Unmount(force: true);
        }
    }

    /// <summary>An access ACL too large for the attribute space is ENOSPC, and the mode stays (ext4_set_acl stores first).</summary>
    [Fact]
    public void AnAclThatCannotBeStored_LeavesTheMode()
    {
        using var scratch = new ScratchDir();
        string image = ImageWithFile(scratch, "128");
        var entries = new List<AclEntry> { new(AclTag.UserObj, 6, PosixAcl.UndefinedId) };
        entries.AddRange(Enumerable.Range(0, 200).Select(i => new AclEntry(AclTag.User, 6, (uint)(5000 + i))));
        entries.Add(new AclEntry(AclTag.GroupObj, 4, PosixAcl.UndefinedId));
        entries.Add(new AclEntry(AclTag.Mask, 6, PosixAcl.UndefinedId));
        entries.Add(new AclEntry(AclTag.Other, 4, PosixAcl.UndefinedId));
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode f = Ext2Fixture.Resolve(m, "f");
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr before));
            Assert.Equal(Errno.ENOSPC, Vop.SetXattr(f, PosixAcl.AccessName, new PosixAcl(entries).ToXattr(), XattrSetMode.Any, Root));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr after));
            Assert.Equal(before.Mode, after.Mode);
            f.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
    }

    /// <summary>
    /// A damaged attribute block is logged and makes attribute calls fail, but writes,
    /// truncates and chowns go on, as on ext4 (cap_inode_need_killpriv takes a failed read of
    /// security.capability as nothing to drop).
    /// </summary>
    [Fact]
    public void DamagedAttributes_DoNotStopWritesTruncatesAndChowns()
    {
        using var scratch = new ScratchDir();
        string image = ImageWithFile(scratch, "128");
        long block = Ext2Oracle.AttributeBlockOf(image, "f");
        Patch(image, (block * 1024) + 32 + 4, 1, 0, 0, 0); // the first entry's e_value_inum
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode f = Ext2Fixture.Resolve(m, "f");
            Assert.Equal(Errno.EIO, Vop.GetXattr(f, "user.x", Root, out _));
            Assert.Equal(Errno.OK, Vop.Write(f, 3, "more\n"u8, Root, out int n));
            Assert.Equal(5, n);
            VAttr size = VAttr.ForSet(VAttrMask.Size);
            size.Size = 2;
            Assert.Equal(Errno.OK, Vop.SetAttr(f, size, Root));
            VAttr owner = VAttr.ForSet(VAttrMask.Uid);
            owner.Uid = 5;
            Assert.Equal(Errno.OK, Vop.SetAttr(f, owner, Root));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr va));
            Assert.Equal((2L, 5u), (va.Size, va.Uid));
            f.Release();
        }
        finally
        {
            m.Unmount(force: true);
        }
    }
}
