using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>
/// The two reserved entries a format writes at the start of every FAT copy: entry 0 holds
/// the BPB's media byte with all higher bits set, entry 1 an end-of-chain mark (on FAT16
/// and FAT32 its two top bits are the clean-shutdown and no-disk-error flags, so either
/// may be clear). A FAT read from where the boot sector says it is but without them is
/// the sign of a boot sector whose layout fields are wrong: every cluster number read
/// from that place would be garbage, so neither a mount read-write nor a repair may
/// trust it. fsck.fat gives up on such a volume for the same reason.
/// </summary>
internal static class FatSignature
{
    /// <summary>Bytes at the start of a FAT copy that hold entries 0 and 1.</summary>
    public const int Length = 8;

    /// <summary>True when <paramref name="fatStart"/> (a FAT copy's first bytes) carries the signature.</summary>
    public static bool IsPresent(ReadOnlySpan<byte> fatStart, FatType type, byte media)
    {
        uint entry0;
        uint entry1;
        uint width;
        uint flags;
        switch (type)
        {
            case FatType.Fat12:
                uint three = fatStart[0] | ((uint)fatStart[1] << 8) | ((uint)fatStart[2] << 16);
                entry0 = three & 0xFFF;
                entry1 = three >> 12;
                width = 0xFFF;
                flags = 0;
                break;
            case FatType.Fat16:
                entry0 = BinaryPrimitives.ReadUInt16LittleEndian(fatStart);
                entry1 = BinaryPrimitives.ReadUInt16LittleEndian(fatStart[2..]);
                width = 0xFFFF;
                flags = 0xC000;
                break;
            default:
                // The top four bits of a FAT32 entry are reserved and not part of its value.
                entry0 = BinaryPrimitives.ReadUInt32LittleEndian(fatStart) & 0x0FFFFFFF;
                entry1 = BinaryPrimitives.ReadUInt32LittleEndian(fatStart[4..]) & 0x0FFFFFFF;
                width = 0x0FFFFFFF;
                flags = 0x0C000000;
                break;
        }
        uint wantEntry0 = (width & ~0xFFu) | media;
        uint endOfChain = width & ~7u;
        return entry0 == wantEntry0 && (entry1 | flags) >= endOfChain;
    }
}
