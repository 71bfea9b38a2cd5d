using System.Globalization;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// POSIX ACLs on ext2/3/4: ACLs that mke2fs -d copied from a host tree (libext2fs's own
/// conversion to ext4's stored form) read back in the form setfacl wrote them in, ACLs
/// written through the VFS stored byte for byte as mke2fs stores them, and the VFS rules
/// around them (who may set them, the mode they imply, chmod, inheritance, permission).
/// </summary>
public sealed class Ext2PosixAclTests : IDisposable
{
    private static readonly Credentials Root = Credentials.Root;
    private static readonly Credentials Owner = new(1000, 1000);
    private static readonly Credentials Named = new(1234, 1234);
    private static readonly Credentials Stranger = new(1235, 1235);

    private readonly ScratchDir _scratch = new("ext2-acl");

    public void Dispose() => _scratch.Dispose();

    /// <summary>The attribute value setfacl leaves on a host node (getfattr -e hex).</summary>
    private static byte[] HostAcl(string path, string name)
    {
        string text = OracleTool.RunExpect(0, "getfattr", "-e", "hex", "-n", name, path).Stdout;
        string hex = text.Split('\n').First(l => l.StartsWith(name + "=0x", StringComparison.Ordinal))[(name.Length + 3)..].Trim();
        return Convert.FromHexString(hex);
    }

    /// <summary>A host tree: /f with a named user and group, /d with a default ACL, /plain with none.</summary>
    private string HostTree(string name, bool withAcls)
    {
        string tree = _scratch.File(name);
        Directory.CreateDirectory(Path.Combine(tree, "d"));
        File.WriteAllText(Path.Combine(tree, "f"), "acl\n");
        File.WriteAllText(Path.Combine(tree, "plain"), "none\n");
        OracleTool.RunExpect(0, "chmod", "600", Path.Combine(tree, "f"));
        if (withAcls)
        {
            OracleTool.RunExpect(0, "setfacl", "-m", "u:1234:r,g:55:rw", Path.Combine(tree, "f"));
            OracleTool.RunExpect(0, "setfacl", "-d", "-m", "u:1234:rwx", Path.Combine(tree, "d"));
        }
        return tree;
    }

    private string Image(string tree, string type)
    {
        string image = _scratch.File(Path.GetFileName(tree) + ".img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", type, "-d", tree, image, "8M");
        return image;
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Mke2fsCopiedAcls_ReadBackAsSetfaclWroteThem(string type)
    {
        string tree = HostTree("tree-" + type, withAcls: true);
        string image = Image(tree, type);
        // Read-write, for the write checks (a read-only mount answers EROFS first); nothing is written.
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.True(m.HasPosixAcls);
            Vnode f = Ext2Fixture.Resolve(m, "f");
            Vnode d = Ext2Fixture.Resolve(m, "d");
            Vnode plain = Ext2Fixture.Resolve(m, "plain");
            Assert.Equal(Errno.OK, Vop.GetXattr(f, PosixAcl.AccessName, Root, out byte[]? access));
            Assert.Equal(HostAcl(Path.Combine(tree, "f"), PosixAcl.AccessName), access);
            Assert.Equal(Errno.OK, Vop.GetXattr(d, PosixAcl.DefaultName, Root, out byte[]? dflt));
            Assert.Equal(HostAcl(Path.Combine(tree, "d"), PosixAcl.DefaultName), dflt);
            Assert.Equal(Errno.OK, Vop.ListXattr(f, Stranger, out IReadOnlyList<string> names));
            Assert.Contains(PosixAcl.AccessName, names);
            Assert.Equal(Errno.ENODATA, Vop.GetXattr(plain, PosixAcl.AccessName, Root, out _));

            // The named user reads a 0660 file (the mask, rw-, in the group bits) that "other" may not; group 55 writes it.
            Assert.Equal(Errno.OK, Vop.CheckAccess(f, AccessMode.Read, Named));
            Assert.Equal(Errno.EACCES, Vop.CheckAccess(f, AccessMode.Write, Named));
            Assert.Equal(Errno.EACCES, Vop.CheckAccess(f, AccessMode.Read, Stranger));
            Assert.Equal(Errno.OK, Vop.CheckAccess(f, AccessMode.Read | AccessMode.Write, new Credentials(77, 55)));
            foreach (Vnode vp in new[] { f, d, plain })
            {
                vp.Release();
            }
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void AclsSetThroughTheVfs_StoredAsMke2fsStoresThem(string type)
    {
        string withAcls = HostTree("src-" + type, withAcls: true);
        string reference = Image(withAcls, type);
        string image = Image(HostTree("bare-" + type, withAcls: false), type);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode f = Ext2Fixture.Resolve(m, "f");
            Vnode d = Ext2Fixture.Resolve(m, "d");
            Assert.Equal(Errno.OK, Vop.SetXattr(f, PosixAcl.AccessName, HostAcl(Path.Combine(withAcls, "f"), PosixAcl.AccessName), XattrSetMode.Any, Root));
            Assert.Equal(Errno.OK, Vop.SetXattr(d, PosixAcl.DefaultName, HostAcl(Path.Combine(withAcls, "d"), PosixAcl.DefaultName), XattrSetMode.Any, Root));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr va));
            Assert.Equal(0x1B0u, va.Mode & 0x1FF); // 0660: the mask (rw-) stands for the group bits
            f.Release();
            d.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
        foreach (string path in new[] { "f", "d" })
        {
            Assert.Equal(AclLines(reference, path), AclLines(image, path));
            Assert.NotEmpty(AclLines(image, path));
        }
    }

