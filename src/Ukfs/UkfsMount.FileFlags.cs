using RumpFs.Vfs;

namespace RumpFs.Ukfs;

/// <summary>
/// File flags as lsattr and chattr see them (Linux's FS_*_FL values): immutable and
/// append-only are enforced for every front end, the others are stored. ENOTTY where the
/// format keeps none (FAT), EOPNOTSUPP for a flag the format cannot store. Project ids
/// (lsattr -p, chattr -p) exist on ext4 with the project feature; elsewhere a file is in
/// project 0 and no other can be set (EOPNOTSUPP).
/// </summary>
public sealed partial class UkfsMount
{
    /// <summary>The flags of <paramref name="path"/> (FS_IOC_GETFLAGS).</summary>
    /// <param name="path">The file or directory.</param>
    /// <param name="follow">Follow a final symbolic link.</param>
    public FileFlags GetFileFlags(string path, bool follow = false) =>
        WithVnode(path, follow, vp =>
        {
            Check(Vop.GetFileFlags(vp, out FileFlags flags), path);
            return flags;
        });

    /// <summary>
    /// Replace the flags of <paramref name="path"/> (FS_IOC_SETFLAGS): the owner or root may,
    /// and only root may change the immutable and append-only flags.
    /// </summary>
    /// <param name="path">The file or directory.</param>
    /// <param name="flags">The whole new set, as <see cref="GetFileFlags"/> gives it.</param>
    /// <param name="follow">Follow a final symbolic link.</param>
    public void SetFileFlags(string path, FileFlags flags, bool follow = false) =>
        WithVnode(path, follow, vp =>
        {
            Check(Vop.SetFileFlags(vp, flags, Credentials), path);
            return 0;
        });

    /// <summary>The project id of <paramref name="path"/> (FS_IOC_FSGETXATTR's fsx_projid); 0 where the format keeps none.</summary>
    /// <param name="path">The file or directory.</param>
    /// <param name="follow">Follow a final symbolic link.</param>
    public uint GetProjectId(string path, bool follow = false) =>
        WithVnode(path, follow, vp =>
        {
            Check(Vop.GetFileAttr(vp, out _, out uint projectId), path);
            return projectId;
        });

    /// <summary>
    /// Move <paramref name="path"/> to project <paramref name="projectId"/> (chattr -p, as
    /// FS_IOC_FSSETXATTR with the file's own flags): the owner or root may; an immutable file
    /// keeps its project (EPERM); EOPNOTSUPP where the format keeps no project ids.
    /// </summary>
    /// <param name="path">The file or directory.</param>
    /// <param name="projectId">The new project id.</param>
    /// <param name="follow">Follow a final symbolic link.</param>
    public void SetProjectId(string path, uint projectId, bool follow = false) =>
        WithVnode(path, follow, vp =>
        {
            Check(Vop.GetFileFlags(vp, out FileFlags flags), path);
            Check(Vop.SetFileAttr(vp, flags, projectId, Credentials), path);
            return 0;
        });
}
