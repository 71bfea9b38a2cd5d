using RumpFs.Kernel;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Allocation policy and bitmaps (ffs_alloc.c): inodes, whole blocks and fragments, with
/// the free-block, free-inode and cluster maps, the fragment run summary (frsum) and the
/// per-cg, summary-area and superblock counters kept exact. All under <see cref="AllocLock"/>.
/// </summary>
internal sealed partial class FfsMount
{
    private int _cgRotor;

    /// <summary>
    /// True when <paramref name="frag"/>..+<paramref name="nfrags"/> is 0 (a hole) or lies in
    /// the data area of one block: inside the file system and clear of any cylinder group's
    /// superblock copy, group block and inode table.
    /// </summary>
    public bool PointerValid(long frag, int nfrags)
    {
        if (frag == 0)
        {
            return true;
        }
        if (frag < 0 || frag + nfrags > Sb.Size || (frag % Sb.Frag) + nfrags > Sb.Frag)
        {
            return false;
        }
        // A group's metadata runs from its superblock copy to the end of its inode table;
        // the fragments before the copy hold data, except the boot area of group 0.
        int cg = Sb.DtoG(frag);
        long metaStart = cg == 0 ? 0 : Sb.CgStart(cg) + Sb.Sblkno;
        return frag + nfrags <= metaStart || frag >= Sb.CgDMin(cg);
    }

    private Errno ReadCg(int cg, out Buffer? bp)
    {
        Errno e = Bufs.Read(Sb.FragToBytes(Sb.CgTod(cg)), Sb.CgSize, out bp);
        if (e != Errno.OK)
        {
            return e;
        }
        var g = new CylinderGroup(bp!.Data, Order);
        if (g.MagicValue != CylinderGroup.Magic || g.Cgx != cg)
        {
            bp.Release();
            bp = null;
            return KernelLog.CorruptionOnce("ffs", Sb.CgTod(cg), $"cylinder group {cg} has a bad magic or index");
        }
        return Errno.OK;
    }

    private void AdjustCounts(int cg, ref CylinderGroup g, int dDir, int dBfree, int dIfree, int dFfree)
    {
        g.Ndir += dDir;
        g.Nbfree += dBfree;
        g.Nifree += dIfree;
        g.Nffree += dFfree;
        _csum[(4 * cg) + 0] += dDir;
        _csum[(4 * cg) + 1] += dBfree;
        _csum[(4 * cg) + 2] += dIfree;
        _csum[(4 * cg) + 3] += dFfree;
        Sb.NDir += dDir;
        Sb.NbFree += dBfree;
        Sb.NiFree += dIfree;
        Sb.NfFree += dFfree;
        _summaryDirty = true;
        g.SetTime(Clock.Now.Seconds);
    }

    internal int CsNbfree(int cg) => _csum[(4 * cg) + 1];
    internal int CsNifree(int cg) => _csum[(4 * cg) + 2];
    internal int CsNdir(int cg) => _csum[4 * cg];
    internal int CsNffree(int cg) => _csum[(4 * cg) + 3];

    // ---- Inodes. ------------------------------------------------------------------------

    /// <summary>
    /// Allocate an inode near <paramref name="parentIno"/> (files) or in a lightly used
    /// group (directories, ffs_dirpref). ENOSPC when none is free.
    /// </summary>
    public Errno AllocInode(ulong parentIno, bool directory, out ulong ino)
    {
        ino = 0;
        lock (AllocLock)
        {
            if (Sb.NiFree <= 0)
            {
                return Errno.ENOSPC;
            }
            ulong found = 0;
            Errno e = HashAlloc(directory ? DirPref() : Sb.InoToCg(parentIno),
                cg => CsNifree(cg) > 0,
                (cg, _) => AllocInodeInCg(cg, directory, out found));
            ino = found;
            return e;
        }
    }

    /// <summary>
    /// Try the groups in turn for an allocation (ffs_hashalloc, searched linearly): the
    /// preferred group <paramref name="startCg"/> first, then each following one, skipping
    /// those whose summary says it cannot fit. <paramref name="allocInCg"/> is told whether
    /// it runs in the preferred group (where a block preference applies); the first answer
    /// other than ENOSPC ends the search.
    /// </summary>
    private Errno HashAlloc(int startCg, Func<int, bool> mayFit, Func<int, bool, Errno> allocInCg)
    {
        for (int i = 0; i < Sb.Ncg; i++)
        {
            int cg = (startCg + i) % Sb.Ncg;
            if (!mayFit(cg))
            {
                continue;
            }
            Errno e = allocInCg(cg, i == 0);
            if (e != Errno.ENOSPC)
            {
                return e;
            }
        }
        return Errno.ENOSPC;
    }

    /// <summary>The group a block preference points into (the first when there is none).</summary>
    private int PrefGroup(long pref) => pref > 0 && pref < Sb.Size ? Sb.DtoG(pref) : 0;

    /// <summary>The group with the fewest directories among those with at least average free inodes and blocks.</summary>
    private int DirPref()
    {
        long avgIfree = Sb.NiFree / Sb.Ncg;
        long avgBfree = Sb.NbFree / Sb.Ncg;
        int best = -1;
        int bestDirs = int.MaxValue;
        int start = _cgRotor;
        for (int i = 0; i < Sb.Ncg; i++)
        {
            int cg = (start + i) % Sb.Ncg;
            if (CsNifree(cg) >= avgIfree && CsNbfree(cg) >= avgBfree && CsNdir(cg) < bestDirs)
            {
                best = cg;
                bestDirs = CsNdir(cg);
            }
        }
        _cgRotor = (start + 1) % Sb.Ncg;
        return best < 0 ? 0 : best;
    }

