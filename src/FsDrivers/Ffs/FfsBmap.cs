using RumpFs.Kernel;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>Logical to physical block mapping (ufs_bmap.c): direct and 1-3 level indirect blocks.</summary>
internal sealed partial class FfsNode
{
    /// <summary>Most blocks one read or write run may span.</summary>
    private const int MaxRunBlocks = 256;

    /// <summary>
    /// The indirect path of a logical block (ufs_getlbns): which inode pointer (ib index, or
    /// -1 for a direct block) and the index in each indirect level. EFBIG beyond triple.
    /// </summary>
    internal Errno IndirectPath(long lbn, out int level, Span<int> index)
    {
        level = 0;
        if (lbn < FfsSuperblock.NDAddr)
        {
            index[0] = (int)lbn;
            return Errno.OK;
        }
        long n = FfsMount.Sb.Nindir;
        long rel = lbn - FfsSuperblock.NDAddr;
        long span = n;
        for (level = 1; level <= FfsSuperblock.NIAddr; level++)
        {
            if (rel < span)
            {
                // Digits of rel in base nindir, most significant first.
                long r = rel;
                for (int i = level - 1; i >= 0; i--)
                {
                    index[i] = (int)(r % n);
                    r /= n;
                }
                return Errno.OK;
            }
            rel -= span;
            span *= n;
        }
        level = 0;
        return Errno.EFBIG;
    }

    /// <summary>
    /// The fragment address of logical block <paramref name="lbn"/> (0 for a hole) and how
    /// many following logical blocks, up to <paramref name="maxBlocks"/>, continue the run:
    /// physically contiguous, or all holes when <paramref name="phys"/> is 0.
    /// </summary>
    internal Errno Bmap(long lbn, int maxBlocks, out long phys, out int run)
    {
        phys = 0;
        run = 1;
        Span<int> index = stackalloc int[FfsSuperblock.NIAddr];
        Errno e = IndirectPath(lbn, out int level, index);
        if (e == Errno.EFBIG)
        {
            // Past what the block map can address (only a damaged size reaches here): all
            // hole, as ext2 answers. Allocating there stays EFBIG (Balloc).
            run = Math.Max(1, maxBlocks);
            return Errno.OK;
        }
        if (e != Errno.OK)
        {
            return e;
        }
        FfsSuperblock sb = FfsMount.Sb;
        // The fragments the block holds at this size must lie inside one block (chkrange's
        // fragnum test): a whole block aligned, the tail's fragments not running into the
        // next block. Otherwise a read would hand out the bytes of whatever follows.
        int storage = (int)Math.Max(1, sb.NumFrags(BlockSize(lbn)));
        if (level == 0)
        {
            phys = Din.Db[lbn];
            if (!FfsMount.PointerValid(phys, storage))
            {
                return KernelLog.CorruptionOnce("ffs", phys, PointerProblem(lbn, phys, storage));
            }
            int limit = (int)Math.Min(maxBlocks, FfsSuperblock.NDAddr - lbn);
            while (run < limit && Continues(phys, Din.Db[lbn + run], run))
            {
                run++;
            }
            return Errno.OK;
        }
        long ptr = Din.Ib[level - 1];
        for (int l = 0; l < level; l++)
        {
            if (ptr == 0)
            {
                // A hole in the indirect chain: everything below it is a hole, to the end of
                // the subtree that pointer would cover.
                phys = 0;
                run = (int)Math.Min(maxBlocks, HoleBelow(index[l..level], sb.Nindir));
                return Errno.OK;
            }
            if (!FfsMount.PointerValid(ptr, sb.Frag))
            {
                return KernelLog.CorruptionOnce("ffs", ptr, $"inode {Ino} indirect block points outside the data area");
            }
            e = FfsMount.Bufs.Read(sb.FragToBytes(ptr), sb.Bsize, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            int i = index[l];
            ptr = ReadPointer(bp!, i);
            if (l == level - 1)
            {
                phys = ptr;
                int limit = Math.Min(maxBlocks, sb.Nindir - i);
                while (run < limit && Continues(phys, ReadPointer(bp!, i + run), run))
                {
                    run++;
                }
            }
            bp!.Release();
        }
        if (!FfsMount.PointerValid(phys, storage))
        {
            return KernelLog.CorruptionOnce("ffs", phys, PointerProblem(lbn, phys, storage));
        }
        return Errno.OK;
    }

    private string PointerProblem(long lbn, long phys, int frags)
    {
        FfsSuperblock sb = FfsMount.Sb;
        return phys > 0 && phys + frags <= sb.Size && (phys % sb.Frag) + frags > sb.Frag
            ? $"inode {Ino} block {lbn} at fragment {phys}: its {frags} fragments cross into the next block"
            : $"inode {Ino} block {lbn} points outside the data area";
    }

    /// <summary>
    /// Blocks from the one <paramref name="path"/> leads to until the end of the subtree of
    /// the missing pointer at its first step (its indexes from there down).
    /// </summary>
    private static long HoleBelow(ReadOnlySpan<int> path, int nindir)
    {
        long span = 1;
        long position = 0;
        for (int k = path.Length - 1; k >= 0; k--)
        {
            position += path[k] * span;
            span = span > long.MaxValue / nindir ? long.MaxValue : span * nindir;
        }
        return Math.Max(1, span - position);
    }

    private bool Continues(long first, long next, int k) =>
        first == 0 ? next == 0 : next == first + ((long)k << FfsMount.Sb.FragShift);

    internal long ReadPointer(Buffer bp, int i) =>
        FfsMount.Sb.IsUfs2 ? FfsMount.Order.I64(bp.Data, 8 * i) : FfsMount.Order.I32(bp.Data, 4 * i);

    internal void WritePointer(Buffer bp, int i, long v)
    {
        lock (bp.SyncRoot)
        {
            WritePointerLocked(bp, i, v);
        }
    }

    /// <summary><see cref="WritePointer"/> for a caller that already holds the buffer's lock.</summary>
    internal void WritePointerLocked(Buffer bp, int i, long v)
    {
        if (FfsMount.Sb.IsUfs2)
        {
            FfsMount.Order.W64(bp.Data, 8 * i, v);
        }
        else
        {
            FfsMount.Order.W32(bp.Data, 4 * i, (int)v);
        }
    }

    /// <summary>Bytes of storage logical block <paramref name="lbn"/> has at the current size (blksize).</summary>
    internal int BlockSize(long lbn) => BlockSizeAt(lbn, Din.Size);

    internal int BlockSizeAt(long lbn, long size) => FfsMount.Sb.SblkSize(size, lbn);
}
