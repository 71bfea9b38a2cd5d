using RumpFs.Kernel;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Conformance.ConformanceContext;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>
/// <see cref="Mount.HasXattrs"/> is a promise front ends act on for the whole mount (P2k
/// answers the kernel's GETXATTR with ENOSYS, which the kernel then keeps): where it is
/// false, every get fails with EOPNOTSUPP, on files, folders and the root, whatever the
/// name; where it is true, a name the file lacks is ENODATA.
/// </summary>
public class XattrConformanceTests
{
    private static readonly string[] Names = ["user.x", "security.capability", "trusted.x", "system.posix_acl_access"];

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void HasXattrs_FalseOnlyWhereNoGetCanSucceed(string target)
    {
        using var c = new ConformanceContext(target);
        c.Fs.WriteFileOk("/f", "data"u8.ToArray());
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        bool has = c.Fs.Mount.HasXattrs;
        if (target.StartsWith("msdos", StringComparison.Ordinal) || target == "ffs-ufs1-le")
        {
            Assert.False(has, "FAT and UFS1 keep no extended attributes");
        }
        foreach (string path in (string[])["/f", "/d", "/"])
        {
            if (!has)
            {
                foreach (string name in Names)
                {
                    Is(Errno.EOPNOTSUPP, c.Fs.WithVnode(path, true, vp => Vop.GetXattr(vp, name, Credentials.Root, out _)),
                        $"getxattr {path} {name}");
                }
            }
            else
            {
                Is(Errno.ENODATA, c.Fs.WithVnode(path, true, vp => Vop.GetXattr(vp, "user.x", Credentials.Root, out _)),
                    $"getxattr {path} user.x");
            }
        }
    }

    private static readonly byte[] NamedUserAcl = new PosixAcl(
    [
        new AclEntry(AclTag.UserObj, 6, PosixAcl.UndefinedId), new AclEntry(AclTag.User, 4, 1234),
        new AclEntry(AclTag.GroupObj, 4, PosixAcl.UndefinedId), new AclEntry(AclTag.Mask, 6, PosixAcl.UndefinedId),
        new AclEntry(AclTag.Other, 0, PosixAcl.UndefinedId),
    ]).ToXattr();

    /// <summary>
    /// <see cref="Mount.HasPosixAcls"/>: where true, an ACL set reads back as set, gives the
    /// mode its bits, follows a chmod and is inherited from a default ACL; where false, setting
    /// one is EOPNOTSUPP and the mode is untouched.
    /// </summary>
    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void PosixAcls_StoredAndAppliedWhereTheMountSaysSo(string target)
    {
        using var c = new ConformanceContext(target);
        c.Fs.WriteFileOk("/f", "data"u8.ToArray());
        Ok(c.Fs.Chmod("/f", 0x180), "chmod 0600");
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        uint before = c.Fs.StatOk("/f").Mode; // FAT's modes come from the mount options, not chmod
        Errno set = c.Fs.WithVnode("/f", true, vp => Vop.SetXattr(vp, PosixAcl.AccessName, NamedUserAcl, XattrSetMode.Any, Credentials.Root));
        if (!c.Fs.Mount.HasPosixAcls)
        {
            Is(Errno.EOPNOTSUPP, set, "setxattr system.posix_acl_access");
            Assert.Equal(before, c.Fs.StatOk("/f").Mode);
            return;
        }
        Assert.True(c.Fs.Mount.HasXattrs);
        Ok(set, "setxattr system.posix_acl_access");
        Assert.Equal(0x1B0u, c.Fs.StatOk("/f").Mode & 0x1FF); // 0660: the mask is the group's bits
        byte[]? back = null;
        Ok(c.Fs.WithVnode("/f", true, vp => Vop.GetXattr(vp, PosixAcl.AccessName, Credentials.Root, out back)), "getxattr");
        Assert.Equal(NamedUserAcl, back);

        Ok(c.Fs.Chmod("/f", 0x1A0), "chmod 0640");
        Ok(c.Fs.WithVnode("/f", true, vp => Vop.GetXattr(vp, PosixAcl.AccessName, Credentials.Root, out back)), "getxattr");
        Ok(PosixAcl.Parse(back, out PosixAcl? acl), "parse");
        Assert.Equal(4, acl!.Entries.Single(e => e.Tag == AclTag.Mask).Perm);

        Ok(c.Fs.WithVnode("/d", true, vp => Vop.SetXattr(vp, PosixAcl.DefaultName, NamedUserAcl, XattrSetMode.Any, Credentials.Root)), "set default");
        Ok(c.Fs.Create("/d/new", 0x1B6), "create under a default ACL");
        Assert.Equal(0x1B0u, c.Fs.StatOk("/d/new").Mode & 0x1FF);
        Ok(c.Fs.WithVnode("/d/new", true, vp => Vop.GetXattr(vp, PosixAcl.AccessName, Credentials.Root, out back)), "inherited");
        Assert.Equal(NamedUserAcl, back);
    }
}
