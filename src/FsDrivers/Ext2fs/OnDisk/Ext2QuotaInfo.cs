using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>
/// The grace times of one quota file, in seconds: how long usage may stay over a soft limit
/// (space, inodes) before the next allocation is refused.
/// </summary>
internal readonly record struct Ext2QuotaGrace(uint Space, uint Inodes)
{
    /// <summary>A week for both, as e2fsprogs writes into every file it makes (MAX_DQ_TIME, MAX_IQ_TIME).</summary>
    public static readonly Ext2QuotaGrace Week = new(7 * 24 * 3600, 7 * 24 * 3600);
}

/// <summary>
/// The info block of a vfsv1 quota file (struct v2_disk_dqinfo), right after the 8-byte
/// header (magic, version) in the file's first 1 KiB block: the grace times the kernel adds
/// to the clock when usage passes a soft limit, flags, and the tree's block count and free
/// lists. The kernel reads the grace times as they are, any value (0 included: a deadline of
/// "now", so the next allocation over the soft limit is refused), and writes them back
/// unchanged; e2fsprogs writes a week into every file it makes.
/// </summary>
internal readonly record struct Ext2QuotaInfo(Ext2QuotaGrace Grace, uint Flags, uint Blocks, uint FreeBlock, uint FreeEntry)
{
    /// <summary>Where the info starts in the file (after struct v2_disk_dqheader).</summary>
    public const int FileOffset = 8;

    /// <summary>The info's size in bytes.</summary>
    public const int Size = 24;

    /// <summary>Offsets in the info, from its start.</summary>
    internal static class Off
    {
        public const int SpaceGrace = 0;
        public const int InodeGrace = 4;
        public const int Flags = 8;
        public const int Blocks = 12;
        public const int FreeBlock = 16;
        public const int FreeEntry = 20;
    }

    /// <summary>The info's fields in order, for the layout test.</summary>
    internal static readonly Field[] Layout =
    [
        new("dqi_bgrace", Off.SpaceGrace, 4), new("dqi_igrace", Off.InodeGrace, 4), new("dqi_flags", Off.Flags, 4),
        new("dqi_blocks", Off.Blocks, 4), new("dqi_free_blk", Off.FreeBlock, 4), new("dqi_free_entry", Off.FreeEntry, 4),
    ];

    /// <summary>The info of a quota file whose first bytes are <paramref name="file"/> (at least <see cref="FileOffset"/> + <see cref="Size"/>).</summary>
    public static Ext2QuotaInfo Read(ReadOnlySpan<byte> file)
    {
        ReadOnlySpan<byte> info = file.Slice(FileOffset, Size);
        return new Ext2QuotaInfo(
            new Ext2QuotaGrace(BinaryPrimitives.ReadUInt32LittleEndian(info[Off.SpaceGrace..]), BinaryPrimitives.ReadUInt32LittleEndian(info[Off.InodeGrace..])),
            BinaryPrimitives.ReadUInt32LittleEndian(info[Off.Flags..]),
            BinaryPrimitives.ReadUInt32LittleEndian(info[Off.Blocks..]),
            BinaryPrimitives.ReadUInt32LittleEndian(info[Off.FreeBlock..]),
            BinaryPrimitives.ReadUInt32LittleEndian(info[Off.FreeEntry..]));
    }

    /// <summary>Write this info into the first bytes of a quota file.</summary>
    public void Write(Span<byte> file)
    {
        Span<byte> info = file.Slice(FileOffset, Size);
        BinaryPrimitives.WriteUInt32LittleEndian(info[Off.SpaceGrace..], Grace.Space);
        BinaryPrimitives.WriteUInt32LittleEndian(info[Off.InodeGrace..], Grace.Inodes);
        BinaryPrimitives.WriteUInt32LittleEndian(info[Off.Flags..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(info[Off.Blocks..], Blocks);
        BinaryPrimitives.WriteUInt32LittleEndian(info[Off.FreeBlock..], FreeBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(info[Off.FreeEntry..], FreeEntry);
    }
}
