using System.Numerics;

namespace RumpFs.FsDrivers.Ffs.Newfs;

/// <summary>
/// Builds one new cylinder-group block (initcg): the header and map offsets, the inode map
/// (inodes 0 and 1 reserved and the root in group 0), the fragment map (everything outside
/// the group's metadata free; in group 0 also the summary area and the root directory's
/// fragment in use), and every counter derived from the maps: free blocks and fragments,
/// frsum, the cluster map and its summary.
/// </summary>
internal static class FfsNewfsCylinderGroup
{
    /// <summary>The fragment (relative to group 0) newfs gives the root directory: the first whole free block.</summary>
    public static int RootFragment(FfsGeometry g) => RoundUpToBlock(g, g.Dblkno + g.CsFrags);

    public static byte[] Build(FfsGeometry g, int cg, long now, out FfsCsum csum)
    {
        FfsByteOrder o = g.Order;
        byte[] block = new byte[g.CgSize];
        Span<byte> b = block;
        int ndblk = g.CgFrags(cg);
        FfsCylinderGroupHeader.Write(b, o, new CgHeaderShape(cg, ndblk, g.IsUfs2, now, g.Ipg, g.InitedIblk,
            g.IusedOff, g.FreeOff, g.NextFreeOff, g.ContigSumSize > 0, g.ClusterSumOff, g.ClusterOff, ndblk >> g.FragShift,
            OldNcyl: 1, OldBtotOff: CgFields.HeaderSize, OldBOff: CgFields.HeaderSize + g.OldBtotBytes));

        var view = new CylinderGroup(b, o);
        int usedInodes = 0;
        if (cg == 0)
        {
            // Inodes 0 and 1 are never used (1 once held bad blocks); 2 is the root.
            for (int i = 0; i <= FfsSuperblock.RootIno; i++)
            {
                view.SetInodeUsed(i, true);
            }
            usedInodes = FfsSuperblock.RootIno + 1;
            view.Ndir = 1;
        }
        view.Nifree = g.Ipg - usedInodes;

        // Free: before the superblock copy (except in group 0, where the boot area and the
        // primary superblock are), and from the end of the inode table (group 0: of the
        // summary area) to the end of the group.
        Span<byte> freeMap = b.Slice(g.FreeOff, (int)((ndblk + 7L) / 8));
        if (cg > 0)
        {
            SetBits(freeMap, 0, g.Sblkno);
        }
        SetBits(freeMap, cg == 0 ? g.Dblkno + g.CsFrags : g.Dblkno, ndblk);
        if (cg == 0)
        {
            view.SetFragFree(RootFragment(g), false);
        }
        FfsCsum counts = Recount(g, ref view, freeMap, ndblk);
        csum = counts with { Ndir = view.Ndir, Nifree = view.Nifree };
        if (!g.IsUfs2)
        {
            // The single cylinder's free-block totals (old_cg_blktot, old_cg_blks).
            o.W32(b, CgFields.HeaderSize, (int)counts.Nbfree);
            o.W16(b, CgFields.HeaderSize + g.OldBtotBytes, (short)counts.Nbfree);
        }
        return block;
    }

    /// <summary>Set bits [<paramref name="from"/>, <paramref name="to"/>) of a map, whole bytes at a time where it can.</summary>
    private static void SetBits(Span<byte> map, int from, int to)
    {
        int f = from;
        for (; f < to && (f & 7) != 0; f++)
        {
            map[f >> 3] |= (byte)(1 << (f & 7));
        }
        int wholeBytes = (to - f) >> 3;
        if (wholeBytes > 0)
        {
            map.Slice(f >> 3, wholeBytes).Fill(0xFF);
            f += wholeBytes << 3;
        }
        for (; f < to; f++)
        {
            map[f >> 3] |= (byte)(1 << (f & 7));
        }
    }

    /// <summary>Derive nbfree, nffree, frsum, the cluster map and cluster summary from the fragment map.</summary>
    private static FfsCsum Recount(FfsGeometry g, ref CylinderGroup view, ReadOnlySpan<byte> freeMap, int ndblk)
    {
        int nbfree = 0, nffree = 0, run = 0;
        int nblks = ndblk >> g.FragShift;
        int all = (1 << g.Frag) - 1;
        for (int blk = 0; blk <= nblks; blk++)
        {
            // A block's fragments share one byte of the map (a block has at most 8).
            int first = blk << g.FragShift;
            int bits = blk < nblks ? (freeMap[first >> 3] >> (first & 7)) & all : 0;
            bool whole = bits == all;
            if (whole)
            {
                nbfree++;
            }
            else if (bits != 0)
            {
                nffree += CountPartial(g, ref view, bits);
            }
            if (g.ContigSumSize <= 0)
            {
                continue;
            }
            if (whole)
            {
                view.SetClusterFree(blk, true);
                run++;
                continue;
            }
            if (run > 0)
            {
                view.AddClusterSum(Math.Min(run, g.ContigSumSize), 1);
            }
            run = 0;
        }
        view.Nbfree = nbfree;
        view.Nffree = nffree;
        return new FfsCsum(0, nbfree, 0, nffree);
    }

    /// <summary>Free fragments of a partly used block (its map bits), adding each free run to frsum (ffs_fragacct).</summary>
    private static int CountPartial(FfsGeometry g, ref CylinderGroup view, int bits)
    {
        int run = 0;
        for (int i = 0; i <= g.Frag; i++)
        {
            if (i < g.Frag && (bits & (1 << i)) != 0)
            {
                run++;
                continue;
            }
            if (run > 0)
            {
                view.AddFrsum(run, 1);
            }
            run = 0;
        }
        return BitOperations.PopCount((uint)bits);
    }

    private static int RoundUpToBlock(FfsGeometry g, int frag) => (frag + g.Frag - 1) & ~(g.Frag - 1);
}
