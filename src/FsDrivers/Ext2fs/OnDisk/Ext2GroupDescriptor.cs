using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>
/// One block group descriptor (struct ext4_group_desc): 32 bytes, or 64 (s_desc_size) with
/// the 64bit feature, whose upper half carries the high words. Decoded into fields; written
/// back with <see cref="Encode"/>.
/// </summary>
internal sealed class Ext2GroupDescriptor
{
    public const int Size32 = 32;
    public const int Size64 = 64;

    public const ushort FlagInodeUninit = 0x1;
    public const ushort FlagBlockUninit = 0x2;
    public const ushort FlagInodeZeroed = 0x4;

    internal static class Off
    {
        public const int BlockBitmapLo = 0x00;
        public const int InodeBitmapLo = 0x04;
        public const int InodeTableLo = 0x08;
        public const int FreeBlocksLo = 0x0C;
        public const int FreeInodesLo = 0x0E;
        public const int UsedDirsLo = 0x10;
        public const int Flags = 0x12;
        public const int ExcludeBitmapLo = 0x14;
        public const int BlockBitmapCsumLo = 0x18;
        public const int InodeBitmapCsumLo = 0x1A;
        public const int ItableUnusedLo = 0x1C;
        public const int Checksum = 0x1E;
        public const int BlockBitmapHi = 0x20;
        public const int InodeBitmapHi = 0x24;
        public const int InodeTableHi = 0x28;
        public const int FreeBlocksHi = 0x2C;
        public const int FreeInodesHi = 0x2E;
        public const int UsedDirsHi = 0x30;
        public const int ItableUnusedHi = 0x32;
        public const int ExcludeBitmapHi = 0x34;
        public const int BlockBitmapCsumHi = 0x38;
        public const int InodeBitmapCsumHi = 0x3A;
        public const int Reserved = 0x3C;
    }

    internal static readonly Field[] Layout =
    [
        new("bg_block_bitmap_lo", Off.BlockBitmapLo, 4), new("bg_inode_bitmap_lo", Off.InodeBitmapLo, 4),
        new("bg_inode_table_lo", Off.InodeTableLo, 4), new("bg_free_blocks_count_lo", Off.FreeBlocksLo, 2),
        new("bg_free_inodes_count_lo", Off.FreeInodesLo, 2), new("bg_used_dirs_count_lo", Off.UsedDirsLo, 2),
        new("bg_flags", Off.Flags, 2), new("bg_exclude_bitmap_lo", Off.ExcludeBitmapLo, 4),
        new("bg_block_bitmap_csum_lo", Off.BlockBitmapCsumLo, 2), new("bg_inode_bitmap_csum_lo", Off.InodeBitmapCsumLo, 2),
        new("bg_itable_unused_lo", Off.ItableUnusedLo, 2), new("bg_checksum", Off.Checksum, 2),
        new("bg_block_bitmap_hi", Off.BlockBitmapHi, 4), new("bg_inode_bitmap_hi", Off.InodeBitmapHi, 4),
        new("bg_inode_table_hi", Off.InodeTableHi, 4), new("bg_free_blocks_count_hi", Off.FreeBlocksHi, 2),
        new("bg_free_inodes_count_hi", Off.FreeInodesHi, 2), new("bg_used_dirs_count_hi", Off.UsedDirsHi, 2),
        new("bg_itable_unused_hi", Off.ItableUnusedHi, 2), new("bg_exclude_bitmap_hi", Off.ExcludeBitmapHi, 4),
        new("bg_block_bitmap_csum_hi", Off.BlockBitmapCsumHi, 2), new("bg_inode_bitmap_csum_hi", Off.InodeBitmapCsumHi, 2),
        new("bg_reserved", Off.Reserved, 4),
    ];

    public ulong BlockBitmap;
    public ulong InodeBitmap;
    public ulong InodeTable;
    public uint FreeBlocks;
    public uint FreeInodes;
    public uint UsedDirs;
    public ushort Flags;
    public uint ItableUnused;
    public uint BlockBitmapCsum;
    public uint InodeBitmapCsum;
    public ushort Checksum;

    /// <summary>Decode from <paramref name="d"/> (exactly the descriptor's bytes).</summary>
    public static Ext2GroupDescriptor Decode(ReadOnlySpan<byte> d)
    {
        bool wide = d.Length >= Size64;
        var g = new Ext2GroupDescriptor
        {
            BlockBitmap = Lo32(d, Off.BlockBitmapLo) | Hi32(d, wide, Off.BlockBitmapHi),
            InodeBitmap = Lo32(d, Off.InodeBitmapLo) | Hi32(d, wide, Off.InodeBitmapHi),
            InodeTable = Lo32(d, Off.InodeTableLo) | Hi32(d, wide, Off.InodeTableHi),
            FreeBlocks = Lo16(d, Off.FreeBlocksLo) | Hi16(d, wide, Off.FreeBlocksHi),
            FreeInodes = Lo16(d, Off.FreeInodesLo) | Hi16(d, wide, Off.FreeInodesHi),
            UsedDirs = Lo16(d, Off.UsedDirsLo) | Hi16(d, wide, Off.UsedDirsHi),
            Flags = BinaryPrimitives.ReadUInt16LittleEndian(d[Off.Flags..]),
            ItableUnused = Lo16(d, Off.ItableUnusedLo) | Hi16(d, wide, Off.ItableUnusedHi),
            BlockBitmapCsum = Lo16(d, Off.BlockBitmapCsumLo) | Hi16(d, wide, Off.BlockBitmapCsumHi),
            InodeBitmapCsum = Lo16(d, Off.InodeBitmapCsumLo) | Hi16(d, wide, Off.InodeBitmapCsumHi),
            Checksum = BinaryPrimitives.ReadUInt16LittleEndian(d[Off.Checksum..]),
        };
        return g;
    }

