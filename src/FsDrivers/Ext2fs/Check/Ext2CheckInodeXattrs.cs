using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Pass 1's look inside attribute areas (e2fsck's check_inode_extra_space and the entry
/// walk of check_ext_attr): the rules are Ext2XattrAreaRules; here is what is cleared when
/// they fail, and the verdict on values kept in inodes of their own, a layout (ea_inode)
/// this checker does not accept.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>
    /// The attributes in the inode's spare space. When they fail, e2fsck clears them all by
    /// zeroing the magic word: no entry can be trusted once one overlaps another.
    /// </summary>
    private void CheckInodeXattrArea(InodeWalk w)
    {
        Ext2Dinode din = w.Din;
        int start = Ext2Dinode.BaseSize + din.ExtraIsize;
        // Room for the magic and at least one word more, as e2fsck asks before looking.
        if (din.InodeSize <= Ext2Dinode.BaseSize || din.ExtraIsize >= din.InodeSize - Ext2Dinode.BaseSize - 4
            || Ext2XattrEntry.U32(din.Raw, start) != Ext2XattrEntry.Magic)
        {
            return;
        }
        string? fault = Ext2XattrAreaRules.CheckInodeArea(din.Raw.AsSpan(start), ValueInodeRule);
        if (fault is null)
        {
            return;
        }
        Error(Pass1, Ino(w.Ino), $"extended attributes in the inode are corrupt: {fault}; cleared");
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(din.Raw.AsSpan(start), 0);
        w.Changed = true;
    }

    /// <summary>Made once: many inodes carry attributes, and each use of a method group makes a delegate.</summary>
    private Ext2XattrAreaRules.ValueInodeRule ValueInodeRule => _valueInodeRule ??= ValueInodeFault;

    private Ext2XattrAreaRules.ValueInodeRule? _valueInodeRule;

    /// <summary>
    /// An entry whose value is kept in inode <paramref name="valueInum"/>. e2fsck 1.47.0
    /// first checks the number and the size against that inode; a reference that passes both
    /// still needs the ea_inode feature, which file systems this checker opens never have
    /// (the kernel refuses such an entry there too).
    /// </summary>
    private string? ValueInodeFault(uint valueInum, uint valueSize)
    {
        if (valueInum < Sb.FirstIno || valueInum > Sb.InodesCount)
        {
            return $"names value inode {valueInum}, which cannot hold a value";
        }
        if (_v.ReadInode(valueInum, out Ext2Dinode target) != Errno.OK)
        {
            return $"names value inode {valueInum}, which cannot be read";
        }
        if (valueSize == 0 || valueSize != target.Size)
        {
            return $"has a value of {valueSize} bytes, but its value inode {valueInum} holds {target.Size}";
        }
        return $"keeps its value in inode {valueInum}, which needs the ea_inode feature";
    }
}
