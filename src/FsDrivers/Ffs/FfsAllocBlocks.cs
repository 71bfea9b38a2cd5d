using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Block and fragment allocation (ffs_alloccg, ffs_alloccgblk, ffs_fragextend, ffs_blkfree).
/// Every change to a block's fragments goes through <see cref="ChangeBlock"/>, which takes
/// the block's contribution out of the counters, edits the map and puts it back, so frsum,
/// nbfree, nffree and the cluster summary stay exact.
/// </summary>
internal sealed partial class FfsMount
{
    /// <summary>
    /// Allocate <paramref name="nfrags"/> fragments (a whole block when it equals fs_frag)
    /// near <paramref name="pref"/>, trying its group first, then the others in turn.
    /// ENOSPC for a caller other than root when it would dip into the minfree reserve.
    /// </summary>
    public Errno Alloc(long pref, int nfrags, out long frag) => Alloc(pref, nfrags, nfrags, out frag);

    /// <summary>
    /// <see cref="Alloc(long, int, out long)"/> for a run that replaces one of
    /// <paramref name="nfrags"/> - <paramref name="growth"/> fragments freed right after
    /// (a moved last fragment): only the growth counts against the reserve.
    /// </summary>
    public Errno Alloc(long pref, int nfrags, int growth, out long frag)
    {
        frag = 0;
        lock (AllocLock)
        {
            if (Sb.FreeFrags < nfrags || (nfrags == Sb.Frag && Sb.NbFree <= 0))
            {
                return Errno.ENOSPC;
            }
            if (!MayTakeFromReserve(growth))
            {
                return Errno.ENOSPC;
            }
            long found = 0;
            Errno e = HashAlloc(PrefGroup(pref),
                cg => CsNbfree(cg) > 0 || (nfrags < Sb.Frag && CsNffree(cg) >= nfrags),
                (cg, preferred) => AllocInCg(cg, preferred ? pref : 0, nfrags, out found));
            frag = found;
            return e;
        }
    }

