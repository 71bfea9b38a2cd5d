using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>Attribute bits of a directory entry.</summary>
[Flags]
internal enum FatAttr : byte
{
    None = 0,
    ReadOnly = 0x01,
    Hidden = 0x02,
    System = 0x04,
    Volume = 0x08,
    Directory = 0x10,
    Archive = 0x20,

    /// <summary>ReadOnly|Hidden|System|Volume: the marker of a long-name entry.</summary>
    LongName = 0x0F,
}

/// <summary>
/// A 32-byte short (8.3) directory entry: offsets, and a decoded copy the in-core node
/// holds and writes back through <see cref="Write"/>.
/// </summary>
internal struct FatDirEntry
{
    public const int OffName = 0;           // 11: 8 name + 3 extension, space padded
    public const int OffAttr = 11;          // 1
    public const int OffNtRes = 12;         // 1: 0x08 base lower case, 0x10 extension lower case
    public const int OffCTimeTenth = 13;    // 1: 10 ms units, 0..199
    public const int OffCTime = 14;         // 2
    public const int OffCDate = 16;         // 2
    public const int OffADate = 18;         // 2
    public const int OffClusterHi = 20;     // 2 (FAT32)
    public const int OffMTime = 22;         // 2
    public const int OffMDate = 24;         // 2
    public const int OffClusterLo = 26;     // 2
    public const int OffSize = 28;          // 4
    public const int Size = 32;

    public const byte Deleted = 0xE5;
    public const byte EndMarker = 0x00;

    /// <summary>A name whose first byte really is 0xE5 is stored as 0x05.</summary>
    public const byte KanjiE5 = 0x05;

    public const byte LowerBase = 0x08;
    public const byte LowerExt = 0x10;

    public byte[] Name;
    public FatAttr Attr;
    public byte NtRes;
    public byte CTimeTenth;
    public ushort CTime;
    public ushort CDate;
    public ushort ADate;
    public uint Cluster;
    public ushort MTime;
    public ushort MDate;
    public uint FileSize;

    public readonly bool IsDirectory => (Attr & FatAttr.Directory) != 0;

    /// <summary>Decode an entry; the high cluster half is used only on FAT32 (FAT12/16 keep EA data there).</summary>
    public static FatDirEntry Read(ReadOnlySpan<byte> s, bool fat32) => new()
    {
        Name = s[..11].ToArray(),
        Attr = (FatAttr)s[OffAttr],
        NtRes = s[OffNtRes],
        CTimeTenth = s[OffCTimeTenth],
        CTime = BinaryPrimitives.ReadUInt16LittleEndian(s[OffCTime..]),
        CDate = BinaryPrimitives.ReadUInt16LittleEndian(s[OffCDate..]),
        ADate = BinaryPrimitives.ReadUInt16LittleEndian(s[OffADate..]),
        Cluster = BinaryPrimitives.ReadUInt16LittleEndian(s[OffClusterLo..])
            | (fat32 ? (uint)BinaryPrimitives.ReadUInt16LittleEndian(s[OffClusterHi..]) << 16 : 0),
        MTime = BinaryPrimitives.ReadUInt16LittleEndian(s[OffMTime..]),
        MDate = BinaryPrimitives.ReadUInt16LittleEndian(s[OffMDate..]),
        FileSize = BinaryPrimitives.ReadUInt32LittleEndian(s[OffSize..]),
    };

    public readonly void Write(Span<byte> s, bool fat32)
    {
        Name.AsSpan(0, 11).CopyTo(s);
        s[OffAttr] = (byte)Attr;
        s[OffNtRes] = NtRes;
        s[OffCTimeTenth] = CTimeTenth;
        BinaryPrimitives.WriteUInt16LittleEndian(s[OffCTime..], CTime);
        BinaryPrimitives.WriteUInt16LittleEndian(s[OffCDate..], CDate);
        BinaryPrimitives.WriteUInt16LittleEndian(s[OffADate..], ADate);
        BinaryPrimitives.WriteUInt16LittleEndian(s[OffClusterHi..], fat32 ? (ushort)(Cluster >> 16) : (ushort)0);
        BinaryPrimitives.WriteUInt16LittleEndian(s[OffMTime..], MTime);
        BinaryPrimitives.WriteUInt16LittleEndian(s[OffMDate..], MDate);
        BinaryPrimitives.WriteUInt16LittleEndian(s[OffClusterLo..], (ushort)Cluster);
        BinaryPrimitives.WriteUInt32LittleEndian(s[OffSize..], FileSize);
    }

    /// <summary>Update only the start cluster of an entry in place (".." after a move).</summary>
    public static void WriteCluster(Span<byte> s, uint cluster, bool fat32)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(s[OffClusterHi..], fat32 ? (ushort)(cluster >> 16) : (ushort)0);
        BinaryPrimitives.WriteUInt16LittleEndian(s[OffClusterLo..], (ushort)cluster);
    }
}
