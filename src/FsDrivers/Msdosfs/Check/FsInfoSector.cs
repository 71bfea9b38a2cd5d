using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>A whole new FSInfo sector (newfs, and fsck when the old one has bad signatures).</summary>
internal static class FsInfoSector
{
    /// <summary>Clear the first <see cref="FsInfo.Size"/> bytes, write the three signatures, then the counts.</summary>
    public static void Build(Span<byte> s, uint freeCount, uint nextFree)
    {
        s[..FsInfo.Size].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(s[FsInfo.LeadSig..], FsInfo.LeadValue);
        BinaryPrimitives.WriteUInt32LittleEndian(s[FsInfo.StructSig..], FsInfo.StructValue);
        BinaryPrimitives.WriteUInt32LittleEndian(s[FsInfo.TrailSig..], FsInfo.TrailValue);
        FsInfo.Write(s, freeCount, nextFree);
    }
}
