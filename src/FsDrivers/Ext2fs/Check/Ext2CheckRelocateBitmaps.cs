namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Bitmaps the descriptor table places out of their group, outside the file system or on
/// other metadata (Ext2CheckVolume.CheckPlacement let the check go on without them): each is
/// an error in pass 0, and the repair gives it a new block after pass 4, when every block in
/// use is known, as e2fsck's new_table_block does: the first free block of its own group, else
/// (with flex_bg, or a full group) the first free block of the file system. Pass 5 then writes
/// the whole bitmap there.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private void ReportMisplacedBitmaps()
    {
        foreach ((uint g, string why) in _v.MisplacedBlockBitmaps.OrderBy(p => p.Key))
        {
            Error(Pass0, $"group {g}", $"the block bitmap {why}; relocated");
            _groupDirty[g] = true;
        }
        foreach ((uint g, string why) in _v.MisplacedInodeBitmaps.OrderBy(p => p.Key))
        {
            Error(Pass0, $"group {g}", $"the inode bitmap {why}; relocated");
            _groupDirty[g] = true;
        }
    }

    private void RelocateBitmaps()
    {
        if (!_repair)
        {
            return;
        }
        foreach (uint g in _v.MisplacedBlockBitmaps.Keys.Order())
        {
            if (NewBitmapBlock(g, "block") is ulong blk)
            {
                _v.Groups[g].BlockBitmap = blk;
            }
        }
        foreach (uint g in _v.MisplacedInodeBitmaps.Keys.Order())
        {
            if (NewBitmapBlock(g, "inode") is ulong blk)
            {
                _v.Groups[g].InodeBitmap = blk;
            }
        }
    }

    private ulong? NewBitmapBlock(uint g, string kind)
    {
        ulong first = _v.GroupFirstBlock(g);
        ulong end = first + _v.BlocksInGroup(g);
        ulong blk = 0;
        for (ulong b = first; b < end && blk == 0; b++)
        {
            if (!_used[(int)b])
            {
                blk = b;
            }
        }
        if (blk != 0)
        {
            _used[(int)blk] = true;
            _allocated.Add(blk);
        }
        else
        {
            blk = AllocBlocks(1);
        }
        if (blk == 0)
        {
            _report.OperationalError ??= $"no free block left for group {g}'s {kind} bitmap";
            return null;
        }
        _meta[(int)blk] = true;
        Note(Pass0, $"group {g}", $"the {kind} bitmap is now in block {blk}");
        return blk;
    }
}
