using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>The FAT variant, decided by the cluster count as the Microsoft specification says.</summary>
internal enum FatKind
{
    Fat12 = 12,
    Fat16 = 16,
    Fat32 = 32,
}

/// <summary>
/// The boot sector's BIOS parameter block, as fsck and newfs read and write it. Offsets are
/// those of the Microsoft FAT specification; the FAT32 extension starts at 0x24, the FAT12/16
/// extended BPB at 0x24 as well (they overlap, the kind decides which applies).
/// </summary>
internal sealed class FatBootRecord
{
    internal static class Offsets
    {
        public const int Jump = 0x00;
        public const int OemName = 0x03;
        public const int BytesPerSector = 0x0B;
        public const int SectorsPerCluster = 0x0D;
        public const int ReservedSectors = 0x0E;
        public const int NumFats = 0x10;
        public const int RootEntries = 0x11;
        public const int TotalSectors16 = 0x13;
        public const int Media = 0x15;
        public const int FatSize16 = 0x16;
        public const int SectorsPerTrack = 0x18;
        public const int Heads = 0x1A;
        public const int HiddenSectors = 0x1C;
        public const int TotalSectors32 = 0x20;

        // FAT32 extension.
        public const int FatSize32 = 0x24;
        public const int ExtFlags = 0x28;
        public const int FsVersion = 0x2A;
        public const int RootCluster = 0x2C;
        public const int FsInfoSector = 0x30;
        public const int BackupBootSector = 0x32;
        public const int Ext32 = 0x40;

        // Extended BPB (at 0x24 on FAT12/16, at 0x40 on FAT32), relative to its start.
        public const int ExtDriveNumber = 0;
        public const int ExtState = 1; // "reserved1": Linux and dosfstools keep the dirty bit here
        public const int ExtSignature = 2;
        public const int ExtVolumeId = 3;
        public const int ExtLabel = 7;
        public const int ExtFsType = 18;
        public const int ExtLength = 26;

        public const int Signature = 510;
        public const int Ext16 = 0x24;
    }

    /// <summary>The dirty bit in the extended BPB's state byte.</summary>
    public const byte StateDirty = 0x01;

    public int BytesPerSector { get; private init; }
    public int SectorsPerCluster { get; private init; }
    public int ReservedSectors { get; private init; }
    public int NumFats { get; private init; }
    public int RootEntries { get; private init; }
    public long TotalSectors { get; private init; }
    public byte Media { get; private init; }
    public long FatSectors { get; private init; }
    public uint RootCluster { get; private init; }
    public int FsInfoSector { get; private init; }
    public int BackupBootSector { get; private init; }
    public bool HasExtendedBpb { get; private init; }
    public byte State { get; private init; }
    public string Label { get; private init; } = "";

    public FatKind Kind { get; private init; }
    public long ClusterCount { get; private init; }
    public int ClusterBytes => BytesPerSector * SectorsPerCluster;
    public long FatOffset => (long)ReservedSectors * BytesPerSector;
    public long RootDirOffset => FatOffset + NumFats * FatSectors * BytesPerSector;
    public int RootDirSectors => (RootEntries * 32 + BytesPerSector - 1) / BytesPerSector;
    public long DataOffset => RootDirOffset + (long)RootDirSectors * BytesPerSector;
    public long FatBytes => FatSectors * BytesPerSector;

    /// <summary>Offset of the extended BPB for this kind.</summary>
    public int ExtOffset => Kind == FatKind.Fat32 ? Offsets.Ext32 : Offsets.Ext16;

    /// <summary>Highest valid cluster number.</summary>
    public uint MaxCluster => (uint)(ClusterCount + 1);

    public long ClusterOffset(uint cluster) => DataOffset + (long)(cluster - 2) * ClusterBytes;

