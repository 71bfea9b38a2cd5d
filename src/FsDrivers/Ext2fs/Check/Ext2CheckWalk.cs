using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>One block pointer as a walk meets it: the run it names and what kind of pointer it is.</summary>
internal readonly record struct BlockClaim(ulong Physical, int Count, long Logical, bool Node, bool Uninit);

/// <summary>An inode being walked: the inode and what the walk learnt about it.</summary>
internal sealed class InodeWalk(uint ino, Ext2Dinode din)
{
    public uint Ino { get; } = ino;
    public Ext2Dinode Din { get; } = din;
    public bool IsDir => (Din.Mode & 0xF000) == 0x4000;

    /// <summary>Pass 1 keeps this file's data block map in <see cref="DirBlocks"/> though it is no directory (quota and orphan files).</summary>
    public bool KeepMap { get; init; }
    public ulong Blocks { get; set; }
    public long LastLogical { get; set; } = -1;
    public long LastInit { get; set; } = -1;
    public int Illegal { get; set; }
    public bool Changed { get; set; }

    /// <summary>The inode failed its checksum when read (pass 1 recomputes it).</summary>
    public bool BadChecksum { get; init; }
    public bool BadTree { get; set; }

    /// <summary>An unusable extent node was met below the root: its index entry is dropped and the file keeps the rest.</summary>
    public bool DroppedNode { get; set; }

    /// <summary>The extent nodes this walk entered; an index naming one a second time is dropped.</summary>
    public HashSet<ulong> Nodes { get; } = [];

    /// <summary>Pass 1's walk, the one that claims: it alone judges whether a node is another file's.</summary>
    public bool FirstWalk { get; init; }

    /// <summary>Extent nodes the visitor was shown and the repair then emptied and dropped: their claims are to be taken back.</summary>
    public List<ulong> ReleasedNodes { get; } = [];
    /// <summary>The data blocks (logical, physical) of a directory, or of a file with <see cref="KeepMap"/>.</summary>
    public List<(uint Logical, ulong Physical)> DirBlocks { get; } = [];
    public List<(ulong Start, int Count)> Marked { get; } = [];

    /// <summary>Blocks this inode claimed after another claimant (counted in the duplicate claims).</summary>
    public List<ulong> SecondClaims { get; } = [];
}

