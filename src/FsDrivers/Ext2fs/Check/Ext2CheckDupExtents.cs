using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>Extents a block map makes as its blocks are appended in logical order (adjacent blocks merge).</summary>
internal sealed class RunCounter
{
    private long _nextLogical = -1;
    private ulong _nextPhysical;
    private bool _uninit;

    public List<ExtentRun> Runs { get; } = [];
    public int Count => Runs.Count;

    public void Add(long logical, ulong physical, bool uninit)
    {
        int max = uninit ? Ext4Extent.MaxUninitLen : Ext4Extent.MaxInitLen;
        if (Runs.Count > 0 && logical == _nextLogical && physical == _nextPhysical && uninit == _uninit && Runs[^1].Length < max)
        {
            Runs[^1] = Runs[^1] with { Length = Runs[^1].Length + 1 };
        }
        else
        {
            Runs.Add(new ExtentRun((uint)logical, physical, 1, uninit));
            _uninit = uninit;
        }
        _nextLogical = logical + 1;
        _nextPhysical = physical + 1;
    }
}

/// <summary>
/// A cloned file's extent tree laid out again over its new map: the shallowest tree that
/// holds the extents, in the file's own tree blocks (copies where those were shared) and
/// the ones pass 1d took for it; blocks left over are freed and i_blocks follows.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private int ExtentBlockCapacity => Ext4Extent.Capacity(_v.BlockSize - 4);

    /// <summary>Tree blocks (below the root in the inode) the shallowest tree of <paramref name="extents"/> needs.</summary>
    private int ExtentTreeBlocks(int extents) => ExtentLevels(extents).Sum();

    /// <summary>Node count per level, leaves first; empty when the root holds them all.</summary>
    private List<int> ExtentLevels(int extents)
    {
        var levels = new List<int>();
        int n = extents;
        while (n > Ext4Extent.Capacity(Ext2Dinode.BlockArea))
        {
            n = (n + ExtentBlockCapacity - 1) / ExtentBlockCapacity;
            levels.Add(n);
        }
        return levels;
    }

    private void RewriteExtentTree(uint ino, Ext2Dinode din, FileBlocks fb, ulong[] plan, List<ulong> extraNodes)
    {
        var runs = new RunCounter();
        var nodes = new List<ulong>();
        for (int i = 0; i < plan.Length; i++)
        {
            FileBlock b = fb.Sequence[i];
            ulong now = plan[i] != 0 ? plan[i] : b.Physical;
            if (b.Node)
            {
                nodes.Add(now);
            }
            else
            {
                runs.Add(b.Logical, now, b.Uninit);
            }
        }
        nodes.AddRange(extraNodes);
        List<int> levels = ExtentLevels(runs.Count);
        int needed = levels.Sum();
        for (int i = needed; i < nodes.Count; i++)
        {
            // Only this file named it (a shared one was copied): free now.
            _inodeClaims.Remove(nodes[i]);
            FreeCopyBlock(nodes[i]);
        }
        bool fsUnits = _v.HugeFile && (din.Flags & Ext2Dinode.FlagHugeFile) != 0;
        long perBlock = fsUnits ? 1 : _v.BlockSize / 512;
        din.BlocksRaw = (ulong)((long)din.BlocksRaw + ((needed - fb.Nodes) * perBlock));

        uint seed = Ext2Dinode.InodeSeed(_v.CsumSeed, ino, din.Generation);
        var entries = runs.Runs.Select(r => (First: r.Logical, Run: r, Child: 0UL)).ToList();
        int next = 0;
        for (int depth = 0; depth < levels.Count; depth++)
        {
            var upper = new List<(uint First, ExtentRun Run, ulong Child)>();
            // Spread evenly: each of the level's nodes holds its share of the entries.
            for (int j = 0; j < levels[depth]; j++)
            {
                int from = (int)((long)j * entries.Count / levels[depth]);
                int count = (int)((long)(j + 1) * entries.Count / levels[depth]) - from;
                ulong blk = nodes[next++];
                byte[] data = new byte[_v.BlockSize];
                WriteExtentNode(data, entries.GetRange(from, count), ExtentBlockCapacity, depth);
                if (_v.MetadataCsum)
                {
                    Ext4Extent.SetBlockChecksum(data, seed);
                }
                _v.Write(blk, data);
                upper.Add((entries[from].First, default, blk));
            }
            entries = upper;
        }
        Span<byte> root = din.BlockBytes;
        root.Clear();
        WriteExtentNode(root, entries, Ext4Extent.Capacity(Ext2Dinode.BlockArea), levels.Count);
    }

    /// <summary>One node: leaves (depth 0) hold the runs, index nodes the first logical block and child of each entry.</summary>
    private static void WriteExtentNode(Span<byte> node, List<(uint First, ExtentRun Run, ulong Child)> entries, int max, int depth)
    {
        Ext4Extent.WriteHeader(node, (ushort)entries.Count, (ushort)max, (ushort)depth);
        for (int i = 0; i < entries.Count; i++)
        {
            if (depth == 0)
            {
                Ext4Extent.WriteLeaf(Ext4Extent.Entry(node, i), entries[i].Run);
            }
            else
            {
                Ext4Extent.WriteIndex(Ext4Extent.Entry(node, i), entries[i].First, entries[i].Child);
            }
        }
    }
}
