using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Pass 3A, e2fsck's "Optimizing directories" (rehash.c): a directory pass 2 found needing it
/// (a bad hash-tree index, a rewritten name outside its leaf's hash range, a leaf block with
/// no room for its checksum tail) is written again from its live names. It runs after pass 3, so that
/// names pass 3 added (lost+found, reconnected directories) are in it, and before pass 4,
/// whose reconnections then go into the leaf the new index selects.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private const string Pass3A = "rebuild";

    /// <summary>Directories pass 2 marked under repair, to rebuild (e2fsck's dirs_to_hash).</summary>
    private readonly SortedSet<uint> _rehash = [];

    /// <summary>Every directory is rewritten (e2fsck -D), not only those marked.</summary>
    private readonly bool _optimizeAll;

    /// <summary>Directories rewritten only to optimise them, counted for one note instead of one each.</summary>
    private int _optimized;

    private void RebuildDirectories()
    {
        foreach (uint dir in DirectoriesToRebuild())
        {
            if (!_inUse[(int)dir] || _type[dir] != 2 || !_dirs.ContainsKey(dir) || _inlineDirs.Contains(dir))
            {
                continue;
            }
            bool announce = _rehash.Contains(dir);
            string? why = RebuildDirectory(dir, allowIndex: true, announce);
            if (why is null)
            {
                _optimized += announce ? 0 : 1;
                continue;
            }
            string? linear = RebuildDirectory(dir, allowIndex: false, announce: true);
            if (linear is null)
            {
                Note(Pass3A, Ino(dir), $"cannot index the directory again ({why}); written as a linear directory");
                continue;
            }
            // The blocks stay as passes 2 and 3 left them, read linearly; the root and interior
            // nodes become plain leaves, and every block gets the tail pass 2 left to the rebuild.
            if (_v.ReadInode(dir, out Ext2Dinode din) == Errno.OK)
            {
                DropIndex(dir, din, _dirs[dir]);
                SealLeaves(dir, din);
            }
            Note(Pass3A, Ino(dir), $"cannot rebuild the directory ({linear}); left without an index");
        }
        if (_optimized > 0)
        {
            Note(Pass3A, "-", _optimizeAll
                ? $"{_optimized} directories optimised: each written afresh from its names (as e2fsck -D)"
                : $"{_optimized} directories of three blocks or more without an index were indexed (as e2fsck does under repair)");
        }
    }

    /// <summary>
    /// In inode order: every directory under -D; else those pass 2 marked and, under repair
    /// with dir_index, as e2fsck's pass 1 adds them, each one of three blocks or more without
    /// an index (lost+found aside), which e2fsck indexes whenever it repairs.
    /// </summary>
    private IEnumerable<uint> DirectoriesToRebuild()
    {
        if (_optimizeAll)
        {
            return [.. _dirs.Keys.Order()];
        }
        if (!_repair || !_v.DirIndex)
        {
            return [.. _rehash];
        }
        var dirs = new SortedSet<uint>(_rehash);
        foreach ((uint dir, List<(uint Logical, ulong Physical)> _) in _dirs)
        {
            if (dir != _lostFound && !_inlineDirs.Contains(dir) && _v.ReadInode(dir, out Ext2Dinode din) == Errno.OK
                && (din.Flags & Ext2Dinode.FlagIndex) == 0 && din.Size / _v.BlockSize >= 3)
            {
                dirs.Add(dir);
            }
        }
        return dirs;
    }

    /// <summary>
    /// Write <paramref name="dir"/> afresh, indexed when it allows and needs one; null when
    /// done, else why not (nothing is changed then, except blocks added to the end).
    /// </summary>
    private string? RebuildDirectory(uint dir, bool allowIndex, bool announce)
    {
        List<(uint Logical, ulong Physical)> blocks = _dirs[dir];
        blocks.Sort();
        if (blocks.Count == 0)
        {
            return "it has no blocks";
        }
        for (int i = 0; i < blocks.Count; i++)
        {
            if (blocks[i].Logical != i)
            {
                return $"it has a hole before block {blocks[i].Logical}";
            }
        }
        if (_v.ReadInode(dir, out Ext2Dinode din) != Errno.OK)
        {
            return "its inode cannot be read";
        }
        if (ReadLiveEntries(blocks, out RehashEntry dot, out RehashEntry dotDot, out List<RehashEntry> names) is string bad)
        {
            return bad;
        }
        if (_duplicatesToRename.Contains(dir))
        {
            RenameDuplicates(dir, names);
        }
        int bs = _v.BlockSize;
        int size = names.Sum(e => Ext2DirEntry.Needed(e.Name.Length));
        // e2fsck indexes a directory of two blocks or more whose names would not fit beside
        // '.' and '..' (and the 24 bytes they take) in one block; any other is written linear.
        bool index = allowIndex && _v.DirIndex && din.Size / bs >= 2 && size >= bs - 24;
        var layout = new Ext2RehashLayout(bs, _v.MetadataCsum, _v.Filetype, Ext2Dinode.InodeSeed(_v.CsumSeed, dir, din.Generation));
        RehashImage image;
        if (index)
        {
            // Hashed with the superblock's default version, which the new root records, as
            // e2fsck does: the old root's version may be the damaged byte.
            int version = Sb.DefHashVersion;
            int hv = version <= Ext2Htree.HashTea && (Sb.Flags & Ext2Superblock.FlagUnsignedHash) != 0 ? version + 3 : version;
            if (hv > Ext2Htree.HashTeaUnsigned)
            {
                return $"the superblock's default hash version {version} is not one this checker computes";
            }
            uint[] seed = DirHashSeed;
            List<RehashEntry> hashed = [.. names.Select(e => Ext2Htree.Hashes(e.Name, hv, seed, out uint major, out uint minor)
                ? e with { Hash = major, MinorHash = minor } : e)];
            hashed.Sort(HashOrder);
            int maxIndirect = (Sb.FeatureIncompat & Ext2Features.IncompatLargeDir) != 0 ? 2 : 1;
            RehashImage? indexed = layout.Indexed(dir, dotDot.Ino, (byte)version, hashed, maxIndirect);
            if (indexed is null)
            {
                return $"{names.Count} names need more than {maxIndirect} levels of interior nodes";
            }
            image = indexed;
        }
        else
        {
            // In inode order, as e2fsck sorts a directory it does not index.
            names.Sort((a, b) => a.Ino != b.Ino ? a.Ino.CompareTo(b.Ino) : CompareNames(a.Name, b.Name));
            image = layout.Linear([dot, dotDot, .. names]);
        }
        return WriteRebuilt(dir, din, blocks, image, index, names.Count, announce);
    }

    /// <summary>Store the images over the directory's blocks (growing it when short), release the rest, and update the inode.</summary>
    private string? WriteRebuilt(uint dir, Ext2Dinode din, List<(uint Logical, ulong Physical)> blocks, RehashImage image,
        bool index, int nameCount, bool announce)
    {
        int bs = _v.BlockSize;
        int need = image.Blocks.Count;
        int had = blocks.Count;
        while (blocks.Count < need)
        {
            if (AppendEmptyBlock(dir, din, blocks) == 0)
            {
                din.Size = (long)blocks.Count * bs;
                _v.WriteInode(dir, din);
                return $"it needs {need} blocks and cannot grow past {blocks.Count}";
            }
        }
        for (int i = 0; i < need; i++)
        {
            _v.Write(blocks[i].Physical, image.Blocks[i]);
        }
        int released = 0;
        if (blocks.Count > need)
        {
            if (!index && dir == _lostFound)
            {
                // e2fsck keeps lost+found's blocks, empty, for the next reconnections (only
                // when linear: an indexed directory may hold no block its index does not name).
                for (int i = need; i < blocks.Count; i++)
                {
                    _v.Write(blocks[i].Physical, EmptyLeaf(dir, din));
                }
            }
            else if (ReleaseBlocksFrom(dir, din, (uint)need, out released))
            {
                blocks.RemoveRange(need, blocks.Count - need);
            }
            else
            {
                // A mapping block went unreadable since pass 1: what is left stays, empty.
                Error(Pass3A, Ino(dir), $"cannot release the directory's blocks past block {need - 1}", fixable: false);
                for (int i = need; i < blocks.Count; i++)
                {
                    _v.Write(blocks[i].Physical, EmptyLeaf(dir, din));
                }
            }
        }
        din.Flags = index ? din.Flags | Ext2Dinode.FlagIndex : din.Flags & ~Ext2Dinode.FlagIndex;
        din.Size = (long)blocks.Count * bs;
        _v.WriteInode(dir, din);
        _dotdotAt[dir] = DotRecLen;
        string shape = index
            ? $"{image.Leaves} leaf blocks under {(image.IndirectLevels == 0 ? "the root" : $"{image.IndirectLevels} level(s) of interior nodes")}"
            : $"{image.Leaves} block(s), linear";
        string growth = need > had ? $"; grown by {need - had} block(s)" : released > 0 ? $"; {released} block(s) released" : "";
        if (announce)
        {
            Note(Pass3A, Ino(dir), $"directory rebuilt: {nameCount} names in {shape}{growth}");
        }
        return null;
    }

    /// <summary>
    /// Every live record of the directory: '.' and '..' (the first two of block 0, as pass 2
    /// left them) and the names. Null when all were read, else why not.
    /// </summary>
    private string? ReadLiveEntries(List<(uint Logical, ulong Physical)> blocks, out RehashEntry dot, out RehashEntry dotDot,
        out List<RehashEntry> names)
    {
        dot = dotDot = default;
        names = [];
        bool ft = _v.Filetype;
        foreach ((uint logical, ulong phys) in blocks)
        {
            if (_v.Read(phys, out byte[] b) != Errno.OK)
            {
                return $"block {logical} cannot be read";
            }
            int off = 0;
            int index = 0;
            while (off < b.Length)
            {
                int rl = off + Ext2DirEntry.HeaderSize <= b.Length ? Ext2DirEntry.RecLen(b, off) : 0;
                int nl = rl > 0 ? Ext2DirEntry.NameLen(b, off, ft) : 0;
                if (rl < MinRecord || (rl & 3) != 0 || off + rl > b.Length || Ext2DirEntry.HeaderSize + nl > rl)
                {
                    return $"block {logical} has a corrupt record at offset {off}";
                }
                uint ino = Ext2DirEntry.Inode(b, off);
                var entry = new RehashEntry(Ext2DirEntry.Name(b, off, nl).ToArray(), ino, Ext2DirEntry.FileType(b, off, ft), 0);
                if (logical == 0 && index < 2)
                {
                    if (ino == 0 || !entry.Name.AsSpan().SequenceEqual(index == 0 ? "."u8 : ".."u8))
                    {
                        return "block 0 does not start with '.' and '..'";
                    }
                    if (index == 0)
                    {
                        dot = entry;
                    }
                    else
                    {
                        dotDot = entry;
                    }
                }
                else if (ino != 0 && nl > 0)
                {
                    names.Add(entry);
                }
                off += rl;
                index++;
            }
            if (logical == 0 && index < 2)
            {
                return "block 0 does not start with '.' and '..'";
            }
        }
        return null;
    }

    /// <summary>The smallest record length a block walk accepts (a header and a 1-4 byte name).</summary>
    private const int MinRecord = 12;

    /// <summary>e2fsck's order for a hash tree: hash, minor hash, then name bytes (a prefix first), then the higher inode first.</summary>
    private static int HashOrder(RehashEntry a, RehashEntry b) =>
        a.Hash != b.Hash ? a.Hash.CompareTo(b.Hash)
        : a.MinorHash != b.MinorHash ? a.MinorHash.CompareTo(b.MinorHash)
        : CompareNames(a.Name, b.Name) is int c and not 0 ? c
        : b.Ino.CompareTo(a.Ino);

    private static int CompareNames(byte[] a, byte[] b) => a.AsSpan().SequenceCompareTo(b);

    /// <summary>
    /// With metadata_csum, each block of a directory the rebuild had to leave gets what pass 2
    /// skipped for it: a checksum tail (room made from the last record's slack, or reported
    /// when there is none) and a checksum that matches.
    /// </summary>
    private void SealLeaves(uint dir, Ext2Dinode din)
    {
        if (!_v.MetadataCsum)
        {
            return;
        }
        uint seed = Ext2Dinode.InodeSeed(_v.CsumSeed, dir, din.Generation);
        foreach ((uint logical, ulong phys) in _dirs[dir])
        {
            if (_v.Read(phys, out byte[] b) != Errno.OK)
            {
                continue;
            }
            bool tail = Ext2DirEntry.HasTail(b);
            if (tail ? Ext2DirEntry.StoredTailChecksum(b) == Ext2DirEntry.TailChecksum(b, seed) : !AddMissingTail(dir, logical, b, rebuildWhenFull: false))
            {
                continue;
            }
            if (tail)
            {
                Error(Pass2, $"{Ino(dir)} block {logical}", "directory block checksum does not match; recomputed");
            }
            Ext2DirEntry.WriteTail(b, seed);
            _v.Write(phys, b);
        }
    }

    /// <summary>An empty leaf block of <paramref name="dir"/> (one free record, and the tail under metadata_csum).</summary>
    private byte[] EmptyLeaf(uint dir, Ext2Dinode din)
    {
        byte[] b = new byte[_v.BlockSize];
        Ext2DirEntry.SetRecLen(b, 0, _v.MetadataCsum ? b.Length - Ext2DirEntry.TailSize : b.Length);
        if (_v.MetadataCsum)
        {
            Ext2DirEntry.WriteTail(b, Ext2Dinode.InodeSeed(_v.CsumSeed, dir, din.Generation));
        }
        return b;
    }
}
