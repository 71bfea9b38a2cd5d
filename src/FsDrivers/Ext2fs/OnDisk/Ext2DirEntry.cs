using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>
/// A directory record (ext2_dir_entry_2): inode, record length, name length, file type
/// (a high name-length byte without the filetype feature), then the name, padded to 4.
/// Also the 12-byte checksum tail of metadata_csum leaf blocks and the htree (dx) layouts.
/// </summary>
internal static class Ext2DirEntry
{
    public const int HeaderSize = 8;
    public const int MaxNameLen = 255;
    public const int TailSize = 12;
    public const byte TailFileType = 0xDE;

    internal static class Off
    {
        public const int Inode = 0;
        public const int RecLen = 4;
        public const int NameLen = 6;
        public const int FileType = 7;
        public const int Name = 8;
    }

    internal static readonly Field[] Layout =
    [
        new("inode", Off.Inode, 4), new("rec_len", Off.RecLen, 2), new("name_len", Off.NameLen, 1),
        new("file_type", Off.FileType, 1),
    ];

    /// <summary>Checksum tail (ext4_dir_entry_tail), as a fake entry of inode 0 at the end of the block.</summary>
    internal static class TailOff
    {
        public const int ReservedZero1 = 0;
        public const int RecLen = 4;
        public const int ReservedZero2 = 6;
        public const int FileType = 7;
        public const int Checksum = 8;
    }

    internal static readonly Field[] TailLayout =
    [
        new("det_reserved_zero1", TailOff.ReservedZero1, 4), new("det_rec_len", TailOff.RecLen, 2),
        new("det_reserved_zero2", TailOff.ReservedZero2, 1), new("det_reserved_ft", TailOff.FileType, 1),
        new("det_checksum", TailOff.Checksum, 4),
    ];

    public static uint Inode(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadUInt32LittleEndian(b[(off + Off.Inode)..]);
    public static int RecLen(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadUInt16LittleEndian(b[(off + Off.RecLen)..]);

    public static int NameLen(ReadOnlySpan<byte> b, int off, bool filetype) =>
        filetype ? b[off + Off.NameLen] : BinaryPrimitives.ReadUInt16LittleEndian(b[(off + Off.NameLen)..]) & 0x3FF;

    public static byte FileType(ReadOnlySpan<byte> b, int off, bool filetype) => filetype ? b[off + Off.FileType] : (byte)0;

    public static ReadOnlySpan<byte> Name(ReadOnlySpan<byte> b, int off, int nameLen) => b.Slice(off + Off.Name, nameLen);

    /// <summary>Bytes a record with a name of <paramref name="nameLen"/> bytes needs.</summary>
    public static int Needed(int nameLen) => (HeaderSize + nameLen + 3) & ~3;

    public static void Write(Span<byte> b, int off, uint ino, int recLen, ReadOnlySpan<byte> name, byte fileType, bool filetype)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b[(off + Off.Inode)..], ino);
        BinaryPrimitives.WriteUInt16LittleEndian(b[(off + Off.RecLen)..], (ushort)recLen);
        if (filetype)
        {
            b[off + Off.NameLen] = (byte)name.Length;
            b[off + Off.FileType] = fileType;
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b[(off + Off.NameLen)..], (ushort)name.Length);
        }
        name.CopyTo(b[(off + Off.Name)..]);
        int pad = Needed(name.Length) - HeaderSize - name.Length;
        b.Slice(off + Off.Name + name.Length, pad).Clear();
    }

    public static void SetInode(Span<byte> b, int off, uint ino) => BinaryPrimitives.WriteUInt32LittleEndian(b[(off + Off.Inode)..], ino);

    public static void SetRecLen(Span<byte> b, int off, int len) => BinaryPrimitives.WriteUInt16LittleEndian(b[(off + Off.RecLen)..], (ushort)len);

    public static void SetFileType(Span<byte> b, int off, byte t, bool filetype)
    {
        if (filetype)
        {
            b[off + Off.FileType] = t;
        }
    }

    /// <summary>True when the block ends with a checksum tail.</summary>
    public static bool HasTail(ReadOnlySpan<byte> block)
    {
        int t = block.Length - TailSize;
        return BinaryPrimitives.ReadUInt32LittleEndian(block[(t + TailOff.ReservedZero1)..]) == 0
            && BinaryPrimitives.ReadUInt16LittleEndian(block[(t + TailOff.RecLen)..]) == TailSize
            && block[t + TailOff.ReservedZero2] == 0
            && block[t + TailOff.FileType] == TailFileType;
    }

    public static uint TailChecksum(ReadOnlySpan<byte> block, uint inodeSeed) =>
        Ext2Crc.Crc32c(inodeSeed, block[..(block.Length - TailSize)]);

    public static uint StoredTailChecksum(ReadOnlySpan<byte> block) =>
        BinaryPrimitives.ReadUInt32LittleEndian(block[(block.Length - TailSize + TailOff.Checksum)..]);

    /// <summary>Write a fresh tail with the checksum of the block's records.</summary>
    public static void WriteTail(Span<byte> block, uint inodeSeed)
    {
        int t = block.Length - TailSize;
        block.Slice(t, TailSize).Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(block[(t + TailOff.RecLen)..], TailSize);
        block[t + TailOff.FileType] = TailFileType;
        BinaryPrimitives.WriteUInt32LittleEndian(block[(t + TailOff.Checksum)..], TailChecksum(block, inodeSeed));
    }

    /// <summary>EXT2_FT_* for a mode's type bits.</summary>
    public static byte FileTypeOf(uint mode) => (mode & 0xF000) switch
    {
        0x8000 => 1,
        0x4000 => 2,
        0x2000 => 3,
        0x6000 => 4,
        0x1000 => 5,
        0xC000 => 6,
        0xA000 => 7,
        _ => 0,
    };
}

