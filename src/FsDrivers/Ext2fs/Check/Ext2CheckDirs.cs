using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Pass 2: every directory block. Record lengths and name lengths, "." and "..", entries
/// naming unused or impossible inodes, file types against the inode's mode, second links to
/// a directory, names with '/' or NUL, the checksum tail of leaf blocks and the dx_tail of
/// hash-tree nodes. Counts the references pass 4 compares with the link counts.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private const string Pass2 = "directories";

    /// <summary>Set when the repair rewrote a name in the directory being scanned.</summary>
    private bool _nameRewritten;

    /// <summary>The directory being scanned keeps a hash-tree index (its root follows "..").</summary>
    private bool _dirIndexed;

    private void CheckDirectories()
    {
        foreach ((uint dir, List<(uint Logical, ulong Physical)> blocks) in _dirs.ToList())
        {
            if (_inlineDirs.Contains(dir))
            {
                CheckInlineDirectory(dir);
                continue;
            }
            if (_v.ReadInode(dir, out Ext2Dinode din) != Errno.OK)
            {
                continue;
            }
            bool indexed = (din.Flags & Ext2Dinode.FlagIndex) != 0 && _v.DirIndex;
            uint seed = Ext2Dinode.InodeSeed(_v.CsumSeed, dir, din.Generation);
            blocks.Sort();
            bool holeReported = false;
            if (blocks.Count > 0 && FirstHole(blocks) is uint hole && HoleRepair(din, blocks) is string how)
            {
                Error(Pass2, Ino(dir), $"directory has a hole at block {hole}; {how}");
                holeReported = true;
                if (_repair)
                {
                    CloseDirectoryHoles(dir, din, blocks);
                }
            }
            if ((blocks.Count == 0 || blocks[0].Logical != 0) && !holeReported)
            {
                Error(Pass2, Ino(dir), "directory has no first block (no \".\" and \"..\")", fixable: false);
            }
            bool rebuild = false;
            if (indexed && ValidateHtree(blocks, din.Flags, seed) is string why)
            {
                // As e2fsck's clear_htree: the flag goes now, so that passes 2 and 3 read and
                // extend the directory linearly, and pass 3A writes it again. A check without
                // repair reads it the same way, so that both report the same findings.
                Error(Pass2, Ino(dir), $"hash-tree index is invalid: {why}; "
                    + (_repair ? "the directory is rebuilt" : "the directory would be rebuilt"));
                rebuild = true;
                indexed = false;
                if (_repair)
                {
                    din.Flags &= ~Ext2Dinode.FlagIndex;
                    _v.WriteInode(dir, din);
                    _rehash.Add(dir);
                }
            }
            _nameRewritten = false;
            _dirIndexed = indexed;
            StartDirectoryNames(dir);
            for (int i = 0; i < blocks.Count; i++)
            {
                if (blocks[i].Logical != i && (i == 0 || blocks[i - 1].Logical == i - 1) && !holeReported)
                {
                    Error(Pass2, Ino(dir), $"directory has a hole before block {blocks[i].Logical}", fixable: false);
                }
                CheckDirBlock(dir, blocks[i].Logical, blocks[i].Physical, indexed, seed, rebuild);
            }
            string? moved = indexed && _nameRewritten && _repair && ValidateHtree(blocks, din.Flags, seed) is string left
                ? $"a fixed name left its leaf: {left}"
                : null;
            if (moved is not null)
            {
                // A rewritten name may hash outside its leaf's range: then the index no longer
                // says where it is, and the directory is rebuilt in pass 3A as e2fsck does
                // (read linearly until then). A name fixed in place that still hashes into its
                // leaf keeps the index. (Duplicates are renamed in the rebuild: Ext2CheckDupNames.cs.)
                Note(Pass2, Ino(dir), $"hash-tree index to be rebuilt ({moved}); the directory is rebuilt");
                din.Flags &= ~Ext2Dinode.FlagIndex;
                _v.WriteInode(dir, din);
                _rehash.Add(dir);
            }
        }
    }

    private void CheckDirBlock(uint dir, uint logical, ulong phys, bool indexed, uint seed, bool rebuild)
    {
        if (_v.Read(phys, out byte[] b) != Errno.OK)
        {
            Error(Pass2, Ino(dir), $"cannot read directory block {phys}", fixable: false);
            return;
        }
        int bs = _v.BlockSize;
        if (rebuild)
        {
            // Pass 3A writes every block of this directory afresh, tails and checksums with
            // it, so only the records count here (e2fsck skips checksum complaints for a
            // directory it will rehash). The old root and interior nodes read as '.' and '..'
            // and as one empty record. Should the rebuild fail, pass 3A seals the blocks.
            int end = _v.MetadataCsum && Ext2DirEntry.HasTail(b) ? bs - Ext2DirEntry.TailSize : bs;
            if (CheckEntries(dir, logical, b, end) && _repair)
            {
                _v.Write(phys, b);
            }
            return;
        }
        bool dxNode = indexed && logical != 0 && Ext2DirEntry.Inode(b, 0) == 0 && Ext2DirEntry.RecLen(b, 0) == bs;
        bool changed = false;
        if (dxNode)
        {
            changed = CheckDxChecksum(dir, logical, b, Ext2DxNode.NodeEntries, seed);
        }
        else
        {
            bool tail = false;
            if (_v.MetadataCsum && !(indexed && logical == 0))
            {
                tail = Ext2DirEntry.HasTail(b);
                if (!tail)
                {
                    // Made room for one under repair, else read without (no room: pass 3A rebuilds the directory).
                    tail = AddMissingTail(dir, logical, b, rebuildWhenFull: true);
                    changed |= tail;
                }
                else if (Ext2DirEntry.StoredTailChecksum(b) != Ext2DirEntry.TailChecksum(b, seed))
                {
                    Error(Pass2, $"{Ino(dir)} block {logical}", "directory block checksum does not match; recomputed");
                    changed = true;
                }
            }
            changed |= CheckEntries(dir, logical, b, tail ? bs - Ext2DirEntry.TailSize : bs);
            if (indexed && logical == 0 && _v.MetadataCsum)
            {
                changed |= CheckDxChecksum(dir, logical, b, Ext2DxNode.RootOff.Entries, seed);
            }
            if (changed && _repair && tail)
            {
                Ext2DirEntry.WriteTail(b, seed);
            }
        }
        if (changed && _repair)
        {
            _v.Write(phys, b);
        }
    }

    /// <summary>
    /// A metadata_csum leaf block without a tail: make room from the last record's slack, as
    /// e2fsck does; true when room was made (the caller writes the tail). With no slack and
    /// <paramref name="rebuildWhenFull"/>, the directory goes to pass 3A, whose blocks leave
    /// room for a tail (e2fsck's rehash of a leaf with no space for its checksum).
    /// </summary>
    private bool AddMissingTail(uint dir, uint logical, byte[] b, bool rebuildWhenFull)
    {
        int bs = _v.BlockSize;
        int off = 0;
        int last = -1;
        while (off + Ext2DirEntry.HeaderSize <= bs)
        {
            int rl = Ext2DirEntry.RecLen(b, off);
            if (rl < 12 || off + rl > bs)
            {
                break;
            }
            last = off;
            off += rl;
        }
        bool room = false;
        if (last >= 0 && off == bs)
        {
            int need = Ext2DirEntry.Inode(b, last) == 0 ? 12 : Ext2DirEntry.Needed(Ext2DirEntry.NameLen(b, last, _v.Filetype));
            room = Ext2DirEntry.RecLen(b, last) - need >= Ext2DirEntry.TailSize;
        }
        if (!room && rebuildWhenFull)
        {
            Error(Pass2, $"{Ino(dir)} block {logical}", "directory block has no checksum tail and no room for one; "
                + (_repair ? "the directory is rebuilt" : "the directory would be rebuilt"));
            if (_repair)
            {
                _rehash.Add(dir);
            }
            return false;
        }
        Error(Pass2, $"{Ino(dir)} block {logical}", "directory block has no checksum tail", fixable: room);
        if (room && _repair)
        {
            Ext2DirEntry.SetRecLen(b, last, Ext2DirEntry.RecLen(b, last) - Ext2DirEntry.TailSize);
            return true;
        }
        return false;
    }

    private bool CheckDxChecksum(uint dir, uint logical, byte[] b, int entriesOff, uint seed)
    {
        if (!_v.MetadataCsum)
        {
            return false;
        }
        (int limit, int count) = Ext2DxNode.CountLimit(b, entriesOff);
        if (count > limit || entriesOff + (limit * Ext2DxNode.EntrySize) + Ext2DxNode.TailSize > b.Length)
        {
            Error(Pass2, $"{Ino(dir)} block {logical}", $"hash-tree node has count {count} and limit {limit}", fixable: false);
            return false;
        }
        uint want = Ext2DxNode.Checksum(b, entriesOff, count, limit, seed);
        if (Ext2DxNode.StoredChecksum(b, entriesOff, limit) == want)
        {
            return false;
        }
        Error(Pass2, $"{Ino(dir)} block {logical}", "hash-tree node checksum does not match; recomputed");
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(entriesOff + (limit * Ext2DxNode.EntrySize) + 4), want);
        return true;
    }

    /// <summary>Check the records of one leaf block up to <paramref name="limit"/>; true when a repair changed it.</summary>
    private bool CheckEntries(uint dir, uint logical, byte[] b, int limit)
    {
        bool changed = false;
        bool ft = _v.Filetype;
        int off = 0;
        int prev = -1;
        int index = 0;
        string where = $"{Ino(dir)} block {logical}";
        while (off < limit)
        {
            int rl = off + Ext2DirEntry.HeaderSize <= limit ? Ext2DirEntry.RecLen(b, off) : 0;
            int nl = rl > 0 ? Ext2DirEntry.NameLen(b, off, ft) : 0;
            if (rl < 12 || (rl & 3) != 0 || off + rl > limit || Ext2DirEntry.HeaderSize + nl > rl)
            {
                Error(Pass2, where, $"corrupt directory entry at offset {off} (rec_len {rl}, name_len {nl}); the rest of the block is dropped");
                if (logical == 0 && index < 2)
                {
                    RebuildDots(dir, b, limit, index);
                }
                else if (prev >= 0)
                {
                    Ext2DirEntry.SetRecLen(b, prev, limit - prev);
                }
                else
                {
                    Ext2DirEntry.SetInode(b, 0, 0);
                    Ext2DirEntry.SetRecLen(b, 0, limit);
                }
                return true;
            }
            uint ino = Ext2DirEntry.Inode(b, off);
            bool keep = true;
            if (logical == 0 && index < 2)
            {
                keep = CheckDotEntry(dir, b, off, index, ref changed);
                // Splitting an oversized "." or making ".." room changes the record's length.
                rl = Ext2DirEntry.RecLen(b, off);
            }
            else if (ino != 0)
            {
                keep = CheckEntry(dir, where, b, off, nl, ref changed);
            }
            if (!keep)
            {
                changed = true;
                if (prev >= 0)
                {
                    Ext2DirEntry.SetRecLen(b, prev, Ext2DirEntry.RecLen(b, prev) + rl);
                    off += rl;
                    index++;
                    continue;
                }
                Ext2DirEntry.SetInode(b, off, 0);
            }
            prev = off;
            off += rl;
            index++;
        }
        return changed;
    }

    /// <summary>"." (index 0) and ".." (index 1) of a directory's first block.</summary>
    private bool CheckDotEntry(uint dir, byte[] b, int off, int index, ref bool changed)
    {
        int nl = Ext2DirEntry.NameLen(b, off, _v.Filetype);
        ReadOnlySpan<byte> name = Ext2DirEntry.Name(b, off, nl);
        uint ino = Ext2DirEntry.Inode(b, off);
        string want = index == 0 ? "." : "..";
        if (!name.SequenceEqual(index == 0 ? "."u8 : ".."u8) || ino == 0)
        {
            MakeDot(dir, b, off, index, ref changed);
            return true;
        }
        if (index == 0 && Ext2DirEntry.RecLen(b, off) > 2 * DotRecLen)
        {
            // e2fsck's "Directory entry for '.' is big": the rest becomes "..", which must follow.
            int rest = Ext2DirEntry.RecLen(b, off) - DotRecLen;
            Error(Pass2, Ino(dir), $"'.' entry is too big (rec_len {rest + DotRecLen}); split, and '..' made in the rest");
            if (_repair)
            {
                Ext2DirEntry.SetRecLen(b, off, DotRecLen);
                WriteDotDotPlaceholder(b, off + DotRecLen, rest);
                _dotdot[dir] = 0;
                _dotdotAt[dir] = (ulong)(off + DotRecLen);
                changed = true;
            }
        }
        if (_v.Filetype && Ext2DirEntry.FileType(b, off, true) != 2)
        {
            Error(Pass2, Ino(dir), $"'{want}' entry has file type {Ext2DirEntry.FileType(b, off, true)}, should be 2");
            Ext2DirEntry.SetFileType(b, off, 2, true);
            changed = true;
        }
        int after = off + Ext2DirEntry.HeaderSize + want.Length;
        if (b[after] != 0)
        {
            // e2fsck's "directory entry is not NULL terminated": only the byte right after the name.
            Error(Pass2, Ino(dir), $"'{want}' entry is not NUL-terminated (byte 0x{b[after]:x2} after the name); set to 0");
            b[after] = 0;
            changed = true;
        }
        if (index == 0)
        {
            if (ino != dir)
            {
                Error(Pass2, Ino(dir), $"'.' names inode {ino}, should be {dir}");
                Ext2DirEntry.SetInode(b, off, dir);
                changed = true;
            }
            _refs[dir]++;
            return true;
        }
        // ".." is counted in pass 3, once it is known to be right.
        _dotdot[dir] = ino <= _v.InodesCount && _inUse[(int)ino] && _type[ino] == 2 ? ino : 0;
        _dotdotAt[dir] = (ulong)off;
        return true;
    }

    private readonly Dictionary<uint, ulong> _dotdotAt = [];

    /// <summary>The record length of "." (and of ".." before the entries that follow it).</summary>
    private const int DotRecLen = 12;

    /// <summary>
    /// A ".." whose parent pass 3 fills in. It names the root meanwhile, as in e2fsck: a
    /// record naming inode 0 would read as free room to a repair that adds an entry
    /// (lost+found) before pass 3 runs.
    /// </summary>
    private void WriteDotDotPlaceholder(byte[] b, int off, int recLen) =>
        Ext2DirEntry.Write(b, off, RootIno, recLen, ".."u8, 2, _v.Filetype);

    /// <summary>
    /// The first record of a directory is not "." (<paramref name="index"/> 0), or the second
    /// not ".." (1): it becomes one, as e2fsck makes it. A live entry there moves down within
    /// its record when the record has room for both, never in an indexed directory, whose
    /// ".." record holds the index root; otherwise it is overwritten in place and pass 4 takes
    /// its inode to lost+found. Room left after a new "." becomes an empty record, where ".."
    /// is made next.
    /// </summary>
    private void MakeDot(uint dir, byte[] b, int off, int index, ref bool changed)
    {
        bool dotDot = index == 1;
        int rl = Ext2DirEntry.RecLen(b, off);
        uint ino = Ext2DirEntry.Inode(b, off);
        int nl = Ext2DirEntry.NameLen(b, off, _v.Filetype);
        bool live = ino != 0 && nl > 0;
        bool movable = live && !_dirIndexed && rl >= DotRecLen + Ext2DirEntry.Needed(nl);
        string displaced = !live ? "" : movable ? "; the entry there moves down" : $"; the entry there (inode {ino}) is overwritten";
        Error(Pass2, Ino(dir), $"missing '{(dotDot ? ".." : ".")}' entry; made" + displaced);
        if (dotDot)
        {
            _dotdot[dir] = 0;
            _dotdotAt[dir] = (ulong)off;
        }
        else
        {
            _refs[dir]++;
        }
        if (!_repair)
        {
            if (movable)
            {
                // Under -y it moves down and is checked there; counted here all the same.
                CheckEntry(dir, $"{Ino(dir)} block 0", b, off, nl, ref changed);
            }
            return;
        }
        int recLen = rl;
        if (movable)
        {
            byte[] entry = b.AsSpan(off, Ext2DirEntry.HeaderSize + nl).ToArray();
            entry.CopyTo(b, off + DotRecLen);
            Ext2DirEntry.SetRecLen(b, off + DotRecLen, rl - DotRecLen);
            recLen = DotRecLen;
        }
        else if (!dotDot && rl >= 2 * DotRecLen)
        {
            Ext2DirEntry.Write(b, off + DotRecLen, 0, rl - DotRecLen, ReadOnlySpan<byte>.Empty, 0, _v.Filetype);
            recLen = DotRecLen;
        }
        if (dotDot)
        {
            WriteDotDotPlaceholder(b, off, recLen);
        }
        else
        {
            Ext2DirEntry.Write(b, off, dir, recLen, "."u8, 2, _v.Filetype);
        }
        changed = true;
    }

    /// <summary>"." or ".." itself is corrupt: write both afresh over the block; pass 3 fills in "..".</summary>
    private void RebuildDots(uint dir, byte[] b, int limit, int index)
    {
        Ext2DirEntry.Write(b, 0, dir, DotRecLen, "."u8, 2, _v.Filetype);
        WriteDotDotPlaceholder(b, DotRecLen, limit - DotRecLen);
        if (index == 0)
        {
            _refs[dir]++;
        }
        _dotdot[dir] = 0;
        _dotdotAt[dir] = DotRecLen;
    }

    private bool CheckEntry(uint dir, string where, byte[] b, int off, int nl, ref bool changed)
    {
        uint ino = Ext2DirEntry.Inode(b, off);
        ReadOnlySpan<byte> name = Ext2DirEntry.Name(b, off, nl);
        // The name as shown in findings, made only when there is one (most entries are clean);
        // the first finding caches it before any repair of the name.
        string? shownCache = null;
        string Shown() => shownCache ??= NameEncoding.GetString(Ext2DirEntry.Name(b, off, nl));
        if (ino > _v.InodesCount || (ino < Sb.FirstIno && ino != RootIno) || IsHiddenSpecialFile(ino))
        {
            Error(Pass2, where, $"entry '{Shown()}' has bad inode number {ino}; removed");
            return false;
        }
        if (!_inUse[(int)ino])
        {
            Error(Pass2, where, $"entry '{Shown()}' names unused inode {ino}; removed");
            return false;
        }
        if (nl == 0 || name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
        {
            Error(Pass2, where, $"entry '{Shown()}' (inode {ino}) has an empty or duplicate dot name; removed");
            return false;
        }
        if (name.IndexOfAny((byte)'/', (byte)0) >= 0)
        {
            Error(Pass2, where, $"entry '{Shown()}' has '/' or NUL in its name; replaced with '.'");
            if (_repair)
            {
                _nameRewritten = true;
                for (int i = 0; i < nl; i++)
                {
                    if (b[off + Ext2DirEntry.Off.Name + i] is (byte)'/' or 0)
                    {
                        b[off + Ext2DirEntry.Off.Name + i] = (byte)'.';
                    }
                }
                changed = true;
            }
        }
        byte type = _type[ino];
        if (dir == RootIno && type != 2 && name.SequenceEqual("lost+found"u8))
        {
            _lostFoundNotDir = ino;
        }
        if (_v.Filetype && Ext2DirEntry.FileType(b, off, true) != type)
        {
            Error(Pass2, where, $"entry '{Shown()}' (inode {ino}) has file type {Ext2DirEntry.FileType(b, off, true)}, should be {type}");
            Ext2DirEntry.SetFileType(b, off, type, true);
            changed = true;
        }
        if (!CheckDuplicateName(where, b, off, nl, ref changed))
        {
            return false;
        }
        if (type == 2)
        {
            if (ino == RootIno || _parent[ino] != 0)
            {
                Error(Pass2, where, $"entry '{Shown()}' is a second link to directory {ino}; removed");
                return false;
            }
            _parent[ino] = dir;
            if (dir == RootIno && name.SequenceEqual("lost+found"u8))
            {
                // An inline lost+found cannot grow as reconnections need: pass 3 replaces it.
                if (_inlineDirs.Contains(ino))
                {
                    _lostFoundInline = ino;
                }
                else
                {
                    _lostFound = ino;
                }
            }
        }
        _refs[ino]++;
        return true;
    }

    /// <summary>An inline directory: the parent's number, then records in the rest of i_block.</summary>
    private void CheckInlineDirectory(uint dir)
    {
        if (_v.ReadInode(dir, out Ext2Dinode din) != Errno.OK)
        {
            return;
        }
        byte[] area = din.BlockBytes.ToArray();
        StartDirectoryNames(dir);
        _refs[dir]++;
        uint parent = BinaryPrimitives.ReadUInt32LittleEndian(area);
        _dotdot[dir] = parent <= _v.InodesCount && _inUse[(int)parent] && _type[parent] == 2 ? parent : 0;
        int off = 4;
        string where = $"{Ino(dir)} inline";
        bool changed = false;
        while (off + Ext2DirEntry.HeaderSize <= area.Length)
        {
            int rl = Ext2DirEntry.RecLen(area, off);
            int nl = Ext2DirEntry.NameLen(area, off, _v.Filetype);
            if (rl < Ext2DirEntry.HeaderSize || (rl & 3) != 0 || off + rl > area.Length || Ext2DirEntry.HeaderSize + nl > rl)
            {
                // e2fsck salvages the inline area as it salvages a block: what cannot be read
                // becomes one empty record (its names are lost; their inodes reach lost+found).
                Error(Pass2, where, $"corrupt inline directory entry at offset {off}; the rest of the inline area made an empty record");
                area.AsSpan(off).Clear();
                Ext2DirEntry.SetRecLen(area, off, area.Length - off);
                changed = true;
                break;
            }
            if (Ext2DirEntry.Inode(area, off) != 0 && !CheckEntry(dir, where, area, off, nl, ref changed))
            {
                Ext2DirEntry.SetInode(area, off, 0);
                changed = true;
            }
            off += rl;
        }
        if (din.Size < Ext2Dinode.BlockArea)
        {
            // The inline area alone is 60 bytes (e2fsck: "i_size is N, should be 60").
            Error(Pass2, where, $"inline directory size is {din.Size}, should be {Ext2Dinode.BlockArea}");
            din.Size = Ext2Dinode.BlockArea;
            changed = true;
        }
        if (changed && _repair)
        {
            area.CopyTo(din.BlockBytes);
            _v.WriteInode(dir, din);
        }
    }
}
