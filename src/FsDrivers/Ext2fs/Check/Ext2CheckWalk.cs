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
    public bool BadTree { get; set; }

    /// <summary>An unusable extent node was met below the root: its index entry is dropped and the file keeps the rest.</summary>
    public bool DroppedNode { get; set; }

    /// <summary>The extent nodes this walk entered; an index naming one a second time is dropped.</summary>
    public HashSet<ulong> Nodes { get; } = [];
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
        if (WalkExtentNode(w, root, h, ExtentBlocksEnd, visit))
        {
            w.Changed = true;
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
                string? bad = lblk >= nextStart ? $"extent index at logical block {lblk} is out of order" : null;
                byte[]? data = null;
                // A node the visitor may refuse (outside the file system, or metadata) is
                // left to it; any other is read and checked before it is claimed, so an
                // unusable one is dropped without taking its block (as e2fsck leaves it free).
                if (bad == null && _v.InFs(child) && !_meta[(int)child])
                {
                    bad = !w.Nodes.Add(child) ? $"extent index at logical block {lblk} names extent block {child} a second time"
                        : ReadExtentChild(w, child, h.Depth - 1, out data);
                    w.DroppedNode |= bad != null;
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
                        nextStart = lblk;
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
                    }
                    nextStart = drop ? nextStart : lblk;
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
        return h.Magic != Ext4Extent.Magic || h.Max > cap || h.Max == 0 || h.Entries > h.Max || h.Depth != depth
            ? $"extent block {blk} is corrupt (magic, counts or depth); its index entry is removed"
            : null;
    }

    /// <summary>Walk child node <paramref name="blk"/>, read and checked by <see cref="ReadExtentChild"/>.</summary>
    private void WalkExtentChild(InodeWalk w, ulong blk, byte[] data, ulong nextStart, Func<InodeWalk, BlockClaim, ulong> visit)
    {
        Ext4Extent.Header h = Ext4Extent.ReadHeader(data);
        bool changed = false;
        int tail = Ext4Extent.TailOffset(h.Max);
        uint seed = Ext2Dinode.InodeSeed(_v.CsumSeed, w.Ino, w.Din.Generation);
        if (_v.MetadataCsum && BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(tail)) != Ext2Crc.Crc32c(seed, data.AsSpan(0, tail)))
        {
            Error("inodes", Ino(w.Ino), $"extent block {blk} has a bad checksum");
            changed = true;
        }
        changed |= WalkExtentNode(w, data, h, nextStart, visit);
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
