using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Adding a name to an indexed directory during repair as libext2fs's ext2fs_link adds the
/// names e2fsck reconnects (dx_link): the leaf the name's hash selects takes it; a full leaf
/// is split in two by hash (the upper records, by bytes, to a new block at the end of the
/// directory, with an index entry for it in the node above); a full node above is split in
/// two, or at the root moved a level down; then the name is placed again. Only a tree full
/// at its deepest cannot take it.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>One index block on the way from the root to a leaf, and the entry taken in it.</summary>
    private sealed class DxFrame(ulong physical, byte[] block, int entriesOff)
    {
        public ulong Physical { get; } = physical;
        public byte[] Block { get; } = block;
        public int EntriesOff { get; } = entriesOff;
        public int At { get; set; }
        public int Count => Ext2DxNode.CountLimit(Block, EntriesOff).Count;
        public int Limit => Ext2DxNode.CountLimit(Block, EntriesOff).Limit;
    }

    /// <summary>False when the index cannot take the name (unknown hash, a tree full at its deepest, no block to grow by).</summary>
    private bool DxLink(uint dir, Ext2Dinode din, List<(uint Logical, ulong Physical)> blocks, byte[] name, uint ino, byte type)
    {
        for (int restart = 0; ; restart++)
        {
            var map = blocks.ToDictionary(x => x.Logical, x => x.Physical);
            if (DxLookup(map, name) is not (List<DxFrame> path, int version))
            {
                return false;
            }
            DxFrame bottom = path[^1];
            if (!map.TryGetValue(Ext2DxNode.Block(bottom.Block, bottom.EntriesOff, bottom.At) & 0x0FFFFFFF, out ulong leaf))
            {
                return false;
            }
            if (InsertInBlock(dir, din, leaf, name, ino, type, out byte[] leafBytes))
            {
                return true;
            }
            // A split may need a second one first (a full node above the leaf): at most one
            // grow per level, as dx_link restarts.
            if (restart >= path.Count || leafBytes.Length == 0 || !DxGrowTree(dir, din, blocks, path, leafBytes, leaf, version))
            {
                return false;
            }
        }
    }

    /// <summary>The frames from the root down to the leaf's parent for <paramref name="name"/>'s hash, and the hash version; null when unusable.</summary>
    private (List<DxFrame> Path, int Version)? DxLookup(Dictionary<uint, ulong> map, byte[] name)
    {
        if (!map.TryGetValue(0, out ulong rootPhys) || _v.Read(rootPhys, out byte[] root) != Errno.OK)
        {
            return null;
        }
        int version = root[Ext2DxNode.RootOff.HashVersion];
        int levels = root[Ext2DxNode.RootOff.IndirectLevels];
        if (version > Ext2Htree.HashTea || levels >= MaxDxLevels)
        {
            return null;
        }
        if ((Sb.Flags & Ext2Superblock.FlagUnsignedHash) != 0)
        {
            version += 3;
        }
        uint[] seed = DirHashSeed;
        uint hash = (uint)Ext2Htree.Hash(name, version, seed);
        var path = new List<DxFrame>();
        var frame = new DxFrame(rootPhys, root, Ext2DxNode.RootOff.Entries);
        for (int level = 0; ; level++)
        {
            (int limit, int count) = Ext2DxNode.CountLimit(frame.Block, frame.EntriesOff);
            if (count == 0 || count > limit)
            {
                return null;
            }
            // The last entry whose hash is not above the name's (dx_search_entry).
            int lo = 1;
            int hi = count - 1;
            while (lo <= hi)
            {
                int mid = lo + ((hi - lo) / 2);
                if (Ext2DxNode.Hash(frame.Block, frame.EntriesOff, mid) > hash)
                {
                    hi = mid - 1;
                }
                else
                {
                    lo = mid + 1;
                }
            }
            frame.At = lo - 1;
            path.Add(frame);
            if (level == levels)
            {
                return (path, version);
            }
            if (!map.TryGetValue(Ext2DxNode.Block(frame.Block, frame.EntriesOff, frame.At) & 0x0FFFFFFF, out ulong child)
                || _v.Read(child, out byte[] node) != Errno.OK)
            {
                return null;
            }
            frame = new DxFrame(child, node, Ext2DxNode.NodeEntries);
        }
    }

    /// <summary>The levels of index blocks a tree may have (the root counted): three with large_dir, else two.</summary>
    private int MaxDxLevels => (Sb.FeatureIncompat & Ext2Features.IncompatLargeDir) != 0 ? 3 : 2;

    /// <summary>
    /// Make room for one more leaf (dx_grow_tree): a new block at the directory's end becomes
    /// the upper half of the full leaf, or, when the leaf's parent is full too, the upper
    /// half of the deepest full node (or the root's entries, one level down).
    /// </summary>
    private bool DxGrowTree(uint dir, Ext2Dinode din, List<(uint Logical, ulong Physical)> blocks, List<DxFrame> path,
        byte[] leaf, ulong leafPhys, int version)
    {
        int i = path.Count - 1;
        while (i >= 0 && path[i].Count >= path[i].Limit)
        {
            i--;
        }
        if (i < 0 && path.Count >= MaxDxLevels)
        {
            return false;
        }
        ulong pblk = AppendEmptyBlock(dir, din, blocks);
        if (pblk == 0)
        {
            return false;
        }
        uint lblk = blocks[^1].Logical;
        din.Size = (long)(lblk + 1) * _v.BlockSize;
        _v.WriteInode(dir, din);
        if (i == path.Count - 1)
        {
            return DxSplitLeaf(dir, din, path[^1], leaf, leafPhys, lblk, pblk, version);
        }
        int bs = _v.BlockSize;
        byte[] node = new byte[bs];
        Ext2DirEntry.SetRecLen(node, 0, bs);
        int nodeLimit = (bs - Ext2DxNode.NodeEntries - (_v.MetadataCsum ? Ext2DxNode.TailSize : 0)) / Ext2DxNode.EntrySize;
        DxFrame below = path[i + 1];
        int count = below.Count;
        if (i < 0)
        {
            // The root's entries move into the new node, which the root's one entry then names.
            below.Block.AsSpan(below.EntriesOff, count * Ext2DxNode.EntrySize).CopyTo(node.AsSpan(Ext2DxNode.NodeEntries));
            SetCountLimit(node, Ext2DxNode.NodeEntries, count, nodeLimit);
            SetCountLimit(below.Block, below.EntriesOff, 1, below.Limit);
            BinaryPrimitives.WriteUInt32LittleEndian(below.Block.AsSpan(below.EntriesOff + 4), lblk);
            below.Block[Ext2DxNode.RootOff.IndirectLevels]++;
            Note(Pass3, Ino(dir), "hash-tree root full: its entries moved a level down to make room for a new entry");
        }
        else
        {
            // The upper half of the full node goes to the new one; the node above names it.
            int keep = count / 2;
            uint splitHash = Ext2DxNode.Hash(below.Block, below.EntriesOff, keep);
            below.Block.AsSpan(below.EntriesOff + (keep * Ext2DxNode.EntrySize), (count - keep) * Ext2DxNode.EntrySize)
                .CopyTo(node.AsSpan(Ext2DxNode.NodeEntries));
            SetCountLimit(node, Ext2DxNode.NodeEntries, count - keep, nodeLimit);
            SetCountLimit(below.Block, below.EntriesOff, keep, below.Limit);
            DxInsertEntry(dir, din, path[i], splitHash, lblk);
            Note(Pass3, Ino(dir), "hash-tree node full: split in two to make room for a new entry");
        }
        WriteDxBlock(dir, din, below.Physical, below.Block, below.EntriesOff);
        WriteDxBlock(dir, din, pblk, node, Ext2DxNode.NodeEntries);
        return true;
    }

    /// <summary>
    /// dx_split_leaf: the leaf's records sorted by hash; from the top down, records move to
    /// the new block while what moves stays within half a block (each record counted by half
    /// its length as it is weighed); both halves are packed from the start of their block,
    /// and the new block's index entry carries its lowest hash (plus the collision bit when
    /// that hash continues from the lower half).
    /// </summary>
    private bool DxSplitLeaf(uint dir, Ext2Dinode din, DxFrame parent, byte[] leaf, ulong leafPhys, uint newLblk, ulong newPblk,
        int version)
    {
        int bs = _v.BlockSize;
        uint[] seed = DirHashSeed;
        var records = new List<(uint Hash, int Off, int Size)>();
        for (int off = 0; off + Ext2DirEntry.HeaderSize <= bs;)
        {
            int rl = Ext2DirEntry.RecLen(leaf, off);
            if (rl < MinRecord || off + rl > bs)
            {
                return false;
            }
            int nl = Ext2DirEntry.NameLen(leaf, off, _v.Filetype);
            if (nl > 0 && Ext2DirEntry.Inode(leaf, off) != 0)
            {
                records.Add(((uint)Ext2Htree.Hash(Ext2DirEntry.Name(leaf, off, nl), version, seed), off, rl));
            }
            off += rl;
        }
        if (records.Count < 2)
        {
            return false;
        }
        records = [.. records.OrderBy(r => r.Hash)];
        int moved = 0;
        int first = records.Count - 1;
        for (; first >= 0; first--)
        {
            if (moved + (records[first].Size / 2) > bs / 2)
            {
                break;
            }
            moved += records[first].Size;
        }
        first = Math.Clamp(first + 1, 1, records.Count - 1);
        uint seedOfDir = Ext2Dinode.InodeSeed(_v.CsumSeed, dir, din.Generation);
        // One buffer for both halves, as libext2fs packs them: the lower half is laid over
        // what the upper half left, so the slack of its last record holds those bytes.
        byte[] packed = new byte[bs];
        PackRecords(leaf, records.GetRange(first, records.Count - first), packed, seedOfDir);
        _v.Write(newPblk, packed.ToArray());
        PackRecords(leaf, records.GetRange(0, first), packed, seedOfDir);
        _v.Write(leafPhys, packed);
        uint continued = records[first].Hash == records[first - 1].Hash ? 1u : 0u;
        DxInsertEntry(dir, din, parent, records[first].Hash + continued, newLblk);
        Note(Pass3, Ino(dir), $"hash-tree leaf full: split into block {newLblk} to make room for a new entry");
        return true;
    }

    /// <summary>dx_move_dirents: each record copied at its needed length, the last one reaching the block's end (or its tail).</summary>
    private void PackRecords(byte[] from, List<(uint Hash, int Off, int Size)> records, byte[] to, uint seed)
    {
        int bs = to.Length;
        int at = 0;
        int last = 0;
        foreach ((uint _, int off, int _) in records)
        {
            int len = Ext2DirEntry.Needed(Ext2DirEntry.NameLen(from, off, _v.Filetype));
            from.AsSpan(off, len).CopyTo(to.AsSpan(at));
            Ext2DirEntry.SetRecLen(to, at, len);
            last = at;
            at += len;
        }
        int csum = _v.MetadataCsum ? Ext2DirEntry.TailSize : 0;
        Ext2DirEntry.SetRecLen(to, last, bs - last - csum);
        if (_v.MetadataCsum)
        {
            Ext2DirEntry.WriteTail(to, seed);
        }
    }

    /// <summary>dx_insert_entry: a (hash, block) entry right after the one the lookup took, and the node written.</summary>
    private void DxInsertEntry(uint dir, Ext2Dinode din, DxFrame frame, uint hash, uint lblk)
    {
        int count = frame.Count;
        int at = frame.EntriesOff + ((frame.At + 1) * Ext2DxNode.EntrySize);
        int end = frame.EntriesOff + (count * Ext2DxNode.EntrySize);
        frame.Block.AsSpan(at, end - at).CopyTo(frame.Block.AsSpan(at + Ext2DxNode.EntrySize));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.Block.AsSpan(at), hash);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.Block.AsSpan(at + 4), lblk);
        SetCountLimit(frame.Block, frame.EntriesOff, count + 1, frame.Limit);
        WriteDxBlock(dir, din, frame.Physical, frame.Block, frame.EntriesOff);
    }

    private static void SetCountLimit(byte[] b, int entriesOff, int count, int limit)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(entriesOff), (ushort)limit);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(entriesOff + 2), (ushort)count);
    }

    /// <summary>Write an index block, with its dx_tail checksum under metadata_csum (its reserved word kept).</summary>
    private void WriteDxBlock(uint dir, Ext2Dinode din, ulong phys, byte[] b, int entriesOff)
    {
        if (_v.MetadataCsum)
        {
            (int limit, int count) = Ext2DxNode.CountLimit(b, entriesOff);
            int tail = entriesOff + (limit * Ext2DxNode.EntrySize);
            if (tail + Ext2DxNode.TailSize <= b.Length)
            {
                uint seed = Ext2Dinode.InodeSeed(_v.CsumSeed, dir, din.Generation);
                BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(tail + 4), Ext2DxNode.Checksum(b, entriesOff, count, limit, seed));
            }
        }
        _v.Write(phys, b);
    }
}
