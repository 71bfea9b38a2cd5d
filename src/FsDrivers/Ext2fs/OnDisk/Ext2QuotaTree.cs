using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>One id's record in a quota file (v2r1_disk_dqblk): limits, usage and grace deadlines.</summary>
internal sealed record Ext2QuotaEntry(uint Id)
{
    public ulong InodeHardLimit { get; set; }
    public ulong InodeSoftLimit { get; set; }
    public ulong Inodes { get; set; }
    public ulong SpaceHardLimit { get; set; }
    public ulong SpaceSoftLimit { get; set; }

    /// <summary>Bytes in use.</summary>
    public ulong Space { get; set; }
    public ulong SpaceGraceEnd { get; set; }
    public ulong InodeGraceEnd { get; set; }

    /// <summary>Nothing in use and no limit: a record not worth keeping.</summary>
    public bool IsEmpty => Space == 0 && Inodes == 0 && InodeHardLimit == 0 && InodeSoftLimit == 0
        && SpaceHardLimit == 0 && SpaceSoftLimit == 0;

    /// <summary>
    /// Set the usage and the grace deadlines that follow from it, as e2fsprogs's
    /// update_grace_times does: a deadline starts (<paramref name="now"/> plus the file's
    /// <paramref name="grace"/> of its kind) when usage first passes a soft limit, stays
    /// while it does, and ends below it.
    /// </summary>
    public void SetUsage(ulong space, ulong inodes, ulong now, Ext2QuotaGrace grace)
    {
        Space = space;
        Inodes = inodes;
        bool overSpace = SpaceSoftLimit != 0 && ((space + 1023) >> 10) > SpaceSoftLimit;
        SpaceGraceEnd = !overSpace ? 0 : SpaceGraceEnd != 0 ? SpaceGraceEnd : now + grace.Space;
        bool overInodes = InodeSoftLimit != 0 && inodes > InodeSoftLimit;
        InodeGraceEnd = !overInodes ? 0 : InodeGraceEnd != 0 ? InodeGraceEnd : now + grace.Inodes;
    }
}

/// <summary>
/// The quota file format ext4 keeps in its hidden quota inodes (Linux's "vfsv1": a v2
/// header, version 1): block 0 holds the header and the info (grace times, block counts,
/// free lists), then a radix tree of 1 KiB blocks four levels deep indexed by the id's bytes,
/// most significant first, whose last level names data blocks of 72-byte records behind a
/// 16-byte header. <see cref="Build"/> lays a file out as e2fsprogs's quota code writes a
/// new one: ids inserted in ascending order, each new block appended.
/// </summary>
internal static class Ext2QuotaTree
{
    /// <summary>dqh_magic per type (user, group, project), Linux's quotaio_v2.h.</summary>
    public static readonly uint[] Magics = [0xd9c01f11, 0xd9c01927, 0xd9c03f14];

    public const int BlockSize = 1024;
    private const int TreeRoot = 1;
    private const int TreeDepth = 4;
    private const int DataHeaderSize = 16;
    private const int EntrySize = 72;
    private const int EntriesPerBlock = (BlockSize - DataHeaderSize) / EntrySize;
    private const uint VersionR1 = 1;

    /// <summary>
    /// The records of a quota file. Null when its header or info cannot be used (the
    /// reason in <paramref name="damage"/>); otherwise the records read, with
    /// <paramref name="damage"/> set when the walk stopped at a bad reference (past the
    /// file, or a tree block named twice or also used for records: a loop), as e2fsprogs's
    /// scan stops there, keeping what it read before.
    /// </summary>
    public static List<Ext2QuotaEntry>? Read(ReadOnlySpan<byte> file, int type, out string? damage) =>
        Read(file, type, out _, out damage);

