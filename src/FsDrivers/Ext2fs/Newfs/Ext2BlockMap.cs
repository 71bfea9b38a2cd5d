namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>
/// The block bitmaps of a file system being made, held in memory until they are written.
/// A group is given its own bitmap only once something in it is allocated; an untouched
/// group's bitmap is known from the geometry (its superblock copy and descriptors), so a
/// large volume costs memory only for the groups that hold metadata or data.
/// </summary>
internal sealed class Ext2BlockMap(Ext2Geometry g) : IExt2BlockSource
{
    private readonly Dictionary<uint, byte[]> _touched = [];

    /// <summary>The bitmap of a group as it will be written (padding bits past a short last group set).</summary>
    public byte[] Bitmap(uint grp)
    {
        if (_touched.TryGetValue(grp, out byte[]? b))
        {
            return b;
        }
        b = new byte[g.BlockSize];
        SetBits(b, 0, g.SuperAndGdt(grp));
        // Bits past the end of a short last group are set, so they are never allocated.
        SetBits(b, g.GroupBlocks(grp), (uint)(8 * g.BlockSize) - g.GroupBlocks(grp));
        return b;
    }

    public bool IsUsed(uint blk)
    {
        uint grp = (blk - g.FirstDataBlock) / g.BlocksPerGroup;
        uint bit = blk - g.GroupStart(grp);
        return _touched.TryGetValue(grp, out byte[]? b)
            ? (b[bit >> 3] & (1 << (int)(bit & 7))) != 0
            : bit < g.SuperAndGdt(grp);
    }

    public void MarkUsed(uint blk, uint count) => MarkRange(blk, count, used: true);

    public void Release(uint start, uint count) => MarkRange(start, count, used: false);

    private void MarkRange(uint start, uint count, bool used)
    {
        for (uint i = 0; i < count; i++)
        {
            uint b = start + i;
            uint grp = (b - g.FirstDataBlock) / g.BlocksPerGroup;
            if (!_touched.TryGetValue(grp, out byte[]? map))
            {
                map = Bitmap(grp);
                _touched[grp] = map;
            }
            uint bit = b - g.GroupStart(grp);
            byte mask = (byte)(1 << (int)(bit & 7));
            map[bit >> 3] = used ? (byte)(map[bit >> 3] | mask) : (byte)(map[bit >> 3] & ~mask);
        }
    }

    /// <summary>Blocks of the group in use (its padding not counted).</summary>
    public uint Used(uint grp)
    {
        if (!_touched.TryGetValue(grp, out byte[]? b))
        {
            return g.SuperAndGdt(grp);
        }
        uint n = 0;
        uint blocks = g.GroupBlocks(grp);
        for (uint i = 0; i < blocks; i++)
        {
            n += (uint)(b[i >> 3] >> (int)(i & 7)) & 1;
        }
        return n;
    }

    /// <summary>The first run of <paramref name="count"/> free blocks at or after <paramref name="goal"/>, marked used; null when there is none.</summary>
    public uint? AllocRun(uint goal, uint count)
    {
        uint start = Math.Max(goal, g.FirstDataBlock);
        uint run = 0;
        for (uint b = start; b < g.BlocksCount; b++)
        {
            if (IsUsed(b))
            {
                run = 0;
                continue;
            }
            if (++run == count)
            {
                uint first = b + 1 - count;
                MarkUsed(first, count);
                return first;
            }
        }
        return null;
    }

    /// <summary>
    /// <paramref name="count"/> free blocks from <paramref name="goal"/> on, as runs of at most
    /// <paramref name="maxRun"/> blocks, marked used; null when the volume has too few.
    /// </summary>
    public List<(uint Start, uint Length)>? AllocRuns(uint goal, uint count, uint maxRun)
    {
        List<(uint Start, uint Length)>? runs = Ext2FreeRuns.Gather(FreeFrom(goal), count, maxRun);
        foreach ((uint s, uint n) in runs ?? [])
        {
            MarkUsed(s, n);
        }
        return runs;
    }

    private IEnumerable<uint> FreeFrom(uint goal)
    {
        for (uint b = Math.Max(goal, g.FirstDataBlock); b < g.BlocksCount; b++)
        {
            if (!IsUsed(b))
            {
                yield return b;
            }
        }
    }

    public static void SetBits(byte[] bitmap, uint first, uint count)
    {
        for (uint i = first; i < first + count; i++)
        {
            bitmap[i >> 3] |= (byte)(1 << (int)(i & 7));
        }
    }
}
