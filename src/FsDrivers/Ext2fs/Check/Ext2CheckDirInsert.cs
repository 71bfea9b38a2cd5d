using System.Buffers.Binary;
using System.Text;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Adding a name to a directory during repair (lost+found into the root, reconnected inodes
/// into lost+found), as e2fsck's ext2fs_link and expand_dir do: an indexed directory gets
/// the name in the leaf its hash selects; a directory with no room grows by a block.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>Add a record naming <paramref name="ino"/> to <paramref name="dir"/>; false when it cannot be done.</summary>
    private bool AddEntry(uint dir, string name, uint ino, byte type)
    {
        if (!_dirs.TryGetValue(dir, out List<(uint Logical, ulong Physical)>? blocks) || _v.ReadInode(dir, out Ext2Dinode din) != Errno.OK)
        {
            return false;
        }
        blocks.Sort();
        byte[] nameBytes = Encoding.ASCII.GetBytes(name);
        if ((din.Flags & Ext2Dinode.FlagIndex) != 0 && _v.DirIndex)
        {
            if (IndexedLeaf(blocks, nameBytes) is ulong leaf && InsertInBlock(dir, din, leaf, nameBytes, ino, type))
            {
                return true;
            }
            // A full leaf would need a split; a plain directory takes the name anywhere, and
            // the kernel and e2fsck -D build the index again.
            DropIndex(dir, din, blocks);
            Note(Pass3, Ino(dir), "hash-tree index cleared to make room for a new entry");
        }
        foreach ((uint _, ulong phys) in blocks)
        {
            if (InsertInBlock(dir, din, phys, nameBytes, ino, type))
            {
                return true;
            }
        }
        ulong grown = GrowDirectory(dir, din, blocks);
        return grown != 0 && InsertInBlock(dir, din, grown, nameBytes, ino, type);
    }

    /// <summary>Put the record into the first gap of block <paramref name="phys"/> that holds it.</summary>
    private bool InsertInBlock(uint dir, Ext2Dinode din, ulong phys, byte[] nameBytes, uint ino, byte type)
    {
        if (_v.Read(phys, out byte[] b) != Errno.OK)
        {
            return false;
        }
        int need = Ext2DirEntry.Needed(nameBytes.Length);
        int limit = _v.MetadataCsum && Ext2DirEntry.HasTail(b) ? b.Length - Ext2DirEntry.TailSize : b.Length;
        int off = 0;
        while (off + Ext2DirEntry.HeaderSize <= limit)
        {
            int rl = Ext2DirEntry.RecLen(b, off);
            if (rl < 12 || off + rl > limit)
            {
                return false;
            }
            uint cur = Ext2DirEntry.Inode(b, off);
            int used = cur == 0 ? 0 : Ext2DirEntry.Needed(Ext2DirEntry.NameLen(b, off, _v.Filetype));
            if (rl - used >= need)
            {
                int at = off + used;
                if (used > 0)
                {
                    Ext2DirEntry.SetRecLen(b, off, used);
                }
                Ext2DirEntry.Write(b, at, ino, rl - used, nameBytes, type, _v.Filetype);
                WriteDirBlock(dir, din, phys, b);
                _refs[ino]++;
                return true;
            }
            off += rl;
        }
        return false;
    }

    /// <summary>The physical leaf block an indexed directory keeps <paramref name="name"/> in; null when unknown.</summary>
    private ulong? IndexedLeaf(List<(uint Logical, ulong Physical)> blocks, byte[] name)
    {
        if (_v.Read(blocks[0].Physical, out byte[] node) != Errno.OK)
        {
            return null;
        }
        int version = node[Ext2DxNode.RootOff.HashVersion];
        if (version > Ext2Htree.HashTeaUnsigned)
        {
            return null;
        }
        if (version <= Ext2Htree.HashTea && (Sb.Flags & Ext2Superblock.FlagUnsignedHash) != 0)
        {
            version += 3;
        }
        uint[] seed = [Sb.HashSeed(0), Sb.HashSeed(1), Sb.HashSeed(2), Sb.HashSeed(3)];
        long hash = Ext2Htree.Hash(name, version, seed);
        if (hash < 0)
        {
            return null;
        }
        var map = blocks.ToDictionary(x => x.Logical, x => x.Physical);
        int levels = node[Ext2DxNode.RootOff.IndirectLevels];
        int entriesOff = Ext2DxNode.RootOff.Entries;
        for (int level = 0; level <= levels; level++)
        {
            (int limit, int count) = Ext2DxNode.CountLimit(node, entriesOff);
            if (count == 0 || count > limit)
            {
                return null;
            }
            // The last entry whose (collision-bit-free) hash is not above the name's.
            int i = count - 1;
            while (i > 0 && (Ext2DxNode.Hash(node, entriesOff, i) & ~1u) > (uint)hash)
            {
                i--;
            }
            if (!map.TryGetValue(Ext2DxNode.Block(node, entriesOff, i) & 0x0FFFFFFF, out ulong phys))
            {
                return null;
            }
            if (level == levels)
            {
                return phys;
            }
            if (_v.Read(phys, out node) != Errno.OK)
            {
                return null;
            }
            entriesOff = Ext2DxNode.NodeEntries;
        }
        return null;
    }

    /// <summary>
    /// Make an indexed directory a plain one: the flag goes, and with metadata_csum the root
    /// and the interior nodes become leaf blocks with a checksum tail (their '..' or empty
    /// record ends before it), so that every block is a valid leaf.
    /// </summary>
    private void DropIndex(uint dir, Ext2Dinode din, List<(uint Logical, ulong Physical)> blocks)
    {
        din.Flags &= ~Ext2Dinode.FlagIndex;
        _v.WriteInode(dir, din);
        if (!_v.MetadataCsum)
        {
            return;
        }
        int bs = _v.BlockSize;
        foreach ((uint logical, ulong phys) in blocks)
        {
            if (_v.Read(phys, out byte[] b) != Errno.OK || Ext2DirEntry.HasTail(b))
            {
                continue;
            }
            // The root's '..' record, or an interior node's one empty record, covers the block.
            int off = logical == 0 ? 12 : 0;
            if (Ext2DirEntry.RecLen(b, off) != bs - off || (logical != 0 && Ext2DirEntry.Inode(b, 0) != 0))
            {
                continue;
            }
            int keep = logical == 0 ? Ext2DirEntry.Needed(Ext2DirEntry.NameLen(b, off, _v.Filetype)) : Ext2DirEntry.HeaderSize;
            Array.Clear(b, off + keep, bs - off - keep);
            Ext2DirEntry.SetRecLen(b, off, bs - off - Ext2DirEntry.TailSize);
            Ext2DirEntry.WriteTail(b, Ext2Dinode.InodeSeed(_v.CsumSeed, dir, din.Generation));
            _v.Write(phys, b);
        }
    }

    /// <summary>
    /// Append one empty block to <paramref name="dir"/> and set i_size to cover it; its
    /// physical number, or 0 when it cannot grow (see <see cref="AppendEmptyBlock"/>).
    /// </summary>
    private ulong GrowDirectory(uint dir, Ext2Dinode din, List<(uint Logical, ulong Physical)> blocks)
    {
        ulong blk = AppendEmptyBlock(dir, din, blocks);
        if (blk == 0)
        {
            return 0;
        }
        din.Size = (long)(blocks[^1].Logical + 1) * _v.BlockSize;
        _v.WriteInode(dir, din);
        Note(Pass3, Ino(dir), $"directory grown by block {blk} to hold a new entry");
        return blk;
    }

    /// <summary>
    /// Map a new, empty leaf block after the last block of <paramref name="dir"/> and count it
    /// in i_blocks (the caller writes the inode); its physical number, or 0 when the file
    /// system is full or the block map has no slot a repair can fill without a new mapping
    /// block (an extent tree deeper than the inode, or past the direct pointers).
    /// </summary>
    private ulong AppendEmptyBlock(uint dir, Ext2Dinode din, List<(uint Logical, ulong Physical)> blocks)
    {
        uint next = blocks.Count == 0 ? 0 : blocks[^1].Logical + 1;
        ulong blk = AllocBlocks(1);
        if (blk == 0)
        {
            return 0;
        }
        if (!MapNewBlock(dir, din, next, blk))
        {
            _used[(int)blk] = false;
            _allocated.Remove(blk);
            return 0;
        }
        _v.Write(blk, EmptyLeaf(dir, din));
        CountOneBlock(din);
        blocks.Add((next, blk));
        return blk;
    }

    /// <summary>i_blocks grows by one file-system block, in the unit the inode counts in.</summary>
    private void CountOneBlock(Ext2Dinode din)
    {
        bool fsUnits = _v.HugeFile && (din.Flags & Ext2Dinode.FlagHugeFile) != 0;
        din.BlocksRaw += fsUnits ? 1UL : (ulong)(_v.BlockSize / 512);
    }

    private bool MapNewBlock(uint dir, Ext2Dinode din, uint logical, ulong blk)
    {
        if ((din.Flags & Ext2Dinode.FlagExtents) == 0)
        {
            return MapInBlockMap(din, logical, blk);
        }
        Ext4Extent.Header h = Ext4Extent.ReadHeader(din.BlockBytes);
        if (h.Magic != Ext4Extent.Magic || h.Entries == 0)
        {
            return h.Magic == Ext4Extent.Magic && AppendExtent(din.BlockBytes, logical, blk);
        }
        if (h.Depth == 0)
        {
            return AppendExtent(din.BlockBytes, logical, blk);
        }
        // The new block follows every mapped one, so it belongs in the rightmost leaf; pass 1
        // has checked the tree. Index entries hold only where a child starts: none changes.
        byte[] node = [];
        ulong at = Ext4Extent.ReadIndex(Ext4Extent.Entry(din.BlockBytes, h.Entries - 1)).Child;
        for (int depth = h.Depth; depth > 0; depth--)
        {
            if (_v.Read(at, out node) != Errno.OK)
            {
                return false;
            }
            Ext4Extent.Header nh = Ext4Extent.ReadHeader(node);
            if (nh.Magic != Ext4Extent.Magic || nh.Depth != depth - 1 || nh.Entries == 0
                || Ext4Extent.TailOffset(nh.Max) + 4 > node.Length)
            {
                return false;
            }
            if (depth > 1)
            {
                at = Ext4Extent.ReadIndex(Ext4Extent.Entry(node, nh.Entries - 1)).Child;
            }
        }
        if (!AppendExtent(node, logical, blk))
        {
            return false;
        }
        if (_v.MetadataCsum)
        {
            int tail = Ext4Extent.TailOffset(Ext4Extent.ReadHeader(node).Max);
            uint seed = Ext2Dinode.InodeSeed(_v.CsumSeed, dir, din.Generation);
            BinaryPrimitives.WriteUInt32LittleEndian(node.AsSpan(tail), Ext2Crc.Crc32c(seed, node.AsSpan(0, tail)));
        }
        _v.Write(at, node);
        return true;
    }

    /// <summary>
    /// A direct pointer, or one in the single indirect block (made when missing, and counted
    /// in i_blocks); deeper levels are left alone.
    /// </summary>
    private bool MapInBlockMap(Ext2Dinode din, uint logical, ulong blk)
    {
        const int direct = 12;
        int perBlock = _v.BlockSize / 4;
        if (blk > uint.MaxValue || logical >= direct + perBlock)
        {
            return false;
        }
        if (logical < direct)
        {
            din.SetBlockPointer((int)logical, (uint)blk);
            return true;
        }
        uint ind = din.BlockPointer(direct);
        byte[] map;
        if (ind == 0)
        {
            ulong made = AllocBlocks(1);
            if (made == 0 || made > uint.MaxValue)
            {
                return false;
            }
            ind = (uint)made;
            map = new byte[_v.BlockSize];
            din.SetBlockPointer(direct, ind);
            CountOneBlock(din);
        }
        else if (_v.Read(ind, out map) != Errno.OK)
        {
            return false;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(map.AsSpan((int)(logical - direct) * 4), (uint)blk);
        _v.Write(ind, map);
        return true;
    }

    /// <summary>Map <paramref name="blk"/> at <paramref name="logical"/> in a leaf node: the last extent grows, or a new one is added.</summary>
    private static bool AppendExtent(Span<byte> leaf, uint logical, ulong blk)
    {
        Ext4Extent.Header h = Ext4Extent.ReadHeader(leaf);
        if (h.Entries > 0)
        {
            ExtentRun last = Ext4Extent.ReadLeaf(Ext4Extent.Entry(leaf, h.Entries - 1));
            if (!last.Uninit && last.Length < 32768 && last.Logical + (uint)last.Length == logical
                && last.Physical + (ulong)last.Length == blk)
            {
                Ext4Extent.WriteLeaf(Ext4Extent.Entry(leaf, h.Entries - 1), last with { Length = last.Length + 1 });
                return true;
            }
        }
        if (h.Entries >= h.Max)
        {
            return false;
        }
        Ext4Extent.WriteLeaf(Ext4Extent.Entry(leaf, h.Entries), new ExtentRun(logical, blk, 1, false));
        Ext4Extent.WriteHeader(leaf, (ushort)(h.Entries + 1), h.Max, h.Depth);
        return true;
    }
}
