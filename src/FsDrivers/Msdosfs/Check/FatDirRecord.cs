using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>A 32-byte directory entry: the short (8.3) form and the long-name (VFAT) form.</summary>
internal static class FatDirRecord
{
    public const int Size = 32;

    // Short entry.
    public const int Name = 0;
    public const int NameLength = 11;
    public const int Attributes = 11;
    public const int NtReserved = 12;
    public const int CreateTimeTenth = 13;
    public const int CreateTime = 14;
    public const int CreateDate = 16;
    public const int AccessDate = 18;
    public const int ClusterHigh = 20;
    public const int WriteTime = 22;
    public const int WriteDate = 24;
    public const int ClusterLow = 26;
    public const int FileSize = 28;

    // Long-name entry.
    public const int LfnOrdinal = 0;
    public const int LfnName1 = 1;
    public const int LfnType = 12;
    public const int LfnChecksum = 13;
    public const int LfnName2 = 14;
    public const int LfnCluster = 26;
    public const int LfnName3 = 28;
    public const byte LfnLast = 0x40;

    public const byte AttrReadOnly = 0x01;
    public const byte AttrHidden = 0x02;
    public const byte AttrSystem = 0x04;
    public const byte AttrVolume = 0x08;
    public const byte AttrDirectory = 0x10;
    public const byte AttrArchive = 0x20;
    public const byte AttrLongName = 0x0F;

    public const byte EndMarker = 0x00;
    public const byte Deleted = 0xE5;

    public static uint Cluster(ReadOnlySpan<byte> e, FatKind kind) =>
        BinaryPrimitives.ReadUInt16LittleEndian(e[ClusterLow..])
        | (kind == FatKind.Fat32 ? (uint)BinaryPrimitives.ReadUInt16LittleEndian(e[ClusterHigh..]) << 16 : 0);

    public static void SetCluster(Span<byte> e, uint cluster, FatKind kind)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(e[ClusterLow..], (ushort)cluster);
        if (kind == FatKind.Fat32)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(e[ClusterHigh..], (ushort)(cluster >> 16));
        }
    }

    public static uint FileSizeOf(ReadOnlySpan<byte> e) => BinaryPrimitives.ReadUInt32LittleEndian(e[FileSize..]);

    public static void SetFileSize(Span<byte> e, uint size) => BinaryPrimitives.WriteUInt32LittleEndian(e[FileSize..], size);

    public static bool IsLongName(ReadOnlySpan<byte> e) => (e[Attributes] & 0x3F) == AttrLongName;

    /// <summary>The checksum of an 11-byte short name that each of its long-name entries carries.</summary>
    public static byte ShortNameChecksum(ReadOnlySpan<byte> name)
    {
        byte sum = 0;
        for (int i = 0; i < NameLength; i++)
        {
            sum = (byte)((((sum & 1) << 7) | (sum >> 1)) + name[i]);
        }
        return sum;
    }

    /// <summary>Printable form of the short name ("README.TXT").</summary>
    public static string Display(ReadOnlySpan<byte> e)
    {
        var chars = new char[NameLength];
        for (int i = 0; i < NameLength; i++)
        {
            byte b = e[i];
            chars[i] = b is >= 0x20 and < 0x7F ? (char)b : '?';
        }
        if (e[0] == 0x05)
        {
            chars[0] = '?'; // 0x05 stands for a leading 0xE5 byte
        }
        string bas = new string(chars, 0, 8).TrimEnd(' ');
        string ext = new string(chars, 8, 3).TrimEnd(' ');
        return ext.Length == 0 ? bas : bas + "." + ext;
    }

    /// <summary>
    /// True when the 11 bytes are an acceptable short name, by the rule fsck.fat applies: no
    /// control characters, none of <c>* ? &lt; &gt; | " \ / : .</c>, and a non-blank first
    /// byte. Lowercase, bytes above 0x7F and embedded blanks are tolerated, as there.
    /// </summary>
    public static bool IsValidShortName(ReadOnlySpan<byte> name)
    {
        if (name[0] == (byte)' ')
        {
            return false;
        }
        for (int i = 0; i < NameLength; i++)
        {
            byte c = name[i];
            if ((c < 0x20 && !(i == 0 && c == 0x05)) || c == 0x7F)
            {
                return false;
            }
            if (c is (byte)'*' or (byte)'?' or (byte)'<' or (byte)'>' or (byte)'|' or (byte)'"' or (byte)'\\'
                or (byte)'/' or (byte)':' or (byte)'.')
            {
                return false;
            }
        }
        return true;
    }
}
