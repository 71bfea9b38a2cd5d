using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Allocation of a run of whole, physically contiguous blocks in one pass over one
/// cylinder group (what ffs_clusteralloc achieves for NetBSD's write clustering): the group
/// is read once, the blocks are taken from the free map byte by byte, and the counters and
/// the cluster summary are updated once for the whole run. A sequential write of many
/// blocks then costs one allocation per run instead of one per block.
/// </summary>
internal sealed partial class FfsMount
{
    /// <summary>
    /// Allocate between 1 and <paramref name="maxBlocks"/> whole blocks, contiguous, the
    /// first at or after <paramref name="pref"/> (its group first, then the others in turn,
    /// as <see cref="Alloc(long, int, out long)"/>). <paramref name="got"/> says how many
    /// were taken: the run stops at the first used block, at the group's end, or where a
    /// caller other than root would dip into the minfree reserve.
    /// </summary>
    public Errno AllocBlocks(long pref, int maxBlocks, out long frag, out int got)
    {
        frag = 0;
        got = 0;
        if (maxBlocks <= 0)
        {
            return Errno.EINVAL;
        }
        lock (AllocLock)
        {
            if (Sb.NbFree <= 0 || !MayTakeFromReserve(Sb.Frag))
            {
                return Errno.ENOSPC;
            }
            // Blocks past the first may not take the reserve either (one ffs_alloc each).
            long allowed = CallerCredentials.Current.IsRoot ? maxBlocks : Math.Max(1, FreeOutsideReserve / Sb.Frag);
            int want = (int)Math.Min(maxBlocks, Math.Min(allowed, Sb.NbFree));
            long found = 0;
            int taken = 0;
            Errno e = HashAlloc(PrefGroup(pref),
                cg => CsNbfree(cg) > 0,
                (cg, preferred) => AllocRunInCg(cg, preferred ? pref : 0, want, out found, out taken));
            frag = found;
            got = taken;
            return e;
        }
    }

    private Errno AllocRunInCg(int cg, long pref, int want, out long frag, out int got)
    {
        frag = 0;
        got = 0;
        Errno e = ReadCg(cg, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        try
        {
            lock (bp!.SyncRoot)
            {
                var g = new CylinderGroup(bp.Data, Order);
                int cgFrags = Math.Min(g.Ndblk, Sb.CgFrags(cg));
                int first = FindFreeBlock(ref g, cgFrags, pref > 0 ? (int)(pref - Sb.CgBase(cg)) : g.Rotor);
                if (first < 0)
                {
                    return Errno.ENOSPC;
                }
                int firstBlk = first / Sb.Frag;
                int nblk = cgFrags / Sb.Frag;
                int n = 1;
                while (n < want && firstBlk + n < nblk && g.BlockFree((firstBlk + n) * Sb.Frag, Sb.Frag))
                {
                    n++;
                }
                TakeBlocks(cg, ref g, firstBlk, n);
                g.Rotor = (firstBlk + n - 1) * Sb.Frag;
                frag = Sb.CgBase(cg) + first;
                got = n;
            }
            bp.MarkDirty();
            return Errno.OK;
        }
        finally
        {
            bp!.Release();
        }
    }

    /// <summary>
    /// Free <paramref name="n"/> whole, contiguous blocks from <paramref name="frag"/>, all in
    /// one group (a truncated file's run): one group read, one cluster-summary update. Every
    /// block must be wholly in use, else nothing changes and the damage is reported (EIO).
    /// </summary>
    public Errno FreeBlocks(long frag, int n)
    {
        int cg = Sb.DtoG(frag);
        long last = frag + ((long)(n - 1) * Sb.Frag);
        for (long b = frag; b <= last; b += Sb.Frag)
        {
            if (b <= 0 || b % Sb.Frag != 0 || !PointerValid(b, Sb.Frag) || Sb.DtoG(b) != cg)
            {
                return KernelLog.CorruptionOnce("ffs", frag, $"freeing bad block address {b} in run {frag}+{n} blocks");
            }
        }
        lock (AllocLock)
        {
            Errno e = ReadCg(cg, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            try
            {
                lock (bp!.SyncRoot)
                {
                    var g = new CylinderGroup(bp.Data, Order);
                    int firstBlk = (int)(frag - Sb.CgBase(cg)) / Sb.Frag;
                    for (int b = firstBlk; b < firstBlk + n; b++)
                    {
                        if (g.FreeFragsInBlock(b * Sb.Frag, Sb.Frag) != 0)
                        {
                            return KernelLog.CorruptionOnce("ffs", frag, $"freeing free fragment in block {Sb.CgBase(cg) + (b * Sb.Frag)}");
                        }
                    }
                    GiveBlocks(cg, ref g, firstBlk, n);
                }
                bp.MarkDirty();
                return Errno.OK;
            }
            finally
            {
                bp!.Release();
            }
        }
    }

    /// <summary>
    /// Mark the wholly used blocks [<paramref name="firstBlk"/>, +<paramref name="n"/>) of a
    /// group free: the inverse of <see cref="TakeBlocks"/>.
    /// </summary>
    private void GiveBlocks(int cg, ref CylinderGroup g, int firstBlk, int n)
    {
        for (int b = firstBlk; b < firstBlk + n; b++)
        {
            g.SetBlock(b * Sb.Frag, Sb.Frag);
        }
        ClusterAcct(ref g, firstBlk, 1, n);
        AdjustCounts(cg, ref g, 0, n, 0, 0);
    }

    /// <summary>
    /// Mark the free whole blocks [<paramref name="firstBlk"/>, +<paramref name="n"/>) of a
    /// group used. Whole free blocks are not in frsum, so only the free-block counts and the
    /// cluster map and summary change; the summary is adjusted once for the run, which comes
    /// to the same figures as taking the blocks one at a time (ffs_clusteracct per block).
    /// </summary>
    private void TakeBlocks(int cg, ref CylinderGroup g, int firstBlk, int n)
    {
        for (int b = firstBlk; b < firstBlk + n; b++)
        {
            g.ClearBlock(b * Sb.Frag, Sb.Frag);
        }
        ClusterAcct(ref g, firstBlk, -1, n);
        AdjustCounts(cg, ref g, 0, -n, 0, 0);
    }
}