/// <summary>
/// Hash-tree directory index blocks (dx_root, dx_node, dx_entry, dx_tail). Block 0 of an
/// indexed directory holds "." and ".." then dx_root_info and the root's entries; interior
/// nodes are one empty record covering the block, then entries.
/// </summary>
internal static class Ext2DxNode
{
    internal static class RootOff
    {
        public const int DotRecord = 0x00;
        public const int DotDotRecord = 0x0C;
        public const int ReservedZero = 0x18;
        public const int HashVersion = 0x1C;
        public const int InfoLength = 0x1D;
        public const int IndirectLevels = 0x1E;
        public const int UnusedFlags = 0x1F;
        public const int Entries = 0x20;
    }

    internal static readonly Field[] RootLayout =
    [
        new("dot", RootOff.DotRecord, 12), new("dotdot (header and name)", RootOff.DotDotRecord, 12),
        new("reserved_zero", RootOff.ReservedZero, 4), new("hash_version", RootOff.HashVersion, 1),
        new("info_length", RootOff.InfoLength, 1), new("indirect_levels", RootOff.IndirectLevels, 1),
        new("unused_flags", RootOff.UnusedFlags, 1),
    ];

    /// <summary>Entries of an interior node start after its one fake record header.</summary>
    public const int NodeEntries = 8;
    public const int EntrySize = 8;
    public const int TailSize = 8;

    /// <summary>The first entry's hash slot holds limit (u16) and count (u16).</summary>
    public static (int Limit, int Count) CountLimit(ReadOnlySpan<byte> b, int entriesOff) => (
        BinaryPrimitives.ReadUInt16LittleEndian(b[entriesOff..]),
        BinaryPrimitives.ReadUInt16LittleEndian(b[(entriesOff + 2)..]));

    public static uint Hash(ReadOnlySpan<byte> b, int entriesOff, int i) =>
        i == 0 ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(b[(entriesOff + (i * EntrySize))..]);

    public static uint Block(ReadOnlySpan<byte> b, int entriesOff, int i) =>
        BinaryPrimitives.ReadUInt32LittleEndian(b[(entriesOff + (i * EntrySize) + 4)..]);

    /// <summary>
    /// dx_tail checksum: over the header and the used entries, then the whole 8-byte tail with
    /// its checksum word taken as zero (as ext4_dx_csum and e2fsprogs compute it).
    /// </summary>
    public static uint Checksum(ReadOnlySpan<byte> b, int entriesOff, int count, int limit, uint inodeSeed)
    {
        int size = entriesOff + (count * EntrySize);
        int tail = entriesOff + (limit * EntrySize);
        uint c = Ext2Crc.Crc32c(inodeSeed, b[..size]);
        c = Ext2Crc.Crc32c(c, b.Slice(tail, 4));
        return Ext2Crc.Crc32cZeros(c, 4);
    }

    public static uint StoredChecksum(ReadOnlySpan<byte> b, int entriesOff, int limit) =>
        BinaryPrimitives.ReadUInt32LittleEndian(b[(entriesOff + (limit * EntrySize) + 4)..]);
}
