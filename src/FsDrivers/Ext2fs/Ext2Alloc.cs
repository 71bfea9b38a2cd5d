using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Block and inode allocation over the group bitmaps (NetBSD's ext2fs_alloc.c): contiguous
/// runs near a goal, groups tried in order from the goal's, lazily initialised groups
/// (BLOCK_UNINIT / INODE_UNINIT) set up on first use, counters and bitmap checksums kept in
/// step. Everything runs under <see cref="AllocLock"/>.
/// </summary>
internal sealed partial class Ext2Mount
{
    /// <summary>Where data of inode <paramref name="ino"/> should go first: its group's first block (flex_bg: its flex group's).</summary>
    public ulong GoalForInode(uint ino)
    {
        uint g = (ino - 1) / Sb.InodesPerGroup;
        int log = (Sb.FeatureIncompat & Ext2Features.IncompatFlexBg) != 0 ? Sb.LogGroupsPerFlex : 0;
        if (log > 0 && log < 31)
        {
            g = g >> log << log;
        }
        return GroupFirstBlock(g);
    }

    private Errno ReadBlockBitmap(uint g, out Buffer? bp)
    {
        Ext2GroupDescriptor gd = Groups[g];
        if ((gd.Flags & Ext2GroupDescriptor.FlagBlockUninit) != 0 && (MetadataCsum || Sb.HasGdtCsum))
        {
            bp = GetBlock(gd.BlockBitmap);
            lock (bp.SyncRoot)
            {
                InitBlockBitmap(g, bp.Data);
            }
            gd.Flags &= unchecked((ushort)~Ext2GroupDescriptor.FlagBlockUninit);
            UpdateBlockBitmapCsum(g, bp.Data);
            Dirty(bp);
            return Errno.OK;
        }
        Errno e = ReadBlock(gd.BlockBitmap, out bp);
        if (e != Errno.OK)
        {
            return e;
        }
        if (MetadataCsum && !BitmapChecksumMatches(gd.BlockBitmapCsum, BitmapChecksum(bp!.Data, (int)(Sb.ClustersPerGroup / 8))))
        {
            bp.Release();
            bp = null;
            return Corrupt((long)gd.BlockBitmap, $"bad block bitmap checksum of group {g}");
        }
        return Errno.OK;
    }

    /// <summary>The bitmap of a group never written: its own metadata used, the rest free, padding set.</summary>
    private void InitBlockBitmap(uint g, Span<byte> bits)
    {
        bits.Clear();
        ulong first = GroupFirstBlock(g);
        uint n = SuperAndGdtBlocks(g);
        for (uint i = 0; i < n; i++)
        {
            SetBit(bits, (int)i);
        }
        Ext2GroupDescriptor gd = Groups[g];
        MarkIfInGroup(bits, first, g, gd.BlockBitmap, 1);
        MarkIfInGroup(bits, first, g, gd.InodeBitmap, 1);
        MarkIfInGroup(bits, first, g, gd.InodeTable, InodeTableBlocks);
        for (int i = (int)BlocksInGroup(g); i < bits.Length * 8; i++)
        {
            SetBit(bits, i);
        }
    }

    /// <summary>Blocks of one group's inode table.</summary>
    internal ulong InodeTableBlocks => ((ulong)Sb.InodesPerGroup * (ulong)InodeSize + (ulong)BlockSize - 1) / (ulong)BlockSize;

    private Ext2MetadataZone? _metadataZone;
    private bool[]? _metadataGuarded;

    /// <summary>
    /// Before the first allocation from group <paramref name="g"/>: a block bitmap that shows
    /// any of the file system's own blocks free is damaged, and handing one out would write
    /// a file over descriptors, bitmaps or the inode table. Their bits are set again (logged,
    /// and the superblock marked as having errors); the counts are left, as such damage
    /// usually leaves them counting those blocks in use. Returns true when a bit changed.
    /// Called under AllocLock and the bitmap buffer's lock.
    /// </summary>
    private bool GuardMetadata(uint g, Span<byte> bits)
    {
        _metadataGuarded ??= new bool[GroupCount];
        if (_metadataGuarded[g])
        {
            return false;
        }
        _metadataGuarded[g] = true;
        _metadataZone ??= Ext2MetadataZone.Build(this);
        ulong first = GroupFirstBlock(g);
        int restored = 0;
        foreach ((ulong s, ulong e) in _metadataZone.Within(first, first + BlocksInGroup(g)))
        {
            for (ulong b = s; b < e; b++)
            {
                if (!TestBit(bits, (int)(b - first)))
                {
                    SetBit(bits, (int)(b - first));
                    restored++;
                }
            }
        }
        if (restored == 0)
        {
            return false;
        }
        Corrupt((long)Groups[g].BlockBitmap, $"block bitmap of group {g} shows {restored} of the file system's own blocks free; kept in use");
        UpdateBlockBitmapCsum(g, bits);
        return true;
    }

    private bool?[]? _freeCountAgrees;

    /// <summary>
    /// Before the first allocation from group <paramref name="g"/>: a bitmap whose free bits
    /// do not add up to the descriptor's free count is damaged, and a block it shows free may
    /// belong to a file. As the kernel's mballoc does ("block bitmap and bg descriptor
    /// inconsistent"), the group is logged and no block is handed out from it for the rest
    /// of the mount (fsck repairs it). Called under AllocLock and the bitmap buffer's lock.
    /// </summary>
    private bool FreeCountAgrees(uint g, ReadOnlySpan<byte> bits)
    {
        _freeCountAgrees ??= new bool?[GroupCount];
        if (_freeCountAgrees[g] is bool known)
        {
            return known;
        }
        int limit = (int)BlocksInGroup(g);
        int used = 0;
        int full = limit >> 3;
        foreach (byte b in bits[..full])
        {
            used += System.Numerics.BitOperations.PopCount(b);
        }
        for (int i = full << 3; i < limit; i++)
        {
            used += TestBit(bits, i) ? 1 : 0;
        }
        uint free = (uint)(limit - used);
        bool agrees = free == Groups[g].FreeBlocks;
        _freeCountAgrees[g] = agrees;
        if (!agrees)
        {
            Corrupt((long)Groups[g].BlockBitmap,
                $"block bitmap of group {g} shows {free} free blocks, its descriptor {Groups[g].FreeBlocks}; no block is allocated from it");
        }
        return agrees;
    }

    private void MarkIfInGroup(Span<byte> bits, ulong first, uint g, ulong start, ulong count)
    {
        for (ulong b = start; b < start + count; b++)
        {
            if (b >= first && b < first + BlocksInGroup(g))
            {
                SetBit(bits, (int)(b - first));
            }
        }
    }

    private void UpdateBlockBitmapCsum(uint g, ReadOnlySpan<byte> bits)
    {
        if (MetadataCsum)
        {
            Groups[g].BlockBitmapCsum = BitmapChecksum(bits, (int)(Sb.ClustersPerGroup / 8));
        }
        MarkGroupDirty(g);
    }

    private void UpdateInodeBitmapCsum(uint g, ReadOnlySpan<byte> bits)
    {
        if (MetadataCsum)
        {
            Groups[g].InodeBitmapCsum = BitmapChecksum(bits, (int)(Sb.InodesPerGroup / 8));
        }
        MarkGroupDirty(g);
    }

    // Directory blocks already checked (records and checksum) since they were read: a block
    // only changes through this driver afterwards, which keeps it valid.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ulong, byte> _verified = new();

    public bool IsVerified(ulong blk) => _verified.ContainsKey(blk);

    public void MarkVerified(ulong blk)
    {
        if (_verified.Count > 1_000_000)
        {
            _verified.Clear();
        }
        _verified.TryAdd(blk, 0);
    }

    private void ForgetVerified(ulong start, long count)
    {
        for (long i = 0; i < count; i++)
        {
            _verified.TryRemove(start + (ulong)i, out _);
        }
    }

    private static bool TestBit(ReadOnlySpan<byte> bits, int i) => (bits[i >> 3] & (1 << (i & 7))) != 0;
    private static void SetBit(Span<byte> bits, int i) => bits[i >> 3] |= (byte)(1 << (i & 7));
    private static void ClearBit(Span<byte> bits, int i) => bits[i >> 3] &= (byte)~(1 << (i & 7));

    /// <summary>
    /// Allocate up to <paramref name="count"/> contiguous blocks, as near
    /// <paramref name="goal"/> as possible. ENOSPC when none is free, or when only the
    /// reserved blocks are left and the caller may not use them. Only
    /// <paramref name="fromPool"/> allocations (ext4's EXT4_MB_USE_RESERVED: tree blocks for
    /// converting or splitting extents) may take the reserved pool, and the root reserve too.
    /// </summary>
    public Errno AllocBlocks(ulong goal, int count, out ulong start, out int got, bool fromPool = false)
    {
        start = 0;
        got = 0;
        lock (AllocLock)
        {
            ulong usable = fromPool ? Sb.FreeBlocksCount : UsableFreeBlocks(CallerCredentials.Current);
            if (usable == 0)
            {
                return Errno.ENOSPC;
            }
            count = (int)Math.Min((ulong)count, usable);
            if (!ValidBlock(goal))
            {
                goal = Sb.FirstDataBlock;
            }
            uint g0 = GroupOfBlock(goal);
            for (uint k = 0; k <= GroupCount; k++)
            {
                uint g = (g0 + k) % GroupCount;
                if (Groups[g].FreeBlocks == 0)
                {
                    continue;
                }
                int from = k == 0 ? (int)(goal - GroupFirstBlock(g)) : 0;
                Errno e = ReadBlockBitmap(g, out Buffer? bp);
                if (e != Errno.OK)
                {
                    return e;
                }
                using (bp)
                {
                    int limit = (int)BlocksInGroup(g);
                    int bit = -1;
                    lock (bp!.SyncRoot)
                    {
                        Span<byte> bits = bp.Data;
                        if (GuardMetadata(g, bits))
                        {
                            Dirty(bp);
                            if (IsReadOnly)
                            {
                                return Errno.EROFS; // errors=remount-ro took effect
                            }
                        }
                        if (!FreeCountAgrees(g, bits))
                        {
                            if (IsReadOnly)
                            {
                                return Errno.EROFS; // errors=remount-ro took effect
                            }
                            continue;
                        }
                        bit = FindZero(bits, from, limit);
                        if (bit < 0 && from > 0)
                        {
                            bit = FindZero(bits, 0, from);
                        }
                        if (bit < 0)
                        {
                            continue;
                        }
                        int n = 0;
                        while (n < count && bit + n < limit && !TestBit(bits, bit + n))
                        {
                            SetBit(bits, bit + n);
                            n++;
                        }
                        got = n;
                        UpdateBlockBitmapCsum(g, bits);
                    }
                    Dirty(bp);
                    start = GroupFirstBlock(g) + (ulong)bit;
                    Groups[g].FreeBlocks -= (uint)got;
                    Groups[g].Flags &= unchecked((ushort)~Ext2GroupDescriptor.FlagBlockUninit);
                    MarkGroupDirty(g);
                    Sb.FreeBlocksCount -= (ulong)got;
                    return Errno.OK;
                }
            }
            return Errno.ENOSPC;
        }
    }

    /// <summary>
    /// Free blocks <paramref name="cred"/> may take (ext4_has_free_clusters): all but the
    /// reserved pool for root, for s_def_resuid and for members of s_def_resgid (unless that
    /// is group 0); for anyone else what is left above s_r_blocks_count and the pool.
    /// Called under AllocLock.
    /// </summary>
    private ulong UsableFreeBlocks(Credentials cred)
    {
        ulong free = Sb.FreeBlocksCount;
        ulong reserved = ReservedPool;
        if (!(cred.IsRoot || cred.Uid == Sb.DefResuid || (Sb.DefResgid != 0 && cred.InGroup(Sb.DefResgid))))
        {
            reserved += Sb.ReservedBlocksCount;
        }
        return free > reserved ? free - reserved : 0;
    }

    /// <summary>
    /// The first clear bit in [from, limit), or -1. Full bytes are skipped with a vectorised
    /// search: a filling group is scanned on every allocation, so a bit-by-bit walk over
    /// thousands of used blocks per new file adds up.
    /// </summary>
    internal static int FindZero(ReadOnlySpan<byte> bits, int from, int limit)
    {
        int i = from;
        while (i < limit && (i & 7) != 0)
        {
            if (!TestBit(bits, i))
            {
                return i;
            }
            i++;
        }
        while (i < limit)
        {
            int fullBytes = (limit - i) >> 3;
            if (fullBytes > 0)
            {
                int k = bits.Slice(i >> 3, fullBytes).IndexOfAnyExcept((byte)0xFF);
                if (k < 0)
                {
                    i += fullBytes << 3;
                    continue;
                }
                i += k << 3;
            }
            // The byte at i has a clear bit (or is the partial last byte): find it.
            int end = Math.Min(limit, i + 8);
            for (; i < end; i++)
            {
                if (!TestBit(bits, i))
                {
                    return i;
                }
            }
        }
        return -1;
    }

    /// <summary>
    /// Free [start, start+count). Metadata blocks (indirect, extent, directory, xattr) are
    /// also dropped from the buffer cache so a stale dirty copy cannot overwrite later data.
    /// Blocks of the file system's own structures (<see cref="Ext2MetadataZone"/>) are never
    /// freed: a file's map that names them is damaged (Linux: "freeing blocks in system
    /// zone"); they stay in use, logged, and the rest of the range is freed.
    /// </summary>
    public Errno FreeBlocks(ulong start, long count, bool metadata)
    {
        if (count <= 0)
        {
            return Errno.OK;
        }
        if (!ValidBlock(start) || !ValidBlock(start + (ulong)count - 1))
        {
            return Corrupt((long)start, "freeing a block outside the file system");
        }
        ulong end = start + (ulong)count;
        List<(ulong Start, ulong End)> own;
        lock (AllocLock)
        {
            _metadataZone ??= Ext2MetadataZone.Build(this);
            own = [.. _metadataZone.Within(start, end)];
        }
        if (own.Count == 0)
        {
            return FreeRange(start, count, metadata);
        }
        // Logged and the file system marked with errors, but not an error of this call: the
        // rest of the range is freed, so a removal or truncation still completes.
        Corrupt((long)own[0].Start, $"a file's map names block {own[0].Start} of the file system's own structures; not freed");
        Errno result = Errno.OK;
        ulong at = start;
        foreach ((ulong s, ulong e) in own)
        {
            Errno r = FreeRange(at, (long)(s - at), metadata);
            result = result == Errno.OK ? r : result;
            at = e;
        }
        Errno last = FreeRange(at, (long)(end - at), metadata);
        return result == Errno.OK ? last : result;
    }

    private Errno FreeRange(ulong start, long count, bool metadata)
    {
        if (count <= 0)
        {
            return Errno.OK;
        }
        if (metadata)
        {
            DiscardBlock(start, count);
            ForgetVerified(start, count);
        }
        lock (AllocLock)
        {
            while (count > 0)
            {
                uint g = GroupOfBlock(start);
                int bit = (int)(start - GroupFirstBlock(g));
                int n = (int)Math.Min(count, BlocksInGroup(g) - (uint)bit);
                Errno e = ReadBlockBitmap(g, out Buffer? bp);
                if (e != Errno.OK)
                {
                    return e;
                }
                using (bp)
                {
                    int freed = 0;
                    lock (bp!.SyncRoot)
                    {
                        Span<byte> bits = bp.Data;
                        for (int i = bit; i < bit + n; i++)
                        {
                            if (TestBit(bits, i))
                            {
                                ClearBit(bits, i);
                                freed++;
                            }
                            else
                            {
                                KernelLog.CorruptionOnce(Subsystem, (long)(GroupFirstBlock(g) + (ulong)i), "freeing a free block");
                            }
                        }
                        UpdateBlockBitmapCsum(g, bits);
                    }
                    Dirty(bp);
                    Groups[g].FreeBlocks += (uint)freed;
                    Sb.FreeBlocksCount += (ulong)freed;
                }
                start += (ulong)n;
                count -= n;
            }
        }
        return Errno.OK;
    }

    private Errno ReadInodeBitmap(uint g, out Buffer? bp)
    {
        Ext2GroupDescriptor gd = Groups[g];
        if ((gd.Flags & Ext2GroupDescriptor.FlagInodeUninit) != 0 && (MetadataCsum || Sb.HasGdtCsum))
        {
            bp = GetBlock(gd.InodeBitmap);
            lock (bp.SyncRoot)
            {
                Span<byte> bits = bp.Data;
                bits.Clear();
                for (int i = (int)Sb.InodesPerGroup; i < bits.Length * 8; i++)
                {
                    SetBit(bits, i);
                }
            }
            gd.Flags &= unchecked((ushort)~Ext2GroupDescriptor.FlagInodeUninit);
            UpdateInodeBitmapCsum(g, bp.Data);
            Dirty(bp);
            return Errno.OK;
        }
        Errno e = ReadBlock(gd.InodeBitmap, out bp);
        if (e != Errno.OK)
        {
            return e;
        }
        if (MetadataCsum && !BitmapChecksumMatches(gd.InodeBitmapCsum, BitmapChecksum(bp!.Data, (int)(Sb.InodesPerGroup / 8))))
        {
            bp.Release();
            bp = null;
            return Corrupt((long)gd.InodeBitmap, $"bad inode bitmap checksum of group {g}");
        }
        return Errno.OK;
    }

    /// <summary>
    /// After <see cref="AllocInode"/> handed out a number that turned out to be live (a
    /// damaged bitmap): its bit stays set, but the counts go back to what they were, since
    /// they already counted that inode as used.
    /// </summary>
    public void KeepLiveInode(uint ino, bool directory)
    {
        lock (AllocLock)
        {
            uint g = (ino - 1) / Sb.InodesPerGroup;
            Ext2GroupDescriptor gd = Groups[g];
            gd.FreeInodes++;
            if (directory)
            {
                gd.UsedDirs--;
            }
            MarkGroupDirty(g);
            Sb.FreeInodesCount++;
        }
    }

    /// <summary>
    /// Allocate an inode number: directories go to a group with more free inodes than
    /// average (spreading the tree), everything else near its parent.
    /// <paramref name="tableInitialised"/>: the inode's slot in the table was initialised
    /// (not in the lazily initialised part that group checksums allow), so what it holds
    /// can be trusted.
    /// </summary>
    public Errno AllocInode(uint parent, bool directory, out uint ino, out bool tableInitialised)
    {
        ino = 0;
        tableInitialised = false;
        lock (AllocLock)
        {
            if (Sb.FreeInodesCount == 0)
            {
                return Errno.ENOSPC;
            }
            uint pg = (parent - 1) / Sb.InodesPerGroup;
            uint start = pg;
            if (directory && GroupCount > 1)
            {
                uint avg = Sb.FreeInodesCount / GroupCount;
                uint best = pg;
                uint bestFree = 0;
                for (uint k = 0; k < GroupCount; k++)
                {
                    uint g = (pg + 1 + k) % GroupCount;
                    if (Groups[g].FreeInodes >= avg && Groups[g].FreeBlocks > bestFree)
                    {
                        best = g;
                        bestFree = Groups[g].FreeBlocks;
                    }
                }
                start = best;
            }
            for (uint k = 0; k < GroupCount; k++)
            {
                uint g = (start + k) % GroupCount;
                if (Groups[g].FreeInodes == 0)
                {
                    continue;
                }
                bool lazyTable = MetadataCsum || Sb.HasGdtCsum;
                bool tableUninit = lazyTable && (Groups[g].Flags & Ext2GroupDescriptor.FlagInodeUninit) != 0;
                Errno e = ReadInodeBitmap(g, out Buffer? bp);
                if (e != Errno.OK)
                {
                    return e;
                }
                using (bp)
                {
                    int bit;
                    lock (bp!.SyncRoot)
                    {
                        Span<byte> bits = bp.Data;
                        int first = g == 0 ? (int)Sb.FirstIno - 1 : 0;
                        bit = FindZero(bits, first, (int)Sb.InodesPerGroup);
                        if (bit < 0)
                        {
                            continue;
                        }
                        SetBit(bits, bit);
                        UpdateInodeBitmapCsum(g, bits);
                    }
                    Dirty(bp);
                    Ext2GroupDescriptor gd = Groups[g];
                    tableInitialised = !tableUninit && (!lazyTable || (uint)bit < Sb.InodesPerGroup - gd.ItableUnused);
                    gd.FreeInodes--;
                    if (directory)
                    {
                        gd.UsedDirs++;
                    }
                    if ((MetadataCsum || Sb.HasGdtCsum) && (uint)bit >= Sb.InodesPerGroup - gd.ItableUnused)
                    {
                        gd.ItableUnused = Sb.InodesPerGroup - (uint)bit - 1;
                    }
                    MarkGroupDirty(g);
                    Sb.FreeInodesCount--;
                    ino = (g * Sb.InodesPerGroup) + (uint)bit + 1;
                    return Errno.OK;
                }
            }
            return Errno.ENOSPC;
        }
    }

    public Errno FreeInode(uint ino, bool directory)
    {
        lock (AllocLock)
        {
            uint g = (ino - 1) / Sb.InodesPerGroup;
            int bit = (int)((ino - 1) % Sb.InodesPerGroup);
            Errno e = ReadInodeBitmap(g, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            using (bp)
            {
                lock (bp!.SyncRoot)
                {
                    if (!TestBit(bp.Data, bit))
                    {
                        return Corrupt((long)Groups[g].InodeBitmap, $"freeing free inode {ino}");
                    }
                    ClearBit(bp.Data, bit);
                    UpdateInodeBitmapCsum(g, bp.Data);
                }
                Dirty(bp);
            }
            Groups[g].FreeInodes++;
            if (directory)
            {
                Groups[g].UsedDirs--;
            }
            MarkGroupDirty(g);
            Sb.FreeInodesCount++;
        }
        return Errno.OK;
    }
}
