using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// The hash tree of an indexed directory (dir_index): lookups walk it to one leaf block, and
/// new entries go into the leaf it names, as the kernel's ext4 puts them. A full leaf is
/// split in two by hash, with a new index entry for the upper half, as ext4's do_split does;
/// a full index node is split the same way, and a full root moves its entries one level
/// down (ext4_dx_add_entry). Only a tree at its deepest (two levels, three with largedir)
/// whose nodes are all full cannot grow: the caller then drops the index, and the directory
/// stays correct, only unindexed.
/// </summary>
internal sealed partial class Ext2Node
{
    private const uint FlagCasefold = 0x40000000;
    private const uint FlagEncrypt = 0x800;

    /// <summary>One index node on the way down: its block, where its entries start, the entry taken.</summary>
    private readonly record struct DxStep(ulong Lblk, int EntriesOff, int At);

    /// <summary>A walk from the root to one leaf for one hash.</summary>
    private sealed class DxPath
    {
        public uint Hash;
        public int Version;
        public int Levels;
        public int MaxLevels;
        public uint Leaf;
        public bool HaveNext;
        public uint NextHash;
        public readonly List<DxStep> Steps = [];
    }

    /// <summary>
    /// Walk the index for <paramref name="name"/>. A null path with OK means the index cannot
    /// be used for this name (an unknown hash); EIO means it is damaged (logged once).
    /// </summary>
    private Errno HtreeDescend(ReadOnlySpan<byte> name, out DxPath? path)
    {
        path = null;
        Errno e = ReadDirBlock(0, out Buffer? root);
        if (e != Errno.OK || root is null)
        {
            return e;
        }
        var p = new DxPath();
        int levels;
        using (root)
        {
            ReadOnlySpan<byte> b = root.Data;
            p.Version = b[Ext2DxNode.RootOff.HashVersion];
            int infoLen = b[Ext2DxNode.RootOff.InfoLength];
            levels = b[Ext2DxNode.RootOff.IndirectLevels];
            int maxLevels = (Fs.Sb.FeatureIncompat & Ext2Features.IncompatLargeDir) != 0 ? 3 : 2;
            (p.Levels, p.MaxLevels) = (levels, maxLevels);
            if (infoLen != 8 || levels >= maxLevels)
            {
                return Fs.Corrupt(0, $"directory {Number}: bad htree root");
            }
            if (p.Version <= Ext2Htree.HashTea && (Fs.Sb.Flags & Ext2Superblock.FlagUnsignedHash) != 0)
            {
                p.Version += 3;
            }
            long hash = NameHash(name, p.Version);
            if (hash < 0)
            {
                return Errno.OK;
            }
            p.Hash = (uint)hash;
            int entriesOff = Ext2DxNode.RootOff.ReservedZero + infoLen;
            if (!DxPick(b, entriesOff, p, out int at, out p.Leaf))
            {
                return Errno.EIO;
            }
            p.Steps.Add(new DxStep(0, entriesOff, at));
        }
        for (int level = 0; level < levels; level++)
        {
            ulong nodeLblk = p.Leaf;
            e = ReadDirBlock(nodeLblk, out Buffer? nb);
            if (e != Errno.OK || nb is null)
            {
                return e != Errno.OK ? e : Fs.Corrupt((long)nodeLblk, $"directory {Number}: htree node in a hole");
            }
            using (nb)
            {
                if (!DxPick(nb.Data, Ext2DxNode.NodeEntries, p, out int at, out p.Leaf))
                {
                    return Errno.EIO;
                }
                p.Steps.Add(new DxStep(nodeLblk, Ext2DxNode.NodeEntries, at));
            }
        }
        path = p;
        return Errno.OK;
    }

    private long NameHash(ReadOnlySpan<byte> name, int version)
    {
        Span<uint> seed = stackalloc uint[4];
        for (int i = 0; i < 4; i++)
        {
            seed[i] = Fs.Sb.HashSeed(i);
        }
        return Ext2Htree.Hash(name, version, seed);
    }

