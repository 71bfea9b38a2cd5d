using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>
/// The blocks of a file made by newfs (a directory's first block, the journal) and the map
/// that finds them: an extent tree (in the inode, or leaf and index blocks below it when the
/// blocks come in more than four runs) or the classic direct and indirect pointers.
/// </summary>
internal sealed class Ext2NewFile
{
    private const int DirectPointers = 12;
    private const int InodeExtents = 4;

    /// <summary>i_block: the extent root or the 15 block pointers.</summary>
    public byte[] BlockArea { get; } = new byte[Ext2Dinode.BlockArea];

    /// <summary>Mapping blocks (extent leaves, indirect blocks) with their contents.</summary>
    public List<(uint Block, byte[] Data)> MapBlocks { get; } = [];

    /// <summary>The data blocks in logical order, as runs.</summary>
    public List<(uint Start, uint Length)> Runs { get; private set; } = [];

    /// <summary>Data and mapping blocks together (what i_blocks counts).</summary>
    public ulong TotalBlocks => Runs.Aggregate(0UL, (s, r) => s + r.Length) + (ulong)MapBlocks.Count;

    public uint InodeFlags { get; private set; }

    /// <summary>
    /// Allocate <paramref name="count"/> data blocks from <paramref name="goal"/> on and build
    /// their map; null when the volume has no room. <paramref name="inodeSeed"/> checksums
    /// extent leaf blocks when <paramref name="csum"/> is set.
    /// </summary>
    public static Ext2NewFile? Allocate(IExt2BlockSource blocks, int blockSize, uint goal, uint count, bool extents, bool csum, uint inodeSeed)
    {
        var f = new Ext2NewFile();
        return extents ? f.MapExtents(blocks, blockSize, goal, count, csum, inodeSeed) : f.MapIndirect(blocks, blockSize, goal, count);
    }

    private Ext2NewFile? MapExtents(IExt2BlockSource blocks, int bs, uint goal, uint count, bool csum, uint inodeSeed)
    {
        InodeFlags = Ext2Dinode.FlagExtents;
        List<(uint Start, uint Length)>? runs = blocks.AllocRuns(goal, count, Ext4Extent.MaxInitLen);
        if (runs is null)
        {
            return null;
        }
        Runs = runs;
        if (runs.Count <= InodeExtents)
        {
            WriteLeaves(BlockArea, runs, 0, runs.Count, InodeExtents, 0);
            return this;
        }
        int perNode = Ext4Extent.Capacity(bs - (csum ? 4 : 0));
        var level = new List<(uint Logical, byte[] Data)>();
        uint logical = 0;
        for (int first = 0; first < runs.Count; first += perNode)
        {
            int n = Math.Min(perNode, runs.Count - first);
            var data = new byte[bs];
            WriteLeaves(data, runs, first, n, perNode, logical);
            level.Add((logical, data));
            for (int k = first; k < first + n; k++)
            {
                logical += runs[k].Length;
            }
        }
        // Full nodes level by level, as libext2fs fills them when a file grows at its end,
        // until the top level fits the inode's four entries.
        for (ushort childDepth = 0; ; childDepth++)
        {
            var placed = new List<(uint Logical, uint Block)>();
            foreach ((uint first, byte[] data) in level)
            {
                uint? blk = blocks.AllocRun(goal, 1);
                if (blk is null)
                {
                    GiveBack(blocks);
                    return null;
                }
                if (csum)
                {
                    Ext4Extent.SetBlockChecksum(data, inodeSeed);
                }
                MapBlocks.Add((blk.Value, data));
                placed.Add((first, blk.Value));
            }
            if (placed.Count <= InodeExtents)
            {
                WriteIndexes(BlockArea, placed, 0, placed.Count, InodeExtents, (ushort)(childDepth + 1));
                return this;
            }
            if (childDepth + 2 > MaxTreeDepth)
            {
                GiveBack(blocks); // beyond any tree ext4 reads: the volume is far too fragmented
                return null;
            }
            level = [];
            for (int first = 0; first < placed.Count; first += perNode)
            {
                var data = new byte[bs];
                WriteIndexes(data, placed, first, Math.Min(perNode, placed.Count - first), perNode, (ushort)(childDepth + 1));
                level.Add((placed[first].Logical, data));
            }
        }
    }