    private Errno AllocInCg(int cg, long pref, int nfrags, out long frag)
    {
        frag = 0;
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
                int rel = -1;
                if (nfrags < Sb.Frag)
                {
                    rel = FindFragRun(ref g, cgFrags, nfrags);
                }
                if (rel < 0)
                {
                    int blk = FindFreeBlock(ref g, cgFrags, pref > 0 ? (int)(pref - Sb.CgBase(cg)) : g.Rotor);
                    if (blk < 0)
                    {
                        return Errno.ENOSPC;
                    }
                    rel = blk;
                    if (nfrags == Sb.Frag)
                    {
                        g.Rotor = blk;
                    }
                }
                ChangeBlock(cg, ref g, rel - (rel % Sb.Frag), rel % Sb.Frag, nfrags, free: false);
                if (nfrags < Sb.Frag)
                {
                    g.Frotor = rel;
                }
                frag = Sb.CgBase(cg) + rel;
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
    /// freespace(fs, fs_minfree): free fragments left once the reserve held back for root
    /// (fs_minfree percent of the data area) is taken off; negative inside the reserve.
    /// </summary>
    internal long FreeOutsideReserve => Sb.FreeFrags - (Sb.Dsize * Sb.MinFree / 100);

    /// <summary>
    /// ffs_alloc's rule: a caller that is not the superuser may not take fragments when
    /// freespace(fs, minfree) - nfrags &lt; 0. Applied to in-place and moved fragment
    /// growth too (ffs_realloccg only asks for freespace &gt; 0 there), so that a non-root
    /// writer never leaves f_bavail below zero. Called under AllocLock.
    /// </summary>
    private bool MayTakeFromReserve(int nfrags) =>
        nfrags <= 0 || FreeOutsideReserve - nfrags >= 0 || CallerCredentials.Current.IsRoot;

    /// <summary>A free whole block at or after <paramref name="from"/> (wrapping), as a fragment index in the group, or -1.</summary>
    private int FindFreeBlock(ref CylinderGroup g, int cgFrags, int from)
    {
        int nblk = cgFrags / Sb.Frag;
        if (nblk == 0)
        {
            return -1;
        }
        int startBlk = Math.Clamp(from, 0, cgFrags - 1) / Sb.Frag;
        for (int i = 0; i < nblk; i++)
        {
            int b = (startBlk + i) % nblk;
            if (g.BlockFree(b * Sb.Frag, Sb.Frag))
            {
                return b * Sb.Frag;
            }
        }
        return -1;
    }

    /// <summary>The start of a run of at least <paramref name="n"/> free fragments inside a partly used block, or -1.</summary>
    private int FindFragRun(ref CylinderGroup g, int cgFrags, int n)
    {
        bool any = false;
        for (int k = n; k < Sb.Frag; k++)
        {
            any |= g.Frsum(k) > 0;
        }
        if (!any)
        {
            return -1;
        }
        int nblk = cgFrags / Sb.Frag;
        int startBlk = Math.Clamp(g.Frotor, 0, Math.Max(0, cgFrags - 1)) / Sb.Frag;
        for (int i = 0; i < nblk; i++)
        {
            int b = ((startBlk + i) % nblk) * Sb.Frag;
            if (g.BlockFree(b, Sb.Frag))
            {
                continue;
            }
            int run = 0;
            for (int f = 0; f < Sb.Frag; f++)
            {
                run = g.FragFree(b + f) ? run + 1 : 0;
                if (run == n)
                {
                    return b + f - n + 1;
                }
            }
        }
        return -1;
    }

    /// <summary>
    /// Try to grow the fragments at <paramref name="frag"/> from <paramref name="oldN"/> to
    /// <paramref name="newN"/> in place (ffs_fragextend). False when the next ones are taken.
    /// </summary>
    public Errno Extend(long frag, int oldN, int newN, out bool extended)
    {
        extended = false;
        lock (AllocLock)
        {
            if (!MayTakeFromReserve(newN - oldN))
            {
                return Errno.ENOSPC;
            }
            int cg = Sb.DtoG(frag);
            Errno e = ReadCg(cg, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            lock (bp!.SyncRoot)
            {
                var g = new CylinderGroup(bp.Data, Order);
                int rel = (int)(frag - Sb.CgBase(cg));
                int within = rel % Sb.Frag;
                if (within + newN <= Sb.Frag)
                {
                    bool free = true;
                    for (int f = oldN; f < newN; f++)
                    {
                        free &= g.FragFree(rel + f);
                    }
                    if (free)
                    {
                        ChangeBlock(cg, ref g, rel - within, within + oldN, newN - oldN, free: false);
                        extended = true;
                    }
                }
            }
            if (extended)
            {
                bp.MarkDirty();
            }
            bp.Release();
            return Errno.OK;
        }
    }

    /// <summary>Free <paramref name="nfrags"/> fragments at <paramref name="frag"/> (within one block).</summary>
    public Errno Free(long frag, int nfrags)
    {
        if (frag <= 0 || !PointerValid(frag, nfrags))
        {
            return KernelLog.CorruptionOnce("ffs", frag, $"freeing bad block address {frag}+{nfrags}");
        }
        lock (AllocLock)
        {
            int cg = Sb.DtoG(frag);
            Errno e = ReadCg(cg, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            lock (bp!.SyncRoot)
            {
                var g = new CylinderGroup(bp.Data, Order);
                int rel = (int)(frag - Sb.CgBase(cg));
                int within = rel % Sb.Frag;
                for (int f = 0; f < nfrags; f++)
                {
                    if (g.FragFree(rel + f))
                    {
                        bp.Release();
                        return KernelLog.CorruptionOnce("ffs", frag, $"freeing free fragment {frag + f}");
                    }
                }
                ChangeBlock(cg, ref g, rel - within, within, nfrags, free: true);
            }
            bp.MarkDirty();
            bp.Release();
            return Errno.OK;
        }
    }

    /// <summary>
    /// Mark fragments [first, first+count) of the block at group fragment <paramref name="blk"/>
    /// free or used, keeping every counter of the group, summary and superblock exact.
    /// </summary>
    private void ChangeBlock(int cg, ref CylinderGroup g, int blk, int first, int count, bool free)
    {
        int before = FreeFragsIn(ref g, blk);
        int dB = 0, dF = 0;
        if (before == Sb.Frag)
        {
            dB--;
            ClusterAcct(ref g, blk / Sb.Frag, -1);
        }
        else
        {
            FragAcct(ref g, blk, -1);
            dF -= before;
        }
        for (int f = first; f < first + count; f++)
        {
            g.SetFragFree(blk + f, free);
        }
        int after = FreeFragsIn(ref g, blk);
        if (after == Sb.Frag)
        {
            dB++;
            ClusterAcct(ref g, blk / Sb.Frag, +1);
        }
        else
        {
            FragAcct(ref g, blk, +1);
            dF += after;
        }
        AdjustCounts(cg, ref g, 0, dB, 0, dF);
    }

    private int FreeFragsIn(ref CylinderGroup g, int blk) => g.FreeFragsInBlock(blk, Sb.Frag);

    /// <summary>Add (or remove) the free runs of a partly used block to frsum (ffs_fragacct).</summary>
    private void FragAcct(ref CylinderGroup g, int blk, int sign)
    {
        int run = 0;
        for (int f = 0; f <= Sb.Frag; f++)
        {
            if (f < Sb.Frag && g.FragFree(blk + f))
            {
                run++;
                continue;
            }
            if (run > 0 && run < Sb.Frag)
            {
                g.AddFrsum(run, sign);
            }
            run = 0;
        }
    }

    /// <summary>
    /// Update the cluster map and summary when the <paramref name="n"/> blocks from
    /// <paramref name="b"/> become free (+1) or used (-1) (ffs_clusteracct, for a run). The
    /// free clusters just before and after (back and forw blocks) join the run into one of
    /// back + n + forw when it is freed, and are split off from it when it is taken; lengths
    /// of the summary size or more all count as that size.
    /// </summary>
    private void ClusterAcct(ref CylinderGroup g, int b, int cnt, int n = 1)
    {
        int cs = Sb.ContigSumSize;
        if (cs <= 0)
        {
            return;
        }
        for (int i = b; i < b + n; i++)
        {
            g.SetClusterFree(i, cnt > 0);
        }
        int nblks = g.NclusterBlks;
        int forw = 0;
        for (int i = b + n; i < Math.Min(b + n + cs, nblks) && g.ClusterFree(i); i++)
        {
            forw++;
        }
        int back = 0;
        for (int i = b - 1; i > Math.Max(b - 1 - cs, -1) && g.ClusterFree(i); i--)
        {
            back++;
        }
        g.AddClusterSum((int)Math.Min((long)back + n + forw, cs), cnt);
        if (back > 0)
        {
            g.AddClusterSum(back, -cnt);
        }
        if (forw > 0)
        {
            g.AddClusterSum(forw, -cnt);
        }
    }
}
