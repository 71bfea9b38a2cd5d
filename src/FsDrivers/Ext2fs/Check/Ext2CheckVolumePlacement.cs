using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// e2fsck's ext2fs_check_desc: no two of the superblock and descriptor copies, bitmaps and
/// inode tables may share a block, and without flex_bg each group keeps its own inside
/// itself. Copies and inode tables out of place make the table unusable (a backup table is
/// tried), since a check that trusted it would read inodes out of the descriptor blocks. A
/// bitmap out of place can be given up instead: it holds nothing that pass 5 does not
/// rebuild from what the passes find in use, so, as e2fsck's "Block bitmap for group N is
/// not in group. Relocate?", the check goes on and the repair gives it a new block.
/// </summary>
internal sealed partial class Ext2CheckVolume
{
    /// <summary>Groups whose block bitmap is out of place, with the reason; to be relocated.</summary>
    public Dictionary<uint, string> MisplacedBlockBitmaps { get; } = [];

    /// <summary>Groups whose inode bitmap is out of place, with the reason; to be relocated.</summary>
    public Dictionary<uint, string> MisplacedInodeBitmaps { get; } = [];

    /// <summary>Null when the table's placement is usable; with <paramref name="relocateBitmaps"/>, bitmaps out of place are recorded instead of refused.</summary>
    private string? CheckPlacement(bool relocateBitmaps)
    {
        MisplacedBlockBitmaps.Clear();
        MisplacedInodeBitmaps.Clear();
        bool flex = (Sb.FeatureIncompat & Ext2Features.IncompatFlexBg) != 0;
        var fixedSpans = new List<(ulong Start, ulong End, string What)>();
        for (uint g = 0; g < GroupCount; g++)
        {
            ulong first = GroupFirstBlock(g);
            uint sbBlocks = SuperAndGdtBlocks(g);
            if (sbBlocks > 0)
            {
                fixedSpans.Add((first, first + sbBlocks, $"group {g}'s superblock and descriptor copies"));
            }
            ulong table = Groups[g].InodeTable;
            if (!flex && (table < first || table + InodeTableBlocks > first + BlocksInGroup(g)))
            {
                return $"group {g}'s inode table (block {table}) lies outside the group without flex_bg";
            }
            fixedSpans.Add((table, table + InodeTableBlocks, $"group {g}'s inode table"));
        }
        fixedSpans.Sort((a, b) => a.Start.CompareTo(b.Start));
        for (int i = 1; i < fixedSpans.Count; i++)
        {
            if (fixedSpans[i].Start < fixedSpans[i - 1].End)
            {
                return $"{fixedSpans[i].What} (block {fixedSpans[i].Start}) overlaps {fixedSpans[i - 1].What}";
            }
        }
        var bitmaps = new Dictionary<ulong, string>();
        for (uint g = 0; g < GroupCount; g++)
        {
            foreach (bool inode in new[] { false, true })
            {
                ulong blk = inode ? Groups[g].InodeBitmap : Groups[g].BlockBitmap;
                string what = $"group {g}'s {(inode ? "inode" : "block")} bitmap";
                string? why = BitmapPlacementProblem(g, blk, flex, fixedSpans, bitmaps);
                if (why is null)
                {
                    bitmaps[blk] = what;
                    continue;
                }
                if (!relocateBitmaps)
                {
                    return $"{what} (block {blk}) {why}";
                }
                (inode ? MisplacedInodeBitmaps : MisplacedBlockBitmaps)[g] = $"(block {blk}) {why}";
            }
        }
        return null;
    }

    /// <summary>Why a bitmap cannot stay at <paramref name="blk"/>; null when it can.</summary>
    private string? BitmapPlacementProblem(uint g, ulong blk, bool flex, List<(ulong Start, ulong End, string What)> sortedSpans,
        Dictionary<ulong, string> bitmaps)
    {
        if (!InFs(blk))
        {
            return "lies outside the file system";
        }
        ulong first = GroupFirstBlock(g);
        if (!flex && (blk < first || blk >= first + BlocksInGroup(g)))
        {
            return "lies outside the group without flex_bg";
        }
        if (bitmaps.TryGetValue(blk, out string? other))
        {
            return $"overlaps {other}";
        }
        // The last span starting at or before blk is the only one that can hold it (spans do not overlap).
        int lo = 0;
        int hi = sortedSpans.Count - 1;
        int found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            if (sortedSpans[mid].Start <= blk)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found >= 0 && blk < sortedSpans[found].End ? $"overlaps {sortedSpans[found].What}" : null;
    }
}
