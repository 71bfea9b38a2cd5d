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
        // Allocate whole blocks a run at a time (other blocks one by one); extend the current
        // device run while the blocks are physically contiguous and write it in one device
        // call when the next block is not.
        int pos = 0;
        long runPhys = 0;
        int runStart = 0;
        int runBytes = 0;
        long failedLbn = -1;
        while (pos + runBytes < data.Length)
        {
            long at = offset + pos + runBytes;
            long lbn = sb.LblkNo(at);
            int boff = sb.BlkOff(at);
            int remaining = data.Length - pos - runBytes;
            int blockBytes = BlockSizeAt(lbn, newSize);
            long phys;
            int chunk;
            if (boff == 0 && remaining >= sb.Bsize && blockBytes == sb.Bsize)
            {
                e = BallocRun(lbn, Math.Min(remaining >> sb.Bshift, MaxRunBlocks), out phys, out int got);
                chunk = got << sb.Bshift;
            }
            else
            {
                chunk = Math.Min(blockBytes - boff, remaining);
                e = Balloc(lbn, blockBytes, boff == 0 && chunk == blockBytes, out phys);
            }
            if (e != Errno.OK)
            {
                failedLbn = lbn;
                break;
            }
            long physAt = sb.FragToBytes(phys) + boff;
            if (runBytes > 0 && physAt != sb.FragToBytes(runPhys) + runStart + runBytes)
            {
                e = FlushRun(offset, data, ref pos, runPhys, runStart, ref runBytes, out written);
                if (e != Errno.OK)
                {
                    break;
                }
            }
            if (runBytes == 0)
            {
                runPhys = phys;
                runStart = boff;
            }
            runBytes += chunk;
            if (runBytes >= MaxRunBlocks * sb.Bsize)
            {
                e = FlushRun(offset, data, ref pos, runPhys, runStart, ref runBytes, out written);
                if (e != Errno.OK)
                {
                    break;
                }
            }
        }
        if (runBytes > 0)
        {
            Errno fe = FlushRun(offset, data, ref pos, runPhys, runStart, ref runBytes, out written);
            e = e == Errno.OK ? fe : e;
        }
        written = pos;
        if (written < data.Length && Din.Size < newSize)
        {
            // A short write (ENOSPC): the size covers only what was written; storage
            // allocated past it is freed by trimming to the written size.
            GiveBackPastSize(AllocatedExtent(failedLbn, newSize));
        }
        return written == data.Length ? Errno.OK : (e == Errno.OK ? Errno.EIO : e);
    }

    /// <summary>
    /// How far the block map holds storage sized for <paramref name="newSize"/> after Balloc
    /// failed at <paramref name="failedLbn"/> (-1: it did not fail). Every block before it was
    /// allocated whole; the failed block itself is covered only when it has no direct block of
    /// its own, since a last fragment that could not grow still has its old, smaller size, and
    /// a size covering it would make the trim free fragments that belong to other files.
    /// </summary>
    private long AllocatedExtent(long failedLbn, long newSize)
    {
        if (failedLbn < 0)
        {
            return newSize;
        }
        FfsSuperblock sb = FfsMount.Sb;
        bool ownDirect = failedLbn < FfsSuperblock.NDAddr && Din.Db[failedLbn] != 0;
        long covered = (ownDirect ? failedLbn : failedLbn + 1) << sb.Bshift;
        return Math.Min(newSize, covered);
    }

    /// <summary>After a failed growth, free what was allocated between the current size and <paramref name="allocatedTo"/>.</summary>
    private void GiveBackPastSize(long allocatedTo)
    {
        long keep = Din.Size;
        if (allocatedTo <= keep)
        {
            return;
        }
        Din.Size = allocatedTo;
        Truncate(keep);
    }

    /// <summary>Write the pending run to the device and advance the file size over it.</summary>
    private Errno FlushRun(long offset, ReadOnlySpan<byte> data, ref int pos, long runPhys, int runStart, ref int runBytes, out int written)
    {
        FfsSuperblock sb = FfsMount.Sb;
        Errno e = FfsMount.Dev.Write(sb.FragToBytes(runPhys) + runStart, data.Slice(pos, runBytes));
        if (e == Errno.OK)
        {
            pos += runBytes;
            if (offset + pos > Din.Size)
            {
                Din.Size = offset + pos;
                MarkDirty();
            }
        }
        runBytes = 0;
        written = pos;
        return e;
    }

    /// <summary>SEEK_DATA / SEEK_HOLE from the block map: unallocated blocks are holes.</summary>
    public override Errno Seek(long offset, SeekWhence whence, out long result)
    {
        result = 0;
        if (Type != VType.Regular)
        {
            return base.Seek(offset, whence, out result);
        }
        if (offset < 0 || offset >= Din.Size)
        {
            return Errno.ENXIO;
        }
        FfsSuperblock sb = FfsMount.Sb;
        long lbn = sb.LblkNo(offset);
        long lastLbn = sb.LblkNo(Din.Size - 1);
        while (lbn <= lastLbn)
        {
            Errno e = Bmap(lbn, int.MaxValue, out long phys, out int run);
            if (e != Errno.OK)
            {
                return e;
            }
            if ((phys != 0) == (whence == SeekWhence.Data))
            {
                result = Math.Max(offset, lbn << sb.Bshift);
                return Errno.OK;
            }
            lbn += run;
        }
        if (whence == SeekWhence.Data)
        {
            return Errno.ENXIO;
        }
        result = Din.Size;
        return Errno.OK;
    }

    /// <summary>fallocate mode 0: make every block of the range exist (zeroed) and grow the size to cover it.</summary>
    public override Errno Allocate(long offset, long length)
    {
        if (Type != VType.Regular)
        {
            return Errno.ENODEV;
        }
        FfsSuperblock sb = FfsMount.Sb;
        long end = offset + length;
        if (end > MaxFileSize || end < 0)
        {
            return Errno.EFBIG;
        }
        long newSize = Math.Max(Din.Size, end);
        Errno e = ExpandTail(newSize);
        if (e != Errno.OK)
        {
            return e;
        }
        for (long lbn = sb.LblkNo(offset); lbn <= sb.LblkNo(end - 1); lbn++)
        {
            e = Balloc(lbn, BlockSizeAt(lbn, newSize), willOverwrite: false, out _);
            if (e != Errno.OK)
            {
                // Like a short write: blocks past the old size are given back.
                GiveBackPastSize(AllocatedExtent(lbn, newSize));
                return e;
            }
        }
        if (newSize != Din.Size)
        {
            Din.Size = newSize;
            Din.Ctime = Mount.Clock.Now;
        }
        MarkDirty();
        return Errno.OK;
    }
}
