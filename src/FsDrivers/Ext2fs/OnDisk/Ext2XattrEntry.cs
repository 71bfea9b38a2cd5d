using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>
/// Extended attributes: the block header (ext4_xattr_header), the in-inode header (a magic
/// word after i_extra_isize) and entries (ext4_xattr_entry) with their name-index prefixes.
/// </summary>
internal static class Ext2XattrEntry
{
    public const uint Magic = 0xEA020000;
    public const int BlockHeaderSize = 32;
    public const int EntryHeaderSize = 16;

    internal static class BlockOff
    {
        public const int Magic = 0x00;
        public const int RefCount = 0x04;
        public const int Blocks = 0x08;
        public const int Hash = 0x0C;
        public const int Checksum = 0x10;
        public const int Reserved = 0x14;
    }

    internal static class Off
    {
        public const int NameLen = 0;
        public const int NameIndex = 1;
        public const int ValueOffs = 2;
        public const int ValueInum = 4;
        public const int ValueSize = 8;
        public const int Hash = 12;
        public const int Name = 16;
    }

    internal static readonly Field[] BlockLayout =
    [
        new("h_magic", BlockOff.Magic, 4), new("h_refcount", BlockOff.RefCount, 4), new("h_blocks", BlockOff.Blocks, 4),
        new("h_hash", BlockOff.Hash, 4), new("h_checksum", BlockOff.Checksum, 4), new("h_reserved", BlockOff.Reserved, 12),
    ];

    internal static readonly Field[] EntryLayout =
    [
        new("e_name_len", Off.NameLen, 1), new("e_name_index", Off.NameIndex, 1), new("e_value_offs", Off.ValueOffs, 2),
        new("e_value_inum", Off.ValueInum, 4), new("e_value_size", Off.ValueSize, 4), new("e_hash", Off.Hash, 4),
    ];

    private static readonly string[] s_prefixes =
    [
        "", "user.", "system.posix_acl_access", "system.posix_acl_default", "trusted.", "", "security.", "system.",
        "system.richacl",
    ];

    public static string Prefix(int index) => index < s_prefixes.Length ? s_prefixes[index] : "";

    /// <summary>The name index and suffix for a full attribute name (index 0: no prefix matched).</summary>
    public static (int Index, string Suffix) Split(string name)
    {
        int best = 0;
        for (int i = 1; i < s_prefixes.Length; i++)
        {
            string p = s_prefixes[i];
            if (p.Length > 0 && name.StartsWith(p, StringComparison.Ordinal) && p.Length > s_prefixes[best].Length)
            {
                best = i;
            }
        }
        return (best, name[s_prefixes[best].Length..]);
    }

    private const int NameHashShift = 5;
    private const int ValueHashShift = 16;

    /// <summary>
    /// e_hash of an entry (ext4_xattr_hash_entry): the name's bytes, then the value's
    /// little-endian words (padding included, zeros past <paramref name="paddedValue"/>).
    /// Old kernels hashed the name as signed chars; e2fsck accepts either.
    /// </summary>
    public static uint EntryHash(ReadOnlySpan<byte> name, ReadOnlySpan<byte> paddedValue, int valueSize, bool signedChars)
    {
        uint hash = 0;
        foreach (byte c in name)
        {
            uint ch = signedChars ? (uint)(sbyte)c : c;
            hash = (hash << NameHashShift) ^ (hash >> (32 - NameHashShift)) ^ ch;
        }
        if (valueSize != 0)
        {
            Span<byte> word = stackalloc byte[4];
            for (int i = 0; i < ((valueSize + 3) & ~3); i += 4)
            {
                word.Clear();
                ReadOnlySpan<byte> have = i < paddedValue.Length ? paddedValue[i..Math.Min(i + 4, paddedValue.Length)] : [];
                have.CopyTo(word);
                hash = (hash << ValueHashShift) ^ (hash >> (32 - ValueHashShift)) ^ BinaryPrimitives.ReadUInt32LittleEndian(word);
            }
        }
        return hash;
    }

    public static int EntrySize(int nameLen) => (EntryHeaderSize + nameLen + 3) & ~3;

    public static uint U32(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadUInt32LittleEndian(b[off..]);

    public static ushort U16(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadUInt16LittleEndian(b[off..]);

    /// <summary>The xattr block checksum: crc32c over the little-endian 64-bit block number, then the block with h_checksum zero.</summary>
    public static uint BlockChecksum(ReadOnlySpan<byte> block, ulong blockNr, uint fsSeed)
    {
        Span<byte> le = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(le, blockNr);
        uint c = Ext2Crc.Crc32c(fsSeed, le);
        c = Ext2Crc.Crc32c(c, block[..BlockOff.Checksum]);
        c = Ext2Crc.Crc32cZeros(c, 4);
        return Ext2Crc.Crc32c(c, block[(BlockOff.Checksum + 4)..]);
    }
}
