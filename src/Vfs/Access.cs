using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>Access modes for <see cref="Access.Check(in VAttr, AccessMode, Credentials)"/> (R_OK, W_OK, X_OK).</summary>
[Flags]
public enum AccessMode
{
    Exists = 0,
    Execute = 1,
    Write = 2,
    Read = 4,
}

/// <summary>
/// POSIX permission rules, file-system independent (NetBSD's genfs_can_access and the
/// kauth checks for chmod, chown and utimes).
/// </summary>
public static class Access
{
    /// <summary>
    /// May <paramref name="cred"/> access a file with these attributes in <paramref name="mode"/>?
    /// Root may do anything, except execute a non-directory with no execute bit at all, and
    /// nobody writes to an immutable file or into an immutable directory (EPERM, as Linux's
    /// inode_permission and NetBSD's ufs_access answer).
    /// </summary>
    public static Errno Check(in VAttr va, AccessMode mode, Credentials cred) => Check(va, mode, cred, null);

    /// <summary>
    /// <see cref="Check(in VAttr, AccessMode, Credentials)"/> with the file's access ACL,
    /// which decides for callers other than root and the owner (posix_acl_permission).
    /// </summary>
    public static Errno Check(in VAttr va, AccessMode mode, Credentials cred, PosixAcl? acl)
    {
        if ((mode & AccessMode.Write) != 0 && (va.Protection & NodeProtection.Immutable) != 0)
        {
            return Errno.EPERM;
        }
        if (cred.IsRoot)
        {
            if ((mode & AccessMode.Execute) != 0 && va.Type != VType.Directory && (va.Mode & 0x49) == 0)
            {
                return Errno.EACCES;
            }
            return Errno.OK;
        }
        uint bits;
        if (cred.Uid == va.Uid)
        {
            bits = (va.Mode >> 6) & 7;
        }
        else if (acl is not null)
        {
            return acl.Grants(cred, va.Gid, mode) ? Errno.OK : Errno.EACCES;
        }
        else if (cred.InGroup(va.Gid))
        {
            bits = (va.Mode >> 3) & 7;
        }
        else
        {
            bits = va.Mode & 7;
        }
        return ((uint)mode & ~bits) == 0 ? Errno.OK : Errno.EACCES;
    }

    /// <summary>
    /// An immutable or append-only file keeps its mode, owners, size and times, even for
    /// root (Linux's notify_change and do_truncate). Only its flags may change, and on an
    /// append-only file the times may be set to "now" (touch), as writing would.
    /// </summary>
    private static Errno CheckProtectedSetAttr(NodeProtection protection, VAttrMask m)
    {
        if (protection == NodeProtection.None)
        {
            return Errno.OK;
        }
        const VAttrMask Kept = VAttrMask.Mode | VAttrMask.Uid | VAttrMask.Gid | VAttrMask.Size | VAttrMask.Birthtime;
        if ((m & Kept) != 0)
        {
            return Errno.EPERM;
        }
        bool times = (m & (VAttrMask.Atime | VAttrMask.Mtime)) != 0;
        bool touch = (m & VAttrMask.TimesAreNow) != 0 && (protection & NodeProtection.Immutable) == 0;
        return times && !touch ? Errno.EPERM : Errno.OK;
    }

    /// <summary>
    /// Whether the entry <paramref name="entry"/> may leave directory <paramref name="dir"/>
    /// (unlink, rmdir, rename from or over it): not from an append-only directory, and not an
    /// immutable or append-only node (Linux's may_delete, NetBSD's ufs_remove).
    /// </summary>
    public static Errno CheckRemovableProtection(in VAttr dir, in VAttr entry) =>
        (dir.Protection & NodeProtection.AppendOnly) != 0 || entry.Protection != NodeProtection.None
            ? Errno.EPERM
            : Errno.OK;

    /// <summary>
    /// In a sticky directory only the owner of the entry, the owner of the directory or root
    /// may remove or rename it.
    /// </summary>
    public static Errno CheckSticky(in VAttr dir, in VAttr entry, Credentials cred)
    {
        if ((dir.Mode & 0x200) == 0 || cred.IsRoot || cred.Uid == entry.Uid || cred.Uid == dir.Uid)
        {
            return Errno.OK;
        }
        return Errno.EPERM;
    }

    /// <summary>
    /// Rules of chmod/chown/utimes/truncate for a SetAttr request; may adjust the request
    /// (a non-member setting setgid loses the bit, as Linux does).
    /// </summary>
    public static Errno CheckSetAttr(in VAttr current, ref VAttr request, Credentials cred)
    {
        bool owner = cred.IsRoot || cred.Uid == current.Uid;
        VAttrMask m = request.Mask;
        Errno p = CheckProtectedSetAttr(current.Protection, m);
        if (p != Errno.OK)
        {
            return p;
        }
        if ((m & (VAttrMask.Uid | VAttrMask.Gid)) != 0 && !cred.IsRoot)
        {
            bool uidChange = (m & VAttrMask.Uid) != 0 && request.Uid != current.Uid;
            bool gidChange = (m & VAttrMask.Gid) != 0 && request.Gid != current.Gid;
            if (uidChange)
            {
                return Errno.EPERM;
            }
            if (gidChange && (cred.Uid != current.Uid || !cred.InGroup(request.Gid)))
            {
                return Errno.EPERM;
            }
        }
        if ((m & VAttrMask.Mode) != 0)
        {
            if (!owner)
            {
                return Errno.EPERM;
            }
            uint gid = (m & VAttrMask.Gid) != 0 ? request.Gid : current.Gid;
            if (!cred.IsRoot && (request.Mode & 0x400) != 0 && !cred.InGroup(gid))
            {
                request.Mode &= ~0x400u;
            }
        }
        if ((m & (VAttrMask.Atime | VAttrMask.Mtime)) != 0 && !owner)
        {
            if ((m & VAttrMask.TimesAreNow) == 0)
            {
                return Errno.EPERM;
            }
            Errno w = Check(current, AccessMode.Write, cred);
            if (w != Errno.OK)
            {
                return Errno.EACCES;
            }
        }
        if ((m & VAttrMask.Flags) != 0 && !owner)
        {
            return Errno.EPERM;
        }
        if ((m & VAttrMask.Size) != 0)
        {
            if (current.Type == VType.Directory)
            {
                return Errno.EISDIR;
            }
            if (current.Type != VType.Regular)
            {
                return Errno.EINVAL;
            }
        }
        return Errno.OK;
    }
}
