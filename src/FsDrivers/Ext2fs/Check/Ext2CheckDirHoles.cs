using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// A directory whose blocks leave a hole below its last one: the kernel's readdir and lookups
/// stop there, hiding the names past it. e2fsck's repairs: the extents of an extent-mapped
/// directory move down over the hole (its "block N should be at block M" collapse, pass 1);
/// a block-mapped directory gets a new empty block in the hole (pass 2's "unallocated block,
/// allocate"). Here both are done before pass 2 reads the directory, for any extent tree and
/// for holes the direct and single indirect pointers can map; others stay reported, unrepaired.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>The first logical block missing below the directory's last one; null when there is none.</summary>
    private static uint? FirstHole(List<(uint Logical, ulong Physical)> blocks)
    {
        for (int i = 0; i < blocks.Count; i++)
        {
            if (blocks[i].Logical != i)
            {
                return (uint)i;
            }
        }
        return null;
    }

    /// <summary>How the hole is closed for <paramref name="din"/>'s kind of map; null when this checker cannot.</summary>
    private string? HoleRepair(Ext2Dinode din, List<(uint Logical, ulong Physical)> blocks)
    {
        if ((din.Flags & Ext2Dinode.FlagExtents) != 0)
        {
            Ext4Extent.Header h = Ext4Extent.ReadHeader(din.BlockBytes);
            return h.Magic == Ext4Extent.Magic ? "the later blocks are moved down over it" : null;
        }
        const int direct = 12;
        return blocks[^1].Logical < direct + (_v.BlockSize / 4) ? "an empty block is put in it" : null;
    }

    /// <summary>Close every hole of <paramref name="dir"/> as <see cref="HoleRepair"/> says; the inode is written.</summary>
    private void CloseDirectoryHoles(uint dir, Ext2Dinode din, List<(uint Logical, ulong Physical)> blocks)
    {
        if ((din.Flags & Ext2Dinode.FlagExtents) != 0)
        {
            CollapseExtents(dir, din, blocks);
        }
        else
        {
            FillBlockMapHoles(dir, din, blocks);
        }
        // Up to the last block: a hole a block map could not fill (no block free) stays
        // inside the directory, reported again by the next check, rather than cut off.
        din.Size = (long)(blocks[^1].Logical + 1) * _v.BlockSize;
        _v.WriteInode(dir, din);
    }

    /// <summary>
    /// Each extent starts where the one before it ends, in tree order; index entries take
    /// their child's new first block, extent blocks get their checksum again, and the block
    /// list follows. Pass 1 has checked the tree.
    /// </summary>
    private void CollapseExtents(uint dir, Ext2Dinode din, List<(uint Logical, ulong Physical)> blocks)
    {
        var moved = new Dictionary<uint, uint>();
        uint next = 0;
        CollapseNode(dir, din, din.BlockBytes, moved, ref next);
        for (int i = 0; i < blocks.Count; i++)
        {
            if (moved.TryGetValue(blocks[i].Logical, out uint to))
            {
                blocks[i] = (to, blocks[i].Physical);
            }
        }
        blocks.Sort();
    }

    /// <summary>Collapse one node's extents (or its children's); false when a child cannot be read.</summary>
    private bool CollapseNode(uint dir, Ext2Dinode din, Span<byte> node, Dictionary<uint, uint> moved, ref uint next)
    {
        Ext4Extent.Header h = Ext4Extent.ReadHeader(node);
        for (int i = 0; i < h.Entries; i++)
        {
            if (h.Depth == 0)
            {
                ExtentRun run = Ext4Extent.ReadLeaf(Ext4Extent.Entry(node, i));
                for (uint k = 0; k < (uint)run.Length; k++)
                {
                    moved[run.Logical + k] = next + k;
                }
                Ext4Extent.WriteLeaf(Ext4Extent.Entry(node, i), run with { Logical = next });
                next += (uint)run.Length;
                continue;
            }
            ulong child = Ext4Extent.ReadIndex(Ext4Extent.Entry(node, i)).Child;
            if (_v.Read(child, out byte[] childNode) != Errno.OK)
            {
                return false;
            }
            uint first = next;
            if (!CollapseNode(dir, din, childNode, moved, ref next))
            {
                return false;
            }
            Ext4Extent.WriteIndex(Ext4Extent.Entry(node, i), first, child);
            WriteExtentBlock(dir, din, child, childNode);
        }
        return true;
    }

    /// <summary>A new empty leaf block mapped at each missing logical block below the last.</summary>
    private void FillBlockMapHoles(uint dir, Ext2Dinode din, List<(uint Logical, ulong Physical)> blocks)
    {
        var have = blocks.Select(b => b.Logical).ToHashSet();
        uint last = blocks[^1].Logical;
        for (uint l = 0; l < last; l++)
        {
            if (have.Contains(l))
            {
                continue;
            }
            ulong blk = AllocBlocks(1);
            if (blk == 0 || !MapInBlockMap(din, l, blk))
            {
                return;
            }
            _v.Write(blk, EmptyLeaf(dir, din));
            CountOneBlock(din);
            blocks.Add((l, blk));
        }
        blocks.Sort();
    }
}
