using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>File capabilities (security.capability) and the changes that take them away.</summary>
public static partial class Vop
{
    /// <summary>The attribute that holds a file's capabilities (XATTR_NAME_CAPS).</summary>
    public const string CapabilityXattr = "security.capability";

    /// <summary>
    /// Linux takes a file's capabilities away whenever its data, size or owner changes,
    /// whoever makes the change, root included (file_remove_privs on write, ATTR_KILL_PRIV on
    /// truncate and chown): the new contents or owner did not earn them. Called with the
    /// vnode locked; a format without the attribute has nothing to drop.
    /// </summary>
    private static Errno DropCapability(Vnode vp)
    {
        if (!vp.Mount.HasXattrs || vp.Type == VType.Directory)
        {
            return Errno.OK;
        }
        // Any failure to read it means nothing to drop, as cap_inode_need_killpriv takes it:
        // damaged attributes must not stop writes, truncates and chowns (the driver has
        // logged the damage).
        Errno e = vp.GetXattr(CapabilityXattr, out _);
        return e != Errno.OK ? Errno.OK : vp.RemoveXattr(CapabilityXattr);
    }
}
