namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// The storage a small file's size says its direct blocks hold, against what di_blocks
/// records. A size raised past the fragments a file owns would make its last block read as
/// a whole block, handing out the bytes of the files whose fragments follow; fsck_ffs finds
/// that as fragments claimed twice, and the driver, which has no maps at hand, finds it here
/// when the inode is loaded: a file with no indirect block must own at least the fragments
/// its direct pointers cover at its size (and its attribute area's).
/// </summary>
internal static class FfsDirectStorage
{
    /// <summary>
    /// Sectors (512 bytes, di_blocks's unit) the mapped direct blocks and the attribute area
    /// need at the inode's size, or -1 when the inode has an indirect block or keeps no
    /// blocks (device nodes and fast symbolic links keep other things in the pointers).
    /// </summary>
    public static long NeededSectors(FfsSuperblock sb, FfsDinode din)
    {
        bool hasBlocks = din.Type is 0x8000 or 0x4000 || (din.Type == 0xA000 && din.FastLink is null);
        if (!hasBlocks || din.Ib.Any(p => p != 0))
        {
            return -1;
        }
        long frags = 0;
        for (int lbn = 0; lbn < FfsSuperblock.NDAddr && (long)lbn << sb.Bshift < din.Size; lbn++)
        {
            if (din.Db[lbn] != 0)
            {
                frags += sb.NumFrags(sb.SblkSize(din.Size, lbn));
            }
        }
        for (int lbn = 0; lbn < FfsSuperblock.NXAddr && (long)lbn << sb.Bshift < din.ExtSize; lbn++)
        {
            if (din.ExtB[lbn] != 0)
            {
                frags += sb.NumFrags(sb.SblkSize(din.ExtSize, lbn));
            }
        }
        return sb.FragToBytes(frags) / 512;
    }
}
