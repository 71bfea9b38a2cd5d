using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Truncation (ffs_inode.c: ffs_truncate): frees direct blocks, what the indirect trees map
/// past the end (the walk punched holes share, ffs_indirtrunc) and the tail fragments of
/// the new last block, and zeroes the bytes past the new end so a later extension reads zeros.
/// </summary>
internal sealed partial class FfsNode
{
    /// <summary>Set the file size to <paramref name="length"/>, freeing or allocating storage.</summary>
    internal Errno Truncate(long length)
    {
        FfsSuperblock sb = FfsMount.Sb;
        if (length == Din.Size)
        {
            return Errno.OK;
        }
        if (length > Din.Size)
        {
            if (length > MaxFileSize)
            {
                return Errno.EFBIG;
            }
            Errno ge = ExpandTail(length);
            if (ge != Errno.OK)
            {
                return ge;
            }
            // Like ffs_truncate, make the last byte exist, so a small file's last block
            // has the fragments its size implies.
            long last = sb.LblkNo(length - 1);
            if (last < FfsSuperblock.NDAddr)
            {
                ge = Balloc(last, BlockSizeAt(last, length), willOverwrite: false, out _);
                if (ge != Errno.OK)
                {
                    return ge;
                }
            }
            Din.Size = length;
            MarkDirty();
            return Errno.OK;
        }

        long oldSize = Din.Size;
        long lastKeep = length == 0 ? -1 : sb.LblkNo(length - 1);
        Errno first = Errno.OK;

        // Indirect trees wholly or partly past the end.
        long baseLbn = FfsSuperblock.NDAddr;
        long span = sb.Nindir;
        for (int level = 1; level <= FfsSuperblock.NIAddr; level++)
        {
            if (Din.Ib[level - 1] != 0 && lastKeep < baseLbn + span - 1)
            {
                long ptr = Din.Ib[level - 1];
                Errno e = PunchIndirect(ref ptr, level, baseLbn, lastKeep + 1, long.MaxValue);
                first = first == Errno.OK ? e : first;
                Din.Ib[level - 1] = ptr;
            }
            baseLbn += span;
            span *= sb.Nindir;
        }

        // Direct blocks past the end, and the tail of the new last block.
        for (long lbn = FfsSuperblock.NDAddr - 1; lbn >= 0; lbn--)
        {
            long p = Din.Db[lbn];
            if (p == 0)
            {
                continue;
            }
            int have = (int)sb.NumFrags(BlockSizeAt(lbn, oldSize));
            if (lbn > lastKeep)
            {
                Din.Db[lbn] = 0;
                first = first == Errno.OK ? FreeData(p, have) : first;
            }
            else if (lbn == lastKeep)
            {
                int keep = (int)sb.NumFrags(BlockSizeAt(lbn, length));
                if (keep < have)
                {
                    first = first == Errno.OK ? FreeData(p + keep, have - keep) : first;
                }
            }
        }
        Din.Size = length;
        MarkDirty();
        return first == Errno.OK ? ZeroTail(length) : first;
    }

    /// <summary>
    /// Largest size a write or truncate may give the file (fs_maxfilesize, as ffs_write's
    /// EFBIG): the same bound the driver loads inodes by, so no file it grows is refused later.
    /// </summary>
    internal long MaxFileSize => FfsMount.Sb.MaxFileSize;

    /// <summary>Free <paramref name="n"/> fragments of this file and account them.</summary>
    private Errno FreeData(long frag, int n)
    {
        if (IsMetadataFile)
        {
            FfsMount.Bufs.Discard(FfsMount.Sb.FragToBytes(frag), (long)n << FfsMount.Sb.Fshift);
        }
        Din.Blocks = Math.Max(0, Din.Blocks - FragsToSectors(n));
        return FfsMount.Free(frag, n);
    }

    /// <summary>Free <paramref name="n"/> whole contiguous blocks of this file from <paramref name="frag"/> and account them.</summary>
    private Errno FreeDataRun(long frag, int n)
    {
        FfsSuperblock sb = FfsMount.Sb;
        if (IsMetadataFile)
        {
            FfsMount.Bufs.Discard(sb.FragToBytes(frag), (long)n << sb.Bshift);
        }
        Din.Blocks = Math.Max(0, Din.Blocks - FragsToSectors((long)n * sb.Frag));
        return FfsMount.FreeBlocks(frag, n);
    }

    /// <summary>Free the pending run of a truncation or punched hole unless an earlier step failed (then its blocks stay allocated, as single blocks did).</summary>
    private Errno FlushFreeRun(Errno first, long runStart, ref int runLen)
    {
        int n = runLen;
        runLen = 0;
        if (n == 0 || first != Errno.OK)
        {
            return first;
        }
        return FreeDataRun(runStart, n);
    }

    /// <summary>Zero the bytes after <paramref name="length"/> in its last block's storage.</summary>
    private Errno ZeroTail(long length)
    {
        FfsSuperblock sb = FfsMount.Sb;
        int boff = sb.BlkOff(length);
        if (length == 0 || boff == 0 || IsMetadataFile)
        {
            return Errno.OK;
        }
        long lbn = sb.LblkNo(length);
        Errno e = Bmap(lbn, 1, out long phys, out _);
        if (e != Errno.OK || phys == 0)
        {
            return e;
        }
        int end = BlockSizeAt(lbn, length);
        if (end <= boff)
        {
            return Errno.OK;
        }
        return FfsMount.Dev.Write(sb.FragToBytes(phys) + boff, new byte[end - boff]);
    }
}
