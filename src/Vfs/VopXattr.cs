using System.Text;
using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>Extended attributes: name-space permission rules, then the driver.</summary>
public static partial class Vop
{
    /// <summary>Largest value accepted (XATTR_SIZE_MAX).</summary>
    public const int XattrSizeMax = 65536;

    /// <summary>The name spaces whose names are a prefix and a name (Linux's xattr handlers with a prefix).</summary>
    private static readonly string[] s_prefixedSpaces = ["user.", "trusted.", "security."];

    private static Errno CheckXattrName(string name)
    {
        if (name.Length == 0)
        {
            return Errno.ERANGE;
        }
        if (Encoding.UTF8.GetByteCount(name) > NameMax)
        {
            return Errno.ERANGE;
        }
        // A name space's prefix alone names nothing (xattr_resolve_name: EINVAL).
        return s_prefixedSpaces.Contains(name, StringComparer.Ordinal) ? Errno.EINVAL : Errno.OK;
    }

    /// <summary>
    /// user.* needs read/write permission on the file; trusted.* needs root; security.* is
    /// read by anyone and changed by root only (the capability module's rule, CAP_SYS_ADMIN
    /// or CAP_SETFCAP); nobody changes the attributes of an immutable or append-only file
    /// (Linux's xattr_permission).
    /// </summary>
    private static Errno CheckXattrAccess(Vnode vp, string name, AccessMode mode, Credentials cred)
    {
        Errno e = vp.GetAttr(out VAttr va);
        if (e != Errno.OK)
        {
            return e;
        }
        if (mode == AccessMode.Write && va.Protection != NodeProtection.None)
        {
            return Errno.EPERM;
        }
        if (name.StartsWith("trusted.", StringComparison.Ordinal) && !cred.IsRoot)
        {
            return mode == AccessMode.Read ? Errno.ENODATA : Errno.EPERM;
        }
        if (name.StartsWith("security.", StringComparison.Ordinal) && mode == AccessMode.Write && !cred.IsRoot)
        {
            return Errno.EPERM;
        }
        if (name.StartsWith("user.", StringComparison.Ordinal))
        {
            if (va.Type is not (VType.Regular or VType.Directory))
            {
                return mode == AccessMode.Read ? Errno.ENODATA : Errno.EPERM;
            }
            return CheckAccess(vp, va, mode, cred);
        }
        return Errno.OK;
    }

    public static Errno GetXattr(Vnode vp, string name, Credentials cred, out byte[]? value)
    {
        value = null;
        Errno e = CheckXattrName(name);
        if (e != Errno.OK)
        {
            return e;
        }
        using (VnodeLocks.Take(vp))
        {
            e = CheckXattrAccess(vp, name, AccessMode.Read, cred);
            return e != Errno.OK ? e : vp.GetXattr(name, out value);
        }
    }

    public static Errno SetXattr(Vnode vp, string name, ReadOnlySpan<byte> value, XattrSetMode mode, Credentials cred)
    {
        Errno e = CheckXattrName(name);
        if (e != Errno.OK)
        {
            return e;
        }
        if (value.Length > XattrSizeMax)
        {
            return Errno.E2BIG;
        }
        if (vp.Mount.IsReadOnly)
        {
            return Errno.EROFS;
        }
        using (VnodeLocks.Take(vp))
        {
            e = CheckXattrAccess(vp, name, AccessMode.Write, cred);
            if (e != Errno.OK)
            {
                return e;
            }
            using (CallerCredentials.Enter(cred))
            {
                e = PosixAcl.IsAclName(name) ? SetAcl(vp, name, value, cred) : vp.SetXattr(name, value, mode);
                return SyncIfFlagged(vp, FileFlags.Sync, e);
            }
        }
    }

    /// <summary>The attribute names <paramref name="cred"/> may see: trusted.* ones are listed to root only, as Linux lists them.</summary>
    public static Errno ListXattr(Vnode vp, Credentials cred, out IReadOnlyList<string> names)
    {
        using (VnodeLocks.Take(vp))
        {
            Errno e = vp.ListXattr(out names);
            if (e == Errno.OK && !cred.IsRoot)
            {
                names = [.. names.Where(n => !n.StartsWith("trusted.", StringComparison.Ordinal))];
            }
            return e;
        }
    }

    public static Errno RemoveXattr(Vnode vp, string name, Credentials cred)
    {
        Errno e = CheckXattrName(name);
        if (e != Errno.OK)
        {
            return e;
        }
        if (vp.Mount.IsReadOnly)
        {
            return Errno.EROFS;
        }
        using (VnodeLocks.Take(vp))
        {
            e = CheckXattrAccess(vp, name, AccessMode.Write, cred);
            if (e != Errno.OK)
            {
                return e;
            }
            e = PosixAcl.IsAclName(name) ? RemoveAcl(vp, name, cred) : vp.RemoveXattr(name);
            return SyncIfFlagged(vp, FileFlags.Sync, e);
        }
    }
}
