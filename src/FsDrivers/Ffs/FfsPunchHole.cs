using RumpFs.Kernel;
using RumpFs.Vfs;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// fallocate(2) FALLOC_FL_PUNCH_HOLE: whole blocks inside the range go back to the cylinder
/// groups (an indirect block left without pointers too), the rest of the range is zeroed in
/// place. The block holding the last byte always keeps its storage, as ffs_truncate makes
/// the last byte exist: a file never ends in a hole. FFS holds nothing past the end, so the
/// size and everything else stay.
/// </summary>
internal sealed partial class FfsNode
{
    public override Errno PunchHole(long offset, long length)
    {
        if (offset + length > MaxFileSize)
        {
            // vfs_fallocate's s_maxbytes check, which every mode passes through on Linux.
            return Errno.EFBIG;
        }
        long size = Din.Size;
        long end = Math.Min(offset + length, size);
        if (offset >= end)
        {
            return Errno.OK;
        }
        FfsSuperblock sb = FfsMount.Sb;
        long firstWhole = (offset + sb.Bsize - 1) >> sb.Bshift;
        long endWhole = Math.Min(end >> sb.Bshift, sb.LblkNo(size - 1));
        Errno e;
        if (firstWhole >= endWhole)
        {
            e = ZeroRange(offset, end);
        }
        else
        {
            e = ZeroRange(offset, firstWhole << sb.Bshift);
            if (e == Errno.OK)
            {
                e = ZeroRange(endWhole << sb.Bshift, end);
            }
            if (e == Errno.OK)
            {
                e = FreeBlockRange(firstWhole, endWhole);
            }
        }
        Din.Mtime = Din.Ctime = Mount.Clock.Now;
        MarkDirty();
        return e;
    }

    /// <summary>Zero [from, to) where the file has storage, block by block (holes already read as zeros).</summary>
    private Errno ZeroRange(long from, long to)
    {
        FfsSuperblock sb = FfsMount.Sb;
        while (from < to)
        {
            long lbn = sb.LblkNo(from);
            long blockEnd = Math.Min(to, (lbn + 1) << sb.Bshift);
            Errno e = Bmap(lbn, 1, out long phys, out _);
            if (e != Errno.OK)
            {
                return e;
            }
            if (phys != 0)
            {
                e = FfsMount.Dev.Write(sb.FragToBytes(phys) + sb.BlkOff(from), new byte[blockEnd - from]);
                if (e != Errno.OK)
                {
                    return e;
                }
            }
            from = blockEnd;
        }
        return Errno.OK;
    }

    /// <summary>Free logical blocks [first, end), all of them whole blocks before the last one.</summary>
    private Errno FreeBlockRange(long first, long end)
    {
        FfsSuperblock sb = FfsMount.Sb;
        Errno result = Errno.OK;
        for (long lbn = first; lbn < Math.Min(end, FfsSuperblock.NDAddr); lbn++)
        {
            long p = Din.Db[lbn];
            if (p != 0)
            {
                Din.Db[lbn] = 0;
                Errno e = FreeData(p, sb.Frag);
                result = result == Errno.OK ? e : result;
            }
        }
        long baseLbn = FfsSuperblock.NDAddr;
        long span = sb.Nindir;
        for (int level = 1; level <= FfsSuperblock.NIAddr && baseLbn < end; level++)
        {
            if (Din.Ib[level - 1] != 0 && baseLbn + span > first)
            {
                long ptr = Din.Ib[level - 1];
                Errno e = PunchIndirect(ref ptr, level, baseLbn, first, end);
                result = result == Errno.OK ? e : result;
                Din.Ib[level - 1] = ptr;
            }
            baseLbn += span;
            span *= sb.Nindir;
        }
        return result;
    }

    /// <summary>
    /// Free what the indirect block <paramref name="ptr"/> (at <paramref name="level"/>, 1 =
    /// its entries are data blocks, mapping from <paramref name="baseLbn"/>) maps inside
    /// [first, end); frees the block itself, setting ptr to 0, when no pointer is left in it.
    /// Truncation is the case end = long.MaxValue (ffs_indirtrunc).
    /// </summary>
    private Errno PunchIndirect(ref long ptr, int level, long baseLbn, long first, long end)
    {
        FfsSuperblock sb = FfsMount.Sb;
        if (!FfsMount.PointerValid(ptr, sb.Frag))
        {
            return KernelLog.CorruptionOnce("ffs", ptr, $"inode {Ino} indirect block points outside the data area");
        }
        long childSpan = 1;
        for (int i = 1; i < level; i++)
        {
            childSpan *= sb.Nindir;
        }
        Errno e = FfsMount.Bufs.Read(sb.FragToBytes(ptr), sb.Bsize, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        Errno result = Errno.OK;
        bool changed = false;
        bool anyLeft = false;
        // Data blocks that follow each other on the device in one group are freed as a run.
        long runStart = 0;
        int runLen = 0;
        try
        {
            for (int i = 0; i < sb.Nindir; i++)
            {
                long child = ReadPointer(bp!, i);
                if (child == 0)
                {
                    continue;
                }
                long childBase = baseLbn + (i * childSpan);
                if (childBase + childSpan <= first || childBase >= end)
                {
                    anyLeft = true;
                    continue;
                }
                if (level == 1)
                {
                    if (!FfsMount.PointerValid(child, sb.Frag))
                    {
                        result = FlushFreeRun(result, runStart, ref runLen);
                        result = result == Errno.OK ? KernelLog.CorruptionOnce("ffs", ptr, $"inode {Ino} has a bad block pointer") : result;
                        anyLeft = true;
                        continue;
                    }
                    if (runLen > 0 && child == runStart + ((long)runLen * sb.Frag) && sb.DtoG(child) == sb.DtoG(runStart))
                    {
                        runLen++;
                    }
                    else
                    {
                        result = FlushFreeRun(result, runStart, ref runLen);
                        runStart = child;
                        runLen = 1;
                    }
                    child = 0;
                }
                else
                {
                    e = PunchIndirect(ref child, level - 1, childBase, first, end);
                    result = result == Errno.OK ? e : result;
                    anyLeft |= child != 0;
                }
                WritePointer(bp!, i, child);
                changed = true;
            }
            result = FlushFreeRun(result, runStart, ref runLen);
            if (changed)
            {
                bp!.MarkDirty();
            }
        }
        finally
        {
            bp!.Release();
        }
        if (!anyLeft)
        {
            FfsMount.Bufs.Discard(sb.FragToBytes(ptr), sb.Bsize);
            Din.Blocks = Math.Max(0, Din.Blocks - FragsToSectors(sb.Frag));
            e = FfsMount.Free(ptr, sb.Frag);
            result = result == Errno.OK ? e : result;
            ptr = 0;
        }
        return result;
    }
}
