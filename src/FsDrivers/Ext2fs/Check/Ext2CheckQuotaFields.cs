using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// With the quota feature, the superblock names the quota file of each type. The kernel takes
/// every inode so named as a hidden special inode: a field that names an ordinary file or a
/// directory hides it (a lookup of its name fails with EFSCORRUPTED), and e2fsck then clears
/// the directory entries that name it and the real quota file in inode 3 or 4. Such a field is
/// the damaged part, so this checker mends the field instead: a named inode must be a
/// regular file whose first block starts with the quota format's header for that type; when it
/// is not, the field goes back to the type's own reserved inode (3 for users, 4 for groups)
/// when that holds the type's quota file, else to 0 (no quota file of that type, which the
/// kernel accepts). e2fsck does not converge on such an image; there is no reference to follow.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private static readonly string[] QuotaTypeNames = ["user", "group", "project"];

    /// <summary>The v2 quota file header's magic per type (dqh_magic, Linux's quotaio_v2.h).</summary>
    private static readonly uint[] QuotaMagics = [0xd9c01f11, 0xd9c01927, 0xd9c03f14];

    private void CheckQuotaFields()
    {
        if ((Sb.FeatureRoCompat & Ext2Features.RoQuota) == 0)
        {
            ClearStaleQuotaFields();
            return;
        }
        for (int type = 0; type < QuotaMagics.Length; type++)
        {
            uint ino = Sb.QuotaInum(type);
            uint reserved = type < 2 ? FirstQuotaIno + (uint)type : 0;
            if (ino == 0 || ino == reserved)
            {
                continue; // the reserved slots are judged in pass 1 (Ext2CheckInodeRules)
            }
            string? why = ino > _v.InodesCount ? "past the last inode"
                : ino < Sb.FirstIno ? "a reserved inode of another role"
                : QuotaFileProblem(ino, type);
            if (why is null)
            {
                continue;
            }
            uint to = reserved != 0 && QuotaFileProblem(reserved, type) is null ? reserved : 0;
            Error(Pass0, "superblock", $"the {QuotaTypeNames[type]} quota file is named as inode {ino}, {why}; "
                + (to != 0 ? $"named as inode {to}, which holds one" : "cleared (no such quota file is kept)"));
            Sb.SetQuotaInum(type, to);
            _sbChanged = true;
        }
    }

    /// <summary>
    /// Without the quota feature the fields mean nothing to the kernel or to us, but e2fsck
    /// still takes the inodes they name for quota files (lost+found, say, which it then tears
    /// apart): -y clears them, a note either way, as nothing is wrong for the kernel.
    /// </summary>
    private void ClearStaleQuotaFields()
    {
        for (int type = 0; type < QuotaMagics.Length; type++)
        {
            uint ino = Sb.QuotaInum(type);
            if (ino == 0)
            {
                continue;
            }
            Note(Pass0, "superblock", $"the {QuotaTypeNames[type]} quota field names inode {ino} though the quota feature is off; "
                + (_repair ? "cleared" : "-y clears it (e2fsck would take the inode for a quota file)"));
            if (_repair)
            {
                Sb.SetQuotaInum(type, 0);
                _sbChanged = true;
            }
        }
    }

    /// <summary>
    /// An ordinary inode (not one of the reserved first ones) the superblock names as a quota
    /// file, as the project quota file is (inode 12 from mke2fs -O quota,project): hidden like
    /// the reserved ones, so no directory entry may name it and pass 4 does not miss one.
    /// </summary>
    private bool IsNamedQuotaFile(uint ino) =>
        (Sb.FeatureRoCompat & Ext2Features.RoQuota) != 0 && ino >= Sb.FirstIno
        && (ino == Sb.QuotaInum(0) || ino == Sb.QuotaInum(1) || ino == Sb.QuotaInum(2));

    /// <summary>Why inode <paramref name="ino"/> is no quota file of <paramref name="type"/>; null when it is one.</summary>
    private string? QuotaFileProblem(uint ino, int type)
    {
        if (_v.ReadInode(ino, out Ext2Dinode din) != Errno.OK)
        {
            return "which cannot be read";
        }
        // No link count is asked of a quota file (e2fsck asks none).
        if ((din.Mode & 0xF000) != 0x8000)
        {
            return $"not a regular file (mode 0{Convert.ToString(din.Mode, 8)})";
        }
        ulong first = (din.Flags & Ext2Dinode.FlagExtents) != 0 ? FirstExtentBlock(din) : din.BlockPointer(0);
        if (!_v.InFs(first) || _v.Read(first, out byte[] data) != Errno.OK
            || BinaryPrimitives.ReadUInt32LittleEndian(data) != QuotaMagics[type])
        {
            return $"which holds no {QuotaTypeNames[type]} quota file";
        }
        return null;
    }
}
