using System.Collections;
using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// What a BLOCK_UNINIT group's block bitmap reads as, as libext2fs builds it for e2fsck
/// (mark_uninit_bg_group_blocks) and the kernel for its allocator: beside the group's own
/// superblock copy and descriptors, the bitmaps and inode table of each BLOCK_UNINIT group,
/// wherever they lie. Another block in use there (an initialised group's bitmap placed in it
/// under flex_bg, say) is not covered: the group must lose the flag and get a real bitmap.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private BitArray? _uninitCovered;

    private bool UninitBitmapCovers(ulong block)
    {
        if (_uninitCovered is null)
        {
            _uninitCovered = new BitArray(_used.Length);
            for (uint g = 0; g < _v.GroupCount; g++)
            {
                Ext2GroupDescriptor gd = _v.Groups[g];
                if ((gd.Flags & Ext2GroupDescriptor.FlagBlockUninit) == 0)
                {
                    continue;
                }
                Cover(gd.BlockBitmap, 1);
                Cover(gd.InodeBitmap, 1);
                Cover(gd.InodeTable, _v.InodeTableBlocks);
            }
        }
        return block < (ulong)_uninitCovered.Length && _uninitCovered[(int)block];
    }

    private void Cover(ulong start, ulong count)
    {
        for (ulong b = start; b < start + count && _v.InFs(b); b++)
        {
            _uninitCovered![(int)b] = true;
        }
    }
}
