using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Superblock features that contradict what the file system holds. The feature flag wins,
/// as in e2fsck: a journal or resize inode whose feature is off is removed, and descriptor
/// fields that only mean something under group checksums are cleared. e2fsck treats the
/// first three as questions that a read-only check leaves alone without calling the file
/// system damaged; this checker notes them under -n and acts on them under -y.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private bool HasJournalFeature => (Sb.FeatureCompat & Ext2Features.CompatHasJournal) != 0;

    private bool HasResizeFeature => (Sb.FeatureCompat & Ext2Features.CompatResizeInode) != 0;

    /// <summary>Pass 0: a journal or reserved descriptor blocks present with their feature off.</summary>
    private void CheckFeatureFields()
    {
        if (!HasJournalFeature && (Sb.JournalInum != 0 || Sb.JournalDev != 0))
        {
            string where = Sb.JournalInum != 0 ? $"inode {Sb.JournalInum}" : $"device 0x{Sb.JournalDev:x}";
            Question($"has_journal is clear, but a journal is present ({where})", "the journal is removed");
            if (_repair)
            {
                Sb.ClearJournalFields();
                _sbChanged = true;
            }
        }
        if (!HasResizeFeature && Sb.ReservedGdtBlocks != 0 && Sb.RevLevel > 0)
        {
            Question($"resize_inode is clear, but {Sb.ReservedGdtBlocks} descriptor blocks are reserved for growth", "the reservation is set to 0");
            if (_repair)
            {
                Sb.ReservedGdtBlocks = 0;
                _sbChanged = true;
            }
        }
    }

    /// <summary>A finding e2fsck asks about without failing a read-only check: noted under -n, acted on under -y.</summary>
    private void Question(string finding, string action)
    {
        if (_repair)
        {
            Error(Pass0, "superblock", $"{finding}; {action}");
        }
        else
        {
            Note(Pass0, "superblock", $"{finding}; under -y, as under e2fsck -y, {action}");
        }
    }

    /// <summary>
    /// Pass 0, per group: BLOCK_UNINIT, INODE_UNINIT and the unused-inode count only mean
    /// something under uninit_bg or metadata_csum; without them the kernel ignores them and
    /// e2fsck clears them.
    /// </summary>
    private void CheckUninitFieldsWithoutGroupChecksums(uint g, Ext2GroupDescriptor gd)
    {
        const ushort uninit = Ext2GroupDescriptor.FlagBlockUninit | Ext2GroupDescriptor.FlagInodeUninit;
        if (_v.GroupCsum || ((gd.Flags & uninit) == 0 && gd.ItableUnused == 0))
        {
            return;
        }
        string finding = $"marked uninitialised (flags 0x{gd.Flags:x}, {gd.ItableUnused} unused inodes) without uninit_bg or metadata_csum";
        if (!_repair)
        {
            if (gd.ItableUnused != 0)
            {
                _staleUnusedMarks[g] = gd.ItableUnused;
            }
            if ((gd.Flags & Ext2GroupDescriptor.FlagInodeUninit) != 0)
            {
                _staleInodeUninit.Add(g);
            }
            Note(Pass0, $"group {g}", finding + "; fsck -y clears the marks, as e2fsck -y does");
            return;
        }
        Error(Pass0, $"group {g}", finding + "; cleared");
        gd.Flags &= unchecked((ushort)~uninit);
        gd.ItableUnused = 0;
        _groupDirty[g] = true;
    }

    /// <summary>Groups whose unused-inode count stands without group checksums (left so under -n).</summary>
    private readonly Dictionary<uint, uint> _staleUnusedMarks = [];

    /// <summary>Groups flagged INODE_UNINIT without group checksums (left so under -n).</summary>
    private readonly HashSet<uint> _staleInodeUninit = [];

    /// <summary>
    /// After pass 1, under -n: e2fsck, told not to clear a stale unused-inode count, honours
    /// it and fails the check when an inode past the mark is in use. Such a mark is then an
    /// error here too (-y clears it in pass 0).
    /// </summary>
    private void CheckStaleUnusedMarks()
    {
        foreach ((uint g, uint unused) in _staleUnusedMarks)
        {
            uint first = (g * _v.InodesPerGroup) + 1;
            uint mark = unused >= _v.InodesPerGroup ? 0 : _v.InodesPerGroup - unused;
            for (uint i = mark; i < _v.InodesPerGroup; i++)
            {
                if (_inUse[(int)(first + i)] && first + i >= Sb.FirstIno)
                {
                    Error(Pass1, $"group {g}", $"inode {first + i} is in use past the unused-inode count ({unused}), which e2fsck honours; the count is cleared");
                    break;
                }
            }
        }
        foreach (uint g in _staleInodeUninit)
        {
            // e2fsck's pass 2 then rejects every entry naming an inode of the group.
            uint first = (g * _v.InodesPerGroup) + 1;
            for (uint ino = first; ino < first + _v.InodesPerGroup; ino++)
            {
                if (_inUse[(int)ino] && (ino >= Sb.FirstIno || ino == RootIno))
                {
                    Error(Pass1, $"group {g}", $"inode {ino} is in use in a group flagged INODE_UNINIT, which e2fsck honours in pass 2; the flag is cleared");
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Pass 1: the journal inode when the superblock names no journal there, or the resize
    /// inode when resize_inode is off, still holding data (e2fsck: "not in use, but contains
    /// data"; the resize inode is only noted under -n). True when the inode was cleared and
    /// needs no further check.
    /// </summary>
    private bool ClearUnusedReservedInode(InodeWalk w)
    {
        bool holdsData = w.Din.LinksCount != 0 || w.Din.BlocksRaw != 0 || w.Din.BlockPointer(0) != 0;
        // Only when no journal is named at all: a journal named elsewhere is an invalid one
        // (pass 0), and inode 8 may be the one that holds it.
        if (w.Ino == JournalIno && Sb.JournalInum != JournalIno && !JournalNamed && holdsData)
        {
            // Under -n this fails the check, as in e2fsck; the blocks stay claimed meanwhile.
            Error(Pass1, Ino(w.Ino), "the journal inode is not in use, but contains data; cleared");
        }
        else if (IsQuotaSlot(w.Ino) && !QuotaInUse(w.Ino) && holdsData)
        {
            Error(Pass1, Ino(w.Ino), "quota inode is not in use, but contains data; cleared");
        }
        else if (w.Ino == ResizeIno && !HasResizeFeature && HasAnyBlockPointer(w.Din))
        {
            if (!_repair)
            {
                Note(Pass1, Ino(w.Ino), "resize_inode is clear, but the resize inode is not; fsck -y clears it, as e2fsck -y does");
                return false;
            }
            Error(Pass1, Ino(w.Ino), "resize_inode is clear, but the resize inode is not; cleared");
        }
        else
        {
            return false;
        }
        if (!_repair)
        {
            return false;
        }
        ClearInode(w);
        // A reserved inode stays "in use" with no type; e2fsck leaves it all zero.
        w.Din.Dtime = 0;
        _inUse[(int)w.Ino] = true;
        return true;
    }

    private static bool HasAnyBlockPointer(Ext2Dinode din)
    {
        for (int i = 0; i < 15; i++)
        {
            if (din.BlockPointer(i) != 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>e2fsck's "contains large files, but lacks LARGE_FILE flag": the flag is set.</summary>
    private void CheckLargeFileFeature()
    {
        if (!_largeFile || Sb.RevLevel == 0 || (Sb.FeatureRoCompat & Ext2Features.RoLargeFile) != 0)
        {
            return;
        }
        Error(Pass1, "superblock", "files of 2 GiB or more are in use but the large_file feature is off; set");
        if (_repair)
        {
            Sb.FeatureRoCompat |= Ext2Features.RoLargeFile;
            _sbChanged = true;
        }
    }
}
