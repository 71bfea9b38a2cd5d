namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// fsck_ffs pass 5's header comparison for a group whose magic, index and map offsets are
/// usable: the header <see cref="FfsCylinderGroupHeader.Build"/> gives from the superblock,
/// set against the one on disk, field by field. The counters, cs, frsum and the times are
/// left out (pass 5 recounts them), the rotors are only clamped, as fsck_ffs clamps them
/// (cg_rotor and cg_frotor within the group's fragments, cg_irotor within its inodes), and
/// UFS2's cg_initediblk must cover every inode the map shows in use. The check and the
/// repair both go on with the block <see cref="Review"/> returns, so they read the same maps.
/// </summary>
internal static class FfsCylinderGroupHeaderCheck
{
    /// <summary>A header field compared with Build's: its name in struct cg, offset, and whether it is 16 bits wide.</summary>
    private readonly record struct Field(string Name, int Offset, bool Short = false);

    // Only the fields makefs and newfs write as Build does (FfsCylinderGroupHeaderTests holds
    // them to it on every corpus image): the other format's fields vary between writers.
    private static readonly Field[] s_common =
    [
        new("cg_ndblk", CgFields.Ndblk), new("cg_iusedoff", CgFields.IusedOff), new("cg_freeoff", CgFields.FreeOff),
        new("cg_nextfreeoff", CgFields.NextFreeOff), new("cg_clustersumoff", CgFields.ClusterSumOff),
        new("cg_clusteroff", CgFields.ClusterOff), new("cg_nclusterblks", CgFields.NclusterBlks),
    ];

    private static readonly Field[] s_ufs2 = [new("cg_niblk", CgFields.Niblk)];

    private static readonly Field[] s_ufs1 =
    [
        new("cg_old_ncyl", CgFields.OldNcyl, Short: true), new("cg_old_niblk", CgFields.OldNiblk, Short: true),
        new("cg_old_btotoff", CgFields.OldBtotoff), new("cg_old_boff", CgFields.OldBoff),
    ];

    /// <summary>
    /// Compare group <paramref name="cg"/>'s header with what the superblock gives and add
    /// one line per kind of damage to <paramref name="findings"/>. Returns the block to go on
    /// with: <paramref name="block"/> itself when nothing is wrong, else a copy whose header
    /// is the rebuilt one, holding the same counters, times and maps (moved to the rebuilt
    /// offsets), the rotors clamped and cg_initediblk raised over the inodes in use.
    /// </summary>
    public static byte[] Review(FfsSuperblock sb, int cg, byte[] block, List<string> findings)
    {
        FfsByteOrder o = sb.Order;
        byte[] want = FfsCylinderGroupHeader.Build(sb, cg, initedIblk: 0, time: 0);
        var wrong = new List<string>();
        foreach (Field f in sb.IsUfs2 ? s_common.Concat(s_ufs2) : s_common.Concat(s_ufs1))
        {
            int have = Read(o, block, f), should = Read(o, want, f);
            if (have != should)
            {
                wrong.Add($"{f.Name} {have} (should be {should})");
            }
        }
        int ndblk = o.I32(want, CgFields.Ndblk);
        var g = new CylinderGroup(block, o);
        int rotor = Clamp(g.Rotor, ndblk), frotor = Clamp(g.Frotor, ndblk), irotor = Clamp(g.Irotor, sb.Ipg);
        AddRotor(wrong, "cg_rotor", g.Rotor, rotor);
        AddRotor(wrong, "cg_frotor", g.Frotor, frotor);
        AddRotor(wrong, "cg_irotor", g.Irotor, irotor);
        if (wrong.Count > 0)
        {
            findings.Add("header disagrees with the superblock (summary information bad): " + string.Join(", ", wrong));
            block = Rebuilt(sb, block, want, rotor, frotor, irotor);
        }
        if (sb.IsUfs2)
        {
            RaiseInitedIblk(sb, block, findings);
        }
        return block;
    }