/// <summary>
/// The walks over an inode's blocks: direct and indirect pointers, or the extent tree. The
/// visitor answers each pointer with <see cref="Keep"/>, <see cref="Drop"/> (the pointer
/// is cleared or the extent removed) or a block number to point at instead (a copy).
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private const ulong Keep = 0;
    private const ulong Drop = ulong.MaxValue;

    /// <summary>Keep the pointer but do not follow it (a node that is not this file's to read as one).</summary>
    private const ulong Skip = ulong.MaxValue - 1;

    /// <summary>
    /// Logical blocks of an extent-mapped file lie below this (EXT_MAX_BLOCKS): a file
    /// reaching it would need a size past the largest the format holds.
    /// </summary>
    private const ulong ExtentBlocksEnd = uint.MaxValue;

    private void WalkBlocks(InodeWalk w, Func<InodeWalk, BlockClaim, ulong> visit)
    {
        if ((w.Din.Flags & Ext2Dinode.FlagExtents) != 0)
        {
            WalkExtentRoot(w, visit);
        }
        else
        {
            WalkIndirect(w, visit);
        }
    }

    private void WalkIndirect(InodeWalk w, Func<InodeWalk, BlockClaim, ulong> visit)
    {
        long per = _v.BlockSize / 4;
        for (int i = 0; i < Ext2Dinode.BlockPointers; i++)
        {
            uint p = w.Din.BlockPointer(i);
            if (p == 0)
            {
                continue;
            }
            int level = i < 12 ? 0 : i - 11;
            long logical = i < 12 ? i : level == 1 ? 12 : level == 2 ? 12 + per : 12 + per + (per * per);
            ulong answer = visit(w, new BlockClaim(p, 1, level == 0 ? logical : -1, level > 0, false));
            if (answer == Drop)
            {
                w.Din.SetBlockPointer(i, 0);
                w.Changed = true;
                continue;
            }
            if (answer == Skip)
            {
                continue;
            }
            if (answer != Keep)
            {
                w.Din.SetBlockPointer(i, (uint)answer);
                w.Changed = true;
                p = (uint)answer;
            }
            if (level > 0 && _v.InFs(p))
            {
                WalkIndirectBlock(w, p, level, logical, visit);
            }
        }
    }

    private void WalkIndirectBlock(InodeWalk w, ulong blk, int level, long logicalBase, Func<InodeWalk, BlockClaim, ulong> visit)
    {
        if (_v.Read(blk, out byte[] data) != Kernel.Errno.OK)
        {
            Error("inodes", Ino(w.Ino), $"cannot read indirect block {blk}", fixable: false);
            return;
        }
        long per = _v.BlockSize / 4;
        long span = level == 1 ? 1 : level == 2 ? per : per * per;
        bool changed = false;
        for (int j = 0; j < per; j++)
        {
            uint q = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(j * 4));
            if (q == 0)
            {
                continue;
            }
            long logical = logicalBase + (j * span);
            ulong answer = visit(w, new BlockClaim(q, 1, level == 1 ? logical : -1, level > 1, false));
            if (answer == Drop)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(j * 4), 0);
                changed = true;
                continue;
            }
            if (answer == Skip)
            {
                continue;
            }
            if (answer != Keep)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(j * 4), (uint)answer);
                changed = true;
                q = (uint)answer;
            }
            if (level > 1 && _v.InFs(q))
            {
                WalkIndirectBlock(w, q, level - 1, logical, visit);
            }
        }
        // An inode with too many illegal pointers is cleared: its blocks stay as they were.
        if (changed && w.Illegal <= MaxIllegalBlocks)
        {
            _v.Write(blk, data);
        }
    }

    private void WalkExtentRoot(InodeWalk w, Func<InodeWalk, BlockClaim, ulong> visit)
    {
        byte[] raw = w.Din.Raw;
        Span<byte> root = raw.AsSpan(Ext2Dinode.Off.Block, Ext2Dinode.BlockArea);
        Ext4Extent.Header h = Ext4Extent.ReadHeader(root);
        if (h.Magic != Ext4Extent.Magic || h.Max > Ext4Extent.Capacity(Ext2Dinode.BlockArea) || h.Entries > h.Max
            || h.Depth > 5)
        {
            Error("inodes", Ino(w.Ino), "the extent tree root in the inode is corrupt");
            w.BadTree = true;
            return;
        }
        bool roomFixed = RaiseNodeRoom(w, root, h, Ext4Extent.Capacity(Ext2Dinode.BlockArea), "the extent tree root in the inode");
        if (WalkExtentNode(w, root, h, ExtentBlocksEnd, visit) || roomFixed)
        {
            w.Changed = true;
            // A root left without entries maps nothing at any depth: libext2fs makes it a leaf.
            Ext4Extent.Header after = Ext4Extent.ReadHeader(root);
            if (_repair && after.Entries == 0 && after.Depth != 0)
            {
                Ext4Extent.WriteHeader(root, after.Entries, after.Max, 0);
            }
        }
    }

    /// <summary>Walk one extent node (last entry first, so removals do not move the ones still to visit); true when it changed.</summary>
    private bool WalkExtentNode(InodeWalk w, Span<byte> node, Ext4Extent.Header h, ulong nextStart,
        Func<InodeWalk, BlockClaim, ulong> visit)
    {
        bool changed = false;
        int entries = h.Entries;
        for (int i = h.Entries - 1; i >= 0; i--)
        {
            Span<byte> e = Ext4Extent.Entry(node, i);
            bool drop;
            if (h.Depth == 0)
            {
                ExtentRun x = Ext4Extent.ReadLeaf(e);
                drop = x.Length == 0 || x.End > nextStart;
                if (drop)
                {
                    string why = x.End > ExtentBlocksEnd ? "runs past the last block a file can have" : "is empty or overlaps the next one";
                    Error("inodes", Ino(w.Ino), $"extent at logical block {x.Logical} {why}");
                }
                else
                {
                    ulong answer = visit(w, new BlockClaim(x.Physical, x.Length, x.Logical, false, x.Uninit));
                    drop = answer == Drop;
                    if (answer != Keep && answer != Drop)
                    {
                        Ext4Extent.WriteLeaf(e, x with { Physical = answer });
                        changed = true;
                    }
                    nextStart = drop ? nextStart : x.Logical;
                }
            }
            else
            {
                (uint lblk, ulong child) = Ext4Extent.ReadIndex(e);
                string? bad = null;
                byte[]? data = null;
                // A node the visitor may refuse (outside the file system, or metadata) is
                // left to it; any other is read and checked before it is claimed, so an
                // unusable one is dropped without taking its block (as e2fsck leaves it free).
                if (_v.InFs(child) && !_meta[(int)child])
                {
                    bad = !w.Nodes.Add(child) ? $"extent index at logical block {lblk} names extent block {child} a second time"
                        : ReadExtentChild(w, child, h.Depth - 1, out data) ?? ForeignNode(w, child, data, nextStart);
                    w.DroppedNode |= bad != null;
                }
                // The start of a node that is read is the first block it maps (below); one
                // that cannot be read is judged by the start its index gives.
                if (bad == null && data == null && lblk >= nextStart)
                {
                    bad = $"extent index at logical block {lblk} is out of order";
                }
                drop = bad != null;
                if (drop)
                {
                    Error("inodes", Ino(w.Ino), bad!);
                }
                else
                {
                    ulong answer = visit(w, new BlockClaim(child, 1, -1, true, false));
                    drop = answer == Drop;
                    if (answer == Skip)
                    {
                        nextStart = Math.Min(lblk, nextStart);
                        continue;
                    }
                    if (answer != Keep && answer != Drop)
                    {
                        Ext4Extent.WriteIndex(e, lblk, answer);
                        changed = true;
                        child = answer;
                        // The copy holds the same bytes; the walk reads and writes it there.
                        data = data == null || _v.Read(child, out data) != Kernel.Errno.OK ? null : data;
                    }
                    if (!drop && data != null)
                    {
                        WalkExtentChild(w, child, data, nextStart, visit);
                        drop = !MatchIndexToChild(w, e, ref lblk, child, data, ref changed);
                    }
                    nextStart = drop ? nextStart : Math.Min(lblk, nextStart);
                }
            }
            if (drop && _repair)
            {
                entries = Ext4Extent.RemoveEntry(node, i, entries);
                changed = true;
            }
        }
        return changed;
    }

    /// <summary>
    /// After its walk, an index entry's start must be the first block its node maps (e2fsck:
    /// "logical start does not match"; set to it, which also follows a first entry the walk
    /// removed). False when the walk left the node empty: the entry goes and the node's claim
    /// is to be taken back (<see cref="InodeWalk.ReleasedNodes"/>), as libext2fs frees it.
    /// </summary>
    private bool MatchIndexToChild(InodeWalk w, Span<byte> entry, ref uint lblk, ulong child, byte[] data, ref bool changed)
    {
        Ext4Extent.Header ch = Ext4Extent.ReadHeader(data);
        if (ch.Entries == 0)
        {
            Error("inodes", Ino(w.Ino), $"extent block {child} is left with nothing this file can use; its index entry is removed");
            w.DroppedNode = true;
            w.ReleasedNodes.Add(child);
            return false;
        }
        ReadOnlySpan<byte> first = Ext4Extent.Entry(data, 0);
        uint start = ch.Depth == 0 ? (uint)Ext4Extent.ReadLeaf(first).Logical : Ext4Extent.ReadIndex(first).Block;
        if (start != lblk)
        {
            Error("inodes", Ino(w.Ino), $"extent index at logical block {lblk} does not match the first block {start} of its node; set to {start}");
            if (_repair)
            {
                Ext4Extent.WriteIndex(entry, start, child);
                changed = true;
            }
            lblk = start;
        }
        return true;
    }

    /// <summary>
    /// Read child node <paramref name="blk"/> for a walk and check its header: the reason it
    /// is unusable (its index entry should go), or null. A block that does not read is
    /// reported and kept, with <paramref name="data"/> null: nothing can be said of it.
    /// </summary>
    private string? ReadExtentChild(InodeWalk w, ulong blk, int depth, out byte[]? data)
    {
        if (_v.Read(blk, out byte[] read) != Kernel.Errno.OK)
        {
            Error("inodes", Ino(w.Ino), $"cannot read extent block {blk}", fixable: false);
            data = null;
            return null;
        }
        Ext4Extent.Header h = Ext4Extent.ReadHeader(read);
        int cap = Ext4Extent.Capacity(_v.BlockSize - 4);
        data = read;
        // A node below the root holds at least one entry (the kernel's "invalid eh_entries").
        return h.Magic != Ext4Extent.Magic || h.Max > cap || h.Max == 0 || h.Entries > h.Max || h.Entries == 0 || h.Depth != depth
            ? $"extent block {blk} is corrupt (magic, counts or depth); its index entry is removed"
            : null;
    }

    /// <summary>
    /// Pass 1 only: a node that maps blocks past this file's range (the next index entry's
    /// start) and is either another file's already (claimed before this walk) or carries a
    /// checksum this inode's seed does not give is taken for another file's node: its index
    /// entry goes, unclaimed, and the node is left untouched for its owner. Trimming it to this
    /// file's range would take the owner's extents out of it. Null when the node may be this
    /// file's.
    /// </summary>
    private string? ForeignNode(InodeWalk w, ulong blk, byte[]? data, ulong nextStart)
    {
        if (!w.FirstWalk || data is null)
        {
            return null;
        }
        Ext4Extent.Header h = Ext4Extent.ReadHeader(data);
        ReadOnlySpan<byte> last = Ext4Extent.Entry(data, h.Entries - 1);
        bool beyond = h.Depth == 0 ? Ext4Extent.ReadLeaf(last).End > nextStart : Ext4Extent.ReadIndex(last).Block >= nextStart;
        if (!beyond || !(_used[(int)blk] || !NodeChecksumMatches(w, data, h)))
        {
            return null;
        }
        return $"extent block {blk} maps blocks past this file's range and is another file's (claimed, or its checksum is not this inode's); its index entry is removed";
    }

    private bool NodeChecksumMatches(InodeWalk w, byte[] data, Ext4Extent.Header h)
    {
        if (!_v.MetadataCsum)
        {
            return true;
        }
        int tail = Ext4Extent.TailOffset(h.Max);
        uint seed = Ext2Dinode.InodeSeed(_v.CsumSeed, w.Ino, w.Din.Generation);
        return BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(tail)) == Ext2Crc.Crc32c(seed, data.AsSpan(0, tail));
    }

    /// <summary>
    /// e2fsck takes a node whose eh_max is more than two entries short of what its space
    /// holds for a bad header (ext2fs_extent_header_verify): it deletes a child node's index
    /// entry with its subtree, and clears the inode for the root. The kernel reads such a node
    /// as it is, so the repair here gives the node its full room instead and keeps what it
    /// maps: both then accept it. True when it was raised (the node is to be written).
    /// </summary>
    private bool RaiseNodeRoom(InodeWalk w, Span<byte> node, Ext4Extent.Header h, int capacity, string what)
    {
        if (h.Max >= capacity - 2)
        {
            return false;
        }
        Error("inodes", Ino(w.Ino), $"{what} has room for {h.Max} entries where its space holds {capacity}; set to {capacity}");
        if (!_repair)
        {
            return false;
        }
        Ext4Extent.WriteHeader(node, h.Entries, (ushort)capacity, h.Depth);
        return true;
    }

    /// <summary>Walk child node <paramref name="blk"/>, read and checked by <see cref="ReadExtentChild"/>.</summary>
    private void WalkExtentChild(InodeWalk w, ulong blk, byte[] data, ulong nextStart, Func<InodeWalk, BlockClaim, ulong> visit)
    {
        Ext4Extent.Header h = Ext4Extent.ReadHeader(data);
        uint seed = Ext2Dinode.InodeSeed(_v.CsumSeed, w.Ino, w.Din.Generation);
        bool badSum = !NodeChecksumMatches(w, data, h);
        bool roomFixed = RaiseNodeRoom(w, data, h, Ext4Extent.Capacity(_v.BlockSize - 4), $"extent block {blk}");
        bool changed = WalkExtentNode(w, data, h, nextStart, visit) | roomFixed;
        if (Ext4Extent.ReadHeader(data).Entries == 0)
        {
            // Nothing of it lies in this file's range: its index entry goes and the block is
            // left as it was, for it may be another file's node (that file's walk judges it).
            return;
        }
        if (badSum)
        {
            Error("inodes", Ino(w.Ino), $"extent block {blk} has a bad checksum");
            changed = true;
        }
        if (changed && _repair && w.Illegal <= MaxIllegalBlocks)
        {
            if (_v.MetadataCsum)
            {
                Ext4Extent.SetBlockChecksum(data, seed);
            }
            _v.Write(blk, data);
        }
    }
}
