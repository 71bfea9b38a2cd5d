using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// The extent tree of a file as a whole: loaded into a sorted list of extents (verifying
/// magic, counts, order, ranges, checksums and that no node is visited twice), and stored
/// back by laying the list out as the shallowest tree that holds it, reusing the file's
/// existing tree blocks first. Splitting and merging of nodes thus fall out of one rebuild.
/// </summary>
internal static class Ext2ExtentTree
{
    public const int MaxDepth = 5;

    public static Errno Load(Ext2Node node, out List<ExtentRun>? list, out List<ulong>? treeBlocks)
    {
        list = [];
        treeBlocks = [];
        var visited = new HashSet<ulong>();
        byte[] root = node.Din.BlockBytes.ToArray();
        Errno e = Walk(node, root, 0, -1, list, treeBlocks, visited, 0);
        if (e != Errno.OK)
        {
            list = null;
            treeBlocks = null;
        }
        return e;
    }

    private static Errno Walk(Ext2Node node, ReadOnlySpan<byte> b, ulong blk, int expectDepth, List<ExtentRun> list,
        List<ulong> treeBlocks, HashSet<ulong> visited, int level)
    {
        Ext2Mount fs = node.Fs;
        Ext4Extent.Header h = Ext4Extent.ReadHeader(b);
        int cap = Ext4Extent.Capacity(b.Length);
        if (h.Magic != Ext4Extent.Magic || h.Entries > h.Max || h.Max > cap || h.Depth > MaxDepth
            || (expectDepth >= 0 && h.Depth != expectDepth) || (level > 0 && h.Entries == 0 && h.Depth > 0))
        {
            return fs.Corrupt((long)blk, $"bad extent header in inode {node.Number}");
        }
        if (blk != 0 && fs.MetadataCsum)
        {
            int tail = Ext4Extent.TailOffset(h.Max);
            if (tail + 4 <= b.Length
                && BinaryPrimitives.ReadUInt32LittleEndian(b[tail..]) != Ext2Crc.Crc32c(node.InodeSeed, b[..tail]))
            {
                return fs.Corrupt((long)blk, $"bad extent block checksum in inode {node.Number}");
            }
        }
        if (h.Depth == 0)
        {
            for (int i = 0; i < h.Entries; i++)
            {
                ExtentRun x = Ext4Extent.ReadLeaf(Ext4Extent.Entry(b, i));
                if (x.Length == 0 || !fs.ValidBlock(x.Physical) || !fs.ValidBlock(x.Physical + (ulong)x.Length - 1)
                    || (list.Count > 0 && x.Logical < list[^1].End))
                {
                    return fs.Corrupt((long)blk, $"bad extent in inode {node.Number}");
                }
                list.Add(x);
            }
            return Errno.OK;
        }
        uint prev = 0;
        for (int i = 0; i < h.Entries; i++)
        {
            (uint first, ulong child) = Ext4Extent.ReadIndex(Ext4Extent.Entry(b, i));
            if ((i > 0 && first <= prev) || !fs.ValidBlock(child) || !visited.Add(child))
            {
                return fs.Corrupt((long)blk, $"bad extent index (loop or out of range) in inode {node.Number}");
            }
            prev = first;
            Errno e = fs.ReadBlock(child, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            byte[] copy;
            using (bp)
            {
                copy = bp!.Data.ToArray();
            }
            treeBlocks.Add(child);
            e = Walk(node, copy, child, h.Depth - 1, list, treeBlocks, visited, level + 1);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        return Errno.OK;
    }

    /// <summary>How many nodes each level below the root needs for <paramref name="extents"/> extents, leaves first.</summary>
    private static List<int> LevelCounts(int blockSize, int extents)
    {
        int rootCap = Ext4Extent.Capacity(Ext2Dinode.BlockArea);
        int blockCap = Ext4Extent.Capacity(blockSize);
        var levelCounts = new List<int>();
        int n = extents;
        while (n > rootCap)
        {
            int nodes = (n + blockCap - 1) / blockCap;
            levelCounts.Add(nodes);
            n = nodes;
        }
        return levelCounts;
    }

    /// <summary>The tree blocks (below the root in the inode) a list of <paramref name="extents"/> extents needs.</summary>
    public static int BlocksNeeded(int blockSize, int extents) => LevelCounts(blockSize, extents).Sum();

    /// <summary>Lay <paramref name="list"/> out as a tree; <paramref name="treeBlocks"/> is updated to the blocks now used.</summary>
    public static Errno Store(Ext2Node node, List<ExtentRun> list, List<ulong> treeBlocks)
    {
        Ext2Mount fs = node.Fs;
        int blockCap = Ext4Extent.Capacity(fs.BlockSize);
        List<int> levelCounts = LevelCounts(fs.BlockSize, list.Count);
        int depth = levelCounts.Count;
        if (depth > MaxDepth)
        {
            return Errno.EFBIG;
        }
        int needed = levelCounts.Sum();

        // Reuse existing tree blocks, allocate the rest, free what is left over.
        var blocks = new List<ulong>(needed);
        for (int i = 0; i < Math.Min(needed, treeBlocks.Count); i++)
        {
            blocks.Add(treeBlocks[i]);
        }
        while (blocks.Count < needed)
        {
            ulong goal = blocks.Count > 0 ? blocks[^1] + 1 : (list.Count > 0 ? list[0].Physical : fs.GoalForInode(node.Number));
            // Growth reserved its tree blocks already; what is still needed here comes from
            // cutting extents (a punched hole), which the kernel lets take the reserved pool.
            Errno e = fs.AllocBlocks(goal, 1, out ulong nb, out _, fromPool: true);
            if (e != Errno.OK)
            {
                // Undo the blocks taken in this call.
                for (int i = treeBlocks.Count; i < blocks.Count; i++)
                {
                    fs.FreeBlocks(blocks[i], 1, metadata: true);
                    node.AddBlocks(-1);
                }
                return e;
            }
            node.AddBlocks(1);
            blocks.Add(nb);
        }
        for (int i = needed; i < treeBlocks.Count; i++)
        {
            fs.FreeBlocks(treeBlocks[i], 1, metadata: true);
            node.AddBlocks(-1);
        }
        treeBlocks.Clear();
        treeBlocks.AddRange(blocks);

        // Leaves first, then each index level over the one below.
        int next = 0;
        if (depth == 0)
        {
            WriteRoot(node, list, null, 0);
            return Errno.OK;
        }
        var level = new List<(uint First, ulong Block)>();
        int per = (list.Count + levelCounts[0] - 1) / levelCounts[0];
        for (int k = 0; k < levelCounts[0]; k++)
        {
            int from = k * per;
            int count = Math.Min(per, list.Count - from);
            ulong blk = blocks[next++];
            WriteBlockNode(node, blk, blockCap, 0, count, span =>
            {
                for (int i = 0; i < count; i++)
                {
                    Ext4Extent.WriteLeaf(Ext4Extent.Entry(span, i), list[from + i]);
                }
            });
            level.Add((list[from].Logical, blk));
        }
        for (int d = 1; d < depth; d++)
        {
            var upper = new List<(uint First, ulong Block)>();
            int nodes = levelCounts[d];
            int perNode = (level.Count + nodes - 1) / nodes;
            for (int k = 0; k < nodes; k++)
            {
                int from = k * perNode;
                int count = Math.Min(perNode, level.Count - from);
                ulong blk = blocks[next++];
                List<(uint First, ulong Block)> src = level;
                WriteBlockNode(node, blk, blockCap, (ushort)d, count, span =>
                {
                    for (int i = 0; i < count; i++)
                    {
                        Ext4Extent.WriteIndex(Ext4Extent.Entry(span, i), src[from + i].First, src[from + i].Block);
                    }
                });
                upper.Add((level[from].First, blk));
            }
            level = upper;
        }
        WriteRoot(node, null, level, (ushort)depth);
        return Errno.OK;
    }

    private static void WriteRoot(Ext2Node node, List<ExtentRun>? leaves, List<(uint First, ulong Block)>? index, ushort depth)
    {
        Span<byte> r = node.Din.BlockBytes;
        r.Clear();
        int rootCap = Ext4Extent.Capacity(Ext2Dinode.BlockArea);
        int count = leaves?.Count ?? index!.Count;
        Ext4Extent.WriteHeader(r, (ushort)count, (ushort)rootCap, depth);
        for (int i = 0; i < count; i++)
        {
            if (leaves is not null)
            {
                Ext4Extent.WriteLeaf(Ext4Extent.Entry(r, i), leaves[i]);
            }
            else
            {
                Ext4Extent.WriteIndex(Ext4Extent.Entry(r, i), index![i].First, index[i].Block);
            }
        }
        node.MarkDirty();
    }

    private delegate void Filler(Span<byte> node);

    private static void WriteBlockNode(Ext2Node node, ulong blk, int cap, ushort depth, int count, Filler fill)
    {
        Ext2Mount fs = node.Fs;
        using Buffer bp = fs.GetBlock(blk);
        lock (bp.SyncRoot)
        {
            Span<byte> b = bp.Data;
            b.Clear();
            Ext4Extent.WriteHeader(b, (ushort)count, (ushort)cap, depth);
            fill(b);
            if (fs.MetadataCsum)
            {
                Ext4Extent.SetBlockChecksum(b, node.InodeSeed);
            }
        }
        fs.Dirty(bp);
    }
}