    /// <summary>Parse and validate sector 0; on failure <paramref name="error"/> says why (fsck's phase 0).</summary>
    public static FatBootRecord? Parse(ReadOnlySpan<byte> s, long deviceLength, out string? error)
    {
        error = null;
        if (s.Length < 512)
        {
            error = "boot sector is short";
            return null;
        }
        int bps = BinaryPrimitives.ReadUInt16LittleEndian(s[Offsets.BytesPerSector..]);
        int spc = s[Offsets.SectorsPerCluster];
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(s[Offsets.ReservedSectors..]);
        int nfats = s[Offsets.NumFats];
        int rootEntries = BinaryPrimitives.ReadUInt16LittleEndian(s[Offsets.RootEntries..]);
        long total = BinaryPrimitives.ReadUInt16LittleEndian(s[Offsets.TotalSectors16..]);
        if (total == 0)
        {
            total = BinaryPrimitives.ReadUInt32LittleEndian(s[Offsets.TotalSectors32..]);
        }
        long fatSize = BinaryPrimitives.ReadUInt16LittleEndian(s[Offsets.FatSize16..]);
        bool fat32Layout = fatSize == 0;
        if (fat32Layout)
        {
            fatSize = BinaryPrimitives.ReadUInt32LittleEndian(s[Offsets.FatSize32..]);
        }
        if (bps is not (512 or 1024 or 2048 or 4096))
        {
            error = $"bytes per sector {bps} is not 512, 1024, 2048 or 4096";
        }
        else if (spc == 0 || (spc & (spc - 1)) != 0)
        {
            error = $"sectors per cluster {spc} is not a power of two";
        }
        else if (reserved == 0)
        {
            error = "no reserved sectors";
        }
        else if (nfats == 0)
        {
            error = "number of FATs is 0";
        }
        else if (fatSize == 0)
        {
            error = "FAT size is 0";
        }
        else if (total == 0)
        {
            error = "total sector count is 0";
        }
        if (error is not null)
        {
            return null;
        }
        long rootSectors = (rootEntries * 32L + bps - 1) / bps;
        long dataStart = reserved + nfats * fatSize + rootSectors;
        if (dataStart >= total)
        {
            error = $"metadata ({dataStart} sectors) does not fit in the {total} sectors of the volume";
            return null;
        }
        if (total * bps > deviceLength)
        {
            error = $"volume of {total * bps} bytes is larger than the device ({deviceLength} bytes)";
            return null;
        }
        long clusters = (total - dataStart) / spc;
        FatKind kind = fat32Layout ? FatKind.Fat32 : clusters < 4085 ? FatKind.Fat12 : FatKind.Fat16;
        if (fat32Layout && rootEntries != 0)
        {
            error = "FAT32 volume with a fixed root directory";
            return null;
        }
        if (!fat32Layout && rootEntries == 0)
        {
            error = "FAT12/16 volume without root directory entries";
            return null;
        }
        long fatEntries = kind switch
        {
            FatKind.Fat12 => fatSize * bps * 2 / 3,
            FatKind.Fat16 => fatSize * bps / 2,
            _ => fatSize * bps / 4,
        };
        if (fatEntries < clusters + 2)
        {
            error = $"FAT of {fatEntries} entries cannot describe {clusters} clusters";
            return null;
        }
        int ext = kind == FatKind.Fat32 ? Offsets.Ext32 : Offsets.Ext16;
        bool hasExt = s[ext + Offsets.ExtSignature] is 0x28 or 0x29;
        return new FatBootRecord
        {
            BytesPerSector = bps,
            SectorsPerCluster = spc,
            ReservedSectors = reserved,
            NumFats = nfats,
            RootEntries = rootEntries,
            TotalSectors = total,
            Media = s[Offsets.Media],
            FatSectors = fatSize,
            RootCluster = kind == FatKind.Fat32 ? BinaryPrimitives.ReadUInt32LittleEndian(s[Offsets.RootCluster..]) : 0,
            FsInfoSector = kind == FatKind.Fat32 ? BinaryPrimitives.ReadUInt16LittleEndian(s[Offsets.FsInfoSector..]) : 0,
            BackupBootSector = kind == FatKind.Fat32 ? BinaryPrimitives.ReadUInt16LittleEndian(s[Offsets.BackupBootSector..]) : 0,
            HasExtendedBpb = hasExt,
            State = hasExt ? s[ext + Offsets.ExtState] : (byte)0,
            Label = s[ext + Offsets.ExtSignature] == 0x29
                ? System.Text.Encoding.ASCII.GetString(s.Slice(ext + Offsets.ExtLabel, 11)).TrimEnd(' ')
                : "",
            Kind = kind,
            ClusterCount = clusters,
        };
    }
}
