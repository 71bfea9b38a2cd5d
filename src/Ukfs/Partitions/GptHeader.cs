using System.Buffers.Binary;
using System.IO.Hashing;

namespace RumpFs.Ukfs.Partitions;

/// <summary>
/// The GPT header (UEFI spec, "GPT Header"), at LBA 1 and, as a backup, at the last LBA.
/// Little-endian on every platform. The CRC32 covers <see cref="HeaderSize"/> bytes with
/// its own field taken as zero.
/// </summary>
internal sealed record GptHeader(
    uint HeaderSize,
    uint HeaderCrc,
    ulong CurrentLba,
    ulong BackupLba,
    ulong FirstUsableLba,
    ulong LastUsableLba,
    Guid DiskGuid,
    ulong EntriesLba,
    uint EntryCount,
    uint EntrySize,
    uint EntriesCrc)
{
    public const ulong Signature = 0x5452415020494645; // "EFI PART"
    public const int MinSize = 92;

    private const int SignatureOffset = 0;
    private const int HeaderSizeOffset = 12;
    private const int HeaderCrcOffset = 16;
    private const int CurrentLbaOffset = 24;
    private const int BackupLbaOffset = 32;
    private const int FirstUsableOffset = 40;
    private const int LastUsableOffset = 48;
    private const int DiskGuidOffset = 56;
    private const int EntriesLbaOffset = 72;
    private const int EntryCountOffset = 80;
    private const int EntrySizeOffset = 84;
    private const int EntriesCrcOffset = 88;

    /// <summary>
    /// Parse and check a header from its sector. Null with <paramref name="problem"/> set when
    /// the signature, size or CRC is wrong.
    /// </summary>
    public static GptHeader? Parse(ReadOnlySpan<byte> sector, out string? problem)
    {
        problem = null;
        if (BinaryPrimitives.ReadUInt64LittleEndian(sector[SignatureOffset..]) != Signature)
        {
            problem = "no GPT signature";
            return null;
        }
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(sector[HeaderSizeOffset..]);
        if (size < MinSize || size > sector.Length)
        {
            problem = $"header size {size} is invalid";
            return null;
        }
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(sector[HeaderCrcOffset..]);
        byte[] copy = sector[..(int)size].ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(HeaderCrcOffset), 0);
        uint computed = Crc32.HashToUInt32(copy);
        if (computed != stored)
        {
            problem = $"header CRC32 mismatch (stored 0x{stored:x8}, computed 0x{computed:x8})";
            return null;
        }
        return new GptHeader(
            size,
            stored,
            BinaryPrimitives.ReadUInt64LittleEndian(sector[CurrentLbaOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(sector[BackupLbaOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(sector[FirstUsableOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(sector[LastUsableOffset..]),
            new Guid(sector.Slice(DiskGuidOffset, 16)),
            BinaryPrimitives.ReadUInt64LittleEndian(sector[EntriesLbaOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(sector[EntryCountOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(sector[EntrySizeOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(sector[EntriesCrcOffset..]));
    }
}
