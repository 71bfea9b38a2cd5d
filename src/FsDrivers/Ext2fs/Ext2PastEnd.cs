using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// A block-mapped file must map nothing past its end (e2fsck frees such blocks; only extent
/// files keep unwritten extents there). On a damaged image such a pointer is garbage or
/// another file's block: growing the file over it would show that block's bytes in this
/// file, and a write would go into the other one. Growth is refused with EIO instead.
/// </summary>
internal sealed partial class Ext2Node
{
    /// <summary>EIO (logged) when growing to <paramref name="newSize"/> would take in a block already mapped past the end.</summary>
    private Errno CheckGrowth(long newSize)
    {
        if (newSize <= Din.Size || UsesExtents || HasInlineData || Type != Vfs.VType.Regular)
        {
            return Errno.OK;
        }
        ulong firstPast = (ulong)((Din.Size + Fs.BlockSize - 1) >> Fs.BlockShift);
        for (ulong lblk = firstPast; lblk < NDirect; lblk++)
        {
            if (Din.BlockPointer((int)lblk) != 0)
            {
                return Fs.Corrupt(Din.BlockPointer((int)lblk), $"inode {Number}: block {lblk} mapped past the end of file");
            }
        }
        ulong baseLblk = NDirect;
        ulong span = (ulong)PtrsPerBlock;
        for (int level = 0; level < 3; level++)
        {
            uint root = Din.BlockPointer(NDirect + level);
            if (root != 0 && baseLblk >= firstPast)
            {
                return Fs.Corrupt(root, $"inode {Number}: indirect block for block {baseLblk} mapped past the end of file");
            }
            baseLblk += span;
            span *= (ulong)PtrsPerBlock;
        }
        return Errno.OK;
    }
}
