using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>One block an inode names: a data block (with its logical number) or a tree node (indirect or extent block).</summary>
internal readonly record struct FileBlock(ulong Physical, long Logical, bool Node, bool Uninit, int Run, bool LastOfRun);

/// <summary>Every block of one inode in e2fsck's iteration order (block_iterate3): each tree node before what it points at, data in logical order.</summary>
internal sealed class FileBlocks(bool extents)
{
    public bool Extents { get; } = extents;
    public List<FileBlock> Sequence { get; } = [];

    /// <summary>Extent-mapped: the leaf extents and the tree blocks the file has now.</summary>
    public int Runs { get; set; }
    public int Nodes { get; set; }

    /// <summary>Tree blocks met so far: a node named twice (a loop) makes the tree unreadable.</summary>
    public HashSet<ulong> Visited { get; } = [];
}

/// <summary>
/// Pass 1b and 1d read a sharing file's blocks in the order e2fsck meets them, without
/// changing or reporting anything (pass 1 did that): this order decides which free block
/// each copy takes.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>The inode's blocks; null when its extent tree cannot be read whole (then it is not rewritten).</summary>
    private FileBlocks? CollectBlocks(uint ino, Ext2Dinode din)
    {
        if ((din.Flags & Ext2Dinode.FlagExtents) == 0)
        {
            var fb = new FileBlocks(false);
            WalkBlocks(new InodeWalk(ino, din), (_, c) =>
            {
                fb.Sequence.Add(new FileBlock(c.Physical, c.Logical, c.Node, false, 0, true));
                return Keep;
            });
            return fb;
        }
        var tree = new FileBlocks(true);
        return CollectExtentNode(din.BlockBytes, -1, tree) ? tree : null;
    }

    private bool CollectExtentNode(ReadOnlySpan<byte> node, int depth, FileBlocks fb)
    {
        Ext4Extent.Header h = Ext4Extent.ReadHeader(node);
        if (h.Magic != Ext4Extent.Magic || h.Entries > h.Max || h.Max > Ext4Extent.Capacity(node.Length)
            || h.Depth > Ext2ExtentTree.MaxDepth || (depth >= 0 && h.Depth != depth))
        {
            return false;
        }
        for (int i = 0; i < h.Entries; i++)
        {
            if (h.Depth == 0)
            {
                ExtentRun x = Ext4Extent.ReadLeaf(Ext4Extent.Entry(node, i));
                if (x.Length == 0 || !_v.InFs(x.Physical) || x.Physical + (ulong)x.Length > _v.BlocksCount)
                {
                    return false;
                }
                for (int k = 0; k < x.Length; k++)
                {
                    fb.Sequence.Add(new FileBlock(x.Physical + (ulong)k, x.Logical + k, false, x.Uninit, fb.Runs, k == x.Length - 1));
                }
                fb.Runs++;
                continue;
            }
            (_, ulong child) = Ext4Extent.ReadIndex(Ext4Extent.Entry(node, i));
            if (!_v.InFs(child) || !fb.Visited.Add(child) || _v.Read(child, out byte[] data) != Kernel.Errno.OK)
            {
                return false;
            }
            fb.Sequence.Add(new FileBlock(child, -1, true, false, 0, true));
            fb.Nodes++;
            if (!CollectExtentNode(data, h.Depth - 1, fb))
            {
                return false;
            }
        }
        return true;
    }
}
