namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// A cylinder group's header as the superblock's geometry fixes it, with empty maps (but for
/// inodes 0 and 1 of group 0, which are never handed out, marked in use as newfs and
/// fsck_ffs mark them): what
/// fsck_ffs's pass 5 builds as its new group (the magic, the index, the data-block count,
/// UFS1's cylinder count and rotational-table offsets, the map offsets, the cluster-map
/// size), for a group whose own header cannot be read as one. The maps and counters are the
/// caller's to fill.
/// </summary>
internal static class FfsCylinderGroupHeader
{
    public static byte[] Build(FfsSuperblock sb, int cg, int initedIblk, long time)
    {
        FfsByteOrder o = sb.Order;
        byte[] block = new byte[sb.CgSize];
        Span<byte> b = block;
        int ndblk = sb.CgFrags(cg);
        o.W32(b, CgFields.Magic, CylinderGroup.Magic);
        o.W32(b, CgFields.Cgx, cg);
        o.W32(b, CgFields.Ndblk, ndblk);
        int iusedOff;
        if (sb.IsUfs2)
        {
            iusedOff = CgFields.HeaderSize;
            o.W64(b, CgFields.Time, time);
            o.W32(b, CgFields.Niblk, sb.Ipg);
            o.W32(b, CgFields.InitedIblk, initedIblk);
        }
        else
        {
            // The old rotational tables keep their room (a block-total per cylinder, a count
            // per rotational position) though no modern kernel maintains them.
            int cpg = Math.Max(1, sb.OldCpg);
            int btotOff = CgFields.HeaderSize;
            int bOff = btotOff + (cpg * 4);
            iusedOff = bOff + (cpg * Math.Max(1, sb.OldNrpos) * 2);
            o.W32(b, CgFields.OldTime, (int)time);
            o.W16(b, CgFields.OldNcyl, (short)OldCylinders(sb, cg, ndblk, cpg));
            o.W16(b, CgFields.OldNiblk, (short)sb.Ipg);
            o.W32(b, CgFields.OldBtotoff, btotOff);
            o.W32(b, CgFields.OldBoff, bOff);
        }
        int freeOff = iusedOff + HowMany(sb.Ipg, 8);
        int nextFreeOff = freeOff + HowMany(sb.Fpg, 8);
        o.W32(b, CgFields.IusedOff, iusedOff);
        o.W32(b, CgFields.FreeOff, freeOff);
        if (sb.ContigSumSize > 0)
        {
            int clusterSumOff = (nextFreeOff - 4 + 3) & ~3;
            int clusterOff = clusterSumOff + ((sb.ContigSumSize + 1) * 4);
            nextFreeOff = clusterOff + HowMany(sb.Fpg / sb.Frag, 8);
            o.W32(b, CgFields.ClusterSumOff, clusterSumOff);
            o.W32(b, CgFields.ClusterOff, clusterOff);
            o.W32(b, CgFields.NclusterBlks, ndblk / sb.Frag);
        }
        o.W32(b, CgFields.NextFreeOff, nextFreeOff);
        if (cg == 0)
        {
            var view = new CylinderGroup(b, o);
            for (int i = 0; i < FfsSuperblock.RootIno; i++)
            {
                view.SetInodeUsed(i, true);
            }
        }
        return block;
    }

    /// <summary>fs_old_cpg, except in the last group, which may hold fewer cylinders (a superblock not yet updated keeps fs_old_ncyl's remainder).</summary>
    private static int OldCylinders(FfsSuperblock sb, int cg, int ndblk, int cpg)
    {
        if (cg != sb.Ncg - 1)
        {
            return cpg;
        }
        return (sb.OldFlags & FfsSuperblock.OldFlagsUpdated) == 0
            ? sb.OldNcyl % cpg
            : HowMany(ndblk, Math.Max(1, sb.Fpg / cpg));
    }

    private static int HowMany(int x, int y) => (x + y - 1) / y;
}
