using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Logical to physical block mapping (NetBSD's ext2fs_bmap): through the extent list for
/// extent-mapped files, through direct and 1-3 levels of indirect blocks otherwise. Answers
/// with the longest contiguous run so that file data moves in large transfers.
/// </summary>
internal sealed partial class Ext2Node
{
    public const int NDirect = 12;

    private List<ExtentRun>? _extents;
    private List<ulong>? _treeBlocks;
    private bool _extentsDirty;

    private int PtrsPerBlock => Fs.BlockSize / 4;

    /// <summary>The extent list, loaded (and verified) on first use.</summary>
    internal Errno Extents(out List<ExtentRun> list)
    {
        if (_extents is null)
        {
            Errno e = Ext2ExtentTree.Load(this, out List<ExtentRun>? loaded, out List<ulong>? blocks);
            if (e != Errno.OK)
            {
                list = [];
                return e;
            }
            _extents = loaded!;
            _treeBlocks = blocks!;
        }
        list = _extents;
        return Errno.OK;
    }

    /// <summary>
    /// Map <paramref name="lblk"/>: <paramref name="pblk"/> is the physical block (0 for a hole)
    /// and <paramref name="run"/> (1..max) how many following blocks continue the same way.
    /// </summary>
    public Errno Bmap(ulong lblk, int max, out ulong pblk, out int run, out bool uninit)
    {
        pblk = 0;
        run = 1;
        uninit = false;
        if (UsesExtents)
        {
            Errno e = Extents(out List<ExtentRun> list);
            if (e != Errno.OK)
            {
                return e;
            }
            int i = FindExtent(list, lblk);
            if (i >= 0 && lblk < list[i].End)
            {
                ExtentRun x = list[i];
                pblk = x.Physical + (lblk - x.Logical);
                run = (int)Math.Min((ulong)max, x.End - lblk);
                uninit = x.Uninit;
                return Errno.OK;
            }
            ulong next = i + 1 < list.Count ? list[i + 1].Logical : ulong.MaxValue;
            run = (int)Math.Min((ulong)max, next - lblk);
            return Errno.OK;
        }
        return IndirectBmap(lblk, max, out pblk, out run);
    }

    /// <summary>Index of the last extent starting at or before <paramref name="lblk"/>, or -1.</summary>
    internal static int FindExtent(List<ExtentRun> list, ulong lblk)
    {
        int lo = 0, hi = list.Count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (list[mid].Logical <= lblk)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found;
    }

    /// <summary>
    /// The path to <paramref name="lblk"/>: offs[0] indexes i_block, offs[1..depth] the
    /// indirect blocks. EFBIG beyond the triple indirect range.
    /// </summary>
    private Errno IndirectPath(ulong lblk, Span<int> offs, out int depth)
    {
        ulong n = (ulong)PtrsPerBlock;
        depth = 0;
        if (lblk < NDirect)
        {
            offs[0] = (int)lblk;
            return Errno.OK;
        }
        lblk -= NDirect;
        if (lblk < n)
        {
            offs[0] = NDirect;
            offs[1] = (int)lblk;
            depth = 1;
            return Errno.OK;
        }
        lblk -= n;
        if (lblk < n * n)
        {
            offs[0] = NDirect + 1;
            offs[1] = (int)(lblk / n);
            offs[2] = (int)(lblk % n);
            depth = 2;
            return Errno.OK;
        }
        lblk -= n * n;
        if (lblk < n * n * n)
        {
            offs[0] = NDirect + 2;
            offs[1] = (int)(lblk / (n * n));
            offs[2] = (int)(lblk / n % n);
            offs[3] = (int)(lblk % n);
            depth = 3;
            return Errno.OK;
        }
        return Errno.EFBIG;
    }

    private Errno IndirectBmap(ulong lblk, int max, out ulong pblk, out int run)
    {
        pblk = 0;
        run = 1;
        Span<int> offs = stackalloc int[4];
        Errno e = IndirectPath(lblk, offs, out int depth);
        if (e != Errno.OK)
        {
            // Beyond the largest file: a hole to the end (reads stop at i_size anyway).
            run = max;
            return Errno.OK;
        }
        if (depth == 0)
        {
            pblk = Din.BlockPointer(offs[0]);
            int limit = Math.Min(max, NDirect - offs[0]);
            run = 1;
            while (run < limit && Din.BlockPointer(offs[0] + run) == (pblk == 0 ? 0 : pblk + (ulong)run))
            {
                run++;
            }
            return Errno.OK;
        }
        ulong ptr = Din.BlockPointer(offs[0]);
        for (int level = 1; level <= depth; level++)
        {
            if (ptr == 0)
            {
                // A hole spanning the rest of the subtree this pointer would hold.
                run = (int)Math.Min((ulong)max, HoleInSubtree(offs, level, depth));
                return Errno.OK;
            }
            e = Fs.ReadBlock(ptr, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            using (bp)
            {
                ReadOnlySpan<byte> b = bp!.Data;
                ptr = BinaryPrimitives.ReadUInt32LittleEndian(b[(offs[level] * 4)..]);
                if (level == depth)
                {
                    int limit = Math.Min(max, PtrsPerBlock - offs[level]);
                    run = 1;
                    while (run < limit
                        && BinaryPrimitives.ReadUInt32LittleEndian(b[((offs[level] + run) * 4)..]) == (ptr == 0 ? 0 : ptr + (ulong)run))
                    {
                        run++;
                    }
                }
            }
        }
        if (ptr != 0 && !Fs.ValidBlock(ptr + (ulong)run - 1))
        {
            return Fs.Corrupt((long)ptr, $"inode {Number} maps a block outside the file system");
        }
        pblk = ptr;
        return Errno.OK;
    }

    /// <summary>
    /// Add to <paramref name="into"/> the blocks that hold the map of the first
    /// <paramref name="logicalBlocks"/> blocks (extent index and leaf blocks, or indirect
    /// blocks), not the data blocks themselves.
    /// </summary>
    internal Errno MapBlocks(ulong logicalBlocks, ISet<ulong> into)
    {
        if (UsesExtents)
        {
            Errno e = Extents(out _);
            if (e == Errno.OK)
            {
                into.UnionWith(_treeBlocks!);
            }
            return e;
        }
        Span<int> offs = stackalloc int[4];
        ulong lblk = NDirect;
        while (lblk < logicalBlocks)
        {
            if (IndirectPath(lblk, offs, out int depth) != Errno.OK)
            {
                return Errno.OK;
            }
            ulong ptr = Din.BlockPointer(offs[0]);
            for (int level = 1; level <= depth && ptr != 0; level++)
            {
                into.Add(ptr);
                if (level == depth)
                {
                    break;
                }
                Errno e = Fs.ReadBlock(ptr, out Buffer? bp);
                if (e != Errno.OK)
                {
                    return e;
                }
                using (bp)
                {
                    ptr = BinaryPrimitives.ReadUInt32LittleEndian(bp!.Data[(offs[level] * 4)..]);
                }
            }
            // On to the first block that the next leaf pointer block maps.
            lblk += (ulong)(PtrsPerBlock - offs[depth]);
        }
        return Errno.OK;
    }

    /// <summary>
    /// Blocks from the path <paramref name="offs"/> to the end of the subtree below the
    /// absent pointer at <paramref name="level"/> (1 = the pointer in i_block).
    /// </summary>
    private ulong HoleInSubtree(ReadOnlySpan<int> offs, int level, int depth)
    {
        ulong span = 1, within = 0;
        for (int l = depth; l >= level; l--)
        {
            within += (ulong)offs[l] * span;
            span *= (ulong)PtrsPerBlock;
        }
        return span - within;
    }

    /// <summary>Charge or refund <paramref name="blocks"/> file-system blocks in i_blocks.</summary>
    internal void AddBlocks(long blocks)
    {
        long sectors = blocks << (Fs.BlockShift - 9);
        if (Fs.HugeFile && (Din.Flags & Ext2Dinode.FlagHugeFile) != 0)
        {
            Din.BlocksRaw = (ulong)((long)Din.BlocksRaw + blocks);
        }
        else
        {
            Din.BlocksRaw = (ulong)((long)Din.BlocksRaw + sectors);
        }
        MarkDirty();
    }

    /// <summary>
    /// Give the hole at <paramref name="lblk"/> up to <paramref name="count"/> new contiguous
    /// blocks. Returns the first physical block and how many were mapped (at least one).
    /// The blocks' contents are left to the caller, except with <paramref name="unwritten"/>
    /// on an extent-mapped file: the run is then an unwritten extent, which reads as zeros
    /// whatever the blocks hold (fallocate).
    /// </summary>
    public Errno AllocateRun(ulong lblk, int count, out ulong pblk, out int got, bool unwritten = false)
    {
        pblk = 0;
        got = 0;
        if (UsesExtents)
        {
            return AllocateExtentRun(lblk, count, unwritten, out pblk, out got);
        }
        return AllocateIndirectRun(lblk, count, out pblk, out got);
    }

    private Errno AllocateExtentRun(ulong lblk, int count, bool unwritten, out ulong pblk, out int got)
    {
        pblk = 0;
        got = 0;
        if (lblk + (ulong)count > uint.MaxValue)
        {
            return Errno.EFBIG;
        }
        Errno e = Extents(out List<ExtentRun> list);
        if (e != Errno.OK)
        {
            return e;
        }
        int i = FindExtent(list, lblk);
        ulong goal = i >= 0 ? list[i].Physical + (lblk - list[i].Logical) : Fs.GoalForInode(Number);
        if (i + 1 < list.Count)
        {
            count = (int)Math.Min((ulong)count, list[i + 1].Logical - lblk);
        }
        int maxLength = unwritten ? Ext4Extent.MaxUninitLen : Ext4Extent.MaxInitLen;
        count = Math.Min(count, maxLength);
        e = ReserveTreeBlocks(list.Count + 1, list);
        if (e != Errno.OK)
        {
            return e;
        }
        e = QuotaAllowsBlocks(ref count);
        if (e != Errno.OK)
        {
            return e;
        }
        e = Fs.AllocBlocks(goal, count, out pblk, out got);
        if (e != Errno.OK)
        {
            return e;
        }
        var x = new ExtentRun((uint)lblk, pblk, got, unwritten);
        if (i >= 0 && list[i].Uninit == unwritten && list[i].End == lblk && list[i].Physical + (ulong)list[i].Length == pblk
            && list[i].Length + got <= maxLength)
        {
            list[i] = list[i] with { Length = list[i].Length + got };
        }
        else
        {
            list.Insert(i + 1, x);
        }
        _extentsDirty = true;
        AddBlocks(got);
        return Errno.OK;
    }

    private Errno AllocateIndirectRun(ulong lblk, int count, out ulong pblk, out int got)
    {
        pblk = 0;
        got = 0;
        Span<int> offs = stackalloc int[4];
        Errno e = IndirectPath(lblk, offs, out int depth);
        if (e != Errno.OK)
        {
            return e;
        }
        ulong goal = Fs.GoalForInode(Number);
        if (depth == 0)
        {
            int limit = Math.Min(count, NDirect - offs[0]);
            for (int k = 1; k < limit; k++)
            {
                if (Din.BlockPointer(offs[0] + k) != 0)
                {
                    limit = k;
                    break;
                }
            }
            if (offs[0] > 0 && Din.BlockPointer(offs[0] - 1) != 0)
            {
                goal = Din.BlockPointer(offs[0] - 1) + 1UL;
            }
            e = QuotaAllowsBlocks(ref limit);
            if (e != Errno.OK)
            {
                return e;
            }
            e = Fs.AllocBlocks(goal, limit, out pblk, out got);
            if (e != Errno.OK)
            {
                return e;
            }
            for (int k = 0; k < got; k++)
            {
                Din.SetBlockPointer(offs[0] + k, (uint)(pblk + (ulong)k));
            }
            AddBlocks(got);
            return Errno.OK;
        }

        // Walk down, creating missing indirect blocks.
        uint top = Din.BlockPointer(offs[0]);
        if (top == 0)
        {
            e = NewIndirectBlock(goal, out ulong nb);
            if (e != Errno.OK)
            {
                return e;
            }
            top = (uint)nb;
            Din.SetBlockPointer(offs[0], top);
            MarkDirty();
        }
        ulong ptr = top;
        for (int level = 1; level <= depth; level++)
        {
            e = Fs.ReadBlock(ptr, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            using (bp)
            {
                Span<byte> b = bp!.Data;
                int at = offs[level] * 4;
                if (level < depth)
                {
                    ulong child = BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);
                    if (child == 0)
                    {
                        e = NewIndirectBlock(ptr + 1, out child);
                        if (e != Errno.OK)
                        {
                            return e;
                        }
                        lock (bp.SyncRoot)
                        {
                            BinaryPrimitives.WriteUInt32LittleEndian(b[at..], (uint)child);
                        }
                        Fs.Dirty(bp);
                    }
                    ptr = child;
                    continue;
                }
                int limit = Math.Min(count, PtrsPerBlock - offs[level]);
                for (int k = 1; k < limit; k++)
                {
                    if (BinaryPrimitives.ReadUInt32LittleEndian(b[(at + (4 * k))..]) != 0)
                    {
                        limit = k;
                        break;
                    }
                }
                goal = offs[level] > 0 && BinaryPrimitives.ReadUInt32LittleEndian(b[(at - 4)..]) != 0
                    ? BinaryPrimitives.ReadUInt32LittleEndian(b[(at - 4)..]) + 1UL
                    : ptr + 1;
                e = QuotaAllowsBlocks(ref limit);
                if (e != Errno.OK)
                {
                    return e;
                }
                e = Fs.AllocBlocks(goal, limit, out pblk, out got);
                if (e != Errno.OK)
                {
                    return e;
                }
                lock (bp.SyncRoot)
                {
                    for (int k = 0; k < got; k++)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(b[(at + (4 * k))..], (uint)(pblk + (ulong)k));
                    }
                }
                Fs.Dirty(bp);
                AddBlocks(got);
            }
        }
        return Errno.OK;
    }

    private Errno NewIndirectBlock(ulong goal, out ulong blk)
    {
        blk = 0;
        int one = 1;
        Errno e = QuotaAllowsBlocks(ref one);
        if (e != Errno.OK)
        {
            return e;
        }
        e = Fs.AllocBlocks(goal, 1, out blk, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        using (Buffer nb = Fs.GetBlock(blk))
        {
            lock (nb.SyncRoot)
            {
                nb.Data.Clear();
            }
            Fs.Dirty(nb);
        }
        AddBlocks(1);
        return Errno.OK;
    }

    /// <summary>
    /// Take now the tree blocks a list of <paramref name="extents"/> extents needs, before the
    /// change that adds them: a full file system then refuses that write (ENOSPC) instead of
    /// the write-back (<see cref="FlushBlockMap"/>) finding no block for the tree and losing
    /// every new extent. The blocks join the file's tree blocks, which the write-back reuses
    /// first and frees when the tree turns out smaller.
    /// </summary>
    private Errno ReserveTreeBlocks(int extents, List<ExtentRun> list, bool fromPool = false)
    {
        _treeBlocks ??= [];
        int needed = Ext2ExtentTree.BlocksNeeded(Fs.BlockSize, extents);
        while (_treeBlocks.Count < needed)
        {
            ulong goal = _treeBlocks.Count > 0 ? _treeBlocks[^1] + 1 : list.Count > 0 ? list[0].Physical : Fs.GoalForInode(Number);
            Errno e = Fs.AllocBlocks(goal, 1, out ulong blk, out _, fromPool);
            if (e != Errno.OK)
            {
                return e;
            }
            AddBlocks(1);
            _treeBlocks.Add(blk);
            // Stored at write-back even when the change that needed it fails: the tree is
            // then rewritten as it was and the block given back.
            _extentsDirty = true;
            MarkDirty();
        }
        return Errno.OK;
    }

    /// <summary>Write a changed extent list back into the tree (before the inode is written).</summary>
    private Errno FlushBlockMap()
    {
        if (!_extentsDirty || _extents is null)
        {
            return Errno.OK;
        }
        Errno e = Ext2ExtentTree.Store(this, _extents, _treeBlocks ??= []);
        if (e == Errno.OK)
        {
            _extentsDirty = false;
        }
        return e;
    }

    /// <summary>Mark [lblk, lblk+count) of an uninitialized extent as initialized (its data has been written).</summary>
    internal Errno MarkInitialized(ulong lblk, int count)
    {
        Errno e = Extents(out List<ExtentRun> list);
        if (e != Errno.OK)
        {
            return e;
        }
        int i = FindExtent(list, lblk);
        if (i < 0 || !list[i].Uninit || lblk + (ulong)count > list[i].End)
        {
            return Errno.OK;
        }
        // A write into preallocated space must not fail for want of a tree block: the
        // kernel takes those from its reserved pool (EXT4_GET_BLOCKS_METADATA_NOFAIL).
        e = ReserveTreeBlocks(list.Count + 2, list, fromPool: true);
        if (e != Errno.OK)
        {
            return e;
        }
        ExtentRun x = list[i];
        var parts = new List<ExtentRun>(3);
        if (lblk > x.Logical)
        {
            parts.Add(x with { Length = (int)(lblk - x.Logical) });
        }
        parts.Add(new ExtentRun((uint)lblk, x.Physical + (lblk - x.Logical), count, false));
        if (lblk + (ulong)count < x.End)
        {
            ulong start = lblk + (ulong)count;
            parts.Add(new ExtentRun((uint)start, x.Physical + (start - x.Logical), (int)(x.End - start), true));
        }
        list.RemoveAt(i);
        list.InsertRange(i, parts);
        _extentsDirty = true;
        MarkDirty();
        return Errno.OK;
    }
}
