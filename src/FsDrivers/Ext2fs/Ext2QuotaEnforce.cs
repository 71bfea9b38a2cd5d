using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Where an inode meets the quota limits (<see cref="Ext2QuotaLimits"/>): it reports each
/// change of its charge as it is marked dirty, and asks before it gains blocks, an owner or
/// a project. Nothing here costs anything on mounts without limits to enforce.
/// </summary>
internal sealed partial class Ext2Node
{
    /// <summary>The charge last reported to the live usage: the inode as read, or nothing for a new one.</summary>
    private Ext2QuotaCharge? _reported;

    private void ReportCharge()
    {
        if (!Fs.Limits.Active)
        {
            return;
        }
        Ext2QuotaCharge? now = Ext2QuotaCharge.Of(Fs.Sb, Number, Din);
        if (now != _reported)
        {
            Fs.Limits.Report(_reported, now);
            _reported = now;
        }
    }

    /// <summary>
    /// Cut <paramref name="count"/> new blocks down to what the quota allows (ext4 asks for
    /// fewer until it may: a short write); EDQUOT when not one block is allowed.
    /// </summary>
    private Errno QuotaAllowsBlocks(ref int count)
    {
        if (!Fs.Limits.Active || Ext2QuotaCharge.Of(Fs.Sb, Number, Din) is not Ext2QuotaCharge charge)
        {
            return Errno.OK;
        }
        int allowed = Fs.Limits.AllowBlocks(charge, count, Fs.BlockSize);
        if (allowed == 0)
        {
            return Errno.EDQUOT;
        }
        count = allowed;
        return Errno.OK;
    }

    /// <summary>EDQUOT when the new owner, group or project of this inode (types in <paramref name="types"/>) may not take it.</summary>
    private Errno QuotaAllowsTransfer(uint uid, uint gid, uint project, int types)
    {
        if (!Fs.Limits.Active || Ext2QuotaCharge.Of(Fs.Sb, Number, Din) is not Ext2QuotaCharge charge || types == 0)
        {
            return Errno.OK;
        }
        return Fs.Limits.AllowTransfer(charge with { Uid = uid, Gid = gid, Project = project }, types, (long)charge.Space);
    }

    /// <summary>EDQUOT when a new inode of <paramref name="uid"/>, <paramref name="gid"/> and <paramref name="project"/> is over a limit.</summary>
    internal static Errno QuotaAllowsNewInode(Ext2Mount fs, uint uid, uint gid, uint project) =>
        fs.Limits.Active ? fs.Limits.AllowInode(new Ext2QuotaCharge(uid, gid, project, 0)) : Errno.OK;
}
