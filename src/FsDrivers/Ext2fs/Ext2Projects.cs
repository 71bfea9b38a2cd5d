using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Project ids (ro_compat project), as ext4 keeps them: a directory with the
/// project-inherit flag gives its project id to every inode made in it, no link or rename
/// may bring an inode of another project into such a directory (EXDEV, so tools copy
/// instead, and the project's usage stays whole), and FS_IOC_FSSETXATTR moves a file to
/// another project (ext4_ioctl_setproject). The quota charge follows the id: Update
/// compares the table's old copy of the inode with the new one (Ext2Quota.Account).
/// </summary>
internal sealed partial class Ext2Node
{
    /// <summary>EXT4_PROJINHERIT_FL.</summary>
    private const uint FlagProjectInherit = 0x20000000;

    /// <summary>i_projid when the inode holds one, else 0 (the default project).</summary>
    internal uint ProjectId => Din.HasExtra(Ext2Dinode.Off.Projid + 4) ? Din.ProjectId : 0;

    /// <summary>Project ids exist with the project feature and inodes over 128 bytes.</summary>
    private bool KeepsProjects => Fs.ProjectFeature && Fs.InodeSize > Ext2Dinode.BaseSize;

    /// <summary>The project a new inode made in this directory belongs to: the directory's when it passes it on, else 0.</summary>
    internal uint ProjectPassedOn => KeepsProjects && (Din.Flags & FlagProjectInherit) != 0 ? ProjectId : 0;

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

    public override Errno GetProjectId(out uint projectId)
    {
        projectId = KeepsProjects ? ProjectId : 0;
        return KeepsProjects ? Errno.OK : Errno.EOPNOTSUPP;
    }

    /// <summary>
    /// ext4_ioctl_setproject: EOPNOTSUPP without the feature or with 128-byte inodes, EPERM
    /// for a quota file; an inode whose extra fields stop short of i_projid has them grown
    /// first (EOVERFLOW when its in-inode attributes leave no room).
    /// </summary>
    public override Errno SetProjectId(uint projectId)
    {
        if (!KeepsProjects)
        {
            return Errno.EOPNOTSUPP;
        }
        if (projectId == ProjectId)
        {
            return Errno.OK;
        }
        if (Fs.Sb.NamesQuotaInode(Number))
        {
            return Errno.EPERM;
        }
        // The new project must have room for the inode and its blocks (dquot_transfer).
        Errno e = QuotaAllowsTransfer(Din.Uid, Din.Gid, projectId, Ext2QuotaLimits.TypeBit(2));
        if (e != Errno.OK)
        {
            return e;
        }
        if (!Din.HasExtra(Ext2Dinode.Off.Projid + 4))
        {
            e = GrowExtraIsize(WantedExtraIsize(Fs));
            if (e != Errno.OK)
            {
                return e;
            }
        }
        Din.ProjectId = projectId;
        Din.Ctime = Fs.Clock.Now;
        MarkDirty();
        return Fs.Options.Synchronous ? Update() : Errno.OK;
    }
}
