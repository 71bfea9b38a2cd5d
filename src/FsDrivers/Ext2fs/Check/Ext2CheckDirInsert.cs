using System.Buffers.Binary;
using System.Text;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Adding a name to a directory during repair (lost+found into the root, reconnected inodes
/// into lost+found), as e2fsck's ext2fs_link and expand_dir do: an indexed directory gets
/// the name in the leaf its hash selects (Ext2CheckDxLink.cs); a directory with no room
/// grows by a block.
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
            if (DxLink(dir, din, blocks, nameBytes, ino, type))
            {
                return true;
            }
            // A tree full at its deepest (or a hash this checker does not compute): a plain
            // directory takes the name anywhere, and the kernel and e2fsck -D index it again.
            DropIndex(dir, din, blocks);
            Note(Pass3, Ino(dir), "hash-tree index cleared to make room for a new entry (the tree cannot grow)");
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

    private bool InsertInBlock(uint dir, Ext2Dinode din, ulong phys, byte[] nameBytes, uint ino, byte type) =>
        InsertInBlock(dir, din, phys, nameBytes, ino, type, out _);

    /// <summary>
    /// Put the record into block <paramref name="phys"/> as libext2fs's link_proc does: record
    /// by record, an unused record that follows is absorbed first; a used one with slack for
    /// the name is cut to its length and the name goes in the rest; an unused one that holds
    /// the name takes it. <paramref name="block"/> is the block as left (empty when unreadable);
    /// it is written when it changed, even when the name did not fit.
    /// </summary>
    private bool InsertInBlock(uint dir, Ext2Dinode din, ulong phys, byte[] nameBytes, uint ino, byte type, out byte[] block)
    {
        if (_v.Read(phys, out block) != Errno.OK)
        {
            block = [];
            return false;
        }
        byte[] b = block;
        int bs = b.Length;
        int csum = _v.MetadataCsum && Ext2DirEntry.HasTail(b) ? Ext2DirEntry.TailSize : 0;
        int limit = bs - csum;
        int need = Ext2DirEntry.Needed(nameBytes.Length);
        bool changed = false;
        int off = 0;
        while (off + Ext2DirEntry.HeaderSize <= limit)
        {
            int rl = Ext2DirEntry.RecLen(b, off);
            if (rl < MinRecord || off + rl > limit)
            {
                break;
            }
            int next = off + rl;
            if (next < bs - (Ext2DirEntry.HeaderSize + csum) && Ext2DirEntry.Inode(b, next) == 0
                && Ext2DirEntry.RecLen(b, next) is int nextLen and > 0 && next + nextLen <= limit)
            {
                rl += nextLen;
                Ext2DirEntry.SetRecLen(b, off, rl);
                changed = true;
            }
            if (Ext2DirEntry.Inode(b, off) != 0)
            {
                int used = Ext2DirEntry.Needed(Ext2DirEntry.NameLen(b, off, _v.Filetype));
                if (rl >= used + need)
                {
                    Ext2DirEntry.SetRecLen(b, off, used);
                    Ext2DirEntry.Write(b, off + used, 0, rl - used, [], 0, _v.Filetype);
                    changed = true;
                    off += used;
                    continue;
                }
            }
            else if (rl >= need)
            {
                Ext2DirEntry.Write(b, off, ino, rl, nameBytes, type, _v.Filetype);
                WriteDirBlock(dir, din, phys, b);
                _refs[ino]++;
                return true;
            }
            off += rl;
        }
        if (changed)
        {
            WriteDirBlock(dir, din, phys, b);
        }
        return false;
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
        // Right after the last block when that is free, as libext2fs's goal puts it: the last
        // extent then grows instead of a new one taking one of the inode's four slots.
        ulong blk = blocks.Count > 0 ? AllocBlockAt(blocks[^1].Physical + 1) : 0;
        if (blk == 0)
        {
            blk = AllocBlocks(1);
        }
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
            return AppendExtent(din.BlockBytes, logical, blk) || (GrowExtentRoot(dir, din) && MapNewBlock(dir, din, logical, blk));
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
        WriteExtentBlock(dir, din, at, node);
        return true;
    }


    /// <summary>
    /// The inode's four extents are full: they move into a new leaf block, which the inode's
    /// root then names as its one index entry (depth 1), as ext4_ext_grow_indepth does; the
    /// block is counted in i_blocks. False when no block is free.
    /// </summary>
    private bool GrowExtentRoot(uint dir, Ext2Dinode din)
    {
        Ext4Extent.Header h = Ext4Extent.ReadHeader(din.BlockBytes);
        ulong leaf = AllocBlocks(1);
        if (leaf == 0)
        {
            return false;
        }
        byte[] node = new byte[_v.BlockSize];
        int max = Ext4Extent.Capacity(_v.BlockSize - (_v.MetadataCsum ? 4 : 0));
        Ext4Extent.WriteHeader(node, h.Entries, (ushort)max, 0);
        for (int i = 0; i < h.Entries; i++)
        {
            Ext4Extent.Entry(din.BlockBytes, i).CopyTo(Ext4Extent.Entry(node.AsSpan(), i));
        }
        WriteExtentBlock(dir, din, leaf, node);
        uint first = Ext4Extent.ReadLeaf(Ext4Extent.Entry(din.BlockBytes, 0)).Logical;
        din.BlockBytes[Ext4Extent.HeaderSize..].Clear();
        Ext4Extent.WriteHeader(din.BlockBytes, 1, h.Max, 1);
        Ext4Extent.WriteIndex(Ext4Extent.Entry(din.BlockBytes, 0), first, leaf);
        CountOneBlock(din);
        Note(Pass3, Ino(dir), $"the inode's extents are full: moved into extent block {leaf} to map one more block");
        return true;
    }

    /// <summary>Take block <paramref name="blk"/> when it is in the file system and free; 0 otherwise.</summary>
    private ulong AllocBlockAt(ulong blk)
    {
        if (!_v.InFs(blk) || blk < Sb.FirstDataBlock || _used[(int)blk])
        {
            return 0;
        }
        _used[(int)blk] = true;
        _allocated.Add(blk);
        return blk;
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
