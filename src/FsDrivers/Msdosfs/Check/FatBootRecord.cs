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
/// The checker's view of the boot sector: the driver's <see cref="Bpb"/> (which parses and
/// validates it) plus what only fsck and newfs need: the dirty bit, the backup boot sector,
/// the extended BPB's place. Offsets are the driver's <see cref="BootSectorLayout"/>.
/// </summary>
internal sealed class FatBootRecord
{
    /// <summary>Offsets newfs writes, named once; values from the driver's layout.</summary>
    internal static class Offsets
    {
        public const int Jump = BootSectorLayout.Jump;
        public const int OemName = BootSectorLayout.OemName;
        public const int BytesPerSector = BootSectorLayout.BytesPerSector;
        public const int SectorsPerCluster = BootSectorLayout.SectorsPerCluster;
        public const int ReservedSectors = BootSectorLayout.ReservedSectors;
        public const int NumFats = BootSectorLayout.NumFats;
        public const int RootEntries = BootSectorLayout.RootEntries;
        public const int TotalSectors16 = BootSectorLayout.TotalSectors16;
        public const int Media = BootSectorLayout.Media;
        public const int FatSize16 = BootSectorLayout.FatSize16;
        public const int SectorsPerTrack = BootSectorLayout.SectorsPerTrack;
        public const int Heads = BootSectorLayout.NumHeads;
        public const int TotalSectors32 = BootSectorLayout.TotalSectors32;
        public const int FatSize32 = BootSectorLayout.Fat32FatSize;
        public const int RootCluster = BootSectorLayout.Fat32RootCluster;
        public const int FsInfoSector = BootSectorLayout.Fat32FsInfo;
        public const int BackupBootSector = BootSectorLayout.Fat32BackupBoot;

        // The extended BPB sits at Ext16 (FAT12/16) or Ext32 (FAT32); fields relative to it.
        public const int Ext16 = BootSectorLayout.Fat16DriveNumber;
        public const int Ext32 = BootSectorLayout.Fat32DriveNumber;
        public const int ExtDriveNumber = 0;
        public const int ExtState = BootSectorLayout.Fat16State - Ext16;
        public const int ExtSignature = BootSectorLayout.Fat16BootSig - Ext16;
        public const int ExtVolumeId = BootSectorLayout.Fat16VolumeId - Ext16;
        public const int ExtLabel = BootSectorLayout.Fat16Label - Ext16;
        public const int ExtFsType = BootSectorLayout.Fat16FsType - Ext16;
        public const int ExtLength = BootSectorLayout.Fat16End - Ext16;

        public const int Signature = BootSectorLayout.Signature;
    }

    /// <summary>The dirty bit in the extended BPB's state byte.</summary>
    public const byte StateDirty = 0x01;

    private FatBootRecord(Bpb bpb) => Bpb = bpb;

    /// <summary>The driver's decoded BPB.</summary>
    public Bpb Bpb { get; }

    public int BytesPerSector => Bpb.BytesPerSector;
    public int SectorsPerCluster => Bpb.SectorsPerCluster;
    public int ReservedSectors => Bpb.ReservedSectors;
    public int NumFats => Bpb.NumFats;
    public int RootEntries => Bpb.RootEntries;
    public long TotalSectors => Bpb.TotalSectors;
    public byte Media => Bpb.Media;
    public long FatSectors => Bpb.FatSectors;
    public uint RootCluster => Bpb.RootCluster;
    public int FsInfoSector => Bpb.FsInfoSector;
    public string Label => Bpb.Label;
    public FatKind Kind => (FatKind)(int)Bpb.Type;
    public long ClusterCount => Bpb.ClusterCount;
    public int ClusterBytes => Bpb.ClusterSize;
    public long FatOffset => Bpb.FatOffset;
    public long RootDirOffset => Bpb.RootDirOffset;
    public int RootDirSectors => (int)Bpb.RootDirSectors;
    public long DataOffset => Bpb.DataOffset;
    public long FatBytes => Bpb.FatBytes;
    public uint MaxCluster => Bpb.MaxCluster;

    public int BackupBootSector { get; private init; }

    /// <summary>
    /// The FAT32 FSInfo sector number as written, even outside the reserved area (where the
    /// driver's <see cref="FsInfoSector"/> is 0); 0 on FAT12/16.
    /// </summary>
    public int FsInfoSectorField { get; private init; }
    public bool HasExtendedBpb { get; private init; }
    public byte State { get; private init; }

    /// <summary>Offset of the extended BPB for this kind.</summary>
    public int ExtOffset => Kind == FatKind.Fat32 ? Offsets.Ext32 : Offsets.Ext16;

    public long ClusterOffset(uint cluster) => Bpb.ClusterOffset(cluster);

    /// <summary>Parse and validate sector 0 with the driver's rules; on failure <paramref name="error"/> says why.</summary>
    public static FatBootRecord? Parse(ReadOnlySpan<byte> s, long deviceLength, out string? error)
    {
        error = Bpb.Parse(s, deviceLength, out Bpb? bpb, out _);
        if (error is not null || bpb is null)
        {
            return null;
        }
        if (bpb.NumFats > 2)
        {
            // The driver takes up to four, as the specification allows, but no formatter
            // writes more than two and fsck.fat refuses them: a count of 3 where 2 were
            // written moves the root and every cluster, and a repair on that layout would
            // rewrite the whole volume.
            error = $"names {bpb.NumFats} FATs; only 1 or 2 are supported, as fsck.fat";
            return null;
        }
        bool fat32 = bpb.Type == FatType.Fat32;
        int ext = fat32 ? Offsets.Ext32 : Offsets.Ext16;
        bool hasExt = s[ext + Offsets.ExtSignature] is 0x28 or 0x29;
        return new FatBootRecord(bpb)
        {
            BackupBootSector = fat32 ? BinaryPrimitives.ReadUInt16LittleEndian(s[Offsets.BackupBootSector..]) : 0,
            FsInfoSectorField = fat32 ? BinaryPrimitives.ReadUInt16LittleEndian(s[Offsets.FsInfoSector..]) : 0,
            HasExtendedBpb = hasExt,
            State = hasExt ? s[ext + Offsets.ExtState] : (byte)0,
        };
    }
}
