using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// The hash-tree index of a dir_index directory, as e2fsck's pass 2 checks it: the root's
/// info (hash version, info length, depth), count and limit of every node, hashes in order,
/// every index pointing at a block of the directory once, every leaf's names hashing inside
/// the range its index entry gives, and no block left out. Under repair a bad index is
/// cleared at once and the directory written again in pass 3A (Ext2CheckRehash.cs).
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private const uint MaxDxHash = 0xFFFFFFFF;

    /// <summary>The superblock's s_hash_seed as the directory hashes take it.</summary>
    private uint[] DirHashSeed => [Sb.HashSeed(0), Sb.HashSeed(1), Sb.HashSeed(2), Sb.HashSeed(3)];

    private sealed class HtreeWalk(Dictionary<uint, ulong> map, int version, uint[] seed, uint csumSeed)
    {
        public Dictionary<uint, ulong> Map { get; } = map;
        public int Version { get; } = version;
        public uint[] Seed { get; } = seed;
        public uint CsumSeed { get; } = csumSeed;
        public HashSet<uint> Referenced { get; } = [0];
    }

    /// <summary>A directory whose names carry their hash (casefolded and encrypted): its index hashes with siphash.</summary>
    private const uint HashInDirentFlags = 0x40000000 | 0x800;

    /// <summary>The root-info flag bit a reader must understand (EXT2_HASH_FLAG_INCOMPAT); none is defined.</summary>
    private const byte RootFlagIncompat = 0x1;

    /// <summary>The hash version of siphash, stored only for directories whose names carry their hash.</summary>
    private const int HashSiphash = 6;

    /// <summary>Null when the index is sound, else what is wrong.</summary>
    private string? ValidateHtree(List<(uint Logical, ulong Physical)> blocks, uint inodeFlags, uint csumSeed)
    {
        if (blocks.Count == 0 || blocks[0].Logical != 0 || _v.Read(blocks[0].Physical, out byte[] root) != Errno.OK)
        {
            return "no root block";
        }
        int version = root[Ext2DxNode.RootOff.HashVersion];
        int infoLen = root[Ext2DxNode.RootOff.InfoLength];
        int levels = root[Ext2DxNode.RootOff.IndirectLevels];
        int maxLevels = (Sb.FeatureIncompat & Ext2Features.IncompatLargeDir) != 0 ? 3 : 2;
        if (Ext2DirEntry.Inode(root, 0) == 0 || Ext2DirEntry.RecLen(root, 0) != 12
            || Ext2DirEntry.RecLen(root, 12) != _v.BlockSize - 12)
        {
            return "the root block does not hold '.' and '..' over the whole block";
        }
        if (System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(root.AsSpan(Ext2DxNode.RootOff.ReservedZero)) != 0
            || infoLen != 8 || levels >= maxLevels)
        {
            return $"bad root info (info length {infoLen}, {levels} indirect levels)";
        }
        // As e2fsck's pass 1: legacy, half_md4 and TEA are stored as such (the unsigned variants
        // come from the superblock's flag, never from the root); siphash belongs to a directory
        // whose names carry their hash, and to no other.
        bool hashInDirent = (inodeFlags & HashInDirentFlags) == HashInDirentFlags;
        if (hashInDirent ? version != HashSiphash : version > Ext2Htree.HashTea)
        {
            return $"unsupported hash version {version} for this directory";
        }
        if ((root[Ext2DxNode.RootOff.UnusedFlags] & RootFlagIncompat) != 0)
        {
            return "the root carries an incompatible flag";
        }
        if (hashInDirent)
        {
            // A hash this checker does not compute: only the shape is checked.
            version = -1;
        }
        else if ((Sb.Flags & Ext2Superblock.FlagUnsignedHash) != 0)
        {
            version += 3;
        }
        var map = new Dictionary<uint, ulong>();
        foreach ((uint l, ulong p) in blocks)
        {
            map[l] = p;
        }
        uint[] seed = DirHashSeed;
        var walk = new HtreeWalk(map, version, seed, csumSeed);
        string? why = WalkDxNode(walk, root, Ext2DxNode.RootOff.Entries, levels, 0, MaxDxHash, isRoot: true);
        if (why is not null)
        {
            return why;
        }
        foreach (uint l in map.Keys)
        {
            if (!walk.Referenced.Contains(l))
            {
                return $"block {l} is not referenced by the index";
            }
        }
        return null;
    }

    private string? WalkDxNode(HtreeWalk walk, byte[] node, int entriesOff, int level, uint minHash, uint maxHash, bool isRoot)
    {
        (int limit, int count) = Ext2DxNode.CountLimit(node, entriesOff);
        int want = (_v.BlockSize - entriesOff - (_v.MetadataCsum ? Ext2DxNode.TailSize : 0)) / Ext2DxNode.EntrySize;
        if (limit != want || count == 0 || count > limit)
        {
            return $"{(isRoot ? "root" : "node")} has count {count} and limit {limit} (limit should be {want})";
        }
        if (_v.MetadataCsum && Ext2DxNode.StoredChecksum(node, entriesOff, limit) != Ext2DxNode.Checksum(node, entriesOff, count, limit, walk.CsumSeed))
        {
            // e2fsck clears an index whose node fails its checksum and rebuilds the directory.
            return $"{(isRoot ? "root" : "node")} checksum does not match";
        }
        uint prev = minHash;
        for (int i = 0; i < count; i++)
        {
            uint lo = i == 0 ? minHash : Ext2DxNode.Hash(node, entriesOff, i) & ~1u;
            uint hi = i + 1 < count ? Ext2DxNode.Hash(node, entriesOff, i + 1) & ~1u : maxHash;
            if (lo < prev)
            {
                return $"hashes out of order at index entry {i}";
            }
            prev = lo;
            uint blk = Ext2DxNode.Block(node, entriesOff, i) & 0x0FFFFFFF;
            if (!walk.Map.TryGetValue(blk, out ulong phys) || !walk.Referenced.Add(blk))
            {
                return $"index entry {i} names block {blk}, which is not a block of the directory or is named twice";
            }
            if (_v.Read(phys, out byte[] child) != Errno.OK)
            {
                return $"cannot read block {blk}";
            }
            string? why = level > 0
                ? (!IsIndexNode(child)
                    ? $"interior block {blk} is not an index node"
                    : WalkDxNode(walk, child, Ext2DxNode.NodeEntries, level - 1, lo, hi, isRoot: false))
                : CheckLeafHashes(walk, child, blk, lo, hi);
            if (why is not null)
            {
                return why;
            }
        }
        return null;
    }

    /// <summary>
    /// An interior node as e2fsck tells one: a record of inode 0 over the whole block with no
    /// name (pass 2 reads any other as a leaf). Under metadata_csum the file-type byte must be
    /// zero too: libext2fs finds the dx_tail only when the whole 16-bit name field is.
    /// </summary>
    private bool IsIndexNode(byte[] b) =>
        Ext2DirEntry.Inode(b, 0) == 0 && Ext2DirEntry.RecLen(b, 0) == _v.BlockSize
        && b[Ext2DirEntry.Off.NameLen] == 0 && (!_v.MetadataCsum || b[Ext2DirEntry.Off.FileType] == 0);

    /// <summary>
    /// A name as pass 2 leaves it: '/' and NUL become '.' (e2fsck's check_name). The index is
    /// judged by the names it will hold, as e2fsck hashes a name after fixing it; a fixed name
    /// that then falls outside its leaf's range has the directory rebuilt after its scan.
    /// </summary>
    private static ReadOnlySpan<byte> NameAsRepaired(ReadOnlySpan<byte> name)
    {
        if (name.IndexOfAny((byte)'/', (byte)0) < 0)
        {
            return name;
        }
        byte[] fixedName = name.ToArray();
        fixedName.AsSpan().Replace((byte)'/', (byte)'.');
        fixedName.AsSpan().Replace((byte)0, (byte)'.');
        return fixedName;
    }

    private string? CheckLeafHashes(HtreeWalk walk, byte[] b, uint blk, uint lo, uint hi)
    {
        if (walk.Version < 0)
        {
            return null;
        }
        int limit = _v.MetadataCsum && Ext2DirEntry.HasTail(b) ? b.Length - Ext2DirEntry.TailSize : b.Length;
        int off = 0;
        while (off + Ext2DirEntry.HeaderSize <= limit)
        {
            int rl = Ext2DirEntry.RecLen(b, off);
            int nl = Ext2DirEntry.NameLen(b, off, _v.Filetype);
            if (rl < 12 || off + rl > limit || Ext2DirEntry.HeaderSize + nl > rl)
            {
                // A corrupt record is pass 2's to report.
                return null;
            }
            if (Ext2DirEntry.Inode(b, off) != 0)
            {
                long h = Ext2Htree.Hash(NameAsRepaired(Ext2DirEntry.Name(b, off, nl)), walk.Version, walk.Seed);
                if (h >= 0 && ((uint)h < lo || (uint)h > hi))
                {
                    return $"leaf block {blk} holds a name hashing to 0x{h:x8}, outside 0x{lo:x8}-0x{hi:x8}";
                }
            }
            off += rl;
        }
        return null;
    }
}
