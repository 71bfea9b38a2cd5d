using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>
/// POSIX ACLs on mounts whose driver stores them (<see cref="Mount.HasPosixAcls"/>): the
/// rules Linux's VFS applies around system.posix_acl_access and system.posix_acl_default
/// (fs/posix_acl.c), so the drivers only store the lists.
/// </summary>
public static partial class Vop
{
    /// <summary>
    /// Permission check that consults the access ACL when the mode alone cannot decide: a
    /// caller who is neither root nor the owner, on a file whose group bits (the ACL's mask)
    /// grant something, as Linux's acl_permission_check.
    /// </summary>
    private static Errno CheckAccess(Vnode vp, in VAttr va, AccessMode mode, Credentials cred)
    {
        if (cred.IsRoot || cred.Uid == va.Uid || (va.Mode & 0x38) == 0 || !vp.Mount.HasPosixAcls)
        {
            return Access.Check(va, mode, cred);
        }
        Errno e = LoadAcl(vp, PosixAcl.AccessName, out PosixAcl? acl);
        return e != Errno.OK ? e : Access.Check(va, mode, cred, acl);
    }

    /// <summary>
    /// The node's ACL of that name, null when it has none. One that cannot be read or does
    /// not parse is an error (EINVAL for the latter, as ext4_acl_from_disk): Linux refuses
    /// the permission check, chmod or create that needs it rather than going on as if
    /// there were no ACL.
    /// </summary>
    private static Errno LoadAcl(Vnode vp, string name, out PosixAcl? acl)
    {
        acl = null;
        Errno e = vp.GetXattr(name, out byte[]? value);
        if (e is Errno.ENODATA or Errno.EOPNOTSUPP || (e == Errno.OK && value is null))
        {
            return Errno.OK;
        }
        if (e != Errno.OK)
        {
            return e;
        }
        return PosixAcl.Parse(value, out acl) == Errno.OK ? Errno.OK : Errno.EINVAL;
    }

    /// <summary>
    /// setxattr of an ACL (set_posix_acl and posix_acl_update_mode): the owner or root only;
    /// a default ACL on directories only; an access ACL sets the mode's permission bits (its
    /// mask for the group's) and is not stored when the mode says all it says; setgid goes
    /// when the caller is not in the file's group. An empty value removes the ACL.
    /// </summary>
    private static Errno SetAcl(Vnode vp, string name, ReadOnlySpan<byte> value, Credentials cred)
    {
        if (!vp.Mount.HasPosixAcls)
        {
            return Errno.EOPNOTSUPP;
        }
        Errno e = vp.GetAttr(out VAttr va);
        if (e != Errno.OK)
        {
            return e;
        }
        if (va.Type == VType.Symlink)
        {
            return Errno.EOPNOTSUPP;
        }
        if (!cred.IsRoot && cred.Uid != va.Uid)
        {
            return Errno.EPERM;
        }
        e = PosixAcl.Parse(value, out PosixAcl? acl);
        if (e != Errno.OK)
        {
            return e;
        }
        if (name == PosixAcl.DefaultName && va.Type != VType.Directory)
        {
            return acl is null ? Errno.OK : Errno.EACCES;
        }
        if (name != PosixAcl.AccessName || acl is null)
        {
            return StoreAcl(vp, name, acl);
        }
        bool equivalent = acl.IsEquivalentToMode(out uint bits);
        uint mode = (va.Mode & ~0x1FFu) | bits;
        if (!cred.IsRoot && !cred.InGroup(va.Gid))
        {
            mode &= ~S_ISGID;
        }
        // The ACL first, as ext4_set_acl: one that cannot be stored (ENOSPC) leaves the mode as it was.
        e = StoreAcl(vp, name, equivalent ? null : acl);
        if (e != Errno.OK || mode == va.Mode)
        {
            return e;
        }
        VAttr change = VAttr.ForSet(VAttrMask.Mode | VAttrMask.Ctime);
        change.Mode = mode;
        change.Ctime = vp.Mount.Clock.Now;
        return vp.SetAttr(change, cred);
    }

    /// <summary>removexattr of an ACL: the owner or root only; removing one that is not there is no error (as ext4).</summary>
    private static Errno RemoveAcl(Vnode vp, string name, Credentials cred)
    {
        if (!vp.Mount.HasPosixAcls)
        {
            return Errno.EOPNOTSUPP;
        }
        Errno e = vp.GetAttr(out VAttr va);
        if (e != Errno.OK)
        {
            return e;
        }
        if (!cred.IsRoot && cred.Uid != va.Uid)
        {
            return Errno.EPERM;
        }
        return StoreAcl(vp, name, null);
    }

    private static Errno StoreAcl(Vnode vp, string name, PosixAcl? acl)
    {
        if (acl is not null)
        {
            return vp.SetXattr(name, acl.ToXattr(), XattrSetMode.Any);
        }
        Errno e = vp.RemoveXattr(name);
        return e == Errno.ENODATA ? Errno.OK : e;
    }

    /// <summary>posix_acl_chmod: after a mode change the access ACL takes the new bits.</summary>
    private static Errno ChmodAcl(Vnode vp, VType type, uint mode)
    {
        if (!vp.Mount.HasPosixAcls || type == VType.Symlink)
        {
            return Errno.OK;
        }
        Errno e = LoadAcl(vp, PosixAcl.AccessName, out PosixAcl? acl);
        return e != Errno.OK || acl is null ? e : vp.SetXattr(PosixAcl.AccessName, acl.WithMode(mode).ToXattr(), XattrSetMode.Replace);
    }

    /// <summary>
    /// posix_acl_create, before the node is made: with a default ACL on the parent the new
    /// node's permission bits are narrowed by it (the umask is not applied) and the ACLs it
    /// inherits are returned; without one the umask applies. A parent's default ACL that
    /// cannot be read refuses the create (nothing is made), as posix_acl_create does.
    /// </summary>
    private static Errno InheritAcls(Vnode dvp, VType type, ref uint mode, uint umask, out (PosixAcl? Access, PosixAcl? Default) acls)
    {
        acls = (null, null);
        PosixAcl? parent = null;
        if (type != VType.Symlink && dvp.Mount.HasPosixAcls)
        {
            Errno e = LoadAcl(dvp, PosixAcl.DefaultName, out parent);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        if (parent is null)
        {
            mode &= ~(umask & 0x1FFu);
            return Errno.OK;
        }
        PosixAcl access = parent.Inherit(ref mode);
        acls = (access.IsEquivalentToMode(out _) ? null : access, type == VType.Directory ? parent : null);
        return Errno.OK;
    }

    /// <summary>Give a node just made the ACLs it inherited.</summary>
    private static Errno StoreInheritedAcls(Vnode vp, (PosixAcl? Access, PosixAcl? Default) acls)
    {
        Errno e = Errno.OK;
        if (acls.Default is not null)
        {
            e = vp.SetXattr(PosixAcl.DefaultName, acls.Default.ToXattr(), XattrSetMode.Any);
        }
        if (e == Errno.OK && acls.Access is not null)
        {
            e = vp.SetXattr(PosixAcl.AccessName, acls.Access.ToXattr(), XattrSetMode.Any);
        }
        return e;
    }
}
