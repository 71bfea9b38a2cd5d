using RumpFs.Kernel;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// The directory walk of the readers (lookup's scan, readdir, the dirhash build), which go
/// on past damage as ufs_lookup does: a DIRBLKSIZ chunk that fails ufs_dirbadentry's checks
/// is logged once (ufs_dirbad) and skipped to the next chunk, a hole in a directory (which
/// reads as zeros there, so every chunk of it is bad) likewise, and an entry naming an
/// inode past the last is logged and left out on its own. One damaged entry so costs the
/// names of its chunk, not the directory. Writers still read through
/// <see cref="FfsNode.DirBlock"/>, which refuses a block with any damage, so nothing is
/// written into a directory before the checker has seen it.
/// </summary>
internal sealed partial class FfsNode
{
    /// <summary>
    /// One record of a walk: its slot and name bytes. <paramref name="usable"/> is false for
    /// an entry naming an inode past the last (logged already). Return false to stop.
    /// </summary>
    internal delegate bool DirRecordVisitor(in DirSlot slot, ReadOnlySpan<byte> name, bool usable);

    /// <summary>
    /// Visit every record of the sound chunks, from the chunk holding <paramref name="from"/>
    /// on. Fails only when a block cannot be read, or when the size claims more than the
    /// inode's blocks can hold (a walk over it would take hours); <paramref name="chunkSkipped"/>
    /// hears of each chunk passed over, by its offset in the directory.
    /// </summary>
    internal Errno WalkDirectory(long from, DirRecordVisitor visit, Action<long>? chunkSkipped = null)
    {
        FfsSuperblock sb = FfsMount.Sb;
        if (Din.Size > Din.Blocks * 512L + sb.Bsize)
        {
            return KernelLog.CorruptionOnce("ffs", (long)Ino, $"directory {Ino}: size {Din.Size} is more than its {Din.Blocks} sectors hold");
        }
        long pos = from & ~(long)(Chunk - 1);
        while (pos < Din.Size)
        {
            long lbn = sb.LblkNo(pos);
            long blockStart = lbn << sb.Bshift;
            Errno e = Bmap(lbn, 1, out long phys, out _);
            if (e != Errno.OK)
            {
                return e;
            }
            int size = BlockSize(lbn);
            int end = (int)Math.Min(size, Din.Size - blockStart);
            if (phys == 0)
            {
                KernelLog.CorruptionOnce("ffs", (long)Ino, $"directory {Ino} has a hole at block {lbn}; its names are passed over");
                for (long c = pos; c < blockStart + end; c += Chunk)
                {
                    chunkSkipped?.Invoke(c);
                }
                pos = blockStart + end;
                continue;
            }
            e = FfsMount.Bufs.Read(sb.FragToBytes(phys), size, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            try
            {
                if (!WalkBlock(bp!.Data, phys, blockStart, (int)(pos - blockStart), end, visit, chunkSkipped))
                {
                    return Errno.OK;
                }
            }
            finally
            {
                bp!.Release();
            }
            pos = blockStart + end;
        }
        return Errno.OK;
    }

    /// <summary>The chunks of one block from <paramref name="first"/>; false when the visitor stopped.</summary>
    private bool WalkBlock(ReadOnlySpan<byte> data, long phys, long blockStart, int first, int end,
        DirRecordVisitor visit, Action<long>? chunkSkipped)
    {
        ulong inodes = (ulong)FfsMount.Sb.TotalInodes;
        for (int c = first; c < end; c += Chunk)
        {
            if (!ChunkValid(data.Slice(c, Chunk), checkInodes: false))
            {
                KernelLog.CorruptionOnce("ffs", phys, $"directory {Ino}: bad entry in chunk at offset {blockStart + c}; its names are passed over");
                chunkSkipped?.Invoke(blockStart + c);
                continue;
            }
            for (int off = c; off < c + Chunk;)
            {
                DirSlot s = SlotAt(data, off, blockStart + off);
                bool usable = s.Ino < inodes;
                if (!usable)
                {
                    KernelLog.CorruptionOnce("ffs", phys, $"directory {Ino}: entry at offset {blockStart + off} names inode {s.Ino}, past the last");
                }
                if (!visit(s, data.Slice(off + DirectEntry.Name, s.Ino == 0 ? 0 : s.NamLen), usable))
                {
                    return false;
                }
                off += s.RecLen;
            }
        }
        return true;
    }
}
