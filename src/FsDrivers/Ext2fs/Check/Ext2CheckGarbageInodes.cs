using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// e2fsck's "inode seems to contain garbage": an inode-table block in which more than half
/// the inodes scanned fail their checksum or have an impossible extent header or block map
/// is taken as overwritten. Each inode in it that has links is cleared without being read
/// further, so random bytes are not taken for block maps whose claims would spread the
/// damage into other files (libext2fs inode.c check_inode_block_sanity).
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>Of the 15 block pointers, more than this many out of range make a block map insane.</summary>
    private const int InsaneBlockMapPointers = Ext2Dinode.BlockPointers / 2;

    /// <summary>Whether the inodes of one table block (null where one did not read) look like garbage.</summary>
    private bool InodeBlockIsGarbage(ReadOnlySpan<Ext2Dinode?> inodes, ReadOnlySpan<bool> badChecksum)
    {
        int perBlock = _v.BlockSize / _v.InodeSize;
        if (perBlock < 2)
        {
            return false;
        }
        int bad = 0;
        for (int k = 0; k < inodes.Length; k++)
        {
            if (inodes[k] is { } din && (badChecksum[k] || ExtentRootLooksInsane(din) || BlockMapLooksInsane(din)))
            {
                bad++;
            }
        }
        return bad > perBlock / 2;
    }

    /// <summary>A checksum that fails on an inode whose first 128 bytes are not all zero (ext2fs_inode_csum_verify).</summary>
    private bool InodeChecksumFails(uint ino, Ext2Dinode din) =>
        _v.MetadataCsum && !din.ChecksumMatches(_v.CsumSeed, ino) && !AllZero(din.Raw.AsSpan(0, Ext2Dinode.BaseSize));

    private static bool ExtentRootLooksInsane(Ext2Dinode din)
    {
        if ((din.Flags & Ext2Dinode.FlagExtents) == 0)
        {
            return false;
        }
        Ext4Extent.Header h = Ext4Extent.ReadHeader(din.Raw.AsSpan(Ext2Dinode.Off.Block, Ext2Dinode.BlockArea));
        int max = Ext4Extent.Capacity(Ext2Dinode.BlockArea);
        // ext2fs_extent_header_verify: room for two more entries is allowed for a tail.
        return h.Magic != Ext4Extent.Magic || h.Entries > h.Max || h.Max > max || h.Max < max - 2;
    }

    private bool BlockMapLooksInsane(Ext2Dinode din)
    {
        if ((din.Flags & (Ext2Dinode.FlagExtents | Ext2Dinode.FlagInlineData)) != 0 || din.LinksCount == 0)
        {
            return false;
        }
        int type = din.Mode & 0xF000;
        if ((type != 0x8000 && type != 0x4000 && type != 0xA000) || (type == 0xA000 && (ulong)din.Size <= Ext2Dinode.BlockArea))
        {
            return false;
        }
        int outside = 0;
        for (int i = 0; i < Ext2Dinode.BlockPointers; i++)
        {
            uint p = din.BlockPointer(i);
            if (p != 0 && (p < Sb.FirstDataBlock || p >= _v.BlocksCount))
            {
                outside++;
            }
        }
        return outside > InsaneBlockMapPointers;
    }

    /// <summary>
    /// Every inode but the quota (3, 4), resize (7) and journal (8) slots, which have checks of
    /// their own that make them again (e2fsck checks the journal before pass 1, so a garbage
    /// journal inode is gone by then). A cleared root is made again in pass 3.
    /// </summary>
    private bool GarbageRuleApplies(uint ino) => ino >= Sb.FirstIno || ino is not (3 or 4 or ResizeIno or JournalIno);

    /// <summary>Clear an inode of a garbage block, as e2fsck does before any other check of it.</summary>
    private void ClearGarbageInode(uint ino, Ext2Dinode din)
    {
        var w = new InodeWalk(ino, din);
        Error(Pass1, Ino(ino), "inode seems to contain garbage (most of its table block does); cleared");
        ClearInode(w);
        // A reserved inode stays marked in use, cleared or not, as every reserved inode is.
        _inUse[(int)ino] = ino < Sb.FirstIno;
        Finish(w);
    }
}
