using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// What e2fsck's pass 1 demands of the entries in an attribute area (check_ext_attr for a
/// block, check_ea_in_inode for the inode's spare space): every entry, value and the
/// end-of-entries word owns its bytes alone and lies inside the area, names carry a name
/// index, values fit, and each entry's hash matches what it holds. The first thing wrong is
/// returned as a sentence; null means the area passes. The checker clears what fails (the
/// block pointer, or the in-inode magic), as e2fsck does: it cannot tell which entry is right.
/// </summary>
internal static class Ext2XattrAreaRules
{
    /// <summary>EXT2_XATTR_SIZE_MAX: e2fsck's bound on a value's size before any sum.</summary>
    private const uint MaxValueSize = 1 << 24;

    /// <summary>The verdict on an entry whose value lives in an inode of its own (e_value_inum).</summary>
    public delegate string? ValueInodeRule(uint valueInum, uint valueSize);

    /// <summary>An attribute block: header, entries from byte 32, values anywhere after, offsets from the block's start.</summary>
    public static string? CheckBlock(ReadOnlySpan<byte> block, ValueInodeRule valueInode)
    {
        uint hBlocks = Ext2XattrEntry.U32(block, Ext2XattrEntry.BlockOff.Blocks);
        if (hBlocks != 1)
        {
            return $"has h_blocks {hBlocks}, not 1";
        }
        var taken = new Ext2XattrRegions(block.Length);
        taken.Take(0, Ext2XattrEntry.BlockHeaderSize);
        int off = Ext2XattrEntry.BlockHeaderSize;
        while (off + 4 <= block.Length && Ext2XattrEntry.U32(block, off) != 0)
        {
            int nameLen = off + Ext2XattrEntry.EntryHeaderSize <= block.Length ? block[off + Ext2XattrEntry.Off.NameLen] : 0;
            if (off + Ext2XattrEntry.EntryHeaderSize > block.Length || !taken.Take(off, Ext2XattrEntry.EntrySize(nameLen)))
            {
                return $"is corrupt: the entry at offset {off} runs past the block or into another entry";
            }
            if (block[off + Ext2XattrEntry.Off.NameIndex] == 0)
            {
                return $"is corrupt: the entry at offset {off} has no name index";
            }
            uint valueInum = Ext2XattrEntry.U32(block, off + Ext2XattrEntry.Off.ValueInum);
            uint valueSize = Ext2XattrEntry.U32(block, off + Ext2XattrEntry.Off.ValueSize);
            int valueOffs = Ext2XattrEntry.U16(block, off + Ext2XattrEntry.Off.ValueOffs);
            if (valueInum != 0)
            {
                string? fault = valueInode(valueInum, valueSize);
                if (fault is not null)
                {
                    return $"is corrupt: the entry at offset {off} {fault}";
                }
            }
            else
            {
                if (valueSize > MaxValueSize || valueOffs + (long)valueSize > block.Length)
                {
                    return $"is corrupt: the entry at offset {off} has a value of {valueSize} bytes at offset {valueOffs}, past the block";
                }
                if (valueSize != 0 && !taken.Take(valueOffs, Padded(valueSize)))
                {
                    return $"is corrupt: the value at offset {valueOffs} (entry at offset {off}) overlaps another entry or value";
                }
                string? hash = HashFault(block, off, block, valueOffs, valueSize, zeroAllowed: false);
                if (hash is not null)
                {
                    return $"is corrupt: the entry at offset {off} {hash}";
                }
            }
            off += Ext2XattrEntry.EntrySize(nameLen);
        }
        return taken.Take(off, 4) ? null : "is corrupt: its entries have no end-of-entries word";
    }

    /// <summary>
    /// The inode's spare space from its magic word on (<paramref name="area"/> starts at the
    /// magic); value offsets count from the first entry. Space is accounted as e2fsck does:
    /// each entry's header, name and unpadded value must fit in what is left.
    /// </summary>
    public static string? CheckInodeArea(ReadOnlySpan<byte> area, ValueInodeRule valueInode)
    {
        ReadOnlySpan<byte> entries = area[4..];
        var taken = new Ext2XattrRegions(area.Length);
        taken.Take(0, 4);
        int remain = area.Length - 4;
        int off = 4;
        while (remain >= Ext2XattrEntry.EntryHeaderSize && Ext2XattrEntry.U32(area, off) != 0)
        {
            int nameLen = area[off + Ext2XattrEntry.Off.NameLen];
            if (!taken.Take(off, Ext2XattrEntry.EntrySize(nameLen)))
            {
                return $"the entry at offset {off} runs past the inode or into another entry";
            }
            remain -= Ext2XattrEntry.EntryHeaderSize;
            if (Padded((uint)nameLen) > remain)
            {
                return $"the entry at offset {off} has a name of {nameLen} bytes, which does not fit";
            }
            remain -= Padded((uint)nameLen);
            uint valueInum = Ext2XattrEntry.U32(area, off + Ext2XattrEntry.Off.ValueInum);
            uint valueSize = Ext2XattrEntry.U32(area, off + Ext2XattrEntry.Off.ValueSize);
            int valueOffs = Ext2XattrEntry.U16(area, off + Ext2XattrEntry.Off.ValueOffs);
            if (valueInum != 0)
            {
                string? fault = valueInode(valueInum, valueSize);
                if (fault is not null)
                {
                    return $"the entry at offset {off} {fault}";
                }
            }
            else
            {
                if (valueSize > remain)
                {
                    return $"the entry at offset {off} has a value of {valueSize} bytes, which does not fit";
                }
                if (valueSize != 0 && !taken.Take(4 + valueOffs, Padded(valueSize)))
                {
                    return $"the value at offset {valueOffs} (entry at offset {off}) overlaps another entry or value";
                }
                string? hash = HashFault(area, off, entries, valueOffs, valueSize, zeroAllowed: true);
                if (hash is not null)
                {
                    return $"the entry at offset {off} {hash}";
                }
                remain -= (int)valueSize;
            }
            off += Ext2XattrEntry.EntrySize(nameLen);
        }
        return taken.Take(off, 4) ? null : "the entries have no end-of-entries word";
    }

    private static int Padded(uint size) => (int)((size + 3) & ~3u);

    /// <summary>
    /// e_hash against the name and value (either name signedness); in the inode a zero hash
    /// is allowed, as old kernels left it there.
    /// </summary>
    private static string? HashFault(ReadOnlySpan<byte> area, int off, ReadOnlySpan<byte> valueBase, int valueOffs, uint valueSize, bool zeroAllowed)
    {
        uint stored = Ext2XattrEntry.U32(area, off + Ext2XattrEntry.Off.Hash);
        if (zeroAllowed && stored == 0)
        {
            return null;
        }
        int nameLen = area[off + Ext2XattrEntry.Off.NameLen];
        ReadOnlySpan<byte> name = area.Slice(off + Ext2XattrEntry.Off.Name, nameLen);
        ReadOnlySpan<byte> value = valueSize == 0 || valueOffs >= valueBase.Length
            ? [] : valueBase[valueOffs..Math.Min(valueBase.Length, valueOffs + Padded(valueSize))];
        uint hash = Ext2XattrEntry.EntryHash(name, value, (int)valueSize, signedChars: false);
        if (stored == hash || stored == Ext2XattrEntry.EntryHash(name, value, (int)valueSize, signedChars: true))
        {
            return null;
        }
        return $"has hash {stored}, should be {hash}";
    }
}