    /// <summary>Encode into <paramref name="d"/> (the descriptor's bytes; unknown bytes kept), without the checksum.</summary>
    public void Encode(Span<byte> d)
    {
        bool wide = d.Length >= Size64;
        BinaryPrimitives.WriteUInt32LittleEndian(d[Off.BlockBitmapLo..], (uint)BlockBitmap);
        BinaryPrimitives.WriteUInt32LittleEndian(d[Off.InodeBitmapLo..], (uint)InodeBitmap);
        BinaryPrimitives.WriteUInt32LittleEndian(d[Off.InodeTableLo..], (uint)InodeTable);
        BinaryPrimitives.WriteUInt16LittleEndian(d[Off.FreeBlocksLo..], (ushort)FreeBlocks);
        BinaryPrimitives.WriteUInt16LittleEndian(d[Off.FreeInodesLo..], (ushort)FreeInodes);
        BinaryPrimitives.WriteUInt16LittleEndian(d[Off.UsedDirsLo..], (ushort)UsedDirs);
        BinaryPrimitives.WriteUInt16LittleEndian(d[Off.Flags..], Flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[Off.BlockBitmapCsumLo..], (ushort)BlockBitmapCsum);
        BinaryPrimitives.WriteUInt16LittleEndian(d[Off.InodeBitmapCsumLo..], (ushort)InodeBitmapCsum);
        BinaryPrimitives.WriteUInt16LittleEndian(d[Off.ItableUnusedLo..], (ushort)ItableUnused);
        if (wide)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(d[Off.BlockBitmapHi..], (uint)(BlockBitmap >> 32));
            BinaryPrimitives.WriteUInt32LittleEndian(d[Off.InodeBitmapHi..], (uint)(InodeBitmap >> 32));
            BinaryPrimitives.WriteUInt32LittleEndian(d[Off.InodeTableHi..], (uint)(InodeTable >> 32));
            BinaryPrimitives.WriteUInt16LittleEndian(d[Off.FreeBlocksHi..], (ushort)(FreeBlocks >> 16));
            BinaryPrimitives.WriteUInt16LittleEndian(d[Off.FreeInodesHi..], (ushort)(FreeInodes >> 16));
            BinaryPrimitives.WriteUInt16LittleEndian(d[Off.UsedDirsHi..], (ushort)(UsedDirs >> 16));
            BinaryPrimitives.WriteUInt16LittleEndian(d[Off.ItableUnusedHi..], (ushort)(ItableUnused >> 16));
            BinaryPrimitives.WriteUInt16LittleEndian(d[Off.BlockBitmapCsumHi..], (ushort)(BlockBitmapCsum >> 16));
            BinaryPrimitives.WriteUInt16LittleEndian(d[Off.InodeBitmapCsumHi..], (ushort)(InodeBitmapCsum >> 16));
        }
    }

    /// <summary>
    /// The descriptor checksum: crc32c (low 16 bits) with metadata_csum, crc16 with uninit_bg;
    /// both over the group number and the descriptor with its checksum field skipped.
    /// </summary>
    public static ushort ComputeChecksum(ReadOnlySpan<byte> d, uint group, bool metadataCsum, uint csumSeed,
        ReadOnlySpan<byte> uuid)
    {
        Span<byte> le = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(le, group);
        if (metadataCsum)
        {
            uint c = Ext2Crc.Crc32c(csumSeed, le);
            c = Ext2Crc.Crc32c(c, d[..Off.Checksum]);
            c = Ext2Crc.Crc32cZeros(c, 2);
            c = Ext2Crc.Crc32c(c, d[(Off.Checksum + 2)..]);
            return (ushort)c;
        }
        ushort crc = Ext2Crc.Crc16(0xFFFF, uuid);
        crc = Ext2Crc.Crc16(crc, le);
        crc = Ext2Crc.Crc16(crc, d[..Off.Checksum]);
        if (d.Length > Off.Checksum + 2)
        {
            crc = Ext2Crc.Crc16(crc, d[(Off.Checksum + 2)..]);
        }
        return crc;
    }

    private static uint Lo32(ReadOnlySpan<byte> d, int off) => BinaryPrimitives.ReadUInt32LittleEndian(d[off..]);
    private static ulong Hi32(ReadOnlySpan<byte> d, bool wide, int off) =>
        wide ? (ulong)BinaryPrimitives.ReadUInt32LittleEndian(d[off..]) << 32 : 0;
    private static uint Lo16(ReadOnlySpan<byte> d, int off) => BinaryPrimitives.ReadUInt16LittleEndian(d[off..]);
    private static uint Hi16(ReadOnlySpan<byte> d, bool wide, int off) =>
        wide ? (uint)BinaryPrimitives.ReadUInt16LittleEndian(d[off..]) << 16 : 0;
}
