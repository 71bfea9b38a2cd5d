using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>The FAT32 FSInfo sector: free-cluster count and next-free hint between signatures.</summary>
internal static class FatFsInfoRecord
{
    public const int LeadSignature = 0;
    public const int StructSignature = 484;
    public const int FreeCount = 488;
    public const int NextFree = 492;
    public const int TrailSignature = 508;
    public const int Size = 512;

    public const uint LeadValue = 0x41615252;
    public const uint StructValue = 0x61417272;
    public const uint TrailValue = 0xAA550000;
    public const uint Unknown = 0xFFFFFFFF;

    public static bool HasSignatures(ReadOnlySpan<byte> s) =>
        BinaryPrimitives.ReadUInt32LittleEndian(s[LeadSignature..]) == LeadValue
        && BinaryPrimitives.ReadUInt32LittleEndian(s[StructSignature..]) == StructValue
        && BinaryPrimitives.ReadUInt32LittleEndian(s[TrailSignature..]) == TrailValue;

    public static uint Free(ReadOnlySpan<byte> s) => BinaryPrimitives.ReadUInt32LittleEndian(s[FreeCount..]);

    public static uint Next(ReadOnlySpan<byte> s) => BinaryPrimitives.ReadUInt32LittleEndian(s[NextFree..]);

    /// <summary>Write a complete FSInfo sector (signatures and counts) into <paramref name="s"/>.</summary>
    public static void Write(Span<byte> s, uint free, uint next)
    {
        s[..Size].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(s[LeadSignature..], LeadValue);
        BinaryPrimitives.WriteUInt32LittleEndian(s[StructSignature..], StructValue);
        BinaryPrimitives.WriteUInt32LittleEndian(s[FreeCount..], free);
        BinaryPrimitives.WriteUInt32LittleEndian(s[NextFree..], next);
        BinaryPrimitives.WriteUInt32LittleEndian(s[TrailSignature..], TrailValue);
    }
}
