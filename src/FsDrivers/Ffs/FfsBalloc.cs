using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Making logical blocks exist (ffs_balloc.c): direct blocks and fragments, the growth of a
/// last fragment (in place, or moved to a larger run, ffs_realloccg), and indirect blocks
/// on the way to a block. Directory blocks are metadata and move through the buffer cache;
/// file blocks are copied on the device.
/// </summary>
internal sealed partial class FfsNode
{
    private bool IsMetadataFile => Type == VType.Directory;

    private long FragsToSectors(long frags) => frags * (FfsMount.Sb.Fsize / 512);

    /// <summary>
    /// Preferred place for a block whose predecessor in the file (or, for the first entry of
    /// an indirect block, that indirect block) is at <paramref name="prevPhys"/>: right after
    /// it; for a first block or after a hole, the start of the inode's group (ffs_blkpref).
    /// Unlike ffs_blkpref this does not move a big file to another group every fs_maxbpg
    /// blocks: a file's blocks follow each other until the group is full, then the search
    /// moves on (as ext2 places them). Spreading a 256 MiB file in 8 MiB stretches over the
    /// groups made cold sequential reads of the image about a fifth slower, measured against
    /// this contiguous placement on the same disk (docs/benchmarks.md, FFS section).
    /// </summary>
    private long BlkPref(long prevPhys)
    {
        FfsSuperblock sb = FfsMount.Sb;
        if (prevPhys > 0)
        {
            long p = prevPhys - (prevPhys % sb.Frag) + sb.Frag;
            return p < sb.Size ? p : 0;
        }
        return sb.CgDMin(sb.InoToCg(Ino));
    }

    /// <summary>
    /// Make logical block <paramref name="lbn"/> hold at least <paramref name="size"/> bytes
    /// (a whole block, or fragments for the last block of a small file). New storage is
    /// zeroed unless <paramref name="willOverwrite"/> (the caller writes all of it).
    /// </summary>
    internal Errno Balloc(long lbn, int size, bool willOverwrite, out long phys)
    {
        phys = 0;
        FfsSuperblock sb = FfsMount.Sb;
        if (lbn < FfsSuperblock.NDAddr)
        {
            long nb = Din.Db[lbn];
            int nfrags = (int)sb.NumFrags(size);
            if (nb != 0)
            {
                int have = (int)sb.NumFrags(BlockSize(lbn));
                if (!FfsMount.PointerValid(nb, have))
                {
                    return KernelLog.CorruptionOnce("ffs", nb, $"inode {Ino} block {lbn} points outside the data area");
                }
                if (have >= nfrags)
                {
                    phys = nb;
                    return Errno.OK;
                }
                Errno re = Realloc(lbn, nb, have, nfrags, out phys);
                if (re == Errno.OK)
                {
                    Din.Db[lbn] = phys;
                    MarkDirty();
                }
                return re;
            }
            long prev = lbn > 0 ? Din.Db[lbn - 1] : 0;
            Errno e = FfsMount.Alloc(BlkPref(prev), nfrags, out phys);
            if (e != Errno.OK)
            {
                return e;
            }
            Din.Db[lbn] = phys;
            Din.Blocks += FragsToSectors(nfrags);
            MarkDirty();
            return willOverwrite ? Errno.OK : ZeroNew(phys, 0, nfrags);
        }
        return BallocIndirect(lbn, willOverwrite, out phys);
    }