    private Errno AllocInodeInCg(int cg, bool directory, out ulong ino)
    {
        ino = 0;
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
                if (g.Nifree <= 0)
                {
                    return Errno.ENOSPC;
                }
                int start = Math.Clamp(g.Irotor, 0, Sb.Ipg - 1);
                int found = -1;
                for (int i = 0; i < Sb.Ipg; i++)
                {
                    int cand = (start + i) % Sb.Ipg;
                    if (!g.InodeUsed(cand) && (ulong)Sb.Ipg * (ulong)cg + (ulong)cand >= FfsSuperblock.RootIno)
                    {
                        found = cand;
                        break;
                    }
                }
                if (found < 0)
                {
                    return KernelLog.CorruptionOnce("ffs", Sb.CgTod(cg), $"cylinder group {cg} counts free inodes but its map has none");
                }
                if (Sb.IsUfs2)
                {
                    e = CheckUninitialisedInodes(cg, g, found);
                    if (e != Errno.OK)
                    {
                        return e;
                    }
                    // UFS2 initialises inode blocks lazily (cg_initediblk): zero the next
                    // block of inodes before handing one of them out.
                    while (found >= g.InitedIblk && g.InitedIblk < Sb.Ipg)
                    {
                        ulong first = ((ulong)cg * (ulong)Sb.Ipg) + (ulong)g.InitedIblk;
                        Buffer ib = Bufs.Get(Sb.FragToBytes(Sb.InoToFsba(first)), Sb.Bsize);
                        lock (ib.SyncRoot)
                        {
                            ib.Data.Clear();
                        }
                        ib.MarkDirty();
                        ib.Release();
                        g.InitedIblk += Sb.Inopb;
                    }
                }
                g.SetInodeUsed(found, true);
                g.Irotor = found;
                AdjustCounts(cg, ref g, directory ? 1 : 0, 0, -1, 0);
                ino = ((ulong)cg * (ulong)Sb.Ipg) + (ulong)found;
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
    /// Before the blocks of never-used inodes up to <paramref name="found"/> are zeroed: a
    /// damaged cg_initediblk (<see cref="CylinderGroup.InitedIblkValid"/>), or one below
    /// inodes the map shows in use, would have the allocator zero live inodes (or blocks
    /// outside the inode table). EIO, logged, and nothing changed.
    /// </summary>
    private Errno CheckUninitialisedInodes(int cg, CylinderGroup g, int found)
    {
        int inited = g.InitedIblk;
        if (!g.InitedIblkValid(Sb.Ipg, Sb.Inopb))
        {
            return KernelLog.CorruptionOnce("ffs", Sb.CgTod(cg), $"cylinder group {cg} records {inited} initialised inodes of {Sb.Ipg}");
        }
        int zeroTo = (int)Math.Min((long)Sb.Ipg, ((long)found / Sb.Inopb * Sb.Inopb) + Sb.Inopb);
        for (int i = inited; i < zeroTo; i++)
        {
            if (g.InodeUsed(i))
            {
                return KernelLog.CorruptionOnce("ffs", Sb.CgTod(cg),
                    $"cylinder group {cg}: inode {((long)cg * Sb.Ipg) + i} is in use but lies past the {inited} initialised inodes");
            }
        }
        return Errno.OK;
    }

    /// <summary>
    /// After <see cref="AllocInode"/> handed out a number that turned out to be live (a
    /// damaged map): its bit stays set, but the counts go back to what they were, since they
    /// already counted that inode as used.
    /// </summary>
    public Errno KeepLiveInode(ulong ino, bool directory)
    {
        lock (AllocLock)
        {
            int cg = Sb.InoToCg(ino);
            Errno e = ReadCg(cg, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            lock (bp!.SyncRoot)
            {
                var g = new CylinderGroup(bp.Data, Order);
                AdjustCounts(cg, ref g, directory ? -1 : 0, 0, 1, 0);
            }
            bp.MarkDirty();
            bp.Release();
            return Errno.OK;
        }
    }

    /// <summary>Return inode <paramref name="ino"/> to its group's map (ffs_freefile).</summary>
    public Errno FreeInode(ulong ino, bool directory)
    {
        lock (AllocLock)
        {
            int cg = Sb.InoToCg(ino);
            Errno e = ReadCg(cg, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            int i = (int)(ino % (ulong)Sb.Ipg);
            lock (bp!.SyncRoot)
            {
                var g = new CylinderGroup(bp.Data, Order);
                if (!g.InodeUsed(i))
                {
                    bp.Release();
                    return KernelLog.CorruptionOnce("ffs", (long)ino, $"freeing free inode {ino}");
                }
                g.SetInodeUsed(i, false);
                if (i < g.Irotor)
                {
                    g.Irotor = i;
                }
                AdjustCounts(cg, ref g, directory ? -1 : 0, 0, 1, 0);
            }
            bp.MarkDirty();
            bp.Release();
            return Errno.OK;
        }
    }
}