    /// <summary>
    /// Hash-tree lookup. <paramref name="usable"/> is false when the index cannot be used
    /// (unknown hash, damaged node, a run of equal hashes across leaves): the caller then
    /// searches linearly.
    /// </summary>
    private Errno HtreeFind(ReadOnlySpan<byte> name, out uint ino, out long pos, out bool usable)
    {
        ino = 0;
        pos = -1;
        usable = false;
        // A damaged index still leaves every record readable: the caller searches linearly,
        // as the kernel falls back to.
        if (HtreeDescend(name, out DxPath? p) != Errno.OK || p is null)
        {
            return Errno.OK;
        }
        usable = true;
        Errno e = SearchBlock(p.Leaf, name, out ino, out pos);
        if (e != Errno.ENOENT)
        {
            return e;
        }
        // A run of equal hashes may continue in the next leaf (its hash has the low bit set).
        if (!p.HaveNext || (p.NextHash & 1) == 0 || (p.NextHash & ~1u) != p.Hash)
        {
            return Errno.ENOENT;
        }
        usable = false;
        return Errno.OK;
    }

    /// <summary>Binary search of one index node: the entry and child covering the path's hash.</summary>
    private bool DxPick(ReadOnlySpan<byte> b, int entriesOff, DxPath p, out int found, out uint child)
    {
        found = 0;
        child = 0;
        (int limit, int count) = Ext2DxNode.CountLimit(b, entriesOff);
        // The limit is fixed by the block size and the checksum tail (the kernel's dx_probe
        // insists on it too), so nothing written into a node can pass its end.
        if (count == 0 || count > limit || limit != IndexLimit(b.Length, entriesOff))
        {
            Fs.Corrupt(0, $"directory {Number}: bad htree node counts");
            return false;
        }
        int lo = 1, hi = count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Ext2DxNode.Hash(b, entriesOff, mid) <= p.Hash)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        child = Ext2DxNode.Block(b, entriesOff, found) & 0x0FFFFFFF;
        p.HaveNext = found + 1 < count;
        p.NextHash = p.HaveNext ? Ext2DxNode.Hash(b, entriesOff, found + 1) : 0;
        if (child == 0 || child >= DirBlocks)
        {
            Fs.Corrupt(0, $"directory {Number}: htree entry names block {child} of {DirBlocks}");
            return false;
        }
        return true;
    }

    /// <summary>
    /// Add an entry through the index. <paramref name="added"/> stays false (with OK) when the
    /// directory has no usable index, or the index cannot take the entry: the caller then
    /// drops the index and adds linearly. A damaged index is EIO: nothing is written into
    /// a directory whose tree cannot be trusted.
    /// </summary>
    private Errno HtreeAdd(ReadOnlySpan<byte> name, uint ino, byte ftype, out bool added)
    {
        added = false;
        if (!IsIndexedDir || !CanIndex)
        {
            return Errno.OK;
        }
        Errno e = HtreeDescend(name, out DxPath? p);
        if (e != Errno.OK || p is null)
        {
            return e;
        }
        e = PlaceInLeaf(p.Leaf, name, ino, ftype, out added);
        if (e != Errno.OK || added)
        {
            return e;
        }
        e = SplitLeaf(p, out uint newLeaf, out uint splitHash);
        if (e != Errno.OK || newLeaf == 0)
        {
            return e;
        }
        _dirhash = null; // records moved between blocks
        return PlaceInLeaf(p.Hash >= splitHash ? newLeaf : p.Leaf, name, ino, ftype, out added);
    }

    private Errno PlaceInLeaf(uint leaf, ReadOnlySpan<byte> name, uint ino, byte ftype, out bool added)
    {
        added = false;
        Errno e = ReadDirBlock(leaf, out Buffer? bp);
        if (e != Errno.OK || bp is null)
        {
            return e;
        }
        using (bp)
        {
            int at;
            lock (bp.SyncRoot)
            {
                at = PlaceEntry(bp.Data, name, ino, ftype);
                if (at >= 0)
                {
                    _dirhash?.SetFree(leaf, LargestFree(bp.Data));
                }
            }
            if (at < 0)
            {
                return Errno.OK;
            }
            FinishDirBlock(bp);
            _dirhash?.Add(Ext2DirHash.Key(name), ((long)leaf << Fs.BlockShift) + at);
        }
        added = true;
        return TouchDir();
    }

    /// <summary>
    /// Split the path's full leaf: its records sorted by hash, the upper half (by bytes) moved
    /// to a new block at the directory's end, and an index entry for it put into the node
    /// above. <paramref name="newLeaf"/> is 0 (with OK) when that node has no room.
    /// <paramref name="splitHash"/> is the lowest hash that went to the new block.
    /// </summary>
    private Errno SplitLeaf(DxPath p, out uint newLeaf, out uint splitHash)
    {
        newLeaf = 0;
        splitHash = 0;
        Errno e = MakeRoom(p, p.Steps.Count - 1, out int room);
        if (e != Errno.OK || room < 0)
        {
            return e;
        }
        DxStep parent = p.Steps[^1];
        e = ReadDirBlock(parent.Lblk, out Buffer? pb);
        if (e != Errno.OK || pb is null)
        {
            return e;
        }
        using (pb)
        {
            e = ReadDirBlock(p.Leaf, out Buffer? lb);
            if (e != Errno.OK || lb is null)
            {
                return e;
            }
            using (lb)
            {
                byte[] old = lb.Data.ToArray();
                List<(uint Hash, int Off, int Size)> records = LeafRecords(old, p.Version);
                if (records.Count < 2)
                {
                    return Errno.OK;
                }
                int split = SplitPoint(records);
                splitHash = records[split].Hash;
                bool continued = records[split - 1].Hash == splitHash;
                e = AppendEmptyBlock(out ulong lblk, out ulong pblk);
                if (e != Errno.OK)
                {
                    return e;
                }
                using (Buffer nb = Fs.GetBlock(pblk))
                {
                    lock (nb.SyncRoot)
                    {
                        PackRecords(nb.Data, old, records.Skip(split));
                    }
                    FinishDirBlock(nb);
                }
                lock (lb.SyncRoot)
                {
                    PackRecords(lb.Data, old, records.Take(split));
                }
                FinishDirBlock(lb);
                newLeaf = (uint)lblk;
                lock (pb.SyncRoot)
                {
                    InsertIndexEntry(pb.Data, parent.EntriesOff, parent.At + 1, splitHash | (continued ? 1u : 0u), newLeaf);
                }
                Fs.Dirty(pb);
            }
        }
        return Errno.OK;
    }

    /// <summary>The live records of a leaf with their name hashes, in hash order (ties keep their order).</summary>
    private List<(uint Hash, int Off, int Size)> LeafRecords(ReadOnlySpan<byte> b, int version)
    {
        var records = new List<(uint Hash, int Off, int Size)>();
        int limit = b.Length - (Ext2DirEntry.HasTail(b) ? Ext2DirEntry.TailSize : 0);
        for (int off = 0; off < limit; off += Ext2DirEntry.RecLen(b, off))
        {
            if (Ext2DirEntry.Inode(b, off) == 0)
            {
                continue;
            }
            int nl = Ext2DirEntry.NameLen(b, off, Fs.Filetype);
            records.Add(((uint)NameHash(Ext2DirEntry.Name(b, off, nl), version), off, Ext2DirEntry.Needed(nl)));
        }
        return [.. records.OrderBy(r => r.Hash)];
    }

    /// <summary>Where the upper half by bytes begins (at least one record on each side).</summary>
    private static int SplitPoint(List<(uint Hash, int Off, int Size)> records)
    {
        int total = records.Sum(r => r.Size);
        int kept = 0;
        for (int i = 0; i < records.Count - 1; i++)
        {
            kept += records[i].Size;
            if (kept * 2 >= total)
            {
                return i + 1;
            }
        }
        return records.Count - 1;
    }

    /// <summary>Lay <paramref name="records"/> (copied from <paramref name="source"/>) end to end; the last one spans the rest.</summary>
    private void PackRecords(Span<byte> b, ReadOnlySpan<byte> source, IEnumerable<(uint Hash, int Off, int Size)> records)
    {
        b.Clear();
        int end = b.Length - DirTail;
        int off = 0;
        int last = -1;
        foreach ((_, int from, int size) in records)
        {
            source.Slice(from, size).CopyTo(b[off..]);
            Ext2DirEntry.SetRecLen(b, off, size);
            last = off;
            off += size;
        }
        Ext2DirEntry.SetRecLen(b, last, end - last);
        if (DirTail != 0)
        {
            Ext2DirEntry.WriteTail(b, InodeSeed);
        }
    }

    /// <summary>Insert (hash, block) at position <paramref name="at"/> of an index node, and refresh its checksum.</summary>
    private void InsertIndexEntry(Span<byte> b, int entriesOff, int at, uint hash, uint block)
    {
        (int limit, int count) = Ext2DxNode.CountLimit(b, entriesOff);
        int from = entriesOff + (at * Ext2DxNode.EntrySize);
        b[from..(entriesOff + (count * Ext2DxNode.EntrySize))].CopyTo(b[(from + Ext2DxNode.EntrySize)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(b[from..], hash);
        BinaryPrimitives.WriteUInt32LittleEndian(b[(from + 4)..], block);
        BinaryPrimitives.WriteUInt16LittleEndian(b[(entriesOff + 2)..], (ushort)(count + 1));
        RefreshIndexChecksum(b, entriesOff, limit, count + 1);
    }

    /// <summary>Whether this directory's hash tree can be kept here: dir_index on, names hashed as stored (no casefolding, no encryption).</summary>
    private bool CanIndex =>
        (Din.Flags & (FlagCasefold | FlagEncrypt)) == 0 && !HasInlineData
        && (Fs.Sb.FeatureCompat & Ext2Features.CompatDirIndex) != 0;

    /// <summary>
    /// Turn a full one-block directory into an indexed one: its records (all but "." and
    /// "..") move to a new leaf, and block 0 becomes the root, with the file system's default
    /// hash and one entry. <paramref name="indexed"/> is false when there was nothing to move.
    /// </summary>
    private Errno MakeIndexed(out bool indexed)
    {
        indexed = false;
        Errno e = ReadDirBlock(0, out Buffer? rb);
        if (e != Errno.OK || rb is null)
        {
            return e;
        }
        using (rb)
        {
            byte[] old = rb.Data.ToArray();
            int dotLen = Ext2DirEntry.RecLen(old, 0);
            if (dotLen != 12 || Ext2DirEntry.RecLen(old, 12) < 12)
            {
                return Errno.OK; // "." and ".." not where the root needs them
            }
            uint parentIno = Ext2DirEntry.Inode(old, 12);
            var records = LeafRecords(old, 0).Where(r => r.Off >= 24).OrderBy(r => r.Off).ToList();
            if (records.Count == 0)
            {
                return Errno.OK;
            }
            e = AppendEmptyBlock(out ulong lblk, out ulong pblk);
            if (e != Errno.OK)
            {
                return e;
            }
            using (Buffer nb = Fs.GetBlock(pblk))
            {
                lock (nb.SyncRoot)
                {
                    PackRecords(nb.Data, old, records);
                }
                FinishDirBlock(nb);
            }
            lock (rb.SyncRoot)
            {
                Span<byte> b = rb.Data;
                b.Clear();
                Ext2DirEntry.Write(b, 0, Number, 12, "."u8, 2, Fs.Filetype);
                Ext2DirEntry.Write(b, 12, parentIno, b.Length - 12, ".."u8, 2, Fs.Filetype);
                b[Ext2DxNode.RootOff.HashVersion] = Fs.Sb.DefHashVersion;
                b[Ext2DxNode.RootOff.InfoLength] = 8;
                int entriesOff = Ext2DxNode.RootOff.Entries;
                int limit = IndexLimit(b.Length, entriesOff);
                BinaryPrimitives.WriteUInt16LittleEndian(b[entriesOff..], (ushort)limit);
                BinaryPrimitives.WriteUInt16LittleEndian(b[(entriesOff + 2)..], 1);
                BinaryPrimitives.WriteUInt32LittleEndian(b[(entriesOff + 4)..], (uint)lblk);
                RefreshIndexChecksum(b, entriesOff, limit, 1);
            }
            Fs.Dirty(rb);
        }
        Din.Flags |= Ext2Dinode.FlagIndex;
        MarkDirty();
        _dirhash = null;
        indexed = true;
        return Errno.OK;
    }

    /// <summary>A new block at the directory's end, for a leaf or an index node.</summary>
    private Errno AppendEmptyBlock(out ulong lblk, out ulong pblk)
    {
        lblk = DirBlocks;
        Errno e = AllocateRun(lblk, 1, out pblk, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        Din.Size += Fs.BlockSize;
        MarkDirty();
        return Errno.OK;
    }

    /// <summary>
    /// Make the index node at <paramref name="k"/> on the path able to take one more entry:
    /// split it (making room in its parent first), or move a full root's entries down a
    /// level. <paramref name="at"/> is where that node now sits on the path (a new level
    /// shifts it down by one), or -1 when the tree is as deep as it may be and full.
    /// </summary>
    private Errno MakeRoom(DxPath p, int k, out int at)
    {
        at = -1;
        Errno e = ReadDirBlock(p.Steps[k].Lblk, out Buffer? bp);
        if (e != Errno.OK || bp is null)
        {
            return e;
        }
        int limit, count;
        using (bp)
        {
            (limit, count) = Ext2DxNode.CountLimit(bp.Data, p.Steps[k].EntriesOff);
        }
        if (count < limit)
        {
            at = k;
            return Errno.OK;
        }
        if (k == 0)
        {
            if (p.Levels + 1 >= p.MaxLevels)
            {
                return Errno.OK;
            }
            e = GrowRoot(p);
            return e != Errno.OK ? e : MakeRoom(p, 1, out at);
        }
        e = MakeRoom(p, k - 1, out int parentAt);
        if (e != Errno.OK || parentAt < 0)
        {
            return e;
        }
        at = parentAt + 1;
        return SplitNode(p, at);
    }

    /// <summary>The root's entries move into a new index node, which becomes the root's only child.</summary>
    private Errno GrowRoot(DxPath p)
    {
        DxStep root = p.Steps[0];
        Errno e = ReadDirBlock(0, out Buffer? rb);
        if (e != Errno.OK || rb is null)
        {
            return e == Errno.OK ? Errno.EIO : e;
        }
        using (rb)
        {
            e = AppendEmptyBlock(out ulong lblk, out ulong pblk);
            if (e != Errno.OK)
            {
                return e;
            }
            lock (rb.SyncRoot)
            {
                Span<byte> r = rb.Data;
                (int limit, int count) = Ext2DxNode.CountLimit(r, root.EntriesOff);
                using (Buffer nb = Fs.GetBlock(pblk))
                {
                    lock (nb.SyncRoot)
                    {
                        WriteIndexNode(nb.Data, r.Slice(root.EntriesOff, count * Ext2DxNode.EntrySize), count);
                    }
                    Fs.Dirty(nb);
                }
                BinaryPrimitives.WriteUInt32LittleEndian(r[(root.EntriesOff + 4)..], (uint)lblk);
                BinaryPrimitives.WriteUInt16LittleEndian(r[(root.EntriesOff + 2)..], 1);
                r[Ext2DxNode.RootOff.IndirectLevels]++;
                RefreshIndexChecksum(r, root.EntriesOff, limit, 1);
                p.Steps.Insert(1, new DxStep(lblk, Ext2DxNode.NodeEntries, root.At));
                p.Steps[0] = root with { At = 0 };
                p.Levels++;
            }
            Fs.Dirty(rb);
        }
        return Errno.OK;
    }

    /// <summary>Split the full index node at <paramref name="k"/>: its upper half goes to a new node, entered in the parent (which has room).</summary>
    private Errno SplitNode(DxPath p, int k)
    {
        DxStep node = p.Steps[k], parent = p.Steps[k - 1];
        Errno e = ReadDirBlock(node.Lblk, out Buffer? bp);
        if (e != Errno.OK || bp is null)
        {
            return e == Errno.OK ? Errno.EIO : e;
        }
        using (bp)
        {
            e = ReadDirBlock(parent.Lblk, out Buffer? pb);
            if (e != Errno.OK || pb is null)
            {
                return e == Errno.OK ? Errno.EIO : e;
            }
            using (pb)
            {
                e = AppendEmptyBlock(out ulong lblk, out ulong pblk);
                if (e != Errno.OK)
                {
                    return e;
                }
                uint movedHash;
                int split;
                lock (bp.SyncRoot)
                {
                    Span<byte> b = bp.Data;
                    (int limit, int count) = Ext2DxNode.CountLimit(b, node.EntriesOff);
                    split = count / 2;
                    movedHash = Ext2DxNode.Hash(b, node.EntriesOff, split);
                    using (Buffer nb = Fs.GetBlock(pblk))
                    {
                        lock (nb.SyncRoot)
                        {
                            int from = node.EntriesOff + (split * Ext2DxNode.EntrySize);
                            WriteIndexNode(nb.Data, b.Slice(from, (count - split) * Ext2DxNode.EntrySize), count - split);
                        }
                        Fs.Dirty(nb);
                    }
                    BinaryPrimitives.WriteUInt16LittleEndian(b[(node.EntriesOff + 2)..], (ushort)split);
                    RefreshIndexChecksum(b, node.EntriesOff, limit, split);
                }
                Fs.Dirty(bp);
                lock (pb.SyncRoot)
                {
                    InsertIndexEntry(pb.Data, parent.EntriesOff, parent.At + 1, movedHash, (uint)lblk);
                }
                Fs.Dirty(pb);
                if (node.At >= split)
                {
                    p.Steps[k] = new DxStep(lblk, Ext2DxNode.NodeEntries, node.At - split);
                    p.Steps[k - 1] = parent with { At = parent.At + 1 };
                }
            }
        }
        return Errno.OK;
    }

    /// <summary>How many entries an index node with entries at <paramref name="entriesOff"/> holds.</summary>
    private int IndexLimit(int blockSize, int entriesOff) =>
        (blockSize - entriesOff - (Fs.MetadataCsum ? Ext2DxNode.TailSize : 0)) / Ext2DxNode.EntrySize;

    /// <summary>
    /// An interior index node: the fake empty record over the whole block, count and limit,
    /// then <paramref name="entries"/> (whose first hash slot is overwritten by count and limit).
    /// </summary>
    private void WriteIndexNode(Span<byte> b, ReadOnlySpan<byte> entries, int count)
    {
        b.Clear();
        Ext2DirEntry.SetRecLen(b, 0, b.Length);
        int limit = IndexLimit(b.Length, Ext2DxNode.NodeEntries);
        entries.CopyTo(b[Ext2DxNode.NodeEntries..]);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Ext2DxNode.NodeEntries..], (ushort)limit);
        BinaryPrimitives.WriteUInt16LittleEndian(b[(Ext2DxNode.NodeEntries + 2)..], (ushort)count);
        RefreshIndexChecksum(b, Ext2DxNode.NodeEntries, limit, count);
    }

    private void RefreshIndexChecksum(Span<byte> b, int entriesOff, int limit, int count)
    {
        if (Fs.MetadataCsum)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b[(entriesOff + (limit * Ext2DxNode.EntrySize) + 4)..],
                Ext2DxNode.Checksum(b, entriesOff, count, limit, InodeSeed));
        }
    }
}