    /// <summary>debugfs's view of a node's ACL attributes (their stored bytes).</summary>
    private static string[] AclLines(string image, string path) =>
        [.. OracleTool.RunExpect(0, "debugfs", "-R", "ea_list " + path, image).Stdout.Split('\n')
            .Where(l => l.Contains("system.posix_acl", StringComparison.Ordinal)).Select(l => l.Trim())];

    private static byte[] Acl(params (AclTag Tag, ushort Perm, uint Id)[] entries) =>
        new PosixAcl(entries.Select(e => new AclEntry(e.Tag, e.Perm, e.Id))).ToXattr();

    private static readonly byte[] NamedUserRead = Acl(
        (AclTag.UserObj, 6, PosixAcl.UndefinedId), (AclTag.User, 4, 1234), (AclTag.GroupObj, 0, PosixAcl.UndefinedId),
        (AclTag.Mask, 4, PosixAcl.UndefinedId), (AclTag.Other, 0, PosixAcl.UndefinedId));

    private static uint ModeOf(Vnode vp)
    {
        Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
        return va.Mode & 0xFFF;
    }

    private static string Octal(uint mode) => Convert.ToString(mode, 8).PadLeft(4, '0');

    [Fact]
    public void VfsRules_OwnerOnly_ModeFollowsTheAcl_ChmodRewritesIt_EquivalentOnesAreNotStored()
    {
        WithOwnedFile("ext4", (root, f) =>
        {
            Assert.Equal(Errno.EPERM, Vop.SetXattr(f, PosixAcl.AccessName, NamedUserRead, XattrSetMode.Any, Stranger));
            Assert.Equal(Errno.OK, Vop.SetXattr(f, PosixAcl.AccessName, NamedUserRead, XattrSetMode.Any, Owner));
            Assert.Equal("0640", Octal(ModeOf(f)));
            Assert.Equal(Errno.OK, Vop.CheckAccess(f, AccessMode.Read, Named));
            Assert.Equal(Errno.EACCES, Vop.CheckAccess(f, AccessMode.Read, Stranger));

            // chmod narrows the mask: the named user loses what the group bits no longer give.
            VAttr chmod = VAttr.ForSet(VAttrMask.Mode);
            chmod.Mode = 0x180; // 0600
            Assert.Equal(Errno.OK, Vop.SetAttr(f, chmod, Owner));
            Assert.Equal(Errno.OK, Vop.GetXattr(f, PosixAcl.AccessName, Root, out byte[]? narrowed));
            Assert.Equal(Errno.OK, PosixAcl.Parse(narrowed, out PosixAcl? acl));
            Assert.Equal(0, acl!.Entries.Single(e => e.Tag == AclTag.Mask).Perm);
            Assert.Equal(4, acl.Entries.Single(e => e.Tag == AclTag.User).Perm);
            Assert.Equal(Errno.EACCES, Vop.CheckAccess(f, AccessMode.Read, Named));

            // Three entries say no more than a mode: the mode is set, nothing is stored.
            byte[] plain = PosixAcl.FromMode(0x1ED).ToXattr(); // 0755
            Assert.Equal(Errno.OK, Vop.SetXattr(f, PosixAcl.AccessName, plain, XattrSetMode.Any, Owner));
            Assert.Equal("0755", Octal(ModeOf(f)));
            Assert.Equal(Errno.ENODATA, Vop.GetXattr(f, PosixAcl.AccessName, Root, out _));

            // Malformed lists, and a default ACL on a file.
            byte[] noMask = Acl((AclTag.UserObj, 6, PosixAcl.UndefinedId), (AclTag.User, 4, 1234),
                (AclTag.GroupObj, 0, PosixAcl.UndefinedId), (AclTag.Other, 0, PosixAcl.UndefinedId));
            Assert.Equal(Errno.EINVAL, Vop.SetXattr(f, PosixAcl.AccessName, noMask, XattrSetMode.Any, Owner));
            Assert.Equal(Errno.EINVAL, Vop.SetXattr(f, PosixAcl.AccessName, [2, 0, 0, 0, 1, 0], XattrSetMode.Any, Owner));
            Assert.Equal(Errno.EACCES, Vop.SetXattr(f, PosixAcl.DefaultName, NamedUserRead, XattrSetMode.Any, Owner));

            // Removing keeps the mode; removing again is no error (as ext4).
            Assert.Equal(Errno.OK, Vop.SetXattr(f, PosixAcl.AccessName, NamedUserRead, XattrSetMode.Any, Owner));
            Assert.Equal(Errno.OK, Vop.RemoveXattr(f, PosixAcl.AccessName, Owner));
            Assert.Equal("0640", Octal(ModeOf(f)));
            Assert.Equal(Errno.OK, Vop.RemoveXattr(f, PosixAcl.AccessName, Owner));
            Assert.Equal(Errno.ENODATA, Vop.GetXattr(f, PosixAcl.AccessName, Root, out _));
        });
    }