    /// <summary>Grow the fragments of block <paramref name="lbn"/> from <paramref name="oldN"/> to <paramref name="newN"/>.</summary>
    private Errno Realloc(long lbn, long old, int oldN, int newN, out long phys)
    {
        phys = 0;
        Errno e = FfsMount.Extend(old, oldN, newN, out bool extended);
        if (e != Errno.OK)
        {
            return e;
        }
        if (extended)
        {
            phys = old;
            Din.Blocks += FragsToSectors(newN - oldN);
            return ZeroNew(old, oldN, newN);
        }
        e = FfsMount.Alloc(BlkPref(lbn > 0 ? Din.Db[lbn - 1] : 0), newN, newN - oldN, out phys);
        if (e != Errno.OK)
        {
            return e;
        }
        FfsSuperblock sb = FfsMount.Sb;
        int oldBytes = oldN << sb.Fshift;
        if (IsMetadataFile)
        {
            e = FfsMount.Bufs.Read(sb.FragToBytes(old), oldBytes, out Buffer? ob);
            if (e == Errno.OK)
            {
                Buffer nbuf = FfsMount.Bufs.Get(sb.FragToBytes(phys), newN << sb.Fshift);
                lock (nbuf.SyncRoot)
                {
                    nbuf.Data.Clear();
                    ob!.Data.CopyTo(nbuf.Data);
                }
                nbuf.MarkDirty();
                nbuf.Release();
                ob!.Release();
            }
            FfsMount.Bufs.Discard(sb.FragToBytes(old), oldBytes);
        }
        else
        {
            byte[] tmp = new byte[newN << sb.Fshift];
            e = FfsMount.Dev.Read(sb.FragToBytes(old), tmp.AsSpan(0, oldBytes));
            if (e == Errno.OK)
            {
                e = FfsMount.Dev.Write(sb.FragToBytes(phys), tmp);
            }
        }
        if (e != Errno.OK)
        {
            FfsMount.Free(phys, newN);
            phys = 0;
            return e;
        }
        Din.Blocks += FragsToSectors(newN - oldN);
        return FfsMount.Free(old, oldN);
    }

    /// <summary>Zero fragments [fromN, toN) of a newly allocated run of a file (directories are initialised by their writer).</summary>
    private Errno ZeroNew(long phys, int fromN, int toN)
    {
        if (IsMetadataFile || toN <= fromN)
        {
            return Errno.OK;
        }
        // The shared zero source: no array per call on the path every small file's first write takes.
        FfsSuperblock sb = FfsMount.Sb;
        return FfsMount.Dev.WriteZeros(sb.FragToBytes(phys + fromN), (long)(toN - fromN) << sb.Fshift);
    }

    private Errno BallocIndirect(long lbn, bool willOverwrite, out long phys)
    {
        phys = 0;
        FfsSuperblock sb = FfsMount.Sb;
        Errno e = LeafIndirect(lbn, out Buffer? bp, out long leaf, out int i);
        if (e != Errno.OK)
        {
            return e;
        }
        try
        {
            long child = ReadPointer(bp!, i);
            if (!FfsMount.PointerValid(child, sb.Frag))
            {
                return KernelLog.CorruptionOnce("ffs", child, $"inode {Ino} block {lbn} points outside the data area");
            }
            if (child == 0)
            {
                long prev = i > 0 ? ReadPointer(bp!, i - 1) : leaf;
                e = FfsMount.Alloc(BlkPref(prev), sb.Frag, out child);
                if (e != Errno.OK)
                {
                    return e;
                }
                Din.Blocks += FragsToSectors(sb.Frag);
                WritePointer(bp!, i, child);
                bp!.MarkDirty();
                MarkDirty();
                e = willOverwrite ? Errno.OK : ZeroNew(child, 0, sb.Frag);
                if (e != Errno.OK)
                {
                    return e;
                }
            }
            phys = child;
            return Errno.OK;
        }
        finally
        {
            bp!.Release();
        }
    }

