using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Pass 1: every inode e2fsck would scan (not those of INODE_UNINIT groups or past a group's
/// unused-inode mark): checksum, mode, dtime, block pointers or extents in range and not
/// shared, i_blocks, and the size against the blocks for directories and files.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private const string Pass1 = "inodes";

    /// <summary>More out-of-range pointers than this and the inode is cleared, as e2fsck does.</summary>
    private const int MaxIllegalBlocks = 12;

    /// <summary>Inodes of group <paramref name="g"/> that e2fsck's inode scan reads.</summary>
    private uint ScannedInodes(uint g)
    {
        Ext2GroupDescriptor gd = _v.Groups[g];
        if (!_v.GroupCsum)
        {
            return _v.InodesPerGroup;
        }
        if ((gd.Flags & Ext2GroupDescriptor.FlagInodeUninit) != 0)
        {
            return 0;
        }
        if (_scanWholeGroup[g])
        {
            return _v.InodesPerGroup;
        }
        return gd.ItableUnused >= _v.InodesPerGroup ? 0 : _v.InodesPerGroup - gd.ItableUnused;
    }

    private void ScanInodes()
    {
        int perBlock = Math.Max(1, _v.BlockSize / _v.InodeSize);
        var inodes = new Ext2Dinode?[perBlock];
        var badChecksum = new bool[perBlock];
        for (uint g = 0; g < _v.GroupCount; g++)
        {
            uint count = ScannedInodes(g);
            ulong tableEnd = _v.Groups[g].InodeTable + (((ulong)count * (ulong)_v.InodeSize) + (ulong)_v.BlockSize - 1) / (ulong)_v.BlockSize;
            // A table block at a time: whether it looks like garbage is judged on all its
            // scanned inodes before any of them is checked.
            for (uint first = 0; first < count; first += (uint)perBlock)
            {
                int n = (int)Math.Min((uint)perBlock, count - first);
                for (int k = 0; k < n; k++)
                {
                    uint ino = (g * _v.InodesPerGroup) + first + (uint)k + 1;
                    ulong blk = _v.InodeLocation(ino).Block;
                    if (!_v.InReadAhead(blk))
                    {
                        // The table a run at a time rather than a device read per inode.
                        _v.ReadAhead(blk, (int)Math.Min(tableEnd - blk, (ulong)_v.MaxReadAheadBlocks));
                    }
                    inodes[k] = _v.ReadInode(ino, out Ext2Dinode din) == Errno.OK ? din : null;
                    badChecksum[k] = inodes[k] != null && InodeChecksumFails(ino, din);
                }
                bool garbage = InodeBlockIsGarbage(inodes.AsSpan(0, n), badChecksum.AsSpan(0, n));
                for (int k = 0; k < n; k++)
                {
                    uint ino = (g * _v.InodesPerGroup) + first + (uint)k + 1;
                    if (inodes[k] is not { } din)
                    {
                        Error(Pass1, Ino(ino), "cannot read the inode", fixable: false);
                    }
                    else if (garbage && din.LinksCount > 0 && GarbageRuleApplies(ino))
                    {
                        ClearGarbageInode(ino, din);
                    }
                    else
                    {
                        CheckInode(ino, din, badChecksum[k]);
                    }
                }
            }
        }
        CheckXattrRefcounts();
    }

    private static bool AllZero(ReadOnlySpan<byte> b) => !b.ContainsAnyExcept((byte)0);

    private void CheckInode(uint ino, Ext2Dinode din, bool badChecksum)
    {
        var w = new InodeWalk(ino, din)
        {
            KeepMap = IsQuotaFileInode(ino) || (ino == Sb.OrphanFileInum && HasOrphanFileFeature),
            FirstWalk = true,
            BadChecksum = badChecksum,
        };
        if (badChecksum)
        {
            Error(Pass1, Ino(ino), "inode checksum does not match; recomputed");
            w.Changed = true;
        }
        CheckLowDtime(w);
        if (ino >= Sb.FirstIno && ino == Sb.OrphanFileInum && HasOrphanFileFeature)
        {
            // In use whatever its link count, as e2fsck takes it.
            if (_orphanFileDrop)
            {
                DropOrphanFileInode(w);
            }
            else
            {
                CheckOrphanFileInode(w);
            }
            Finish(w);
            return;
        }
        bool reserved = ino < Sb.FirstIno && ino != RootIno;
        // A quota file in an ordinary inode (the project one) is in use whatever its link
        // count, as e2fsck takes every quota file the superblock names.
        if (!reserved && din.LinksCount == 0 && !(ino >= Sb.FirstIno && IsQuotaFileInode(ino)))
        {
            if (din.Dtime == 0 && din.Mode != 0)
            {
                Error(Pass1, Ino(ino), "deleted inode has a zero dtime");
                din.Dtime = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                w.Changed = true;
            }
            Finish(w);
            return;
        }
        _inUse[(int)ino] = true;
        if (reserved)
        {
            CheckReservedInode(w);
            Finish(w);
            return;
        }
        byte type = Ext2DirEntry.FileTypeOf(din.Mode);
        if (ino == RootIno && type != 2)
        {
            // e2fsck: "Root inode is not a directory. Clear?"; pass 3 makes a new one.
            Error(Pass1, Ino(ino), "the root inode is not a directory; inode cleared");
            ClearInode(w);
            Finish(w);
            return;
        }
        if (type == 0)
        {
            Error(Pass1, Ino(ino), $"bad mode 0{Convert.ToString(din.Mode, 8)}; inode cleared");
            ClearInode(w);
            Finish(w);
            return;
        }
        if (din.Dtime != 0)
        {
            Error(Pass1, Ino(ino), "in-use inode has dtime set; cleared");
            din.Dtime = 0;
            w.Changed = true;
        }
        if (!CheckFlags(w, type))
        {
            ClearInode(w);
            Finish(w);
            return;
        }
        CheckInodeXattrArea(w);
        CheckNegativeEpochTimes(w);
        _type[ino] = type;
        _links[ino] = din.LinksCount;
        bool inline = (din.Flags & Ext2Dinode.FlagInlineData) != 0 && _v.InlineData;
        bool fastLink = type == 7 && IsFastSymlink(din);
        if ((type == 1 || type == 2 || type == 7) && !inline && !fastLink)
        {
            WalkBlocksInPass1(w);
        }
        if (w.BadTree || w.Illegal > MaxIllegalBlocks)
        {
            Error(Pass1, Ino(ino), "block map is beyond repair; inode cleared");
            ClearInode(w);
            Finish(w);
            return;
        }
        if (type == 7 && !inline && !SymlinkValid(w, fastLink))
        {
            Error(Pass1, Ino(ino), $"symbolic link of size {din.Size} is invalid; inode cleared");
            ClearInode(w);
            Finish(w);
            return;
        }
        ClaimXattrBlock(w);
        if (type == 2 && !inline && w.Blocks == 0)
        {
            // Nothing to hold "." and "..": e2fsck clears such a directory (its names go in pass 2).
            Error(Pass1, Ino(ino), "directory has no blocks (zero length); inode cleared");
            ClearInode(w);
            Finish(w);
            return;
        }
        CheckBlockCount(w);
        CheckSize(w, inline);
        if (type == 2)
        {
            _dirs[ino] = inline ? [] : w.DirBlocks;
            if (inline)
            {
                _inlineDirs.Add(ino);
            }
        }
        Finish(w);
    }

    private readonly HashSet<uint> _inlineDirs = [];

    private void Finish(InodeWalk w)
    {
        if (w.KeepMap && _inUse[(int)w.Ino])
        {
            _fileMaps[w.Ino] = w.DirBlocks;
        }
        if (w.Changed && _repair)
        {
            _v.WriteInode(w.Ino, w.Din);
        }
    }

    private void CheckReservedInode(InodeWalk w)
    {
        _links[w.Ino] = w.Din.LinksCount;
        _type[w.Ino] = Ext2DirEntry.FileTypeOf(w.Din.Mode);
        if (ClearUnusedReservedInode(w))
        {
            return;
        }
        CheckReservedMode(w);
        bool roleless = w.Ino != 1 && w.Ino != JournalIno && !IsQuotaSlot(w.Ino);
        bool journal = w.Ino == JournalIno && Sb.JournalInum == JournalIno && HasJournalFeature;
        if (roleless || journal || (IsQuotaSlot(w.Ino) && QuotaInUse(w.Ino)))
        {
            // e2fsck's check_blocks runs on each of these whatever its mode.
            CheckReservedIndexFlag(w);
        }
        if (w.Ino == ResizeIno)
        {
            CheckResizeInode(w);
            return;
        }
        if (journal)
        {
            CheckJournalInode(w);
            return;
        }
        // A quota file in use keeps its blocks whatever its mode says (reported in
        // CheckReservedMode): freeing them in pass 5 would destroy it. Inode 8 is walked only
        // while a journal is named (it may hold it), as e2fsck walks it: otherwise only its
        // links, i_blocks and first pointer are looked at (ClearUnusedReservedInode).
        bool walk = (w.Ino == JournalIno && (Sb.JournalInum == JournalIno || JournalNamed))
            || (w.Din.Mode != 0 && (w.Din.Mode & 0xF000) == 0x8000)
            || (IsQuotaSlot(w.Ino) && QuotaInUse(w.Ino));
        if (w.Ino == 1)
        {
            ClearInvalidBadBlocksInode(w);
        }
        if (walk || w.Ino == 1)
        {
            WalkBlocksInPass1(w);
        }
        // The reserved inodes without a role here (5, 6, 9, 10) are checked as e2fsck's
        // check_blocks checks them even with no mode: the attribute block, i_blocks against
        // what is claimed, and a size no map can address.
        if (walk || w.Ino == 1 || roleless)
        {
            ClaimXattrBlock(w);
            if (w.Ino != 1)
            {
                CheckBlockCount(w);
            }
            if (roleless)
            {
                CheckSize(w, inline: false);
            }
        }
    }

    /// <summary>
    /// e2fsck's "The bad block inode looks invalid": inode 1 holds only a list of bad blocks,
    /// so a mode, owner, link count, inline-data flag or attribute block (or a failed
    /// checksum) means it is something else's garbage, and its first 128 bytes are zeroed
    /// before its blocks are walked.
    /// </summary>
    private void ClearInvalidBadBlocksInode(InodeWalk w)
    {
        Ext2Dinode d = w.Din;
        bool invalid = w.BadChecksum || d.Mode != 0 || d.Uid != 0 || d.Gid != 0 || d.LinksCount != 0
            || (d.Flags & Ext2Dinode.FlagInlineData) != 0 || d.FileAcl != 0;
        if (!invalid)
        {
            return;
        }
        Error(Pass1, Ino(1), "the bad-blocks inode looks invalid; cleared");
        d.Raw.AsSpan(0, Ext2Dinode.BaseSize).Clear();
        w.Changed = true;
        _links[1] = 0;
        _type[1] = 0;
    }

    /// <summary>e2fsck's "has INDEX_FL flag set but is not a directory" on a reserved inode: the flag is cleared.</summary>
    private void CheckReservedIndexFlag(InodeWalk w)
    {
        if ((w.Din.Flags & Ext2Dinode.FlagIndex) == 0)
        {
            return;
        }
        Error(Pass1, Ino(w.Ino), "reserved inode has the hash-index flag but is no directory; flag cleared");
        w.Din.Flags &= ~Ext2Dinode.FlagIndex;
        w.Changed = true;
    }

    /// <summary>Mark a run in use; a block already in use becomes a duplicate.</summary>
    private void MarkUsed(ulong start, int count, InodeWalk w)
    {
        for (int k = 0; k < count; k++)
        {
            int b = (int)(start + (ulong)k);
            if (_used[b])
            {
                _dupClaims[(ulong)b] = _dupClaims.GetValueOrDefault((ulong)b, 1) + 1;
                _dupInodes.Add(w.Ino);
                w.SecondClaims.Add((ulong)b);
            }
            else
            {
                _used[b] = true;
                w.Marked.Add(((ulong)b, 1));
            }
        }
    }

    /// <summary>Walk an inode's blocks claiming them; the claims on extent nodes the repair emptied and dropped are taken back.</summary>
    private void WalkBlocksInPass1(InodeWalk w)
    {
        WalkBlocks(w, ClaimInPass1);
        foreach (ulong node in w.ReleasedNodes)
        {
            ReleaseClaim(w, node);
        }
        w.ReleasedNodes.Clear();
    }

    /// <summary>Undo one <see cref="MarkUsed"/> of block <paramref name="b"/> by this walk.</summary>
    private void ReleaseClaim(InodeWalk w, ulong b)
    {
        int second = w.SecondClaims.LastIndexOf(b);
        if (second >= 0)
        {
            w.SecondClaims.RemoveAt(second);
            DropDuplicateClaim(b);
            if (w.SecondClaims.Count == 0)
            {
                _dupInodes.Remove(w.Ino);
            }
        }
        else
        {
            w.Marked.Remove((b, 1));
            if (!DropDuplicateClaim(b))
            {
                _used[(int)b] = false;
            }
        }
        w.Blocks--;
    }

    private ulong ClaimInPass1(InodeWalk w, BlockClaim c)
    {
        if (!_v.InFs(c.Physical) || c.Physical + (ulong)c.Count > _v.BlocksCount)
        {
            if (++w.Illegal > MaxIllegalBlocks)
            {
                // The inode will be cleared: like e2fsck, stop there (no more findings, and
                // the walk writes no block it read; one may be another file's data).
                return Skip;
            }
            Error(Pass1, Ino(w.Ino), $"illegal block {c.Physical} (logical {c.Logical}); cleared");
            return _repair ? Drop : Keep;
        }
        if (c.Node && _meta[(int)c.Physical])
        {
            // What it points at is an inode table, a bitmap or a descriptor block: read as
            // a list of block numbers it is garbage, and a repair written into it would
            // destroy that metadata (e2fsck: "conflicts with critical metadata").
            w.Illegal++;
            string kind = (w.Din.Flags & Ext2Dinode.FlagExtents) != 0 ? "extent" : "indirect";
            string fix = _repair ? ", pointer cleared" : "";
            Error(Pass1, Ino(w.Ino), $"{kind} block {c.Physical} is file-system metadata; not followed{fix}");
            return _repair ? Drop : Skip;
        }
        MarkUsed(c.Physical, c.Count, w);
        w.Blocks += (ulong)c.Count;
        if (c.Logical >= 0)
        {
            long last = c.Logical + c.Count - 1;
            w.LastLogical = Math.Max(w.LastLogical, last);
            if (!c.Uninit)
            {
                w.LastInit = Math.Max(w.LastInit, last);
            }
            if (w.IsDir || w.KeepMap)
            {
                for (int k = 0; k < c.Count; k++)
                {
                    w.DirBlocks.Add(((uint)(c.Logical + k), c.Physical + (ulong)k));
                }
            }
        }
        return Keep;
    }

    private void ClaimXattrBlock(InodeWalk w)
    {
        ulong acl = w.Din.FileAcl;
        if (acl == 0)
        {
            return;
        }
        if (!_v.InFs(acl))
        {
            Error(Pass1, Ino(w.Ino), $"extended attribute block {acl} is outside the file system; cleared");
            w.Din.FileAcl = 0;
            w.Changed = true;
            return;
        }
        if (_xattrRefs.TryGetValue(acl, out int refs))
        {
            _xattrRefs[acl] = refs + 1;
            w.Blocks++;
            return;
        }
        if (_v.Read(acl, out byte[] data) != Errno.OK
            || BinaryPrimitives.ReadUInt32LittleEndian(data) != Ext2XattrEntry.Magic)
        {
            Error(Pass1, Ino(w.Ino), $"extended attribute block {acl} is not valid; cleared");
            w.Din.FileAcl = 0;
            w.Changed = true;
            return;
        }
        string? fault = Ext2XattrAreaRules.CheckBlock(data, ValueInodeRule);
        if (fault is not null)
        {
            // e2fsck clears the pointer; pass 5 frees the block unless another inode keeps it.
            Error(Pass1, Ino(w.Ino), $"extended attribute block {acl} {fault}; cleared");
            w.Din.FileAcl = 0;
            w.Changed = true;
            return;
        }
        // The checksum is judged only once the contents pass, as e2fsck's "passes checks,
        // but checksum does not match" does.
        if (_v.MetadataCsum && BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(Ext2XattrEntry.BlockOff.Checksum))
            != Ext2XattrEntry.BlockChecksum(data, acl, _v.CsumSeed))
        {
            Error(Pass1, Ino(w.Ino), $"extended attribute block {acl} has a bad checksum; recomputed");
            if (_repair)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(Ext2XattrEntry.BlockOff.Checksum),
                    Ext2XattrEntry.BlockChecksum(data, acl, _v.CsumSeed));
                _v.Write(acl, data);
            }
        }
        _xattrRefs[acl] = 1;
        MarkUsed(acl, 1, w);
        w.Blocks++;
    }

    private void CheckXattrRefcounts()
    {
        foreach ((ulong blk, int refs) in _xattrRefs)
        {
            if (_v.Read(blk, out byte[] data) != Errno.OK)
            {
                continue;
            }
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(Ext2XattrEntry.BlockOff.RefCount));
            if (stored != (uint)refs)
            {
                Error(Pass1, $"block {blk}", $"extended attribute block has reference count {stored}, should be {refs}");
                StoreXattrRefcount(blk, refs);
            }
        }
    }

    /// <summary>Write <paramref name="refs"/> as the attribute block's h_refcount (with its checksum), under repair.</summary>
    private void StoreXattrRefcount(ulong blk, int refs)
    {
        if (!_repair || _v.Read(blk, out byte[] data) != Errno.OK)
        {
            return;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(Ext2XattrEntry.BlockOff.RefCount), (uint)refs);
        if (_v.MetadataCsum)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(Ext2XattrEntry.BlockOff.Checksum),
                Ext2XattrEntry.BlockChecksum(data, blk, _v.CsumSeed));
        }
        _v.Write(blk, data);
    }

    private void CheckBlockCount(InodeWalk w)
    {
        bool fsUnits = _v.HugeFile && (w.Din.Flags & Ext2Dinode.FlagHugeFile) != 0;
        ulong expect = fsUnits ? w.Blocks : w.Blocks * (ulong)(_v.BlockSize / 512);
        if (w.Din.BlocksRaw != expect)
        {
            Error(Pass1, Ino(w.Ino), $"i_blocks is {w.Din.BlocksRaw}, should be {expect}");
            w.Din.BlocksRaw = expect;
            w.Changed = true;
        }
    }

    private void CheckSize(InodeWalk w, bool inline)
    {
        long size = w.Din.Size;
        long bs = _v.BlockSize;
        if (inline)
        {
            return;
        }
        _largeFile |= (w.Din.Mode & 0xF000) == 0x8000 && size > int.MaxValue && (ulong)size <= LargestSize(w.Din);
        if (w.IsDir)
        {
            long want = (w.LastLogical + 1) * bs;
            if (size != want)
            {
                Error(Pass1, Ino(w.Ino), $"directory size is {size}, should be {want}");
                w.Din.Size = want;
                w.Changed = true;
            }
        }
        else if ((w.Din.Mode & 0xF000) == 0x8000 && w.LastInit >= 0 && size < w.LastInit * bs)
        {
            long want = (w.LastInit + 1) * bs;
            Error(Pass1, Ino(w.Ino), $"size is {size}, should be {want}");
            w.Din.Size = want;
            w.Changed = true;
        }
        else if ((w.Din.Mode & 0xF000) != 0xA000 && (ulong)size > LargestSize(w.Din))
        {
            // Any type but a symbolic link (whose size is its target's), as e2fsck: a
            // reserved inode with no mode too.
            // Past what the map can address (e2fsck's "too big" sizes): a damaged size.
            long want = (w.LastLogical + 1) * bs;
            Error(Pass1, Ino(w.Ino), $"size is {(ulong)size}, more than its block map can address; should be {want}");
            w.Din.Size = want;
            w.Changed = true;
        }
    }

    /// <summary>
    /// The largest size a file's map can address, as e2fsck counts it: 32-bit logical block
    /// numbers for extents, the direct and three indirect levels for block maps.
    /// </summary>
    private ulong LargestSize(Ext2Dinode din)
    {
        if ((din.Flags & Ext2Dinode.FlagExtents) != 0 && _v.ExtentsFeature)
        {
            return (1UL << (32 + _v.BlockShift)) - 1;
        }
        ulong n = (ulong)_v.BlockSize / 4;
        return ((12 + n + (n * n) + (n * n * n)) << _v.BlockShift) - 1;
    }

    /// <summary>Clear an inode (e2fsck's "Clear inode"): its blocks go back, entries naming it go in pass 2.</summary>
    /// <summary>One claim of a shared block less; false when the block was not shared.</summary>
    private bool DropDuplicateClaim(ulong b)
    {
        if (!_dupClaims.TryGetValue(b, out int claims))
        {
            return false;
        }
        if (claims <= 2)
        {
            _dupClaims.Remove(b);
        }
        else
        {
            _dupClaims[b] = claims - 1;
        }
        return true;
    }

    private void ClearInode(InodeWalk w)
    {
        // Its claims go, duplicate ones too: a block it shared is then no longer shared, and
        // the other claimant keeps it without a copy (which would leak the original). Its
        // later claims go first, so a block it named twice itself is freed.
        foreach (ulong b in w.SecondClaims)
        {
            DropDuplicateClaim(b);
        }
        foreach ((ulong start, int count) in w.Marked)
        {
            for (int k = 0; k < count; k++)
            {
                ulong b = start + (ulong)k;
                if (!DropDuplicateClaim(b))
                {
                    _used[(int)b] = false;
                }
            }
        }
        w.Marked.Clear();
        w.SecondClaims.Clear();
        _dupInodes.Remove(w.Ino);
        _inUse[(int)w.Ino] = false;
        _type[w.Ino] = 0;
        _links[w.Ino] = 0;
        _dirs.Remove(w.Ino);
        Array.Clear(w.Din.Raw);
        w.Din.Dtime = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        w.Changed = true;
    }
}
