using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>
/// One block of the ext4 orphan file (COMPAT_ORPHAN_FILE, the inode s_orphan_file_inum names):
/// an array of __le32 inode numbers, 0 for a free slot, filling the block up to an 8-byte
/// tail {ob_magic, ob_checksum}. Under metadata_csum ob_checksum is crc32c from the orphan
/// file's inode seed (fs seed, its number, its i_generation) over the block's physical
/// number as a __le64, then the slot array.
/// </summary>
internal static class Ext2OrphanBlock
{
    public const uint Magic = 0x0B10CA04;
    public const int TailSize = 8;

    /// <summary>Offsets in the tail (struct ext4_orphan_block_tail), from its start.</summary>
    internal static class TailOff
    {
        public const int Magic = 0;
        public const int Checksum = 4;
    }

    /// <summary>The tail's fields in order, for the layout test.</summary>
    internal static readonly Field[] TailLayout =
    [
        new("ob_magic", TailOff.Magic, 4), new("ob_checksum", TailOff.Checksum, 4),
    ];

    /// <summary>Inode slots in a block (ext4_inodes_per_orphan_block).</summary>
    public static int SlotsPerBlock(int blockSize) => (blockSize - TailSize) / 4;

    public static uint Slot(ReadOnlySpan<byte> block, int i) => BinaryPrimitives.ReadUInt32LittleEndian(block[(4 * i)..]);

    public static void SetSlot(Span<byte> block, int i, uint ino) => BinaryPrimitives.WriteUInt32LittleEndian(block[(4 * i)..], ino);

    public static uint StoredMagic(ReadOnlySpan<byte> block) =>
        BinaryPrimitives.ReadUInt32LittleEndian(block[(block.Length - TailSize + TailOff.Magic)..]);

    public static uint StoredChecksum(ReadOnlySpan<byte> block) =>
        BinaryPrimitives.ReadUInt32LittleEndian(block[(block.Length - TailSize + TailOff.Checksum)..]);

    /// <summary>The checksum the block at physical block <paramref name="blk"/> should carry.</summary>
    public static uint ComputeChecksum(ReadOnlySpan<byte> block, uint inodeSeed, ulong blk)
    {
        Span<byte> nr = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(nr, blk);
        uint c = Ext2Crc.Crc32c(inodeSeed, nr);
        return Ext2Crc.Crc32c(c, block[..(4 * SlotsPerBlock(block.Length))]);
    }

    /// <summary>Rewrite ob_checksum (metadata_csum only; callers without it leave the field alone).</summary>
    public static void UpdateChecksum(Span<byte> block, uint inodeSeed, ulong blk) =>
        BinaryPrimitives.WriteUInt32LittleEndian(block[(block.Length - TailSize + TailOff.Checksum)..],
            ComputeChecksum(block, inodeSeed, blk));

    /// <summary>An empty block as mke2fs writes it: no slots in use, the magic, and the checksum when <paramref name="csum"/>.</summary>
    public static void Format(Span<byte> block, bool csum, uint inodeSeed, ulong blk)
    {
        block.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(block[(block.Length - TailSize + TailOff.Magic)..], Magic);
        if (csum)
        {
            UpdateChecksum(block, inodeSeed, blk);
        }
    }

    /// <summary>
    /// ext2fs_default_orphan_file_blocks: 32 blocks below 128 Ki blocks, one in 4096 below
    /// 2 Mi blocks, else 512 (the most the kernel accepts).
    /// </summary>
    public static uint DefaultBlocks(ulong fsBlocks) =>
        fsBlocks < 128 * 1024 ? 32u : fsBlocks < 2 * 1024 * 1024 ? (uint)(fsBlocks / 4096) : 512u;
}
