using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// File writes (ufs_readwrite.c): blocks are allocated first, then the data goes straight to
/// the device in the largest physically contiguous runs the block map gives.
/// </summary>
internal sealed partial class FfsNode
{
    public override Errno Write(long offset, ReadOnlySpan<byte> data, out int written)
    {
        written = 0;
        if (Type == VType.Directory)
        {
            return Errno.EISDIR;
        }
        if (Type != VType.Regular)
        {
            return Errno.EINVAL;
        }
        if ((Din.Flags & FfsFlags.Immutable) != 0 || ((Din.Flags & FfsFlags.Append) != 0 && offset < Din.Size))
        {
            return Errno.EPERM;
        }
        Errno e = WriteData(offset, data, out written);
        if (written > 0)
        {
            Timespec now = Mount.Clock.Now;
            Din.Mtime = Din.Ctime = now;
            MarkDirty();
            return Errno.OK;
        }
        return e;
    }

    /// <summary>Write bytes (for files and slow symlinks), growing the file as needed.</summary>
    internal Errno WriteData(long offset, ReadOnlySpan<byte> data, out int written)
    {
        written = 0;
        FfsSuperblock sb = FfsMount.Sb;
        if (offset + data.Length > MaxFileSize || offset + data.Length < 0)
        {
            return Errno.EFBIG;
        }
        long end = offset + data.Length;
        long newSize = Math.Max(Din.Size, end);
        Errno e = ExpandTail(newSize);
        if (e != Errno.OK)
        {
            return e;
        }
        int pos = 0;
        while (pos < data.Length)
        {
            // Allocate a run of blocks, then write it in one go when they are contiguous.
            long at = offset + pos;
            long lbn = sb.LblkNo(at);
            int boff = sb.BlkOff(at);
            long runPhys = 0;
            int runBytes = 0;
            while (pos + runBytes < data.Length && runBytes < MaxRunBlocks * sb.Bsize)
            {
                long cur = lbn + ((boff + runBytes) >> sb.Bshift);
                int inBlock = runBytes == 0 ? boff : 0;
                int blockBytes = BlockSizeAt(cur, newSize);
                int chunk = Math.Min(blockBytes - inBlock, data.Length - pos - runBytes);
                if (chunk <= 0)
                {
                    break;
                }
                bool whole = inBlock == 0 && chunk == blockBytes;
                e = Balloc(cur, blockBytes, whole, out long phys);
                if (e != Errno.OK)
                {
                    break;
                }
                if (runBytes == 0)
                {
                    runPhys = phys;
                }
                else if (phys != runPhys + ((cur - lbn) << sb.FragShift))
                {
                    // Not contiguous: write what we have; this block starts the next run.
                    break;
                }
                runBytes += chunk;
                if (chunk < blockBytes - inBlock)
                {
                    break;
                }
            }
            if (runBytes == 0)
            {
                break;
            }
            Errno we = FfsMount.Dev.Write(sb.FragToBytes(runPhys) + boff, data.Slice(pos, runBytes));
            if (we != Errno.OK)
            {
                e = we;
                break;
            }
            pos += runBytes;
            written = pos;
            if (offset + pos > Din.Size)
            {
                Din.Size = offset + pos;
                MarkDirty();
            }
            if (e != Errno.OK)
            {
                break;
            }
        }
        if (written < data.Length && Din.Size < newSize)
        {
            // A short write (ENOSPC): the size covers only what was written; storage
            // allocated past it is freed by trimming to the written size.
            long keep = Din.Size;
            Din.Size = newSize;
            Truncate(keep);
        }
        return written == data.Length ? Errno.OK : (e == Errno.OK ? Errno.EIO : e);
    }
}
