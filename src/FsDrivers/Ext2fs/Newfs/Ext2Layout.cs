namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>
/// Where each group's block bitmap, inode bitmap and inode table go. Without flex_bg each
/// group holds its own, right after its superblock copy; with flex_bg those of 16 groups
/// are packed at the start of the flex group's first group (all block bitmaps, then all
/// inode bitmaps, then the inode tables), as mke2fs places them, spilling over into the
/// next groups around their superblock copies when they do not fit.
/// </summary>
internal sealed class Ext2Layout
{
    private Ext2Layout(Ext2Geometry g)
    {
        Geometry = g;
        Map = new Ext2BlockMap(g);
        BlockBitmap = new uint[g.Groups];
        InodeBitmap = new uint[g.Groups];
        InodeTable = new uint[g.Groups];
    }

    public Ext2Geometry Geometry { get; }
    public Ext2BlockMap Map { get; }
    public uint[] BlockBitmap { get; }
    public uint[] InodeBitmap { get; }
    public uint[] InodeTable { get; }

    /// <summary>The first block after group 0's metadata: where file data starts.</summary>
    public uint DataGoal { get; private set; }

    public static Ext2Layout? Place(Ext2Geometry g, out string? error)
    {
        error = null;
        var l = new Ext2Layout(g);
        uint span = g.Features.FlexBg ? Ext2Geometry.FlexSize : 1;
        for (uint leader = 0; leader < g.Groups; leader += span)
        {
            uint n = Math.Min(span, g.Groups - leader);
            uint goal = g.GroupStart(leader);
            if (!l.PlaceRun(l.BlockBitmap, leader, n, 1, ref goal) || !l.PlaceRun(l.InodeBitmap, leader, n, 1, ref goal)
                || !l.PlaceRun(l.InodeTable, leader, n, g.InodeTableBlocks, ref goal))
            {
                error = $"the volume is too small for the bitmaps and inode tables of {g.Groups} groups " +
                    $"({g.InodesPerGroup} inodes each); give fewer inodes or a larger size";
                return null;
            }
            if (leader == 0)
            {
                l.DataGoal = goal;
            }
        }
        return l;
    }

    private bool PlaceRun(uint[] where, uint first, uint n, uint blocks, ref uint goal)
    {
        for (uint i = 0; i < n; i++)
        {
            uint? at = Map.AllocRun(goal, blocks);
            // Without flex_bg a group's metadata must lie inside the group itself.
            bool outside = !Geometry.Features.FlexBg && at is not null
                && at.Value + blocks > Geometry.GroupStart(first) + Geometry.GroupBlocks(first);
            if (at is null || outside)
            {
                return false;
            }
            where[first + i] = at.Value;
            goal = at.Value + blocks;
        }
        return true;
    }
}