    /// <summary>The deepest extent tree ext4 reads (EXT4_MAX_EXTENT_DEPTH).</summary>
    private const int MaxTreeDepth = 5;

    private static void WriteIndexes(Span<byte> node, List<(uint Logical, uint Block)> children, int first, int n, int max, ushort depth)
    {
        Ext4Extent.WriteHeader(node, (ushort)n, (ushort)max, depth);
        for (int i = 0; i < n; i++)
        {
            Ext4Extent.WriteIndex(Ext4Extent.Entry(node, i), children[first + i].Logical, children[first + i].Block);
        }
    }

    /// <summary>Return every block this failed allocation took, data and map alike.</summary>
    private void GiveBack(IExt2BlockSource blocks)
    {
        foreach ((uint start, uint length) in Runs)
        {
            blocks.Release(start, length);
        }
        foreach ((uint blk, _) in MapBlocks)
        {
            blocks.Release(blk, 1);
        }
        Runs = [];
        MapBlocks.Clear();
    }

    private static void WriteLeaves(Span<byte> node, List<(uint Start, uint Length)> runs, int first, int n, int max, uint logical)
    {
        Ext4Extent.WriteHeader(node, (ushort)n, (ushort)max, 0);
        for (int i = 0; i < n; i++)
        {
            (uint start, uint len) = runs[first + i];
            Ext4Extent.WriteLeaf(Ext4Extent.Entry(node, i), new ExtentRun(logical, start, (int)len, false));
            logical += len;
        }
    }

    private Ext2NewFile? MapIndirect(IExt2BlockSource blocks, int bs, uint goal, uint count)
    {
        long p = bs / 4;
        long left = Math.Max(0, (long)count - DirectPointers);
        long meta = 0;
        if (left > 0)
        {
            meta++;
            left -= p;
        }
        if (left > 0)
        {
            long here = Math.Min(left, p * p);
            meta += 1 + ((here + p - 1) / p);
            left -= here;
        }
        if (left > 0)
        {
            meta += 1 + ((left + (p * p) - 1) / (p * p)) + ((left + p - 1) / p);
        }
        List<(uint Start, uint Length)>? all = blocks.AllocRuns(goal, count + (uint)meta, uint.MaxValue);
        if (all is null)
        {
            return null;
        }
        // Blocks are handed out in map order, each pointer block just before the data it
        // points at, as mke2fs lays out block-mapped files: e2fsck sees them as contiguous.
        var next = new Queue<uint>(all.SelectMany(r => Enumerable.Range(0, (int)r.Length).Select(i => r.Start + (uint)i)));
        var data = new List<uint>((int)count);
        for (int i = 0; i < DirectPointers && data.Count < count; i++)
        {
            uint b = next.Dequeue();
            data.Add(b);
            BinaryPrimitives.WriteUInt32LittleEndian(BlockArea.AsSpan(4 * i), b);
        }
        for (int level = 1; level <= 3 && data.Count < count; level++)
        {
            uint top = Indirect(level, bs, next, data, count);
            BinaryPrimitives.WriteUInt32LittleEndian(BlockArea.AsSpan(4 * (DirectPointers + level - 1)), top);
        }
        Runs = Coalesce(data);
        return this;
    }

    private static List<(uint Start, uint Length)> Coalesce(List<uint> blocks)
    {
        var runs = new List<(uint Start, uint Length)>();
        foreach (uint b in blocks)
        {
            if (runs.Count > 0 && runs[^1].Start + runs[^1].Length == b)
            {
                runs[^1] = (runs[^1].Start, runs[^1].Length + 1);
            }
            else
            {
                runs.Add((b, 1));
            }
        }
        return runs;
    }

    /// <summary>One pointer block at <paramref name="level"/> (1 = pointing at data), taking blocks in map order.</summary>
    private uint Indirect(int level, int bs, Queue<uint> next, List<uint> data, uint count)
    {
        uint blk = next.Dequeue();
        var b = new byte[bs];
        MapBlocks.Add((blk, b));
        for (int i = 0; i < bs / 4 && data.Count < count; i++)
        {
            uint entry;
            if (level == 1)
            {
                entry = next.Dequeue();
                data.Add(entry);
            }
            else
            {
                entry = Indirect(level - 1, bs, next, data, count);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4 * i), entry);
        }
        return blk;
    }
}
