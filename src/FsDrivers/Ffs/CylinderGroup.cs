namespace RumpFs.FsDrivers.Ffs;

/// <summary>Byte offsets of struct cg (NetBSD sys/ufs/ffs/fs.h).</summary>
internal static class CgFields
{
    public const int Magic = 4;
    public const int OldTime = 8;
    public const int Cgx = 12;
    public const int OldNcyl = 16;
    public const int OldNiblk = 18;
    public const int Ndblk = 20;
    /// <summary>struct csum: ndir, nbfree, nifree, nffree (int32 each).</summary>
    public const int CsNdir = 24;
    public const int CsNbfree = 28;
    public const int CsNifree = 32;
    public const int CsNffree = 36;
    public const int Rotor = 40;
    public const int Frotor = 44;
    public const int Irotor = 48;
    /// <summary>int32 frsum[MAXFRAG]: free runs of each fragment count.</summary>
    public const int Frsum = 52;
    public const int OldBtotoff = 84;
    public const int OldBoff = 88;
    public const int IusedOff = 92;
    public const int FreeOff = 96;
    public const int NextFreeOff = 100;
    public const int ClusterSumOff = 104;
    public const int ClusterOff = 108;
    public const int NclusterBlks = 112;
    public const int Niblk = 116;
    public const int InitedIblk = 120;
    public const int Time = 136;
    /// <summary>sizeof(struct cg) up to cg_space.</summary>
    public const int HeaderSize = 168;
}

