using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>One live name of a directory being rebuilt, with its hash (0 when the directory is written linear).</summary>
internal readonly record struct RehashEntry(byte[] Name, uint Ino, byte FileType, uint Hash, uint MinorHash = 0);

/// <summary>The blocks of a rebuilt directory in logical order, how many are leaves, and the index's depth.</summary>
internal sealed record RehashImage(List<byte[]> Blocks, int Leaves, int IndirectLevels);

/// <summary>
/// The block images of a directory rebuilt as e2fsck's rehash (pass 3A) lays one out, with
/// no device behind it. Names are packed in the order given: a leaf takes names until the
/// room left falls below the slack to keep (a fifth of the block in an indexed directory, so
/// that the kernel can add names without splitting at once; one minimal record in a linear
/// one), the last record taking the rest. An indexed directory has the root in block 0,
/// the leaves from block 1, and the interior nodes after the leaves in the order they are
/// opened; each node is filled before the next is opened. A leaf's index hash is its first
/// name's, with the low bit set when the previous leaf ends with the same hash (the name
/// run continues there, and the kernel must look in both).
/// </summary>
internal sealed class Ext2RehashLayout(int blockSize, bool metadataCsum, bool filetype, uint inodeSeed)
{
    /// <summary>e2fsck's indexed_dir_slack_percentage default: the part of each leaf left free.</summary>
    private const int SlackPercent = 20;

    /// <summary>The smallest record (a one-byte name): the slack of a linear directory.</summary>
    private const int MinRecLen = 12;

    private const int RootEntries = Ext2DxNode.RootOff.Entries;
    private const int NodeEntries = Ext2DxNode.NodeEntries;

    private int LeafRoom => blockSize - (metadataCsum ? Ext2DirEntry.TailSize : 0);
    private int DxTail => metadataCsum ? Ext2DxNode.TailSize : 0;

    /// <summary>Entries a root block's index holds.</summary>
    public int RootLimit => (blockSize - RootEntries - DxTail) / Ext2DxNode.EntrySize;

    /// <summary>Entries an interior node holds.</summary>
    public int NodeLimit => (blockSize - NodeEntries - DxTail) / Ext2DxNode.EntrySize;

    /// <summary>
    /// A linear directory: <paramref name="entries"/> ('.' and '..' first) packed from block 0,
    /// as e2fsck writes a directory it does not index.
    /// </summary>
    public RehashImage Linear(IReadOnlyList<RehashEntry> entries)
    {
        List<byte[]> blocks = Pack(entries, MinRecLen, []);
        return new RehashImage(blocks, blocks.Count, 0);
    }

    /// <summary>
    /// An indexed directory of the names in <paramref name="sorted"/> (in hash order, '.' and
    /// '..' not among them); null when the index would need more than
    /// <paramref name="maxIndirect"/> levels of interior nodes.
    /// </summary>
    public RehashImage? Indexed(uint dir, uint parent, byte hashVersion, IReadOnlyList<RehashEntry> sorted, int maxIndirect)
    {
        int slack = Math.Max(MinRecLen, LeafRoom * SlackPercent / 100);
        var firstHashes = new List<uint>();
        List<byte[]> leaves = Pack(sorted, slack, firstHashes);
        long fits = RootLimit;
        int levels = 0;
        while (leaves.Count > fits)
        {
            fits *= NodeLimit;
            levels++;
        }
        if (levels > maxIndirect)
        {
            return null;
        }
        byte[] rootBlock = RootBlock(dir, parent, hashVersion, levels);
        var blocks = new List<byte[]>(leaves.Count + 2) { rootBlock };
        blocks.AddRange(leaves);
        // The open node at each level: the root at 0, nodes that point at leaves at `levels`.
        var open = new DxBuild[levels + 1];
        open[0] = new DxBuild(rootBlock, RootEntries, RootLimit);
        var nodes = new List<DxBuild> { open[0] };
        for (int i = 0; i < leaves.Count; i++)
        {
            DxBuild node = NodeWithRoom(open, levels, firstHashes[i], blocks, nodes);
            node.Add(firstHashes[i], (uint)(1 + i));
        }
        foreach (DxBuild node in nodes)
        {
            node.Finish(metadataCsum, inodeSeed);
        }
        return new RehashImage(blocks, leaves.Count, levels);
    }

