using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.Ukfs;

/// <summary>
/// Extended attributes (getfattr/setfattr): names carry their name space ("user.comment",
/// "security.capability"). Which name spaces a format stores is its own: FAT none, ext2 can
/// read every one and write user.*, trusted.* and security.* (the last two as root); the rest
/// give EOPNOTSUPP.
/// </summary>
public sealed partial class UkfsMount
{
    /// <summary>
    /// Whether the format stores POSIX ACLs (system.posix_acl_access and _default); where it
    /// does not, those names give EOPNOTSUPP.
    /// </summary>
    public bool HasPosixAcls => _mount.HasPosixAcls;

    /// <summary>
    /// Whether <paramref name="path"/> (not following a final symbolic link) carries an access
    /// ACL or a default ACL, as ls marks with "+" (acl_extended_file). False on formats without ACLs.
    /// </summary>
    /// <param name="path">The file.</param>
    public bool HasExtendedAcl(string path) =>
        _mount.HasPosixAcls && ListXattrs(path, follow: false).Any(PosixAcl.IsAclName);

    /// <summary>The names of the extended attributes of <paramref name="path"/>; none when the format has none.</summary>
    /// <param name="path">The file.</param>
    /// <param name="follow">Follow a final symbolic link (listxattr) or list the link's own (llistxattr).</param>
    public IReadOnlyList<string> ListXattrs(string path, bool follow = true) =>
        WithVnode(path, follow, vp =>
        {
            Check(Vop.ListXattr(vp, Credentials, out IReadOnlyList<string> names), path);
            return names;
        });

    /// <summary>The value of extended attribute <paramref name="name"/>; ENODATA when it is not set.</summary>
    /// <param name="path">The file.</param>
    /// <param name="name">The attribute, with its name space ("user.comment").</param>
    /// <param name="follow">Follow a final symbolic link, or read the link's own attribute.</param>
    public byte[] GetXattr(string path, string name, bool follow = true) =>
        WithVnode(path, follow, vp =>
        {
            Check(Vop.GetXattr(vp, name, Credentials, out byte[]? value), path);
            return value ?? [];
        });

    /// <summary>Create or replace extended attribute <paramref name="name"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="name">The attribute, with its name space ("user.comment").</param>
    /// <param name="value">Its value, at most 64 KiB (E2BIG beyond).</param>
    /// <param name="follow">Follow a final symbolic link, or set the link's own attribute.</param>
    public void SetXattr(string path, string name, byte[] value, bool follow = true) =>
        WithVnode(path, follow, vp =>
        {
            Check(Vop.SetXattr(vp, name, value, XattrSetMode.Any, Credentials), path);
            return 0;
        });

    /// <summary>Remove extended attribute <paramref name="name"/>; ENODATA when it is not set.</summary>
    /// <param name="path">The file.</param>
    /// <param name="name">The attribute, with its name space.</param>
    /// <param name="follow">Follow a final symbolic link, or change the link's own attributes.</param>
    public void RemoveXattr(string path, string name, bool follow = true) =>
        WithVnode(path, follow, vp =>
        {
            Check(Vop.RemoveXattr(vp, name, Credentials), path);
            return 0;
        });

    private T WithVnode<T>(string path, bool follow, Func<Vnode, T> action)
    {
        Vnode vp = Resolve(path, follow);
        try
        {
            return action(vp);
        }
        finally
        {
            vp.Release();
        }
    }
}
