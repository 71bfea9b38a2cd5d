using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>
/// Extent tree nodes (ext4_extent_header, ext4_extent_idx, ext4_extent). A node is a
/// 12-byte header followed by 12-byte entries: index entries in interior nodes, extents in
/// leaves. The root lives in the inode's i_block (4 entries); other nodes fill a block and
/// end with a crc32c tail when metadata_csum is on.
/// </summary>
internal static class Ext4Extent
{
    public const ushort Magic = 0xF30A;
    public const int HeaderSize = 12;
    public const int EntrySize = 12;

    /// <summary>Longest initialized extent; an ee_len above it marks an uninitialized one.</summary>
    public const int MaxInitLen = 32768;
    public const int MaxUninitLen = 32767;

    internal static class HeaderOff
    {
        public const int Magic = 0;
        public const int Entries = 2;
        public const int Max = 4;
        public const int Depth = 6;
        public const int Generation = 8;
    }

    internal static class IndexOff
    {
        public const int Block = 0;
        public const int LeafLo = 4;
        public const int LeafHi = 8;
        public const int Unused = 10;
    }

    internal static class LeafOff
    {
        public const int Block = 0;
        public const int Len = 4;
        public const int StartHi = 6;
        public const int StartLo = 8;
    }

    internal static readonly Field[] HeaderLayout =
    [
        new("eh_magic", HeaderOff.Magic, 2), new("eh_entries", HeaderOff.Entries, 2), new("eh_max", HeaderOff.Max, 2),
        new("eh_depth", HeaderOff.Depth, 2), new("eh_generation", HeaderOff.Generation, 4),
    ];

    internal static readonly Field[] IndexLayout =
    [
        new("ei_block", IndexOff.Block, 4), new("ei_leaf_lo", IndexOff.LeafLo, 4), new("ei_leaf_hi", IndexOff.LeafHi, 2),
        new("ei_unused", IndexOff.Unused, 2),
    ];

    internal static readonly Field[] LeafLayout =
    [
        new("ee_block", LeafOff.Block, 4), new("ee_len", LeafOff.Len, 2), new("ee_start_hi", LeafOff.StartHi, 2),
        new("ee_start_lo", LeafOff.StartLo, 4),
    ];

    public readonly record struct Header(ushort Magic, ushort Entries, ushort Max, ushort Depth);

    public static Header ReadHeader(ReadOnlySpan<byte> node) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(node[HeaderOff.Magic..]),
        BinaryPrimitives.ReadUInt16LittleEndian(node[HeaderOff.Entries..]),
        BinaryPrimitives.ReadUInt16LittleEndian(node[HeaderOff.Max..]),
        BinaryPrimitives.ReadUInt16LittleEndian(node[HeaderOff.Depth..]));

    public static void WriteHeader(Span<byte> node, ushort entries, ushort max, ushort depth)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(node[HeaderOff.Magic..], Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(node[HeaderOff.Entries..], entries);
        BinaryPrimitives.WriteUInt16LittleEndian(node[HeaderOff.Max..], max);
        BinaryPrimitives.WriteUInt16LittleEndian(node[HeaderOff.Depth..], depth);
        BinaryPrimitives.WriteUInt32LittleEndian(node[HeaderOff.Generation..], 0);
    }

    public static ReadOnlySpan<byte> Entry(ReadOnlySpan<byte> node, int i) => node.Slice(HeaderSize + (i * EntrySize), EntrySize);

    public static Span<byte> Entry(Span<byte> node, int i) => node.Slice(HeaderSize + (i * EntrySize), EntrySize);

    /// <summary>
    /// Remove entry <paramref name="i"/> of a node holding <paramref name="entries"/>: the
    /// later ones move down one place and the header's count follows; returns the new count.
    /// </summary>
    public static int RemoveEntry(Span<byte> node, int i, int entries)
    {
        node[(HeaderSize + ((i + 1) * EntrySize))..(HeaderSize + (entries * EntrySize))].CopyTo(node[(HeaderSize + (i * EntrySize))..]);
        BinaryPrimitives.WriteUInt16LittleEndian(node[HeaderOff.Entries..], (ushort)(entries - 1));
        return entries - 1;
    }

    /// <summary>An index entry: first logical block covered and the child node's block.</summary>
    public static (uint Block, ulong Child) ReadIndex(ReadOnlySpan<byte> e) => (
        BinaryPrimitives.ReadUInt32LittleEndian(e[IndexOff.Block..]),
        BinaryPrimitives.ReadUInt32LittleEndian(e[IndexOff.LeafLo..])
            | ((ulong)BinaryPrimitives.ReadUInt16LittleEndian(e[IndexOff.LeafHi..]) << 32));

    public static void WriteIndex(Span<byte> e, uint block, ulong child)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(e[IndexOff.Block..], block);
        BinaryPrimitives.WriteUInt32LittleEndian(e[IndexOff.LeafLo..], (uint)child);
        BinaryPrimitives.WriteUInt16LittleEndian(e[IndexOff.LeafHi..], (ushort)(child >> 32));
        BinaryPrimitives.WriteUInt16LittleEndian(e[IndexOff.Unused..], 0);
    }

    /// <summary>A leaf extent, decoded (uninitialized when its stored length exceeds 32768).</summary>
    public static ExtentRun ReadLeaf(ReadOnlySpan<byte> e)
    {
        uint logical = BinaryPrimitives.ReadUInt32LittleEndian(e[LeafOff.Block..]);
        int len = BinaryPrimitives.ReadUInt16LittleEndian(e[LeafOff.Len..]);
        ulong start = BinaryPrimitives.ReadUInt32LittleEndian(e[LeafOff.StartLo..])
            | ((ulong)BinaryPrimitives.ReadUInt16LittleEndian(e[LeafOff.StartHi..]) << 32);
        bool uninit = len > MaxInitLen;
        return new ExtentRun(logical, start, uninit ? len - MaxInitLen : len, uninit);
    }

    public static void WriteLeaf(Span<byte> e, ExtentRun x)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(e[LeafOff.Block..], x.Logical);
        BinaryPrimitives.WriteUInt16LittleEndian(e[LeafOff.Len..], (ushort)(x.Uninit ? x.Length + MaxInitLen : x.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(e[LeafOff.StartHi..], (ushort)(x.Physical >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(e[LeafOff.StartLo..], (uint)x.Physical);
    }

    /// <summary>Entries a node of <paramref name="bytes"/> holds (a block leaves room for the checksum tail).</summary>
    public static int Capacity(int bytes) => (bytes - HeaderSize) / EntrySize;

    /// <summary>Offset of the crc32c tail of a block node with eh_max entries.</summary>
    public static int TailOffset(int max) => HeaderSize + (max * EntrySize);

    /// <summary>
    /// Store the crc32c a block node (not the root in the inode) carries after its eh_max
    /// entries under metadata_csum, from its inode's checksum seed.
    /// </summary>
    public static void SetBlockChecksum(Span<byte> block, uint inodeSeed)
    {
        int tail = TailOffset(ReadHeader(block).Max);
        BinaryPrimitives.WriteUInt32LittleEndian(block[tail..], Ext2Crc.Crc32c(inodeSeed, block[..tail]));
    }
}

/// <summary>One extent: logical blocks [Logical, Logical+Length) at physical Physical; uninitialized ones read as zeros.</summary>
internal readonly record struct ExtentRun(uint Logical, ulong Physical, int Length, bool Uninit)
{
    public ulong End => (ulong)Logical + (ulong)Length;
}
