using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>
/// A VFAT long-name entry: 13 UTF-16 code units of the name, in three pieces, with the
/// ordinal (1-based, 0x40 on the last piece, which comes first on disk) and the checksum
/// of the short name it belongs to.
/// </summary>
internal static class LongNameEntry
{
    public const int OffOrd = 0;        // 1
    public const int OffName1 = 1;      // 10: 5 code units
    public const int OffAttr = 11;      // 1: 0x0F
    public const int OffType = 12;      // 1: 0
    public const int OffChecksum = 13;  // 1
    public const int OffName2 = 14;     // 12: 6 code units
    public const int OffCluster = 26;   // 2: 0
    public const int OffName3 = 28;     // 4: 2 code units
    public const int Size = 32;

    public const byte LastFlag = 0x40;
    public const int CharsPerEntry = 13;
    public const int MaxEntries = 20;   // 255 characters

    private static readonly int[] s_charOffsets = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];

    public static bool IsLongName(ReadOnlySpan<byte> s) =>
        ((FatAttr)s[OffAttr] & FatAttr.LongName) == FatAttr.LongName && s[0] != FatDirEntry.Deleted;

    /// <summary>Copy the 13 code units of this piece into <paramref name="dest"/>.</summary>
    public static void ReadChars(ReadOnlySpan<byte> s, Span<char> dest)
    {
        for (int i = 0; i < CharsPerEntry; i++)
        {
            dest[i] = (char)BinaryPrimitives.ReadUInt16LittleEndian(s[s_charOffsets[i]..]);
        }
    }

    /// <summary>Write piece <paramref name="ord"/> (1-based) of <paramref name="name"/>.</summary>
    public static void Write(Span<byte> s, string name, int ord, bool last, byte checksum)
    {
        s[..Size].Clear();
        s[OffOrd] = (byte)(ord | (last ? LastFlag : 0));
        s[OffAttr] = (byte)FatAttr.LongName;
        s[OffChecksum] = checksum;
        int start = (ord - 1) * CharsPerEntry;
        for (int i = 0; i < CharsPerEntry; i++)
        {
            int at = start + i;
            ushort c = at < name.Length ? name[at] : at == name.Length ? (ushort)0 : (ushort)0xFFFF;
            BinaryPrimitives.WriteUInt16LittleEndian(s[s_charOffsets[i]..], c);
        }
    }

    /// <summary>The checksum of an 11-byte short name stored in each long-name piece.</summary>
    public static byte Checksum(ReadOnlySpan<byte> shortName)
    {
        byte sum = 0;
        for (int i = 0; i < 11; i++)
        {
            sum = (byte)((((sum & 1) << 7) | (sum >> 1)) + shortName[i]);
        }
        return sum;
    }
}