    /// <summary>
    /// As <see cref="Read(ReadOnlySpan{byte}, int, out string?)"/>, with the file's info as
    /// it stands in <paramref name="info"/> (default when the file is too short or has no
    /// header of its type).
    /// </summary>
    public static List<Ext2QuotaEntry>? Read(ReadOnlySpan<byte> file, int type, out Ext2QuotaInfo info, out string? damage)
    {
        info = default;
        damage = null;
        if (file.Length < BlockSize * (TreeRoot + 1))
        {
            damage = $"it is {file.Length} bytes, too short for a quota file";
            return null;
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(file) != Magics[type] || BinaryPrimitives.ReadUInt32LittleEndian(file[4..]) != VersionR1)
        {
            damage = "it has no vfsv1 quota header of its type";
            return null;
        }
        info = Ext2QuotaInfo.Read(file);
        uint blocks = info.Blocks, freeBlk = info.FreeBlock, freeEntry = info.FreeEntry;
        long fileBlocks = (file.Length + BlockSize - 1) / BlockSize;
        if (blocks > fileBlocks || blocks <= TreeRoot || freeBlk >= blocks || freeEntry >= blocks)
        {
            damage = $"its info is inconsistent ({blocks} blocks, free lists at {freeBlk} and {freeEntry}, file of {fileBlocks})";
            return null;
        }
        var entries = new List<Ext2QuotaEntry>();
        var role = new BlockRole[blocks];
        role[0] = BlockRole.Tree;
        role[TreeRoot] = BlockRole.Tree;
        damage = ReadTree(file, blocks, TreeRoot, 0, role, entries);
        return entries;
    }

    private enum BlockRole : byte
    {
        Unseen,
        Tree,
        Data,
    }

    /// <summary>Walk tree block <paramref name="blk"/> at <paramref name="depth"/>; the damage met (the walk stops there), or null.</summary>
    private static string? ReadTree(ReadOnlySpan<byte> file, uint blocks, uint blk, int depth, BlockRole[] role, List<Ext2QuotaEntry> entries)
    {
        ReadOnlySpan<byte> node = file.Slice((int)blk * BlockSize, BlockSize);
        for (int i = 0; i < BlockSize / 4; i++)
        {
            uint child = BinaryPrimitives.ReadUInt32LittleEndian(node[(i * 4)..]);
            if (child == 0)
            {
                continue;
            }
            if (child >= blocks)
            {
                return $"tree block {blk} names block {child}, past its {blocks} blocks";
            }
            if (depth < TreeDepth - 1)
            {
                if (role[child] != BlockRole.Unseen)
                {
                    return $"tree block {blk} names block {child} again (a loop or a shared block)";
                }
                role[child] = BlockRole.Tree;
                string? damage = ReadTree(file, blocks, child, depth + 1, role, entries);
                if (damage is not null)
                {
                    return damage;
                }
            }
            else if (role[child] == BlockRole.Tree)
            {
                return $"tree block {blk} names tree block {child} as a block of records";
            }
            else if (role[child] == BlockRole.Unseen)
            {
                role[child] = BlockRole.Data;
                ReadDataBlock(file.Slice((int)child * BlockSize, BlockSize), entries);
            }
        }
        return null;
    }