    /// <summary>
    /// UFS2: a valid cg_initediblk below an inode the map shows in use would have those
    /// inodes passed over as uninitialised (and every entry naming them removed). It is
    /// raised to the end of the inode block holding the last of them, and they are read as
    /// any other. A value that is no count at all is reported where the inodes are scanned.
    /// </summary>
    private static void RaiseInitedIblk(FfsSuperblock sb, byte[] block, List<string> findings)
    {
        var g = new CylinderGroup(block, sb.Order);
        if (!g.InitedIblkValid(sb.Ipg, sb.Inopb))
        {
            return;
        }
        int inited = g.InitedIblk;
        int last = -1;
        for (int i = Math.Min(sb.Ipg, g.InodeMapBits) - 1; i >= inited && last < 0; i--)
        {
            last = g.InodeUsed(i) ? i : -1;
        }
        if (last < 0)
        {
            return;
        }
        int raised = (int)Math.Min(sb.Ipg, ((long)last + sb.Inopb) / sb.Inopb * sb.Inopb);
        findings.Add($"cg_initediblk {inited} below used inodes; raised to {raised}");
        g.InitedIblk = raised;
    }

    /// <summary>The rebuilt header in a new block, with the old block's counters, times, initediblk, old rotational tables and maps.</summary>
    private static byte[] Rebuilt(FfsSuperblock sb, byte[] old, byte[] want, int rotor, int frotor, int irotor)
    {
        FfsByteOrder o = sb.Order;
        byte[] b = (byte[])want.Clone();
        // cs, the rotors and frsum lie together (cg_cs up to cg_old_btotoff); then the times.
        old.AsSpan(CgFields.CsNdir, CgFields.OldBtotoff - CgFields.CsNdir).CopyTo(b.AsSpan(CgFields.CsNdir));
        o.W32(b, CgFields.OldTime, o.I32(old, CgFields.OldTime));
        var from = new CylinderGroup(old, o);
        var to = new CylinderGroup(b, o);
        to.Rotor = rotor;
        to.Frotor = frotor;
        to.Irotor = irotor;
        if (sb.IsUfs2)
        {
            o.W64(b, CgFields.Time, o.I64(old, CgFields.Time));
            to.InitedIblk = from.InitedIblk;
        }
        else if (o.I32(old, CgFields.OldBoff) == o.I32(b, CgFields.OldBoff)
            && o.I32(old, CgFields.OldBtotoff) == o.I32(b, CgFields.OldBtotoff))
        {
            // The rotational tables no kernel keeps any more, where they were.
            old.AsSpan(CgFields.HeaderSize, to.IusedOff - CgFields.HeaderSize).CopyTo(b.AsSpan(CgFields.HeaderSize));
        }
        // The old offsets passed OffsetsValid; both blocks' map sizes bound the copy too.
        for (int i = 0; i < Math.Min(sb.Ipg, Math.Min(from.InodeMapBits, to.InodeMapBits)); i++)
        {
            to.SetInodeUsed(i, from.InodeUsed(i));
        }
        for (int f = 0; f < Math.Min(sb.Fpg, Math.Min(from.FreeMapBits, to.FreeMapBits)); f++)
        {
            to.SetFragFree(f, from.FragFree(f));
        }
        if (sb.ContigSumSize > 0)
        {
            for (int k = 0; k < Math.Min(sb.Fpg / sb.Frag, Math.Min(from.ClusterMapBits, to.ClusterMapBits)); k++)
            {
                to.SetClusterFree(k, from.ClusterFree(k));
            }
            for (int k = 1; k <= sb.ContigSumSize && k < Math.Min(from.ClusterSumSlots, to.ClusterSumSlots); k++)
            {
                to.AddClusterSum(k, from.ClusterSum(k));
            }
        }
        return b;
    }

    private static int Read(FfsByteOrder o, ReadOnlySpan<byte> b, Field f) => f.Short ? o.I16(b, f.Offset) : o.I32(b, f.Offset);

    /// <summary>fsck_ffs keeps a rotor inside its range and sets any other to 0.</summary>
    private static int Clamp(int v, int limit) => v >= 0 && v < limit ? v : 0;

    private static void AddRotor(List<string> wrong, string name, int have, int kept)
    {
        if (have != kept)
        {
            wrong.Add($"{name} {have} out of range (reset to {kept})");
        }
    }
}