    [Fact]
    public void DefaultAcl_InheritedByNewNodes_UmaskIgnoredThere_AppliedElsewhere()
    {
        WithOwnedFile("ext2", (root, owned) =>
        {
            Assert.Equal(Errno.OK, Vop.Mkdir(root, "shared", 0x1ED, Owner, out Vnode? shared));
            byte[] dflt = Acl((AclTag.UserObj, 7, PosixAcl.UndefinedId), (AclTag.User, 7, 1234), (AclTag.GroupObj, 5, PosixAcl.UndefinedId),
                (AclTag.Mask, 7, PosixAcl.UndefinedId), (AclTag.Other, 5, PosixAcl.UndefinedId));
            Assert.Equal(Errno.OK, Vop.SetXattr(shared!, PosixAcl.DefaultName, dflt, XattrSetMode.Any, Owner));

            Assert.Equal(Errno.OK, Vop.Create(shared!, "file", 0x1B6, Owner, out Vnode? file, umask: 0x3F));
            Assert.Equal("0664", Octal(ModeOf(file!)));
            Assert.Equal(Errno.OK, Vop.GetXattr(file!, PosixAcl.AccessName, Root, out byte[]? inherited));
            Assert.Equal(Acl((AclTag.UserObj, 6, PosixAcl.UndefinedId), (AclTag.User, 7, 1234), (AclTag.GroupObj, 5, PosixAcl.UndefinedId),
                (AclTag.Mask, 6, PosixAcl.UndefinedId), (AclTag.Other, 4, PosixAcl.UndefinedId)), inherited);
            Assert.Equal(Errno.ENODATA, Vop.GetXattr(file!, PosixAcl.DefaultName, Root, out _));
            Assert.Equal(Errno.OK, Vop.CheckAccess(file!, AccessMode.Write, Named));

            Assert.Equal(Errno.OK, Vop.Mkdir(shared!, "sub", 0x1FF, Owner, out Vnode? sub, umask: 0x3F));
            Assert.Equal("0775", Octal(ModeOf(sub!)));
            Assert.Equal(Errno.OK, Vop.GetXattr(sub!, PosixAcl.DefaultName, Root, out byte[]? passedOn));
            Assert.Equal(dflt, passedOn);

            Assert.Equal(Errno.OK, Vop.Symlink(shared!, "link", "file", Owner, out Vnode? link));
            Assert.Equal(Errno.ENODATA, Vop.GetXattr(link!, PosixAcl.AccessName, Root, out _));

            Assert.Equal(Errno.OK, Vop.Create(root, "outside", 0x1B6, Owner, out Vnode? outside, umask: 0x3F));
            Assert.Equal("0600", Octal(ModeOf(outside!)));
            foreach (Vnode vp in new[] { shared!, file!, sub!, link!, outside! })
            {
                vp.Release();
            }
        });
    }