    private static void ReadDataBlock(ReadOnlySpan<byte> block, List<Ext2QuotaEntry> entries)
    {
        for (int i = 0; i < EntriesPerBlock; i++)
        {
            ReadOnlySpan<byte> e = block.Slice(DataHeaderSize + (i * EntrySize), EntrySize);
            if (!e.ContainsAnyExcept((byte)0))
            {
                continue;
            }
            entries.Add(new Ext2QuotaEntry(BinaryPrimitives.ReadUInt32LittleEndian(e))
            {
                InodeHardLimit = BinaryPrimitives.ReadUInt64LittleEndian(e[8..]),
                InodeSoftLimit = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]),
                Inodes = BinaryPrimitives.ReadUInt64LittleEndian(e[24..]),
                SpaceHardLimit = BinaryPrimitives.ReadUInt64LittleEndian(e[32..]),
                SpaceSoftLimit = BinaryPrimitives.ReadUInt64LittleEndian(e[40..]),
                Space = BinaryPrimitives.ReadUInt64LittleEndian(e[48..]),
                SpaceGraceEnd = BinaryPrimitives.ReadUInt64LittleEndian(e[56..]),
                InodeGraceEnd = BinaryPrimitives.ReadUInt64LittleEndian(e[64..]),
            });
        }
    }

    /// <summary>
    /// A new quota file holding <paramref name="entries"/> (any order), as e2fsprogs writes
    /// one, with <paramref name="grace"/> in its info.
    /// </summary>
    public static byte[] Build(int type, IEnumerable<Ext2QuotaEntry> entries, Ext2QuotaGrace grace)
    {
        var blocks = new List<byte[]> { new byte[BlockSize], new byte[BlockSize] };
        uint freeEntry = 0;
        // A record with no usage and no limits is not kept (e2fsprogs's v2_commit_dquot deletes it).
        foreach (Ext2QuotaEntry q in entries.Where(e => !e.IsEmpty).OrderBy(e => e.Id))
        {
            uint tree = TreeRoot;
            for (int depth = 0; depth < TreeDepth - 1; depth++)
            {
                int slot = Index(q.Id, depth);
                uint child = BinaryPrimitives.ReadUInt32LittleEndian(blocks[(int)tree].AsSpan(slot * 4));
                if (child == 0)
                {
                    child = (uint)blocks.Count;
                    blocks.Add(new byte[BlockSize]);
                    BinaryPrimitives.WriteUInt32LittleEndian(blocks[(int)tree].AsSpan(slot * 4), child);
                }
                tree = child;
            }
            if (freeEntry == 0)
            {
                freeEntry = (uint)blocks.Count;
                blocks.Add(new byte[BlockSize]);
            }
            byte[] data = blocks[(int)freeEntry];
            ushort used = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(8));
            int free = 0;
            while (data.AsSpan(DataHeaderSize + (free * EntrySize), EntrySize).ContainsAnyExcept((byte)0))
            {
                free++;
            }
            WriteEntry(data.AsSpan(DataHeaderSize + (free * EntrySize), EntrySize), q);
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(8), (ushort)(used + 1));
            BinaryPrimitives.WriteUInt32LittleEndian(blocks[(int)tree].AsSpan(Index(q.Id, TreeDepth - 1) * 4), freeEntry);
            if (used + 1 >= EntriesPerBlock)
            {
                freeEntry = 0; // full: off the free-entry list
            }
        }
        byte[] head = blocks[0];
        BinaryPrimitives.WriteUInt32LittleEndian(head, Magics[type]);
        BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(4), VersionR1);
        // No flags (the kernel keeps none) and no free tree blocks: a new file has none.
        new Ext2QuotaInfo(grace, 0, (uint)blocks.Count, 0, freeEntry).Write(head);
        return [.. blocks.SelectMany(b => b)];
    }

    /// <summary>The id's byte that indexes tree level <paramref name="depth"/> (0 = root: the most significant).</summary>
    private static int Index(uint id, int depth) => (int)((id >> ((TreeDepth - depth - 1) * 8)) & 0xff);

    private static void WriteEntry(Span<byte> e, Ext2QuotaEntry q)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(e, q.Id);
        BinaryPrimitives.WriteUInt64LittleEndian(e[8..], q.InodeHardLimit);
        BinaryPrimitives.WriteUInt64LittleEndian(e[16..], q.InodeSoftLimit);
        BinaryPrimitives.WriteUInt64LittleEndian(e[24..], q.Inodes);
        BinaryPrimitives.WriteUInt64LittleEndian(e[32..], q.SpaceHardLimit);
        BinaryPrimitives.WriteUInt64LittleEndian(e[40..], q.SpaceSoftLimit);
        BinaryPrimitives.WriteUInt64LittleEndian(e[48..], q.Space);
        BinaryPrimitives.WriteUInt64LittleEndian(e[56..], q.SpaceGraceEnd);
        BinaryPrimitives.WriteUInt64LittleEndian(e[64..], q.InodeGraceEnd);
        if (!e.ContainsAnyExcept((byte)0))
        {
            // An all-zero record reads as a free slot (id 0 with nothing in use): mark it.
            BinaryPrimitives.WriteUInt64LittleEndian(e[64..], 1);
        }
    }
}
