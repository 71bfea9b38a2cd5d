using System.Buffers.Binary;

namespace RumpFs.Ukfs.Partitions;

/// <summary>One 16-byte partition entry of an MBR or an extended boot record (EBR).</summary>
/// <param name="Status">0x80 when bootable.</param>
/// <param name="Type">The partition type byte (0x83 Linux, 0xA9 NetBSD, 0x05/0x0F/0x85 extended, 0xEE GPT).</param>
/// <param name="FirstSector">First sector, relative to the table's base (the disk, or for an EBR see <see cref="MbrReader"/>).</param>
/// <param name="SectorCount">Number of sectors.</param>
internal readonly record struct MbrEntry(byte Status, byte Type, uint FirstSector, uint SectorCount)
{
    public bool IsEmpty => Type == 0 || SectorCount == 0;

    public bool IsExtended => Type is MbrRecord.TypeExtendedChs or MbrRecord.TypeExtendedLba or MbrRecord.TypeExtendedLinux;
}

/// <summary>The on-disk layout of sector 0 of a PC disk (and of every EBR, which shares it).</summary>
internal static class MbrRecord
{
    /// <summary>Offset of the first of four partition entries.</summary>
    public const int EntriesOffset = 446;
    public const int EntrySize = 16;
    public const int EntryCount = 4;

    /// <summary>Offset of the boot signature 0x55, 0xAA.</summary>
    public const int SignatureOffset = 510;
    public const int RecordSize = 512;

    // Offsets inside one entry. Bytes 1-3 and 5-7 are CHS addresses, unused by any disk
    // made since LBA: only the LBA fields locate a partition.
    private const int StatusOffset = 0;
    private const int TypeOffset = 4;
    private const int FirstLbaOffset = 8;
    private const int SectorCountOffset = 12;

    public const byte TypeExtendedChs = 0x05;
    public const byte TypeExtendedLba = 0x0F;
    public const byte TypeExtendedLinux = 0x85;
    public const byte TypeGptProtective = 0xEE;
    public const byte TypeNetBsd = 0xA9;

    /// <summary>True when the record ends in the 0x55AA boot signature.</summary>
    public static bool HasSignature(ReadOnlySpan<byte> sector) =>
        sector.Length >= RecordSize && sector[SignatureOffset] == 0x55 && sector[SignatureOffset + 1] == 0xAA;

    /// <summary>Entry <paramref name="index"/> (0..3) of the record.</summary>
    public static MbrEntry Entry(ReadOnlySpan<byte> sector, int index)
    {
        ReadOnlySpan<byte> e = sector.Slice(EntriesOffset + (index * EntrySize), EntrySize);
        return new MbrEntry(
            e[StatusOffset],
            e[TypeOffset],
            BinaryPrimitives.ReadUInt32LittleEndian(e[FirstLbaOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(e[SectorCountOffset..]));
    }

    /// <summary>
    /// True when the four entries look like a partition table: status bytes 0 or 0x80 only.
    /// A FAT boot sector also ends in 0x55AA; its bytes at 446.. are boot code, which this
    /// rejects most of the time (and FsTypeProbe recognises such a disk as FAT first).
    /// </summary>
    public static bool EntriesLookValid(ReadOnlySpan<byte> sector)
    {
        for (int i = 0; i < EntryCount; i++)
        {
            byte status = sector[EntriesOffset + (i * EntrySize) + StatusOffset];
            if (status is not (0 or 0x80))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A readable name for a type byte.</summary>
    public static string TypeName(byte type) => type switch
    {
        0x01 => "0x01 FAT12",
        0x04 or 0x06 or 0x0E => $"0x{type:x2} FAT16",
        0x0B or 0x0C => $"0x{type:x2} FAT32",
        0x07 => "0x07 NTFS/exFAT",
        0x82 => "0x82 Linux swap",
        0x83 => "0x83 Linux",
        TypeNetBsd => "0xa9 NetBSD",
        0xA5 => "0xa5 FreeBSD",
        0xA6 => "0xa6 OpenBSD",
        TypeGptProtective => "0xee GPT protective",
        0xEF => "0xef EFI system",
        _ => $"0x{type:x2}",
    };
}
