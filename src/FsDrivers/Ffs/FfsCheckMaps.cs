namespace RumpFs.FsDrivers.Ffs;

/// <summary>FfsCheck, pass 5: bitmaps and counters.</summary>
public static partial class FfsCheck
{
    private sealed partial class Checker
    {
        private void CheckBitmapsAndCounts()
        {
            long[] total = new long[4];
            byte[] csArea = new byte[sb.FragRoundUp(sb.CsSize)];
            bool haveCs = dev.Read(sb.FragToBytes(sb.CsAddr), csArea) == Kernel.Errno.OK;
            for (int cg = 0; cg < sb.Ncg; cg++)
            {
                var g = new CylinderGroup(_cgs[cg], O);
                // Bounded by the maps the block holds, whatever the header says.
                int frags = Math.Min(Math.Min(sb.CgFrags(cg), sb.Fpg), g.FreeMapBits);
                int inodes = Math.Min(sb.Ipg, g.InodeMapBits);
                long cgBase = sb.CgBase(cg);
                int wrong = 0;
                long firstWrong = -1;
                for (int f = 0; f < frags; f++)
                {
                    if (g.FragFree(f) == _used[(int)(cgBase + f)])
                    {
                        wrong++;
                        firstWrong = firstWrong < 0 ? cgBase + f : firstWrong;
                    }
                }
                if (wrong > 0)
                {
                    Add(FfsFindingKind.Bitmap, cg, $"{wrong} fragments disagree with the free map (first {firstWrong}, in use: {_used[(int)firstWrong]})");
                }

                int nifree = 0, ndir = 0;
                int[] frsum = new int[FfsSuperblock.MaxFrag];
                g.CountFree(frags, sb.Frag, out int nbfree, out int nffree, frsum);
                for (int i = 0; i < sb.Ipg; i++)
                {
                    ulong ino = ((ulong)cg * (ulong)sb.Ipg) + (ulong)i;
                    nifree += i < inodes && g.InodeUsed(i) ? 0 : 1;
                    ndir += _inodes[ino] is { } d && d.Type == 0x4000 ? 1 : 0;
                }
                Compare(cg, "nbfree", g.Nbfree, nbfree);
                Compare(cg, "nffree", g.Nffree, nffree);
                Compare(cg, "nifree", g.Nifree, nifree);
                Compare(cg, "ndir", g.Ndir, ndir);
                for (int k = 1; k < sb.Frag; k++)
                {
                    Compare(cg, $"frsum[{k}]", g.Frsum(k), frsum[k]);
                }
                if (haveCs)
                {
                    Compare(cg, "summary ndir", O.I32(csArea, 16 * cg), ndir);
                    Compare(cg, "summary nbfree", O.I32(csArea, (16 * cg) + 4), nbfree);
                    Compare(cg, "summary nifree", O.I32(csArea, (16 * cg) + 8), nifree);
                    Compare(cg, "summary nffree", O.I32(csArea, (16 * cg) + 12), nffree);
                }
                if (sb.ContigSumSize > 0)
                {
                    CheckClusters(cg, ref g, frags);
                }
                total[0] += ndir;
                total[1] += nbfree;
                total[2] += nifree;
                total[3] += nffree;
            }
            Compare(-1, "superblock ndir", sb.NDir, total[0]);
            Compare(-1, "superblock nbfree", sb.NbFree, total[1]);
            Compare(-1, "superblock nifree", sb.NiFree, total[2]);
            Compare(-1, "superblock nffree", sb.NfFree, total[3]);
            for (int i = 0; i < _used.Length; i++)
            {
                report.FragmentsInUse += _used[i] ? 1 : 0;
            }
        }

        private void CheckClusters(int cg, ref CylinderGroup g, int frags)
        {
            int cs = Math.Min(sb.ContigSumSize, g.ClusterSumSlots - 1);
            int nblks = Math.Min(Math.Min(g.NclusterBlks, frags / sb.Frag), g.ClusterMapBits);
            int[] sums = new int[Math.Max(cs, 0) + 1];
            int run = 0;
            for (int b = 0; b <= nblks; b++)
            {
                bool free = b < nblks && g.BlockFree(b * sb.Frag, sb.Frag);
                if (b < nblks && free != g.ClusterFree(b))
                {
                    Add(FfsFindingKind.Bitmap, cg, $"cluster map bit of block {b} is {g.ClusterFree(b)}, block free {free}");
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
                Compare(cg, $"cluster sum[{i}]", g.ClusterSum(i), sums[i]);
            }
        }

        private void Compare(int cg, string what, long recorded, long counted)
        {
            if (recorded != counted)
            {
                Add(FfsFindingKind.Summary, cg, $"{what} {recorded}, counted {counted}");
            }
        }
    }
}
