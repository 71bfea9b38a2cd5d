using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// One copy of the file allocation table, decoded into 32-bit entries (FAT32's top four
/// bits are kept, as they must be preserved on write) and encoded back.
/// </summary>
internal static class FatTable
{
    public const uint Free = 0;

    /// <summary>The clean-shutdown bit in FAT entry 1 (FAT16 and FAT32; FAT12 has none).</summary>
    public const uint Fat16CleanShutdown = 0x8000;
    public const uint Fat32CleanShutdown = 0x08000000;

    /// <summary>Smallest end-of-chain value per kind; anything from it up ends a chain.</summary>
    public static uint EndOfChain(FatKind kind) => kind switch
    {
        FatKind.Fat12 => 0xFF8,
        FatKind.Fat16 => 0xFFF8,
        _ => 0x0FFFFFF8,
    };

    /// <summary>The value that marks a bad cluster.</summary>
    public static uint Bad(FatKind kind) => EndOfChain(kind) - 1;

    /// <summary>The end-of-chain value newfs and repairs write.</summary>
    public static uint EndMark(FatKind kind) => kind switch
    {
        FatKind.Fat12 => 0xFFF,
        FatKind.Fat16 => 0xFFFF,
        _ => 0x0FFFFFFF,
    };

    /// <summary>The entry value without FAT32's reserved top nibble.</summary>
    public static uint Value(uint raw, FatKind kind) => kind == FatKind.Fat32 ? raw & 0x0FFFFFFF : raw;

    public static uint[] Decode(ReadOnlySpan<byte> fat, FatKind kind, long entries)
    {
        var result = new uint[entries];
        for (long i = 0; i < entries; i++)
        {
            result[i] = Get(fat, kind, i);
        }
        return result;
    }

    public static uint Get(ReadOnlySpan<byte> fat, FatKind kind, long i)
    {
        switch (kind)
        {
            case FatKind.Fat12:
                int off = (int)(i * 3 / 2);
                ushort pair = BinaryPrimitives.ReadUInt16LittleEndian(fat[off..]);
                return (i & 1) == 0 ? (uint)(pair & 0xFFF) : (uint)(pair >> 4);
            case FatKind.Fat16:
                return BinaryPrimitives.ReadUInt16LittleEndian(fat[(int)(i * 2)..]);
            default:
                return BinaryPrimitives.ReadUInt32LittleEndian(fat[(int)(i * 4)..]);
        }
    }

    /// <summary>Write entry <paramref name="i"/>; on FAT32 the top nibble already in the table is kept.</summary>
    public static void Set(Span<byte> fat, FatKind kind, long i, uint value)
    {
        switch (kind)
        {
            case FatKind.Fat12:
                int off = (int)(i * 3 / 2);
                ushort pair = BinaryPrimitives.ReadUInt16LittleEndian(fat[off..]);
                pair = (i & 1) == 0
                    ? (ushort)((pair & 0xF000u) | (value & 0xFFFu))
                    : (ushort)((pair & 0x000Fu) | ((value & 0xFFFu) << 4));
                BinaryPrimitives.WriteUInt16LittleEndian(fat[off..], pair);
                break;
            case FatKind.Fat16:
                BinaryPrimitives.WriteUInt16LittleEndian(fat[(int)(i * 2)..], (ushort)value);
                break;
            default:
                uint old = BinaryPrimitives.ReadUInt32LittleEndian(fat[(int)(i * 4)..]);
                BinaryPrimitives.WriteUInt32LittleEndian(fat[(int)(i * 4)..], (old & 0xF0000000) | (value & 0x0FFFFFFF));
                break;
        }
    }
}
