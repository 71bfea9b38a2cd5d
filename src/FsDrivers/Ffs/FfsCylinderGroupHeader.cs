namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// A cylinder group's header as the superblock's geometry fixes it, with empty maps (but for
/// inodes 0 and 1 of group 0, which are never handed out, marked in use as newfs and
/// fsck_ffs mark them): what
/// fsck_ffs's pass 5 builds as its new group (the magic, the index, the data-block count,
/// UFS1's cylinder count and rotational-table offsets, the map offsets, the cluster-map
/// size), for a group whose own header cannot be read as one, and the header every other
/// group's is compared with (<see cref="FfsCylinderGroupHeaderCheck"/>). The maps and
/// counters are the caller's to fill.
/// </summary>
internal static class FfsCylinderGroupHeader
{
    public static byte[] Build(FfsSuperblock sb, int cg, int initedIblk, long time)
    {
        byte[] block = new byte[sb.CgSize];
        int ndblk = sb.CgFrags(cg);
        MapLayout m = Layout(sb);
        int iusedOff = (int)m.IusedOff, freeOff = (int)m.FreeOff, nextFreeOff = (int)m.NextFreeOff;
        int clusterSumOff = (int)m.ClusterSumOff, clusterOff = (int)m.ClusterOff;
        int cpg = Math.Max(1, sb.OldCpg);
        int btotOff = CgFields.HeaderSize;
        int bOff = (int)m.OldBOff;
        Write(block, sb.Order, new CgHeaderShape(cg, ndblk, sb.IsUfs2, time, sb.Ipg, initedIblk,
            iusedOff, freeOff, nextFreeOff, sb.ContigSumSize > 0, clusterSumOff, clusterOff, ndblk / sb.Frag,
            sb.IsUfs2 ? 0 : OldCylinders(sb, cg, ndblk, cpg), btotOff, bOff));
        if (cg == 0)
        {
            var view = new CylinderGroup(block, sb.Order);
            for (int i = 0; i < FfsSuperblock.RootIno; i++)
            {
                view.SetInodeUsed(i, true);
            }
        }
        return block;
    }

    /// <summary>
    /// Write a header's fixed part: magic, index, size, time, inode counts, and where each map
    /// lies (UFS1: also the cylinder count and the old rotational tables' offsets). newfs and
    /// the checker's rebuild both write their headers through here, from the geometry they
    /// each hold.
    /// </summary>
    public static void Write(Span<byte> b, FfsByteOrder o, in CgHeaderShape s)
    {
        o.W32(b, CgFields.Magic, CylinderGroup.Magic);
        o.W32(b, CgFields.Cgx, s.Cg);
        o.W32(b, CgFields.Ndblk, s.Ndblk);
        o.W32(b, CgFields.IusedOff, s.IusedOff);
        o.W32(b, CgFields.FreeOff, s.FreeOff);
        o.W32(b, CgFields.NextFreeOff, s.NextFreeOff);
        if (s.Clusters)
        {
            o.W32(b, CgFields.ClusterSumOff, s.ClusterSumOff);
            o.W32(b, CgFields.ClusterOff, s.ClusterOff);
            o.W32(b, CgFields.NclusterBlks, s.NclusterBlks);
        }
        if (s.IsUfs2)
        {
            o.W64(b, CgFields.Time, s.Time);
            o.W32(b, CgFields.Niblk, s.Ipg);
            o.W32(b, CgFields.InitedIblk, s.InitedIblk);
        }
        else
        {
            o.W32(b, CgFields.OldTime, (int)s.Time);
            o.W16(b, CgFields.OldNcyl, (short)s.OldNcyl);
            o.W16(b, CgFields.OldNiblk, (short)s.Ipg);
            o.W32(b, CgFields.OldBtotoff, s.OldBtotOff);
            o.W32(b, CgFields.OldBoff, s.OldBOff);
        }
    }

    /// <summary>Where each map of a group lies, as pass 5 lays out its new group; longs, so that no superblock value can overflow them.</summary>
    public readonly record struct MapLayout(long OldBOff, long IusedOff, long FreeOff, long NextFreeOff, long ClusterSumOff, long ClusterOff);

    /// <summary>
    /// The map offsets the superblock's geometry gives every group. NextFreeOff is the end of
    /// the last map: the bytes a group block must hold (CGSIZE), which fs_cgsize must cover.
    /// </summary>
    public static MapLayout Layout(FfsSuperblock sb)
    {
        long cpg = Math.Max(1, sb.OldCpg);
        long bOff = CgFields.HeaderSize + (cpg * 4);
        // UFS1 keeps the old rotational tables' room (a block total per cylinder, a count per
        // rotational position) though no modern kernel maintains them.
        long iusedOff = sb.IsUfs2 ? CgFields.HeaderSize : bOff + (cpg * Math.Max(1, sb.OldNrpos) * 2);
        long freeOff = iusedOff + HowMany(sb.Ipg, 8);
        long nextFreeOff = freeOff + HowMany(sb.Fpg, 8);
        long clusterSumOff = 0, clusterOff = 0;
        if (sb.ContigSumSize > 0)
        {
            clusterSumOff = (nextFreeOff - 4 + 3) & ~3L;
            clusterOff = clusterSumOff + ((sb.ContigSumSize + 1L) * 4);
            nextFreeOff = clusterOff + HowMany(sb.Fpg / Math.Max(1, sb.Frag), 8);
        }
        return new MapLayout(bOff, iusedOff, freeOff, nextFreeOff, clusterSumOff, clusterOff);
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

    private static long HowMany(long x, long y) => (x + y - 1) / y;
}

/// <summary>
/// What a cylinder group's header says of the group but its counters and maps: its index and
/// size, its time and inode counts, where each map lies, and UFS1's cylinder count and
/// rotational-table offsets (ignored for UFS2).
/// </summary>
internal readonly record struct CgHeaderShape(int Cg, int Ndblk, bool IsUfs2, long Time, int Ipg, int InitedIblk,
    int IusedOff, int FreeOff, int NextFreeOff, bool Clusters, int ClusterSumOff, int ClusterOff, int NclusterBlks,
    int OldNcyl, int OldBtotOff, int OldBOff);
