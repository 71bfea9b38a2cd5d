namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>
/// Repair pass 5: every group's inode, fragment and cluster maps, its counters and frsum,
/// the summary area and the superblock totals, rebuilt from what passes 1-4 left in use.
/// A group or counter already right is not rewritten.
/// </summary>
internal sealed partial class FfsRepair
{
    private void Pass5()
    {
        long[] total = new long[4];
        byte[] cs = new byte[_sb.FragRoundUp(_sb.CsSize)];
        bool haveCs = _w.ReadFrags(_sb.CsAddr, cs);
        bool csDirty = false;
        for (int cg = 0; cg < _sb.Ncg; cg++)
        {
            byte[] before = (byte[])_cgs[cg].Clone();
            (int ndir, int nbfree, int nifree, int nffree) = RebuildGroup(cg);
            bool recounted = !before.AsSpan().SequenceEqual(_cgs[cg]);
            if (recounted)
            {
                Did($"cylinder group {cg}: maps and counters rewritten (ndir {ndir}, nbfree {nbfree}, nifree {nifree}, nffree {nffree})");
            }
            if (recounted || _rewrittenHeaders.Contains(cg))
            {
                _w.WriteGroup(cg, _cgs[cg]);
            }
            if (haveCs)
            {
                int at = 16 * cg;
                if (O.I32(cs, at) != ndir || O.I32(cs, at + 4) != nbfree || O.I32(cs, at + 8) != nifree || O.I32(cs, at + 12) != nffree)
                {
                    O.W32(cs, at, ndir);
                    O.W32(cs, at + 4, nbfree);
                    O.W32(cs, at + 8, nifree);
                    O.W32(cs, at + 12, nffree);
                    csDirty = true;
                }
            }
            total[0] += ndir;
            total[1] += nbfree;
            total[2] += nifree;
            total[3] += nffree;
        }
        if (csDirty)
        {
            Did("summary area rewritten");
            _w.WriteSummary(cs);
        }
        if (_sb.NDir != total[0] || _sb.NbFree != total[1] || _sb.NiFree != total[2] || _sb.NfFree != total[3])
        {
            Did($"superblock totals set to ndir {total[0]}, nbfree {total[1]}, nifree {total[2]}, nffree {total[3]}");
            _sb.NDir = total[0];
            _sb.NbFree = total[1];
            _sb.NiFree = total[2];
            _sb.NfFree = total[3];
            _w.WriteSuperblock(_sb, clearFlags: false);
        }
    }

    private (int Ndir, int Nbfree, int Nifree, int Nffree) RebuildGroup(int cg)
    {
        var g = new CylinderGroup(_cgs[cg], O);
        if (_sb.IsUfs2 && _rebuiltGroups.Contains(cg))
        {
            // Through the last inode block holding an inode in use: the kernel initialises
            // the blocks past it before it hands out their inodes.
            g.InitedIblk = RebuiltInitedIblk(cg);
        }
        else if (_sb.IsUfs2 && !g.InitedIblkValid(_sb.Ipg, _sb.Inopb))
        {
            // Before the inode map is rebuilt: the count comes from the map as it was read,
            // which is the one pass 1 went by.
            g.InitedIblk = g.InitialisedInodes(_sb.Ipg, _sb.Inopb, ufs2: true);
        }
        // Bounded by the maps the block holds, as the check's walks are.
        int frags = Math.Min(Math.Min(_sb.CgFrags(cg), _sb.Fpg), g.FreeMapBits);
        int inodes = Math.Min(_sb.Ipg, g.InodeMapBits);
        long cgBase = _sb.CgBase(cg);
        for (int f = 0; f < frags; f++)
        {
            g.SetFragFree(f, !_used[(int)(cgBase + f)]);
        }
        int nifree = 0, ndir = 0;
        for (int i = 0; i < _sb.Ipg; i++)
        {
            ulong ino = ((ulong)cg * (ulong)_sb.Ipg) + (ulong)i;
            if (i >= inodes)
            {
                nifree++;
                continue;
            }
            if (ino >= FfsSuperblock.RootIno)
            {
                // Inodes 0 and 1 are reserved and keep whatever newfs gave them.
                g.SetInodeUsed(i, _inodes[ino] is not null);
            }
            nifree += g.InodeUsed(i) ? 0 : 1;
            ndir += _inodes[ino] is { Type: 0x4000 } ? 1 : 0;
        }
        int[] frsum = new int[FfsSuperblock.MaxFrag];
        g.CountFree(frags, _sb.Frag, out int nbfree, out int nffree, frsum);
        g.Ndir = ndir;
        g.Nbfree = nbfree;
        g.Nifree = nifree;
        g.Nffree = nffree;
        for (int k = 1; k < _sb.Frag; k++)
        {
            g.AddFrsum(k, frsum[k] - g.Frsum(k));
        }
        if (_sb.ContigSumSize > 0)
        {
            RebuildClusters(ref g, frags);
        }
        return (ndir, nbfree, nifree, nffree);
    }

    /// <summary>A rebuilt UFS2 group's cg_initediblk: past its last inode in use, at least the two inode blocks newfs initialises.</summary>
    private int RebuiltInitedIblk(int cg)
    {
        int last = cg == 0 ? (int)FfsSuperblock.RootIno : -1;
        for (int i = _sb.Ipg - 1; i > last; i--)
        {
            if (_inodes[((ulong)cg * (ulong)_sb.Ipg) + (ulong)i] is not null)
            {
                last = i;
            }
        }
        int blocks = Math.Max(2, ((last + 1) + _sb.Inopb - 1) / _sb.Inopb);
        return Math.Min(_sb.Ipg, blocks * _sb.Inopb);
    }

    /// <summary>The cluster map (a bit per wholly free block) and the counts of free runs by length, capped at fs_contigsumsize.</summary>
    private void RebuildClusters(ref CylinderGroup g, int frags)
    {
        int cs = Math.Min(_sb.ContigSumSize, g.ClusterSumSlots - 1);
        int nblks = Math.Min(Math.Min(g.NclusterBlks, frags / _sb.Frag), g.ClusterMapBits);
        int[] sums = new int[Math.Max(cs, 0) + 1];
        int run = 0;
        for (int b = 0; b <= nblks; b++)
        {
            bool free = b < nblks && g.BlockFree(b * _sb.Frag, _sb.Frag);
            if (b < nblks)
            {
                g.SetClusterFree(b, free);
            }
            if (free)
            {
                run++;
                continue;
            }
            if (run > 0 && cs > 0)
            {
                sums[Math.Min(run, cs)]++;
            }
            run = 0;
        }
        for (int i = 1; i <= cs; i++)
        {
            g.AddClusterSum(i, sums[i] - g.ClusterSum(i));
        }
    }
}