    /// <summary>A stored ACL with a bad version, in the attribute block (128-byte inodes) or in the inode: EIO, nothing written.</summary>
    [Theory]
    [InlineData("128")]
    [InlineData("256")]
    public void DamagedStoredAcl_GetGivesEio_ImageUntouched(string inodeSize)
    {
        string image = _scratch.File($"damaged-{inodeSize}.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-I", inodeSize, image, "8M");
        WithOwnedFile(image, (_, f) => Assert.Equal(Errno.OK, Vop.SetXattr(f, PosixAcl.AccessName, NamedUserRead, XattrSetMode.Any, Root)));
        string stat = OracleTool.RunExpect(0, "debugfs", "-R", "stat f", image).Stdout;
        Assert.Equal(inodeSize == "128", !stat.Contains("File ACL: 0", StringComparison.Ordinal));
        byte[] bytes = File.ReadAllBytes(image);
        // The stored form: version 1, the owner (tag 1, rw-), the named user (tag 2, r--, 1234).
        int at = bytes.AsSpan().IndexOf(new byte[] { 1, 0, 0, 0, 1, 0, 6, 0, 2, 0, 4, 0, 0xD2, 4, 0, 0 });
        Assert.True(at > 0);
        bytes[at] = 9;
        File.WriteAllBytes(image, bytes);
        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Vnode f = Ext2Fixture.Resolve(m, "f");
            Assert.Equal(Errno.EIO, Vop.GetXattr(f, PosixAcl.AccessName, Root, out _));
            // A caller the ACL would judge is refused with the error, as Linux's check_acl.
            Assert.Equal(Errno.EIO, Vop.CheckAccess(f, AccessMode.Read, Named));
            f.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Assert.Equal(bytes, File.ReadAllBytes(image));
    }

    private void WithOwnedFile(string typeOrImage, Action<Vnode, Vnode> body)
    {
        string image = File.Exists(typeOrImage) ? typeOrImage : Image(HostTree("owned-" + typeOrImage, withAcls: false), typeOrImage);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            VAttr open = VAttr.ForSet(VAttrMask.Mode);
            open.Mode = 0x1FF;
            Assert.Equal(Errno.OK, Vop.SetAttr(root!, open, Root));
            if (Vop.Lookup(root!, "f", Root, out Vnode? f) != Errno.OK)
            {
                Assert.Equal(Errno.OK, Vop.Create(root!, "f", 0x180, Root, out f));
            }
            VAttr own = VAttr.ForSet(VAttrMask.Uid | VAttrMask.Gid);
            own.Uid = Owner.Uid;
            own.Gid = Owner.Gid;
            Assert.Equal(Errno.OK, Vop.SetAttr(f!, own, Root));
            try
            {
                body(root!, f!);
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
        Ext2Oracle.AssertFsckClean(image);
    }
}
