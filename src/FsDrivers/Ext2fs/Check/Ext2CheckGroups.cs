using System.Text;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// The superblock and group descriptors before pass 1, and pass 5: block and inode bitmaps
/// against what passes 1 to 4 found in use, the per-group and superblock free counts, the
/// used-directory counts, the unused-inode marks, and the bitmap and descriptor checksums.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private const string Pass0 = "superblock";
    private const string Pass5 = "summary";

    private bool[] _scanWholeGroup = [];
    private bool[] _groupDirty = [];

    private void CheckSuperblock()
    {
        if (_v.MetadataCsum && Sb.ComputeChecksum() != Sb.StoredChecksum)
        {
            Error(Pass0, "superblock", "superblock checksum does not match; recomputed");
            _sbChanged = true;
        }
        if ((Sb.FeatureCompat & Ext2Features.CompatHasJournal) != 0 && Sb.JournalInum == 0 && Sb.JournalDev == 0)
        {
            Error(Pass0, "superblock", "has_journal is set but no journal is named; a new one is made");
            if (_repair)
            {
                DeleteJournal();
            }
        }
        if (Sb.LastOrphan != 0)
        {
            CollectOrphanChain();
            if (!_repair)
            {
                Note(Pass0, "superblock", $"the orphan list starts at inode {Sb.LastOrphan}; a repair releases its inodes");
            }
        }
    }

    private void CheckDescriptors()
    {
        _scanWholeGroup = new bool[_v.GroupCount];
        _groupDirty = new bool[_v.GroupCount];
        for (uint g = 0; g < _v.GroupCount; g++)
        {
            Ext2GroupDescriptor gd = _v.Groups[g];
            string where = $"group {g}";
            CheckUninitFieldsWithoutGroupChecksums(g, gd);
            if (_v.GroupCsum && _v.DescriptorChecksum(g) != gd.Checksum)
            {
                Error(Pass0, where, $"descriptor checksum is 0x{gd.Checksum:x4}, should be 0x{_v.DescriptorChecksum(g):x4}");
                _groupDirty[g] = true;
            }
            if (gd.FreeBlocks > _v.BlocksInGroup(g) || gd.FreeInodes > _v.InodesPerGroup)
            {
                Error(Pass0, where, $"free counts ({gd.FreeBlocks} blocks, {gd.FreeInodes} inodes) exceed the group's size");
                _groupDirty[g] = true;
            }
            if (_v.GroupCsum && (gd.ItableUnused > gd.FreeInodes || gd.ItableUnused > _v.InodesPerGroup))
            {
                Error(Pass0, where, $"unused inodes count {gd.ItableUnused} is invalid");
                _scanWholeGroup[g] = true;
                _groupDirty[g] = true;
            }
        }
    }

    /// <summary>Superblock copies, descriptor tables, bitmaps and inode tables are in use from the start.</summary>
    private void MarkMetadata()
    {
        for (uint g = 0; g < _v.GroupCount; g++)
        {
            ulong first = _v.GroupFirstBlock(g);
            MarkMeta(first, (int)Math.Min(_v.SuperAndGdtBlocks(g), _v.BlocksInGroup(g)), $"group {g} superblock and descriptors");
            Ext2GroupDescriptor gd = _v.Groups[g];
            if (!_v.MisplacedBlockBitmaps.ContainsKey(g))
            {
                MarkMeta(gd.BlockBitmap, 1, $"group {g} block bitmap");
            }
            if (!_v.MisplacedInodeBitmaps.ContainsKey(g))
            {
                MarkMeta(gd.InodeBitmap, 1, $"group {g} inode bitmap");
            }
            MarkMeta(gd.InodeTable, (int)_v.InodeTableBlocks, $"group {g} inode table");
        }
    }

    private void MarkMeta(ulong start, int count, string what)
    {
        for (int k = 0; k < count; k++)
        {
            ulong b = start + (ulong)k;
            if (!_v.InFs(b))
            {
                continue;
            }
            if (_used[(int)b])
            {
                Error(Pass0, $"block {b}", $"{what} overlaps other metadata", fixable: false);
            }
            _used[(int)b] = true;
            _meta[(int)b] = true;
        }
    }

    private void CheckBitmapsAndCounts()
    {
        ulong freeBlocks = 0;
        ulong freeInodes = 0;
        for (uint g = 0; g < _v.GroupCount; g++)
        {
            (uint fb, uint fi) = CheckGroup(g);
            freeBlocks += fb;
            freeInodes += fi;
        }
        // What this repair took, less what it released (a rebuilt directory's trimmed blocks,
        // released orphans), as the groups' bitmaps showed it.
        if (_repair && (Sb.FreeBlocksCount != freeBlocks || Sb.FreeInodesCount != freeInodes)
            && (long)Sb.FreeBlocksCount == (long)freeBlocks + _ownFreeBlocks && (long)Sb.FreeInodesCount == (long)freeInodes + _ownFreeInodes)
        {
            // Only what this repair took: follow it quietly.
            Sb.FreeBlocksCount = freeBlocks;
            Sb.FreeInodesCount = (uint)freeInodes;
            _sbChanged = true;
        }
        else if (Sb.FreeBlocksCount != freeBlocks || Sb.FreeInodesCount != freeInodes)
        {
            // e2fsck -n reports these without calling them errors: the kernel keeps them only approximately.
            string msg = $"free counts in the superblock are {Sb.FreeBlocksCount} blocks and {Sb.FreeInodesCount} inodes, " +
                $"counted {freeBlocks} and {freeInodes}";
            if (_repair)
            {
                Error(Pass5, "superblock", msg + "; fixed");
                Sb.FreeBlocksCount = freeBlocks;
                Sb.FreeInodesCount = (uint)freeInodes;
                _sbChanged = true;
            }
            else
            {
                Note(Pass5, "superblock", msg);
            }
        }
    }

    /// <summary>Pass 5: how far the free counts stood off the bitmaps because of this repair's own allocations and releases.</summary>
    private long _ownFreeBlocks;
    private long _ownFreeInodes;

    private (uint FreeBlocks, uint FreeInodes) CheckGroup(uint g)
    {
        Ext2GroupDescriptor gd = _v.Groups[g];
        string where = $"group {g}";
        bool blockUninit = _v.GroupCsum && (gd.Flags & Ext2GroupDescriptor.FlagBlockUninit) != 0;
        bool inodeUninit = _v.GroupCsum && (gd.Flags & Ext2GroupDescriptor.FlagInodeUninit) != 0;
        ulong first = _v.GroupFirstBlock(g);
        uint nblocks = _v.BlocksInGroup(g);
        // A bitmap out of place (relocated, or to be) holds nothing to trust: it reads as all
        // clear, and the repair writes it whole at its new place.
        bool blockMoved = _v.MisplacedBlockBitmaps.ContainsKey(g);
        bool inodeMoved = _v.MisplacedInodeBitmaps.ContainsKey(g);
        byte[] bb = new byte[_v.BlockSize];
        byte[] ib = new byte[_v.BlockSize];
        bool bbOk = !blockMoved && _v.Read(gd.BlockBitmap, out bb) == Errno.OK;
        bool ibOk = !inodeMoved && _v.Read(gd.InodeBitmap, out ib) == Errno.OK;

        // Block bitmap, with the padding past the last block of the last group set.
        var diff = new StringBuilder();
        int diffs = 0;
        int own = 0;
        long ownFree = 0;
        uint free = 0;
        byte[] want = new byte[_v.BlockSize];
        uint ownSuperBlocks = (uint)_v.SuperAndGdtBlocks(g);
        bool usedInUninit = false;
        for (uint i = 0; i < Sb.BlocksPerGroup; i++)
        {
            bool expect = i >= nblocks || _used[(int)(first + i)];
            if (i < nblocks && !expect)
            {
                free++;
            }
            bool have = blockUninit ? i >= nblocks || i < ownSuperBlocks || UninitBitmapCovers(first + i)
                : bbOk && (bb[i >> 3] & (1 << (int)(i & 7))) != 0;
            if (expect)
            {
                want[i >> 3] |= (byte)(1 << (int)(i & 7));
            }
            if (have != expect && i < nblocks && _allocated.Contains(first + i))
            {
                // Taken by this repair (a copy, lost+found): not damage, but the bitmap must follow.
                own++;
                ownFree += have ? 0 : 1;
            }
            else if (have != expect && i < nblocks && _released.Contains(first + i))
            {
                // Released by this repair: the bitmap and the free count still hold it in use.
                own++;
                ownFree -= have ? 1 : 0;
            }
            else if (have != expect && ++diffs <= 8)
            {
                diff.Append(expect ? " +" : " -").Append(first + i);
            }
            usedInUninit |= blockUninit && expect && !have && i < nblocks;
        }
        if (usedInUninit)
        {
            // libext2fs and the kernel would build this group's bitmap from its own metadata
            // only, and hand out what else is in use here (another group's bitmap, say).
            Error(Pass5, where, "blocks in use but the group is marked BLOCK_UNINIT");
        }
        if (diffs > 0)
        {
            Error(Pass5, where, $"block bitmap differences ({diffs}):{diff}{(diffs > 8 ? " ..." : "")}");
        }
        // Whole bytes past the group's blocks must read as in use (libext2fs's bitmap_tail_verify).
        bool blockPadding = blockUninit || !bbOk || !bb.AsSpan((int)(Sb.BlocksPerGroup >> 3)).ContainsAnyExcept((byte)0xFF);
        if (!blockPadding)
        {
            Error(Pass5, where, "padding at the end of the block bitmap is not set");
        }
        if ((diffs > 0 || own > 0 || blockMoved || !blockPadding) && _repair)
        {
            for (int i = (int)(Sb.BlocksPerGroup >> 3); i < _v.BlockSize && (Sb.BlocksPerGroup & 7) == 0; i++)
            {
                want[i] = 0xFF;
            }
            bb = want;
            _v.Write(gd.BlockBitmap, bb);
            gd.Flags &= unchecked((ushort)~Ext2GroupDescriptor.FlagBlockUninit);
            blockUninit = false;
            _groupDirty[g] = true;
        }

        // Inode bitmap.
        diff.Clear();
        diffs = 0;
        uint freeIno = 0;
        uint dirs = 0;
        uint ownInodes = 0;
        uint ownDirs = 0;
        uint releasedInodes = 0;
        uint releasedDirs = 0;
        uint lastUsed = 0;
        byte[] iwant = new byte[_v.BlockSize];
        uint ipg = _v.InodesPerGroup;
        for (uint i = 0; i < ipg; i++)
        {
            uint ino = (g * ipg) + i + 1;
            bool expect = _inUse[(int)ino];
            if (expect)
            {
                iwant[i >> 3] |= (byte)(1 << (int)(i & 7));
                lastUsed = i + 1;
                if (_type[ino] == 2)
                {
                    dirs++;
                }
            }
            else
            {
                freeIno++;
            }
            bool have = !inodeUninit && ibOk && (ib[i >> 3] & (1 << (int)(i & 7))) != 0;
            if (have != expect && _allocatedInodes.Contains(ino))
            {
                ownInodes++;
                if (_type[ino] == 2)
                {
                    ownDirs++;
                }
            }
            else if (have && !expect && _releasedInodes.TryGetValue(ino, out bool releasedDir))
            {
                // A deleted orphan: the bitmap and the counts still hold it in use.
                releasedInodes++;
                releasedDirs += releasedDir ? 1u : 0u;
            }
            else if (have != expect && ++diffs <= 8)
            {
                diff.Append(expect ? " +" : " -").Append(ino);
            }
        }
        if (diffs > 0)
        {
            Error(Pass5, where, $"inode bitmap differences ({diffs}):{diff}{(diffs > 8 ? " ..." : "")}");
        }
        bool padding = true;
        for (uint i = ipg; i < (uint)_v.BlockSize * 8 && ibOk && !inodeUninit; i++)
        {
            padding &= (ib[i >> 3] & (1 << (int)(i & 7))) != 0;
        }
        if (!padding)
        {
            // e2fsck reads the bits past the group's last inode too: they must be set.
            Error(Pass5, where, "padding at the end of the inode bitmap is not set");
        }
        if (diffs > 0 || ownInodes > 0 || releasedInodes > 0 || !padding || inodeMoved)
        {
            if (_repair)
            {
                for (uint i = ipg; i < (uint)_v.BlockSize * 8; i++)
                {
                    iwant[i >> 3] |= (byte)(1 << (int)(i & 7));
                }
                ib = iwant;
                _v.Write(gd.InodeBitmap, ib);
                gd.Flags &= unchecked((ushort)~Ext2GroupDescriptor.FlagInodeUninit);
                inodeUninit = false;
                _groupDirty[g] = true;
            }
        }
        long ownFreeInodes = (long)ownInodes - releasedInodes;
        _ownFreeBlocks += ownFree;
        _ownFreeInodes += ownFreeInodes;
        if (gd.FreeBlocks != free + ownFree)
        {
            Error(Pass5, where, $"free blocks count is {gd.FreeBlocks}, counted {free + ownFree}");
        }
        if (gd.FreeInodes != freeIno + ownFreeInodes)
        {
            Error(Pass5, where, $"free inodes count is {gd.FreeInodes}, counted {freeIno + ownFreeInodes}");
        }
        if (gd.UsedDirs != dirs - ownDirs + releasedDirs)
        {
            Error(Pass5, where, $"directories count is {gd.UsedDirs}, counted {dirs - ownDirs + releasedDirs}");
        }
        if (gd.FreeBlocks != free || gd.FreeInodes != freeIno || gd.UsedDirs != dirs)
        {
            _groupDirty[g] = true;
        }
        if (_v.GroupCsum && lastUsed > ipg - Math.Min(gd.ItableUnused, ipg) && !_scanWholeGroup[g])
        {
            Error(Pass5, where, $"inode {(g * ipg) + lastUsed} is in use past the group's unused-inode mark");
            _groupDirty[g] = true;
        }
        CheckBitmapChecksums(g, gd, bb, ib, blockUninit, inodeUninit);
        if (_groupDirty[g] && _repair)
        {
            gd.FreeBlocks = free;
            gd.FreeInodes = freeIno;
            gd.UsedDirs = dirs;
            if (_v.GroupCsum)
            {
                gd.ItableUnused = ipg - lastUsed;
                if (lastUsed > 0)
                {
                    gd.Flags &= unchecked((ushort)~Ext2GroupDescriptor.FlagInodeUninit);
                    inodeUninit = false;
                }
            }
            if (_v.MetadataCsum)
            {
                gd.BlockBitmapCsum = blockUninit ? gd.BlockBitmapCsum : Ext2Crc.Crc32c(_v.CsumSeed, bb.AsSpan(0, (int)(Sb.BlocksPerGroup / 8)));
                gd.InodeBitmapCsum = inodeUninit ? gd.InodeBitmapCsum : Ext2Crc.Crc32c(_v.CsumSeed, ib.AsSpan(0, (int)(ipg / 8)));
            }
            _v.StoreDescriptor(g);
        }
        return (free, freeIno);
    }

    private void CheckBitmapChecksums(uint g, Ext2GroupDescriptor gd, byte[] bb, byte[] ib, bool blockUninit, bool inodeUninit)
    {
        if (!_v.MetadataCsum || _groupDirty[g])
        {
            return;
        }
        bool wide = _v.DescSize >= Ext2GroupDescriptor.Size64;
        uint mask = wide ? 0xFFFFFFFFu : 0xFFFFu;
        if (!blockUninit && ((Ext2Crc.Crc32c(_v.CsumSeed, bb.AsSpan(0, (int)(Sb.BlocksPerGroup / 8))) ^ gd.BlockBitmapCsum) & mask) != 0)
        {
            Error(Pass5, $"group {g}", "block bitmap checksum does not match; recomputed");
            _groupDirty[g] = true;
        }
        if (!inodeUninit && ((Ext2Crc.Crc32c(_v.CsumSeed, ib.AsSpan(0, (int)(_v.InodesPerGroup / 8))) ^ gd.InodeBitmapCsum) & mask) != 0)
        {
            Error(Pass5, $"group {g}", "inode bitmap checksum does not match; recomputed");
            _groupDirty[g] = true;
        }
    }
}
