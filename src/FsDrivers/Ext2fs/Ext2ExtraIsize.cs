using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Growing i_extra_isize (ext4's ext4_expand_extra_isize), so that an inode made by an older
/// kernel gains the fields after it (i_projid). The attributes stored in the inode after the
/// extra fields move up; where they no longer fit, the inode is left as it is (EOVERFLOW).
/// ext4 would move some of them out to the attribute block instead; this driver does not.
/// </summary>
internal sealed partial class Ext2Node
{
    private Errno GrowExtraIsize(ushort wanted)
    {
        int oldStart = Ext2Dinode.BaseSize + Din.ExtraIsize;
        int newStart = Ext2Dinode.BaseSize + wanted;
        if (wanted <= Din.ExtraIsize)
        {
            return Errno.OK;
        }
        if (newStart > Din.InodeSize)
        {
            return Errno.EOVERFLOW;
        }
        Errno e = LoadXattrs(out List<XattrItem> items);
        if (e != Errno.OK)
        {
            return e;
        }
        List<(string Name, byte[] Value)> inInode = [.. items.Where(i => i.InInode).Select(i => (i.Name, i.Value))];
        byte[]? area = null;
        if (inInode.Count > 0)
        {
            // The magic word, then the entries, values relative to the first entry.
            area = new byte[Math.Max(0, Din.InodeSize - newStart)];
            if (area.Length < 8 || !Ext2XattrLayout.Write(area.AsSpan(4), 0, 0, inInode))
            {
                return Errno.EOVERFLOW;
            }
            BinaryPrimitives.WriteUInt32LittleEndian(area, Ext2XattrEntry.Magic);
        }
        Din.Raw.AsSpan(oldStart).Clear();
        area?.CopyTo(Din.Raw.AsSpan(newStart));
        Din.SetExtraIsize(wanted);
        MarkDirty();
        return Errno.OK;
    }
}
