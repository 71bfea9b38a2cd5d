using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// The blocks that hold the file system's own structures: each group's superblock copy,
/// descriptors and reserved descriptor blocks, its two bitmaps and its inode table (with
/// flex_bg, those of many groups sit in one), and the blocks of an internal journal. Linux
/// keeps the same set (its "system zone") to refuse block numbers that point into it; the
/// allocator here uses it to never hand one out when a damaged bitmap shows it free, and
/// adds the orphan file's blocks, which a read-write mount writes into. Ranges are sorted,
/// ends exclusive.
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
        AddSpecialFiles(fs, ranges);
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

    /// <summary>
    /// The internal journal's blocks (its data, as Linux protects them, and its map): a
    /// journal block handed to a file would be overwritten by the next kernel that writes
    /// the journal, and replaying it would write journal contents over the file. The orphan
    /// file's blocks likewise: a read-write mount writes into them. The walk stops at the
    /// first hole or unreadable map (a damaged file, which the checker reports), and a
    /// damaged size is bounded by the block count; what was found up to there is kept.
    /// </summary>
    private static void AddSpecialFiles(Ext2Mount fs, List<(ulong Start, ulong End)> ranges)
    {
        if ((fs.Sb.FeatureCompat & Ext2Features.CompatHasJournal) != 0 && fs.Sb.JournalInum != 0)
        {
            AddFile(fs, fs.Sb.JournalInum, ranges);
        }
        if ((fs.Sb.FeatureCompat & Ext2Features.CompatOrphanFile) != 0 && fs.Sb.OrphanFileInum != 0)
        {
            AddFile(fs, fs.Sb.OrphanFileInum, ranges);
        }
    }

    private static void AddFile(Ext2Mount fs, uint ino, List<(ulong Start, ulong End)> ranges)
    {
        if (Ext2Node.Load(fs, ino, out Ext2Node? file) != Errno.OK)
        {
            return;
        }
        ulong blocks = Math.Min((ulong)Math.Max(0, file!.Din.Size) / (ulong)fs.BlockSize, fs.Sb.BlocksCount);
        ulong lblk = 0;
        while (lblk < blocks)
        {
            int max = (int)Math.Min(blocks - lblk, int.MaxValue);
            if (file.Bmap(lblk, max, out ulong pblk, out int run, out _) != Errno.OK || pblk == 0 || run <= 0)
            {
                return;
            }
            ranges.Add((pblk, pblk + (ulong)run));
            lblk += (ulong)run;
        }
        var mapBlocks = new HashSet<ulong>();
        file.MapBlocks(blocks, mapBlocks);
        foreach (ulong b in mapBlocks)
        {
            ranges.Add((b, b + 1));
        }
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