    /// <summary>
    /// The last-level indirect block on the path to <paramref name="lbn"/> (referenced; the
    /// caller releases it), at fragment <paramref name="leaf"/>, and the index of
    /// <paramref name="lbn"/>'s pointer in it. Missing indirect blocks on the way are
    /// allocated, zeroed, after the blocks mapped before them.
    /// </summary>
    private Errno LeafIndirect(long lbn, out Buffer? leafBuf, out long leaf, out int index)
    {
        leafBuf = null;
        leaf = 0;
        index = 0;
        FfsSuperblock sb = FfsMount.Sb;
        Span<int> path = stackalloc int[FfsSuperblock.NIAddr];
        Errno e = IndirectPath(lbn, out int level, path);
        if (e != Errno.OK)
        {
            return e;
        }
        long ptr = Din.Ib[level - 1];
        if (ptr == 0)
        {
            e = NewIndirect(BlkPref(Din.Db[FfsSuperblock.NDAddr - 1]), out ptr);
            if (e != Errno.OK)
            {
                return e;
            }
            Din.Ib[level - 1] = ptr;
            MarkDirty();
        }
        for (int l = 0; ; l++)
        {
            if (!FfsMount.PointerValid(ptr, sb.Frag))
            {
                return KernelLog.CorruptionOnce("ffs", ptr, $"inode {Ino} indirect block points outside the data area");
            }
            e = FfsMount.Bufs.Read(sb.FragToBytes(ptr), sb.Bsize, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            int i = path[l];
            if (l == level - 1)
            {
                leafBuf = bp;
                leaf = ptr;
                index = i;
                return Errno.OK;
            }
            try
            {
                long child = ReadPointer(bp!, i);
                if (child == 0)
                {
                    e = NewIndirect(BlkPref(i > 0 ? ReadPointer(bp!, i - 1) : ptr), out child);
                    if (e != Errno.OK)
                    {
                        return e;
                    }
                    WritePointer(bp!, i, child);
                    bp!.MarkDirty();
                    MarkDirty();
                }
                ptr = child;
            }
            finally
            {
                bp!.Release();
            }
        }
    }

    /// <summary>Allocate and zero an indirect block (metadata, so through the buffer cache).</summary>
    private Errno NewIndirect(long pref, out long frag)
    {
        FfsSuperblock sb = FfsMount.Sb;
        Errno e = FfsMount.Alloc(pref, sb.Frag, out frag);
        if (e != Errno.OK)
        {
            return e;
        }
        Din.Blocks += FragsToSectors(sb.Frag);
        Buffer bp = FfsMount.Bufs.Get(sb.FragToBytes(frag), sb.Bsize);
        lock (bp.SyncRoot)
        {
            bp.Data.Clear();
        }
        bp.MarkDirty();
        bp.Release();
        return Errno.OK;
    }

    /// <summary>
    /// Before the file grows to <paramref name="newSize"/>: a last block that is a fragment
    /// and will no longer be last becomes a whole block (ffs_balloc's first step). A block
    /// already mapped past the end refuses the growth (see <see cref="NothingMappedPastEnd"/>).
    /// </summary>
    internal Errno ExpandTail(long newSize)
    {
        FfsSuperblock sb = FfsMount.Sb;
        if (newSize <= Din.Size)
        {
            return Errno.OK;
        }
        Errno bad = NothingMappedPastEnd();
        if (bad != Errno.OK || Din.Size == 0)
        {
            return bad;
        }
        long lastLbn = sb.LblkNo(Din.Size - 1);
        if (lastLbn >= FfsSuperblock.NDAddr || Din.Db[lastLbn] == 0 || sb.LblkNo(newSize - 1) == lastLbn)
        {
            // Still the last block: the caller's Balloc grows its fragments.
            return Errno.OK;
        }
        if (BlockSize(lastLbn) == sb.Bsize)
        {
            return Errno.OK;
        }
        Errno e = Balloc(lastLbn, sb.Bsize, willOverwrite: false, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        // The block map now holds a whole block there; the size must say so too, or the
        // next look at this block would take it for a fragment (ffs_balloc sets i_size).
        // The bytes between the old end and here are zeros.
        Din.Size = (lastLbn + 1) << sb.Bshift;
        MarkDirty();
        return Errno.OK;
    }

    /// <summary>
    /// EIO (logged) when a direct block, or a whole indirect tree, is mapped past the end of
    /// file. The driver never leaves one; on a damaged image it is garbage or another file's
    /// block (fsck frees it), and growing the file over it would hand that block's bytes to
    /// this file and then write into it, as NetBSD would. Indirect blocks that straddle the
    /// end are not read here.
    /// </summary>
    private Errno NothingMappedPastEnd()
    {
        FfsSuperblock sb = FfsMount.Sb;
        if (Din.FastLink is not null)
        {
            return Errno.OK;
        }
        long firstPast = Din.Size == 0 ? 0 : sb.LblkNo(Din.Size - 1) + 1;
        for (long lbn = firstPast; lbn < FfsSuperblock.NDAddr; lbn++)
        {
            if (Din.Db[lbn] != 0)
            {
                return KernelLog.CorruptionOnce("ffs", Din.Db[lbn], $"inode {Ino}: block {lbn} mapped past the end of file");
            }
        }
        long baseLbn = FfsSuperblock.NDAddr;
        long span = sb.Nindir;
        for (int level = 1; level <= FfsSuperblock.NIAddr; level++)
        {
            if (Din.Ib[level - 1] != 0 && baseLbn >= firstPast)
            {
                return KernelLog.CorruptionOnce("ffs", Din.Ib[level - 1], $"inode {Ino}: indirect block for block {baseLbn} mapped past the end of file");
            }
            baseLbn += span;
            span *= sb.Nindir;
        }
        return Errno.OK;
    }
}
