using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>
/// lsattr and chattr: a file's flags (FS_IOC_GETFLAGS, FS_IOC_SETFLAGS) and its project id
/// (FS_IOC_FSGETXATTR, FS_IOC_FSSETXATTR's fsx_projid).
/// </summary>
public static partial class Vop
{
    private const FileFlags ProtectionFlags = FileFlags.Immutable | FileFlags.AppendOnly;

    /// <summary>
    /// Linux's INVALID_PROJID ((projid_t)-1): fileattr_set_prepare refuses it (EINVAL) as a
    /// new id.
    /// </summary>
    public const uint InvalidProjectId = uint.MaxValue;

    public static Errno GetFileFlags(Vnode vp, out FileFlags flags)
    {
        using (VnodeLocks.Take(vp))
        {
            return vp.GetFileFlags(out flags);
        }
    }

    /// <summary>
    /// The file's flags and project id together, as FS_IOC_FSGETXATTR reads them. A file
    /// system that keeps no project ids shows project 0 (as Linux's fileattr_fill does).
    /// </summary>
    public static Errno GetFileAttr(Vnode vp, out FileFlags flags, out uint projectId)
    {
        using (VnodeLocks.Take(vp))
        {
            projectId = 0;
            Errno e = vp.GetFileFlags(out flags);
            return e == Errno.OK ? ProjectOf(vp, out projectId, out _) : e;
        }
    }

    /// <summary>
    /// Set the file's flags, with Linux's rules (vfs_fileattr_set, ext4's setflags): the
    /// owner or root may change them, only root the immutable and append-only flags, and
    /// while a file stays immutable nothing else about its flags changes.
    /// </summary>
    public static Errno SetFileFlags(Vnode vp, FileFlags flags, Credentials cred) => SetFileAttr(vp, flags, null, cred);

    /// <summary>
    /// FS_IOC_FSSETXATTR: set the flags and, when <paramref name="projectId"/> is given and
    /// differs from the file's, move the file to that project. Linux's rules
    /// (vfs_fileattr_set, fileattr_set_prepare, ext4_fileattr_set): only the owner or root
    /// (EPERM); the owner may change the project id too, since Linux forbids that only to
    /// callers in a user namespace other than the initial one, which a FUSE request or a
    /// ukfs caller never is; the id (projid_t)-1 is EINVAL; a file that is and stays
    /// immutable keeps its flags and, where project ids are kept, its project (EPERM). The
    /// flags are set first and the project after, as ext4 does: a project the file system
    /// cannot store (EOPNOTSUPP) leaves the flags set.
    /// </summary>
    public static Errno SetFileAttr(Vnode vp, FileFlags flags, uint? projectId, Credentials cred)
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
            e = ProjectOf(vp, out uint oldProject, out bool projectsKept);
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
            bool moves = projectId is uint id && id != oldProject;
            if (moves && projectId == InvalidProjectId)
            {
                return Errno.EINVAL;
            }
            if ((old & flags & FileFlags.Immutable) != 0 && (old != flags || (moves && projectsKept)))
            {
                return Errno.EPERM;
            }
            using (CallerCredentials.Enter(cred))
            {
                e = vp.SetFileFlags(flags);
                if (e == Errno.OK && moves)
                {
                    e = vp.SetProjectId(projectId!.Value);
                }
                return SyncIfFlagged(vp, FileFlags.Sync, e);
            }
        }
    }

    /// <summary>The file's project id, 0 where the file system keeps none (<paramref name="kept"/> false).</summary>
    private static Errno ProjectOf(Vnode vp, out uint projectId, out bool kept)
    {
        Errno e = vp.GetProjectId(out projectId);
        kept = e == Errno.OK;
        if (e == Errno.EOPNOTSUPP)
        {
            projectId = 0;
            return Errno.OK;
        }
        return e;
    }
}
