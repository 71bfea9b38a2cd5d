using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// lseek SEEK_DATA and SEEK_HOLE from the block map: a hole is a block without storage or an
/// unwritten extent (which reads as zeros), as ext4 reports them. cp --sparse and tar find
/// the holes a punched or sparse file has instead of reading its zeros.
/// </summary>
internal sealed partial class Ext2Node
{
    public override Errno Seek(long offset, SeekWhence whence, out long result)
    {
        result = 0;
        if (Type != VType.Regular || HasInlineData)
        {
            return base.Seek(offset, whence, out result);
        }
        long size = Din.Size;
        if (offset < 0 || offset >= size)
        {
            return Errno.ENXIO;
        }
        bool wantData = whence == SeekWhence.Data;
        // A damaged size can reach far past what the map addresses (2^56 bytes on 1 KiB
        // blocks): the walk stops where the map does, since all beyond is hole.
        ulong last = Math.Min((ulong)(size - 1) >> Fs.BlockShift, LastAddressableBlock);
        for (ulong lblk = (ulong)offset >> Fs.BlockShift; lblk <= last;)
        {
            Errno e = Bmap(lblk, (int)Math.Min(65536UL, last - lblk + 1), out ulong pblk, out int run, out bool uninit);
            if (e != Errno.OK)
            {
                return e;
            }
            if ((pblk != 0 && !uninit) == wantData)
            {
                result = Math.Max(offset, (long)lblk << Fs.BlockShift);
                return Errno.OK;
            }
            lblk += (ulong)run;
        }
        // Past the last block: no more data, and the end of the file is a hole.
        result = size;
        return wantData ? Errno.ENXIO : Errno.OK;
    }
}
