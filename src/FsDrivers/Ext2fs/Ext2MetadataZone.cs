using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// The blocks that hold the file system's own structures: each group's superblock copy,
/// descriptors and reserved descriptor blocks, its two bitmaps and its inode table (with
/// flex_bg, those of many groups sit in one). Linux keeps the same set (its "system zone")
/// to refuse block numbers that point into it; the allocator here uses it to never hand one
/// out when a damaged bitmap shows it free. Ranges are sorted, ends exclusive.
/// </summary>
internal sealed class Ext2MetadataZone
{
    private readonly List<(ulong Start, ulong End)> _ranges;

    private Ext2MetadataZone(List<(ulong Start, ulong End)> ranges) => _ranges = ranges;

    public static Ext2MetadataZone Build(Ext2Mount fs)
    {
        var ranges = new List<(ulong Start, ulong End)>();
        ulong tableBlocks = fs.InodeTableBlocks;
        for (uint g = 0; g < fs.GroupCount; g++)
        {
            ulong first = fs.GroupFirstBlock(g);
            uint fixedBlocks = fs.SuperAndGdtBlocks(g);
            if (fixedBlocks > 0)
            {
                ranges.Add((first, first + fixedBlocks));
            }
            Ext2GroupDescriptor gd = fs.Groups[g];
            ranges.Add((gd.BlockBitmap, gd.BlockBitmap + 1));
            ranges.Add((gd.InodeBitmap, gd.InodeBitmap + 1));
            ranges.Add((gd.InodeTable, gd.InodeTable + tableBlocks));
        }
        ranges.Sort();
        // Merged, so that they are disjoint and a search needs look back only one range
        // (with flex_bg one group's inode tables run on into the next group).
        var merged = new List<(ulong Start, ulong End)>(ranges.Count);
        foreach ((ulong s, ulong e) in ranges)
        {
            if (merged.Count > 0 && s <= merged[^1].End)
            {
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, e));
            }
            else
            {
                merged.Add((s, e));
            }
        }
        return new Ext2MetadataZone(merged);
    }

    /// <summary>The parts of the zone that lie in [<paramref name="start"/>, <paramref name="end"/>).</summary>
    public IEnumerable<(ulong Start, ulong End)> Within(ulong start, ulong end)
    {
        int lo = 0, hi = _ranges.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (_ranges[mid].Start < start)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        for (int i = Math.Max(0, lo - 1); i < _ranges.Count && _ranges[i].Start < end; i++)
        {
            (ulong s, ulong e) = _ranges[i];
            if (e > start)
            {
                yield return (Math.Max(s, start), Math.Min(e, end));
            }
        }
    }
}
