using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>
/// The FAT32 FSInfo sector: a hint of the free cluster count and of where to look for the
/// next free cluster. Only hints: the driver recomputes the free count at mount and writes
/// both back at sync and unmount.
/// </summary>
internal static class FsInfo
{
    public const int LeadSig = 0;       // 4: 0x41615252 "RRaA"
    public const int Reserved1 = 4;     // 480
    public const int StructSig = 484;   // 4: 0x61417272 "rrAa"
    public const int FreeCount = 488;   // 4: 0xFFFFFFFF when unknown
    public const int NextFree = 492;    // 4
    public const int Reserved2 = 496;   // 12
    public const int TrailSig = 508;    // 4: 0xAA550000
    public const int Size = 512;

    public const uint LeadValue = 0x41615252;
    public const uint StructValue = 0x61417272;
    public const uint TrailValue = 0xAA550000;

    public static bool IsValid(ReadOnlySpan<byte> s) =>
        s.Length >= Size
        && BinaryPrimitives.ReadUInt32LittleEndian(s[LeadSig..]) == LeadValue
        && BinaryPrimitives.ReadUInt32LittleEndian(s[StructSig..]) == StructValue
        && BinaryPrimitives.ReadUInt32LittleEndian(s[TrailSig..]) == TrailValue;

    public static uint ReadFreeCount(ReadOnlySpan<byte> s) => BinaryPrimitives.ReadUInt32LittleEndian(s[FreeCount..]);

    public static uint ReadNextFree(ReadOnlySpan<byte> s) => BinaryPrimitives.ReadUInt32LittleEndian(s[NextFree..]);

    public static void Write(Span<byte> s, uint freeCount, uint nextFree)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(s[FreeCount..], freeCount);
        BinaryPrimitives.WriteUInt32LittleEndian(s[NextFree..], nextFree);
    }
}
