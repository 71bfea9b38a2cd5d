using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>lsattr and chattr: a file's flags (FS_IOC_GETFLAGS, FS_IOC_SETFLAGS).</summary>
public static partial class Vop
{
    private const FileFlags ProtectionFlags = FileFlags.Immutable | FileFlags.AppendOnly;

    public static Errno GetFileFlags(Vnode vp, out FileFlags flags)
    {
        using (VnodeLocks.Take(vp))
        {
            return vp.GetFileFlags(out flags);
        }
    }

    /// <summary>
    /// Set the file's flags, with Linux's rules (vfs_fileattr_set, ext4's setflags): the
    /// owner or root may change them, only root the immutable and append-only flags, and
    /// while a file stays immutable nothing else about its flags changes.
    /// </summary>
    public static Errno SetFileFlags(Vnode vp, FileFlags flags, Credentials cred)
    {
        if (vp.Mount.IsReadOnly)
        {
            return Errno.EROFS;
        }
        using (VnodeLocks.Take(vp))
        {
            Errno e = vp.GetAttr(out VAttr va);
            if (e != Errno.OK)
            {
                return e;
            }
            e = vp.GetFileFlags(out FileFlags old);
            if (e != Errno.OK)
            {
                return e;
            }
            if (!cred.IsRoot && cred.Uid != va.Uid)
            {
                return Errno.EPERM;
            }
            if (((old ^ flags) & ProtectionFlags) != 0 && !cred.IsRoot)
            {
                return Errno.EPERM;
            }
            if ((old & flags & FileFlags.Immutable) != 0 && old != flags)
            {
                return Errno.EPERM;
            }
            using (CallerCredentials.Enter(cred))
            {
                return SyncIfFlagged(vp, FileFlags.Sync, vp.SetFileFlags(flags));
            }
        }
    }
}
