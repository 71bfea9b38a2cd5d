using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Project ids (ro_compat project), as ext4 keeps them: a directory with the
/// project-inherit flag gives its project id to every inode made in it, and no link or
/// rename may bring an inode of another project into such a directory (EXDEV, so tools
/// copy instead, and the project's usage stays whole). Ids are not set here otherwise
/// (FS_IOC_FSSETXATTR is not offered); they are kept as found.
/// </summary>
internal sealed partial class Ext2Node
{
    /// <summary>EXT4_PROJINHERIT_FL.</summary>
    private const uint FlagProjectInherit = 0x20000000;

    /// <summary>i_projid when the inode holds one, else 0 (the default project).</summary>
    internal uint ProjectId => Din.HasExtra(Ext2Dinode.Off.Projid + 4) ? Din.ProjectId : 0;

    /// <summary>Give a new inode <paramref name="din"/> in this directory the directory's project, when it passes it on.</summary>
    internal void PassOnProject(Ext2Dinode din)
    {
        if (Fs.ProjectFeature && (Din.Flags & FlagProjectInherit) != 0 && din.HasExtra(Ext2Dinode.Off.Projid + 4))
        {
            din.ProjectId = ProjectId;
        }
    }

    /// <summary>EXDEV when <paramref name="n"/> may not be linked or renamed into this directory (another project).</summary>
    internal Errno CheckProjectBoundary(Ext2Node n) =>
        Fs.ProjectFeature && (Din.Flags & FlagProjectInherit) != 0 && n.ProjectId != ProjectId ? Errno.EXDEV : Errno.OK;
}
