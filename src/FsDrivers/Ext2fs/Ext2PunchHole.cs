using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// fallocate(2) FALLOC_FL_PUNCH_HOLE (ext4_punch_hole): the blocks wholly inside the range go
/// back to the bitmaps and leave a hole; the parts of the blocks at its edges are zeroed in
/// place. Extents are cut (an extent across the hole becomes two), block maps lose their
/// pointers, and an indirect block left without any goes too. The size stays. Truncation
/// frees through the same walks, with a range that has no end.
/// </summary>
internal sealed partial class Ext2Node
{
    public override Errno PunchHole(long offset, long length)
    {
        if (HasInlineData)
        {
            return Errno.ENOTSUP;
        }
        long end = offset + length;
        if (end > MaxFileSize)
        {
            // vfs_fallocate's s_maxbytes check, which every mode passes through on Linux.
            return Errno.EFBIG;
        }
        int shift = Fs.BlockShift;
        long firstWhole = (offset + Fs.BlockSize - 1) >> shift;
        long endWhole = end >> shift;
        Errno e;
        if (firstWhole > endWhole)
        {
            // Inside one block: only zeros to write.
            e = ZeroInBlock(offset, end);
        }
        else
        {
            e = ZeroInBlock(offset, firstWhole << shift);
            if (e == Errno.OK)
            {
                e = ZeroInBlock(endWhole << shift, end);
            }
            if (e == Errno.OK && firstWhole < endWhole)
            {
                e = UsesExtents ? FreeExtentRange((ulong)firstWhole, (ulong)endWhole) : FreeIndirectRange((ulong)firstWhole, (ulong)endWhole);
            }
        }
        Timespec now = Fs.Clock.Now;
        Din.Mtime = now;
        Din.Ctime = now;
        MarkDirty();
        return e;
    }

    /// <summary>Zero [from, to) of one block of the file, if it has storage there that holds data.</summary>
    private Errno ZeroInBlock(long from, long to)
    {
        if (from >= to)
        {
            return Errno.OK;
        }
        Errno e = Bmap((ulong)from >> Fs.BlockShift, 1, out ulong pblk, out _, out bool uninit);
        if (e != Errno.OK || pblk == 0 || uninit)
        {
            return e;
        }
        long inBlock = from & (Fs.BlockSize - 1);
        return Fs.Io.Write(((long)pblk << Fs.BlockShift) + inBlock, new byte[to - from]);
    }

    /// <summary>Free logical blocks [first, end) of an extent-mapped file.</summary>
    private Errno FreeExtentRange(ulong first, ulong end)
    {
        Errno e = Extents(out List<ExtentRun> list);
        if (e != Errno.OK)
        {
            return e;
        }
        var kept = new List<ExtentRun>(list.Count + 1);
        foreach (ExtentRun x in list)
        {
            if (x.End <= first || x.Logical >= end)
            {
                kept.Add(x);
                continue;
            }
            if (x.Logical < first)
            {
                kept.Add(x with { Length = (int)(first - x.Logical) });
            }
            ulong from = Math.Max(x.Logical, first);
            ulong to = Math.Min(x.End, end);
            Errno freed = Fs.FreeBlocks(x.Physical + (from - x.Logical), (long)(to - from), DataIsMetadata);
            AddBlocks(-(long)(to - from));
            if (freed != Errno.OK && e == Errno.OK)
            {
                e = freed;
            }
            if (x.End > end)
            {
                ulong skip = end - x.Logical;
                kept.Add(x with { Logical = (uint)end, Physical = x.Physical + skip, Length = (int)(x.End - end) });
            }
        }
        list.Clear();
        list.AddRange(kept);
        _extentsDirty = true;
        Errno stored = FlushBlockMap();
        return e != Errno.OK ? e : stored;
    }

    /// <summary>Free logical blocks [first, end) of a block-mapped file.</summary>
    private Errno FreeIndirectRange(ulong first, ulong end)
    {
        var acc = new FreeAccumulator(this);
        for (int i = 0; i < NDirect; i++)
        {
            uint p = Din.BlockPointer(i);
            if ((ulong)i >= first && (ulong)i < end && p != 0)
            {
                acc.Add(p, DataIsMetadata);
                Din.SetBlockPointer(i, 0);
            }
        }
        ulong baseBlk = NDirect;
        ulong span = (ulong)PtrsPerBlock;
        for (int level = 1; level <= 3 && baseBlk < end; level++)
        {
            uint root = Din.BlockPointer(NDirect + level - 1);
            if (root != 0 && baseBlk + span > first)
            {
                Errno e = FreeInTree(root, level, baseBlk, first, end, acc, out bool emptied);
                if (e != Errno.OK)
                {
                    return e;
                }
                if (emptied)
                {
                    acc.Add(root, metadata: true);
                    Din.SetBlockPointer(NDirect + level - 1, 0);
                }
            }
            baseBlk += span;
            span *= (ulong)PtrsPerBlock;
        }
        MarkDirty();
        return acc.Flush();
    }

    /// <summary>
    /// Clear the pointers of the indirect block <paramref name="blk"/> (at
    /// <paramref name="level"/>, mapping from <paramref name="baseBlk"/>) that map into
    /// [first, end), freeing what they point to; <paramref name="emptied"/> when none is left.
    /// </summary>
    private Errno FreeInTree(ulong blk, int level, ulong baseBlk, ulong first, ulong end, FreeAccumulator acc, out bool emptied)
    {
        emptied = false;
        Errno e = Fs.ReadBlock(blk, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        ulong per = 1;
        for (int k = 1; k < level; k++)
        {
            per *= (ulong)PtrsPerBlock;
        }
        using (bp)
        {
            Span<byte> b = bp!.Data;
            bool any = false;
            bool changed = false;
            for (int i = 0; i < PtrsPerBlock; i++)
            {
                uint p = BinaryPrimitives.ReadUInt32LittleEndian(b[(i * 4)..]);
                if (p == 0)
                {
                    continue;
                }
                ulong childBase = baseBlk + ((ulong)i * per);
                bool clear = false;
                if (childBase >= end || childBase + per <= first)
                {
                    any = true;
                }
                else if (childBase >= first && childBase + per <= end)
                {
                    // Wholly inside the hole.
                    if (level == 1)
                    {
                        acc.Add(p, DataIsMetadata);
                    }
                    else
                    {
                        e = FreeSubtree(p, level - 1, acc);
                    }
                    clear = true;
                }
                else
                {
                    e = FreeInTree(p, level - 1, childBase, first, end, acc, out bool childEmpty);
                    if (childEmpty)
                    {
                        acc.Add(p, metadata: true);
                        clear = true;
                    }
                    else
                    {
                        any = true;
                    }
                }
                if (clear)
                {
                    lock (bp.SyncRoot)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(b[(i * 4)..], 0);
                    }
                    changed = true;
                }
                if (e != Errno.OK)
                {
                    return e;
                }
            }
            emptied = !any;
            if (changed && !emptied)
            {
                Fs.Dirty(bp);
            }
        }
        return Errno.OK;
    }
}
