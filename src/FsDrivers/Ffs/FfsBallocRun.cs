using RumpFs.Kernel;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Making a run of whole logical blocks exist at once for a write that covers all of them:
/// the unallocated pointers that follow in one pointer array (the inode's direct blocks or
/// one indirect block) get one contiguous allocation (<see cref="FfsMount.AllocBlocks"/>)
/// instead of one allocation, one group read and one indirect-chain walk per block.
/// </summary>
internal sealed partial class FfsNode
{
    /// <summary>
    /// Map logical blocks from <paramref name="lbn"/> on, up to <paramref name="maxBlocks"/>
    /// of them, each written whole by the caller: <paramref name="phys"/> is the fragment
    /// address of the first and <paramref name="got"/> (at least 1) how many follow it
    /// contiguously on the device. New blocks are not zeroed (the caller overwrites them).
    /// </summary>
    internal Errno BallocRun(long lbn, int maxBlocks, out long phys, out int got)
    {
        phys = 0;
        got = 1;
        FfsSuperblock sb = FfsMount.Sb;
        if (lbn < FfsSuperblock.NDAddr)
        {
            if (Din.Db[lbn] != 0)
            {
                // An existing direct block may be a fragment that has to grow: the one-block path.
                return Balloc(lbn, sb.Bsize, willOverwrite: true, out phys);
            }
            int limit = (int)Math.Min(maxBlocks, FfsSuperblock.NDAddr - lbn);
            int holes = 1;
            while (holes < limit && Din.Db[lbn + holes] == 0)
            {
                holes++;
            }
            Errno e = FfsMount.AllocBlocks(BlkPref(lbn > 0 ? Din.Db[lbn - 1] : 0), holes, out phys, out got);
            if (e != Errno.OK)
            {
                return e;
            }
            for (int k = 0; k < got; k++)
            {
                Din.Db[lbn + k] = phys + ((long)k << sb.FragShift);
            }
            Din.Blocks += FragsToSectors((long)got << sb.FragShift);
            MarkDirty();
            return Errno.OK;
        }
        Errno le = LeafIndirect(lbn, out Buffer? bp, out long leaf, out int index);
        if (le != Errno.OK)
        {
            return le;
        }
        try
        {
            int limit = Math.Min(maxBlocks, sb.Nindir - index);
            long first = ReadPointer(bp!, index);
            if (first != 0)
            {
                // Already allocated: report how far it continues contiguously. Every block is
                // checked: a damaged map must not send file data into the group's metadata.
                if (!FfsMount.PointerValid(first, sb.Frag))
                {
                    return KernelLog.CorruptionOnce("ffs", first, $"inode {Ino} block {lbn} points outside the data area");
                }
                phys = first;
                long next = first + sb.Frag;
                while (got < limit && ReadPointer(bp!, index + got) == next && FfsMount.PointerValid(next, sb.Frag))
                {
                    got++;
                    next += sb.Frag;
                }
                return Errno.OK;
            }
            int holes = 1;
            while (holes < limit && ReadPointer(bp!, index + holes) == 0)
            {
                holes++;
            }
            long prev = index > 0 ? ReadPointer(bp!, index - 1) : leaf;
            Errno e = FfsMount.AllocBlocks(BlkPref(prev), holes, out phys, out got);
            if (e != Errno.OK)
            {
                return e;
            }
            lock (bp!.SyncRoot)
            {
                for (int k = 0; k < got; k++)
                {
                    WritePointerLocked(bp, index + k, phys + ((long)k << sb.FragShift));
                }
            }
            bp.MarkDirty();
            Din.Blocks += FragsToSectors((long)got << sb.FragShift);
            MarkDirty();
            return Errno.OK;
        }
        finally
        {
            bp!.Release();
        }
    }
}
