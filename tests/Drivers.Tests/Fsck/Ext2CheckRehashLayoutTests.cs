using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.Check;
using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// The rebuilt directory's layout on its own, for shapes too large to build as images: an
/// index of two levels of interior nodes (large_dir), and runs of equal hashes that span
/// leaves. Every index block is read back as e2fsck's pass 2 reads it: limit and count,
/// hashes in order, each leaf named once and in order, each leaf's names within its range,
/// the continuation bit where a hash runs on from the previous leaf, the checksums.
/// </summary>
public sealed class Ext2CheckRehashLayoutTests
{
    private const uint Dir = 12;
    private const uint Parent = 2;
    private const uint Seed = 0x1234_5678;

    /// <summary><paramref name="count"/> names of <paramref name="length"/> bytes, hashes ascending, <paramref name="run"/> names per hash.</summary>
    private static List<RehashEntry> Entries(int count, int length, int run) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            byte[] name = new byte[length];
            name.AsSpan().Fill((byte)'a');
            BinaryPrimitives.WriteInt32BigEndian(name, i);
            for (int k = 0; k < 4; k++)
            {
                name[k] = (byte)('a' + (name[k] % 26));
            }
            return new RehashEntry(name, (uint)(100 + i), 1, (uint)(i / run) * 0x1000u);
        })];

    /// <summary>A leaf as its index entry names it: the hash range, and the hash as stored (with the continuation bit).</summary>
    private sealed record Leaf(int Block, uint Low, uint High, uint Stored);

    /// <summary>Walk an index block as e2fsck's pass 2 does; the leaves it names, in order.</summary>
    private static void Walk(List<byte[]> blocks, int blockNo, int entriesOff, int level, uint low, uint high, uint stored,
        bool csum, List<Leaf> leaves)
    {
        byte[] b = blocks[blockNo];
        int limit = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(entriesOff));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(entriesOff + 2));
        Assert.Equal((b.Length - entriesOff - (csum ? 8 : 0)) / 8, limit);
        Assert.InRange(count, 1, limit);
        if (csum)
        {
            Assert.Equal(Ext2DxNode.Checksum(b, entriesOff, count, limit, Seed), Ext2DxNode.StoredChecksum(b, entriesOff, limit));
        }
        uint prev = low;
        for (int i = 0; i < count; i++)
        {
            uint lo = i == 0 ? low : Ext2DxNode.Hash(b, entriesOff, i) & ~1u;
            uint hi = i + 1 < count ? Ext2DxNode.Hash(b, entriesOff, i + 1) & ~1u : high;
            uint raw = i == 0 ? stored : Ext2DxNode.Hash(b, entriesOff, i);
            Assert.True(lo >= prev, $"block {blockNo} entry {i}: hash 0x{lo:x8} below 0x{prev:x8}");
            prev = lo;
            int child = (int)Ext2DxNode.Block(b, entriesOff, i);
            if (level == 0)
            {
                leaves.Add(new Leaf(child, lo, hi, raw));
                continue;
            }
            Assert.Equal(0u, Ext2DirEntry.Inode(blocks[child], 0));
            Assert.Equal(b.Length, Ext2DirEntry.RecLen(blocks[child], 0));
            Walk(blocks, child, Ext2DxNode.NodeEntries, level - 1, lo, hi, raw, csum, leaves);
        }
    }

    [Theory]
    [InlineData(false, 2)]
    [InlineData(true, 2)]
    [InlineData(false, 9)]
    [InlineData(true, 9)]
    public void Indexed_TwoLevelsOfNodes_EveryLeafNamedOnceInOrderWithItsHashes(bool csum, int run)
    {
        var layout = new Ext2RehashLayout(1024, csum, filetype: true, Seed);
        // Four 200-byte names a leaf; more leaves than the root and one level of nodes hold.
        int leavesWanted = (layout.RootLimit * layout.NodeLimit) + 300;
        List<RehashEntry> entries = Entries(leavesWanted * 4, 200, run);

        Assert.Null(layout.Indexed(Dir, Parent, 1, entries, maxIndirect: 1));
        RehashImage image = layout.Indexed(Dir, Parent, 1, entries, maxIndirect: 2)!;

        Assert.Equal(2, image.IndirectLevels);
        Assert.Equal(leavesWanted, image.Leaves);
        byte[] root = image.Blocks[0];
        Assert.Equal(Dir, Ext2DirEntry.Inode(root, 0));
        Assert.Equal(Parent, Ext2DirEntry.Inode(root, 12));
        Assert.Equal(1024 - 12, Ext2DirEntry.RecLen(root, 12));
        Assert.Equal(2, root[Ext2DxNode.RootOff.IndirectLevels]);
        Assert.Equal(8, root[Ext2DxNode.RootOff.InfoLength]);
        var leaves = new List<Leaf>();
        Walk(image.Blocks, 0, Ext2DxNode.RootOff.Entries, 2, 0, 0xFFFFFFFF, 0, csum, leaves);
        Assert.Equal(Enumerable.Range(1, image.Leaves), leaves.Select(l => l.Block));
        int bottom = (image.Leaves + layout.NodeLimit - 1) / layout.NodeLimit;
        int middle = (bottom + layout.NodeLimit - 1) / layout.NodeLimit;
        Assert.Equal(1 + image.Leaves + bottom + middle, image.Blocks.Count);

        int seen = 0;
        uint lastHash = 0;
        foreach (Leaf leaf in leaves)
        {
            byte[] b = image.Blocks[leaf.Block];
            int end = csum ? 1024 - Ext2DirEntry.TailSize : 1024;
            if (csum)
            {
                Assert.True(Ext2DirEntry.HasTail(b));
                Assert.Equal(Ext2DirEntry.TailChecksum(b, Seed), Ext2DirEntry.StoredTailChecksum(b));
            }
            bool first = true;
            for (int off = 0; off < end; off += Ext2DirEntry.RecLen(b, off))
            {
                RehashEntry e = entries[seen++];
                Assert.Equal(e.Ino, Ext2DirEntry.Inode(b, off));
                Assert.Equal(e.Name, Ext2DirEntry.Name(b, off, Ext2DirEntry.NameLen(b, off, true)).ToArray());
                Assert.InRange(e.Hash, leaf.Low, leaf.High);
                if (first && leaf.Block > 1)
                {
                    // The index hash of a leaf that continues its predecessor's last hash has the low bit set.
                    Assert.Equal(e.Hash | (e.Hash == lastHash ? 1u : 0u), leaf.Stored);
                }
                first = false;
                lastHash = e.Hash;
            }
        }
        Assert.Equal(entries.Count, seen);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Indexed_RunOfOneHashAcrossLeaves_LaterLeavesCarryTheContinuationBit(bool csum)
    {
        var layout = new Ext2RehashLayout(1024, csum, filetype: true, Seed);
        // 40 names of one hash fill ten leaves; then one name of a higher hash.
        List<RehashEntry> entries = [.. Entries(40, 200, 40), Entries(41, 200, 1)[40] with { Hash = 0x9000 }];

        RehashImage image = layout.Indexed(Dir, Parent, 1, entries, maxIndirect: 1)!;

        Assert.Equal(0, image.IndirectLevels);
        byte[] root = image.Blocks[0];
        int count = BinaryPrimitives.ReadUInt16LittleEndian(root.AsSpan(Ext2DxNode.RootOff.Entries + 2));
        Assert.Equal(image.Leaves, count);
        Assert.Equal(11, count);
        for (int i = 1; i < 10; i++)
        {
            Assert.Equal(1u, Ext2DxNode.Hash(root, Ext2DxNode.RootOff.Entries, i));
        }
        Assert.Equal(0x9000u, Ext2DxNode.Hash(root, Ext2DxNode.RootOff.Entries, 10));
    }

    [Fact]
    public void Linear_DotsFirstThenPackedTight_LastRecordTakesTheRest()
    {
        var layout = new Ext2RehashLayout(1024, metadataCsum: true, filetype: true, Seed);
        List<RehashEntry> entries =
        [
            new("."u8.ToArray(), Dir, 2, 0), new(".."u8.ToArray(), Parent, 2, 0), .. Entries(10, 60, 1),
        ];

        RehashImage image = layout.Linear(entries);

        Assert.Single(image.Blocks);
        byte[] b = image.Blocks[0];
        Assert.Equal(12, Ext2DirEntry.RecLen(b, 0));
        Assert.Equal(12, Ext2DirEntry.RecLen(b, 12));
        int off = 24;
        for (int i = 0; i < 9; i++, off += 68)
        {
            Assert.Equal(68, Ext2DirEntry.RecLen(b, off));
        }
        Assert.Equal(1024 - Ext2DirEntry.TailSize - off, Ext2DirEntry.RecLen(b, off));
        Assert.True(Ext2DirEntry.HasTail(b));
    }
}
