using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// What the checker does with 32-byte directory entries in place (short and long-name form):
/// offsets are the driver's <see cref="FatDirEntry"/> and <see cref="LongNameEntry"/>.
/// </summary>
internal static class FatDirRecord
{
    public const int Size = FatDirEntry.Size;

    // Short entry.
    public const int Name = FatDirEntry.OffName;
    public const int NameLength = 11;
    public const int Attributes = FatDirEntry.OffAttr;
    public const int NtReserved = FatDirEntry.OffNtRes;

    /// <summary>
    /// A bit in <see cref="NtReserved"/> that some patched Linux kernels set on an entry
    /// whose 11 name bytes are a dummy, the long name being the only name (dosfstools'
    /// FAT_NO_83NAME).
    /// </summary>
    public const byte NoShortName = 0x20;
    public const int CreateTimeTenth = FatDirEntry.OffCTimeTenth;
    public const int CreateTime = FatDirEntry.OffCTime;
    public const int CreateDate = FatDirEntry.OffCDate;
    public const int AccessDate = FatDirEntry.OffADate;
    public const int ClusterHigh = FatDirEntry.OffClusterHi;
    public const int WriteTime = FatDirEntry.OffMTime;
    public const int WriteDate = FatDirEntry.OffMDate;
    public const int ClusterLow = FatDirEntry.OffClusterLo;
    public const int FileSize = FatDirEntry.OffSize;

    // Long-name entry.
    public const int LfnOrdinal = LongNameEntry.OffOrd;
    public const int LfnName1 = LongNameEntry.OffName1;
    public const int LfnType = LongNameEntry.OffType;
    public const int LfnChecksum = LongNameEntry.OffChecksum;
    public const int LfnName2 = LongNameEntry.OffName2;
    public const int LfnCluster = LongNameEntry.OffCluster;
    public const int LfnName3 = LongNameEntry.OffName3;
    public const byte LfnLast = 0x40;

    public const byte AttrReadOnly = (byte)FatAttr.ReadOnly;
    public const byte AttrHidden = (byte)FatAttr.Hidden;
    public const byte AttrSystem = (byte)FatAttr.System;
    public const byte AttrVolume = (byte)FatAttr.Volume;
    public const byte AttrDirectory = (byte)FatAttr.Directory;
    public const byte AttrArchive = (byte)FatAttr.Archive;
    public const byte AttrLongName = (byte)FatAttr.LongName;

    public const byte EndMarker = FatDirEntry.EndMarker;
    public const byte Deleted = FatDirEntry.Deleted;
    public const byte KanjiE5 = FatDirEntry.KanjiE5;

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
    public static byte ShortNameChecksum(ReadOnlySpan<byte> name) => LongNameEntry.Checksum(name[..NameLength]);

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