    /// <summary>
    /// The node at <paramref name="level"/> that takes the next entry: the open one while it
    /// has room, else a new one appended to the directory and named (with
    /// <paramref name="hash"/>, its first leaf's) by a parent that has room in turn.
    /// </summary>
    private DxBuild NodeWithRoom(DxBuild[] open, int level, uint hash, List<byte[]> blocks, List<DxBuild> nodes)
    {
        DxBuild? node = open[level];
        if (node is not null && node.Count < node.Limit)
        {
            return node;
        }
        // The root never runs out: the depth was chosen so that it holds every child.
        DxBuild parent = NodeWithRoom(open, level - 1, hash, blocks, nodes);
        byte[] b = new byte[blockSize];
        Ext2DirEntry.SetRecLen(b, 0, blockSize);
        parent.Add(hash, (uint)blocks.Count);
        blocks.Add(b);
        node = new DxBuild(b, NodeEntries, NodeLimit);
        nodes.Add(node);
        open[level] = node;
        return node;
    }

    /// <summary>Block 0 of an indexed directory: '.', '..' over the rest of the block, then dx_root_info.</summary>
    private byte[] RootBlock(uint dir, uint parent, byte hashVersion, int levels)
    {
        byte[] b = new byte[blockSize];
        byte dirType = filetype ? (byte)2 : (byte)0;
        Ext2DirEntry.Write(b, Ext2DxNode.RootOff.DotRecord, dir, MinRecLen, "."u8, dirType, filetype);
        Ext2DirEntry.Write(b, Ext2DxNode.RootOff.DotDotRecord, parent, blockSize - MinRecLen, ".."u8, dirType, filetype);
        b[Ext2DxNode.RootOff.HashVersion] = hashVersion;
        b[Ext2DxNode.RootOff.InfoLength] = 8;
        b[Ext2DxNode.RootOff.IndirectLevels] = (byte)levels;
        return b;
    }

    /// <summary>
    /// Pack records into blocks of <see cref="LeafRoom"/> bytes, leaving at least
    /// <paramref name="slack"/> free in each; <paramref name="firstHashes"/> receives each
    /// block's first hash (with the continuation bit). Every block ends with a checksum tail
    /// under metadata_csum.
    /// </summary>
    private List<byte[]> Pack(IReadOnlyList<RehashEntry> entries, int slack, List<uint> firstHashes)
    {
        var blocks = new List<byte[]>();
        byte[] cur = new byte[blockSize];
        blocks.Add(cur);
        int offset = 0;
        int left = LeafRoom;
        int last = -1;
        uint prevHash = 1; // never a hash: hashes have the low bit clear
        foreach (RehashEntry e in entries)
        {
            int recLen = Ext2DirEntry.Needed(e.Name.Length);
            if (recLen > left)
            {
                // The last record takes what is left of its block.
                if (left > 0)
                {
                    Ext2DirEntry.SetRecLen(cur, last, Ext2DirEntry.RecLen(cur, last) + left);
                }
                cur = new byte[blockSize];
                blocks.Add(cur);
                offset = 0;
                left = LeafRoom;
            }
            if (offset == 0)
            {
                firstHashes.Add(e.Hash == prevHash ? e.Hash | 1 : e.Hash);
            }
            Ext2DirEntry.Write(cur, offset, e.Ino, recLen, e.Name, e.FileType, filetype);
            last = offset;
            offset += recLen;
            left -= recLen;
            if (left < slack)
            {
                Ext2DirEntry.SetRecLen(cur, last, recLen + left);
                offset += left;
                left = 0;
            }
            prevHash = e.Hash;
        }
        if (left > 0)
        {
            if (last >= 0)
            {
                Ext2DirEntry.SetRecLen(cur, last, Ext2DirEntry.RecLen(cur, last) + left);
            }
            else
            {
                Ext2DirEntry.SetRecLen(cur, 0, LeafRoom);
            }
        }
        if (metadataCsum)
        {
            foreach (byte[] b in blocks)
            {
                Ext2DirEntry.WriteTail(b, inodeSeed);
            }
        }
        return blocks;
    }

    /// <summary>An index block being filled: its entries' offset, limit and count.</summary>
    private sealed class DxBuild(byte[] block, int entriesOff, int limit)
    {
        public int Limit { get; } = limit;
        public int Count { get; private set; }

        /// <summary>Append an entry; the first one's hash slot holds limit and count instead.</summary>
        public void Add(uint hash, uint child)
        {
            int at = entriesOff + (Count * Ext2DxNode.EntrySize);
            if (Count > 0)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(at), hash);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(at + 4), child);
            Count++;
        }

        /// <summary>Write limit and count, and under metadata_csum the dx_tail.</summary>
        public void Finish(bool csum, uint seed)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(entriesOff), (ushort)Limit);
            BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(entriesOff + 2), (ushort)Count);
            if (csum)
            {
                int tail = entriesOff + (Limit * Ext2DxNode.EntrySize);
                block.AsSpan(tail, Ext2DxNode.TailSize).Clear();
                BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(tail + 4),
                    Ext2DxNode.Checksum(block, entriesOff, Count, Limit, seed));
            }
        }
    }
}