/// <summary>
/// A view of one cylinder-group block held in a metadata buffer: header counters and the
/// inode, fragment and cluster bitmaps, read and written in the image's byte order. It does
/// not own the buffer; the caller holds the allocation lock and marks the buffer dirty.
/// </summary>
internal readonly ref struct CylinderGroup
{
    public const int Magic = 0x090255;

    private readonly Span<byte> _b;
    private readonly FfsByteOrder _o;

    public CylinderGroup(Span<byte> block, FfsByteOrder order)
    {
        _b = block;
        _o = order;
    }

    public int MagicValue => _o.I32(_b, CgFields.Magic);
    public int Cgx => _o.I32(_b, CgFields.Cgx);
    public int Ndblk => _o.I32(_b, CgFields.Ndblk);
    public int Niblk => _o.I32(_b, CgFields.Niblk);
    public int IusedOff => _o.I32(_b, CgFields.IusedOff);
    public int FreeOff => _o.I32(_b, CgFields.FreeOff);
    public int NextFreeOff => _o.I32(_b, CgFields.NextFreeOff);
    public int ClusterSumOff => _o.I32(_b, CgFields.ClusterSumOff);
    public int ClusterOff => _o.I32(_b, CgFields.ClusterOff);
    public int NclusterBlks => _o.I32(_b, CgFields.NclusterBlks);

    public int InitedIblk
    {
        get => _o.I32(_b, CgFields.InitedIblk);
        set => _o.W32(_b, CgFields.InitedIblk, value);
    }

    /// <summary>
    /// Whether cg_initediblk can be what UFS2 keeps there: a count of inodes, within the
    /// group, on an inode block's edge (it grows one block of inodes at a time).
    /// </summary>
    public bool InitedIblkValid(int ipg, int inopb)
    {
        int v = InitedIblk;
        return v >= 0 && v <= ipg && (v % inopb == 0 || v == ipg);
    }

    /// <summary>
    /// How many of the group's inodes lie in initialised inode blocks (UFS2; a UFS1 group is
    /// all initialised). A damaged cg_initediblk is replaced by the end of the inode block
    /// holding the last inode the map shows in use: the blocks past it may hold garbage.
    /// </summary>
    public int InitialisedInodes(int ipg, int inopb, bool ufs2)
    {
        if (!ufs2)
        {
            return ipg;
        }
        if (InitedIblkValid(ipg, inopb))
        {
            return InitedIblk;
        }
        int last = -1;
        for (int i = Math.Min(ipg, InodeMapBits) - 1; i >= 0 && last < 0; i--)
        {
            last = InodeUsed(i) ? i : -1;
        }
        return (int)Math.Min(ipg, ((long)(last + 1) + inopb - 1) / inopb * inopb);
    }

    public int Ndir { get => _o.I32(_b, CgFields.CsNdir); set => _o.W32(_b, CgFields.CsNdir, value); }
    public int Nbfree { get => _o.I32(_b, CgFields.CsNbfree); set => _o.W32(_b, CgFields.CsNbfree, value); }
    public int Nifree { get => _o.I32(_b, CgFields.CsNifree); set => _o.W32(_b, CgFields.CsNifree, value); }
    public int Nffree { get => _o.I32(_b, CgFields.CsNffree); set => _o.W32(_b, CgFields.CsNffree, value); }
    public int Rotor { get => _o.I32(_b, CgFields.Rotor); set => _o.W32(_b, CgFields.Rotor, value); }
    public int Frotor { get => _o.I32(_b, CgFields.Frotor); set => _o.W32(_b, CgFields.Frotor, value); }
    public int Irotor { get => _o.I32(_b, CgFields.Irotor); set => _o.W32(_b, CgFields.Irotor, value); }

    public int Frsum(int i) => _o.I32(_b, CgFields.Frsum + (4 * i));
    public void AddFrsum(int i, int delta) => _o.Add32(_b, CgFields.Frsum + (4 * i), delta);

    public int ClusterSum(int i) => _o.I32(_b, ClusterSumOff + (4 * i));
    public void AddClusterSum(int i, int delta) => _o.Add32(_b, ClusterSumOff + (4 * i), delta);

    public void SetTime(long seconds)
    {
        _o.W32(_b, CgFields.OldTime, (int)seconds);
        _o.W64(_b, CgFields.Time, seconds);
    }

    /// <summary>Is inode <paramref name="i"/> (relative to the group) in use?</summary>
    public bool InodeUsed(int i) => Bit(IusedOff, i);
    public void SetInodeUsed(int i, bool used) => SetBit(IusedOff, i, used);

    /// <summary>Is fragment <paramref name="f"/> (relative to the group) free?</summary>
    public bool FragFree(int f) => Bit(FreeOff, f);

    /// <summary>
    /// Free whole blocks, free fragments of partly used blocks, and the count of free runs
    /// by length (cg_frsum) over the first <paramref name="frags"/> fragments of the free map,
    /// in blocks of <paramref name="fragsPerBlock"/>: the figures a group's summary must hold.
    /// </summary>
    public void CountFree(int frags, int fragsPerBlock, out int freeBlocks, out int freeFrags, Span<int> frsum)
    {
        freeBlocks = 0;
        freeFrags = 0;
        frsum.Clear();
        for (int b = 0; b + fragsPerBlock <= frags; b += fragsPerBlock)
        {
            int free = 0, run = 0;
            for (int f = 0; f <= fragsPerBlock; f++)
            {
                if (f < fragsPerBlock && FragFree(b + f))
                {
                    free++;
                    run++;
                    continue;
                }
                if (run > 0 && run < fragsPerBlock)
                {
                    frsum[run]++;
                }
                run = 0;
            }
            if (free == fragsPerBlock)
            {
                freeBlocks++;
            }
            else
            {
                freeFrags += free;
            }
        }
    }
    public void SetFragFree(int f, bool free) => SetBit(FreeOff, f, free);

    /// <summary>Is block <paramref name="blk"/> (in blocks, relative to the group) free in the cluster map?</summary>
    public bool ClusterFree(int blk) => Bit(ClusterOff, blk);
    public void SetClusterFree(int blk, bool free) => SetBit(ClusterOff, blk, free);

    /// <summary>True when the <paramref name="frag"/> fragments of block starting at fragment <paramref name="f"/> are all free.</summary>
    public bool BlockFree(int f, int frag)
    {
        if (IsAlignedBlock(f, frag))
        {
            // ffs_isblock: the block's fragments share one byte of the map.
            int mask = BlockMask(f, frag);
            return (_b[FreeOff + (f >> 3)] & mask) == mask;
        }
        for (int i = 0; i < frag; i++)
        {
            if (!FragFree(f + i))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>How many of the <paramref name="frag"/> fragments of the block at fragment <paramref name="f"/> are free.</summary>
    public int FreeFragsInBlock(int f, int frag)
    {
        if (IsAlignedBlock(f, frag))
        {
            return System.Numerics.BitOperations.PopCount((uint)(_b[FreeOff + (f >> 3)] & BlockMask(f, frag)));
        }
        int n = 0;
        for (int i = 0; i < frag; i++)
        {
            n += FragFree(f + i) ? 1 : 0;
        }
        return n;
    }

    /// <summary>
    /// Mark the whole block starting at fragment <paramref name="f"/> used (ffs_clrblock);
    /// the caller keeps the counters, frsum and cluster map in step.
    /// </summary>
    public void ClearBlock(int f, int frag)
    {
        if (IsAlignedBlock(f, frag))
        {
            _b[FreeOff + (f >> 3)] &= (byte)~BlockMask(f, frag);
            return;
        }
        for (int i = 0; i < frag; i++)
        {
            SetFragFree(f + i, false);
        }
    }

    /// <summary>Mark the whole block starting at fragment <paramref name="f"/> free (ffs_setblock); the caller keeps the counters in step.</summary>
    public void SetBlock(int f, int frag)
    {
        if (IsAlignedBlock(f, frag))
        {
            _b[FreeOff + (f >> 3)] |= (byte)BlockMask(f, frag);
            return;
        }
        for (int i = 0; i < frag; i++)
        {
            SetFragFree(f + i, true);
        }
    }

    /// <summary>A block of 1, 2, 4 or 8 fragments that starts on a multiple of its size lies inside one byte of the map.</summary>
    private static bool IsAlignedBlock(int f, int frag) =>
        frag is 1 or 2 or 4 or 8 && (f & (frag - 1)) == 0;

    private static int BlockMask(int f, int frag) => ((1 << frag) - 1) << (f & 7);

    /// <summary>True when every offset of the header lies inside a block of <paramref name="cgsize"/> bytes for the given geometry.</summary>
    public bool OffsetsValid(int cgsize, int ipg, int fpg, int frag, bool clusters)
    {
        int iu = IusedOff, fr = FreeOff;
        if (iu < CgFields.HeaderSize || fr < CgFields.HeaderSize)
        {
            return false;
        }
        if ((long)iu + ((ipg + 7) / 8) > cgsize || (long)fr + ((fpg + 7) / 8) > cgsize)
        {
            return false;
        }
        if (clusters)
        {
            int cs = ClusterSumOff, co = ClusterOff;
            if (cs < CgFields.HeaderSize || co < CgFields.HeaderSize || cs > cgsize - 4
                || (long)co + ((fpg / frag) + 7) / 8 > cgsize)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Bits of the map at <paramref name="off"/> that lie inside this block. Walks stop
    /// there whatever the header or superblock claims, so a damaged count cannot index past
    /// the buffer.
    /// </summary>
    private int MapBits(int off) =>
        off < CgFields.HeaderSize || off >= _b.Length ? 0 : (int)Math.Min((long)(_b.Length - off) * 8, int.MaxValue);

    /// <summary>Inodes the inode map can describe within the block.</summary>
    public int InodeMapBits => MapBits(IusedOff);

    /// <summary>Fragments the free map can describe within the block.</summary>
    public int FreeMapBits => MapBits(FreeOff);

    /// <summary>Blocks the cluster map can describe within the block.</summary>
    public int ClusterMapBits => MapBits(ClusterOff);

    /// <summary>Entries of cg_clustersum (index 0 included) that lie within the block.</summary>
    public int ClusterSumSlots => MapBits(ClusterSumOff) / 32;

    private bool Bit(int off, int i) => (_b[off + (i >> 3)] & (1 << (i & 7))) != 0;

    private void SetBit(int off, int i, bool on)
    {
        ref byte x = ref _b[off + (i >> 3)];
        x = on ? (byte)(x | (1 << (i & 7))) : (byte)(x & ~(1 << (i & 7)));
    }
}
