using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>The FAT variant, decided by the cluster count as the specification says.</summary>
public enum FatType
{
    Fat12 = 12,
    Fat16 = 16,
    Fat32 = 32,
}

/// <summary>
/// Field offsets of the boot sector and its BIOS parameter block (Microsoft's FAT
/// specification, "BPB"). The common part ends at 36; the FAT12/16 and FAT32 extensions
/// follow at different places.
/// </summary>
internal static class BootSectorLayout
{
    public const int Jump = 0;          // 3: EB xx 90 or E9 xx xx
    public const int OemName = 3;       // 8
    public const int BytesPerSector = 11; // 2
    public const int SectorsPerCluster = 13; // 1
    public const int ReservedSectors = 14; // 2
    public const int NumFats = 16;      // 1
    public const int RootEntries = 17;  // 2
    public const int TotalSectors16 = 19; // 2
    public const int Media = 21;        // 1
    public const int FatSize16 = 22;    // 2
    public const int SectorsPerTrack = 24; // 2
    public const int NumHeads = 26;     // 2
    public const int HiddenSectors = 28; // 4
    public const int TotalSectors32 = 32; // 4
    public const int CommonEnd = 36;

    // FAT12/16 extended BPB.
    public const int Fat16DriveNumber = 36; // 1
    public const int Fat16State = 37;   // 1 (Linux/Windows "dirty" flags)
    public const int Fat16BootSig = 38; // 1: 0x29 when the next three fields are valid
    public const int Fat16VolumeId = 39; // 4
    public const int Fat16Label = 43;   // 11
    public const int Fat16FsType = 54;  // 8
    public const int Fat16End = 62;

    // FAT32 extended BPB.
    public const int Fat32FatSize = 36; // 4
    public const int Fat32ExtFlags = 40; // 2: bit 7 = mirroring off, bits 0-3 = active FAT
    public const int Fat32Version = 42; // 2
    public const int Fat32RootCluster = 44; // 4
    public const int Fat32FsInfo = 48;  // 2
    public const int Fat32BackupBoot = 50; // 2
    public const int Fat32Reserved = 52; // 12
    public const int Fat32DriveNumber = 64; // 1
    public const int Fat32State = 65;   // 1
    public const int Fat32BootSig = 66; // 1
    public const int Fat32VolumeId = 67; // 4
    public const int Fat32Label = 71;   // 11
    public const int Fat32FsType = 82;  // 8
    public const int Fat32End = 90;

    public const int Signature = 510;   // 2: 55 AA
    public const int Size = 512;
}

/// <summary>
/// The decoded and validated BPB: the geometry every other part of the driver computes
/// offsets from. <see cref="Parse"/> refuses anything that would make a later offset
/// computation leave the volume.
/// </summary>
internal sealed class Bpb
{
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
    public bool MirroringOff { get; private init; }
    public int ActiveFat { get; private init; }
    public uint VolumeId { get; private init; }
    public string Label { get; private init; } = "";
    public string OemName { get; private init; } = "";
    public FatType Type { get; private init; }

    /// <summary>Number of data clusters; valid cluster numbers are 2 .. ClusterCount+1.</summary>
    public uint ClusterCount { get; private init; }

    public int ClusterSize => BytesPerSector * SectorsPerCluster;
    public long FatOffset => (long)ReservedSectors * BytesPerSector;
    public long FatBytes => FatSectors * BytesPerSector;
    public long RootDirOffset => FatOffset + (NumFats * FatBytes);
    public long RootDirSectors => ((RootEntries * 32L) + BytesPerSector - 1) / BytesPerSector;
    public long DataOffset => RootDirOffset + (RootDirSectors * BytesPerSector);
    public long VolumeBytes => TotalSectors * BytesPerSector;
    public uint MaxCluster => ClusterCount + 1;

    /// <summary>Byte offset of cluster <paramref name="cluster"/> (2 .. MaxCluster).</summary>
    public long ClusterOffset(uint cluster) => DataOffset + ((long)(cluster - 2) * ClusterSize);

    public static bool LooksLikeFat(ReadOnlySpan<byte> s) =>
        s.Length >= BootSectorLayout.Size
        && (s[BootSectorLayout.Jump] == 0xEB || s[BootSectorLayout.Jump] == 0xE9)
        && BinaryPrimitives.ReadUInt16LittleEndian(s[BootSectorLayout.Signature..]) == 0xAA55
        && Parse(s, long.MaxValue, out _, out _) == null;

    /// <summary>
    /// Decode and validate; returns null on success or a one-line reason.
    /// <paramref name="deviceBytes"/> bounds the volume (a truncated image is refused).
    /// </summary>
    public static string? Parse(ReadOnlySpan<byte> s, long deviceBytes, out Bpb? bpb, out bool fat32Layout)
    {
        bpb = null;
        fat32Layout = false;
        if (s.Length < BootSectorLayout.Size)
        {
            return "boot sector too short";
        }
        int bps = BinaryPrimitives.ReadUInt16LittleEndian(s[BootSectorLayout.BytesPerSector..]);
        if (bps is not (512 or 1024 or 2048 or 4096))
        {
            return $"bad bytes per sector {bps}";
        }
        int spc = s[BootSectorLayout.SectorsPerCluster];
        if (spc == 0 || (spc & (spc - 1)) != 0)
        {
            return $"bad sectors per cluster {spc}";
        }
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(s[BootSectorLayout.ReservedSectors..]);
        int nfats = s[BootSectorLayout.NumFats];
        int rootEntries = BinaryPrimitives.ReadUInt16LittleEndian(s[BootSectorLayout.RootEntries..]);
        long total = BinaryPrimitives.ReadUInt16LittleEndian(s[BootSectorLayout.TotalSectors16..]);
        if (total == 0)
        {
            total = BinaryPrimitives.ReadUInt32LittleEndian(s[BootSectorLayout.TotalSectors32..]);
        }
        byte media = s[BootSectorLayout.Media];
        long fatSize = BinaryPrimitives.ReadUInt16LittleEndian(s[BootSectorLayout.FatSize16..]);
        fat32Layout = fatSize == 0;
        if (fat32Layout)
        {
            fatSize = BinaryPrimitives.ReadUInt32LittleEndian(s[BootSectorLayout.Fat32FatSize..]);
        }
        if (reserved < 1)
        {
            return "no reserved sectors";
        }
        if (nfats < 1 || nfats > 4)
        {
            return $"bad number of FATs {nfats}";
        }
        if (media != 0xF0 && media < 0xF8)
        {
            return $"bad media descriptor 0x{media:X2}";
        }
        if (fatSize == 0 || total == 0)
        {
            return "zero FAT size or volume size";
        }
        if (fat32Layout && rootEntries != 0)
        {
            return "FAT32 layout with a fixed root directory";
        }
        if (!fat32Layout && rootEntries == 0)
        {
            return "FAT12/16 layout without a root directory";
        }
        if (rootEntries * 32L % bps != 0)
        {
            // Linux refuses this ("bogus number of directory entries"), and so does fsck.fat:
            // no formatter writes it, and every sector after the root would be read one
            // partial sector off if the count were rounded.
            return $"root directory of {rootEntries} entries does not fill whole sectors";
        }
        long rootSectors = rootEntries * 32L / bps;
        long meta = reserved + (nfats * fatSize) + rootSectors;
        if (meta >= total)
        {
            return "metadata larger than the volume";
        }
        long clusters = (total - meta) / spc;
        if (clusters < 1 || clusters > 0x0FFFFFF5)
        {
            return $"bad cluster count {clusters}";
        }
        // The specification decides the type by the cluster count alone. A FAT32 layout
        // (FAT size in the FAT32 field, no fixed root) with fewer clusters is what
        // mkfs.fat -F 32 makes of small volumes; Linux mounts it as FAT32 and so do we.
        FatType type = clusters < 4085 ? FatType.Fat12 : clusters < 65525 ? FatType.Fat16 : FatType.Fat32;
        if (fat32Layout)
        {
            type = FatType.Fat32;
        }
        else if (type == FatType.Fat32)
        {
            return "FAT32 cluster count with a FAT12/16 layout";
        }
        long fatBytesNeeded = type switch
        {
            FatType.Fat12 => (((clusters + 2) * 3) + 1) / 2,
            FatType.Fat16 => (clusters + 2) * 2,
            _ => (clusters + 2) * 4,
        };
        if (fatSize * bps < fatBytesNeeded)
        {
            return "FAT too small for the cluster count";
        }
        if (total * bps > deviceBytes)
        {
            return $"volume of {total * bps} bytes is larger than the device ({deviceBytes} bytes)";
        }
        uint rootCluster = 0;
        int fsInfo = 0;
        bool mirroringOff = false;
        int activeFat = 0;
        uint volumeId;
        string label;
        if (type == FatType.Fat32)
        {
            rootCluster = BinaryPrimitives.ReadUInt32LittleEndian(s[BootSectorLayout.Fat32RootCluster..]) & 0x0FFFFFFF;
            if (rootCluster < 2 || rootCluster > clusters + 1)
            {
                return $"root cluster {rootCluster} outside the volume";
            }
            if (BinaryPrimitives.ReadUInt16LittleEndian(s[BootSectorLayout.Fat32Version..]) != 0)
            {
                return "unsupported FAT32 version";
            }
            fsInfo = BinaryPrimitives.ReadUInt16LittleEndian(s[BootSectorLayout.Fat32FsInfo..]);
            if (fsInfo >= reserved)
            {
                fsInfo = 0; // no usable FSInfo: the free count is computed at mount.
            }
            ushort ext = BinaryPrimitives.ReadUInt16LittleEndian(s[BootSectorLayout.Fat32ExtFlags..]);
            mirroringOff = (ext & 0x80) != 0;
            activeFat = ext & 0x0F;
            if (mirroringOff && activeFat >= nfats)
            {
                return $"active FAT {activeFat} does not exist";
            }
            bool ext29 = s[BootSectorLayout.Fat32BootSig] == 0x29;
            volumeId = ext29 ? BinaryPrimitives.ReadUInt32LittleEndian(s[BootSectorLayout.Fat32VolumeId..]) : 0;
            label = ext29 ? MsdosConv.ShortFieldToString(s.Slice(BootSectorLayout.Fat32Label, 11)) : "";
        }
        else
        {
            bool ext29 = s[BootSectorLayout.Fat16BootSig] == 0x29;
            volumeId = ext29 ? BinaryPrimitives.ReadUInt32LittleEndian(s[BootSectorLayout.Fat16VolumeId..]) : 0;
            label = ext29 ? MsdosConv.ShortFieldToString(s.Slice(BootSectorLayout.Fat16Label, 11)) : "";
        }
        bpb = new Bpb
        {
            BytesPerSector = bps,
            SectorsPerCluster = spc,
            ReservedSectors = reserved,
            NumFats = nfats,
            RootEntries = rootEntries,
            TotalSectors = total,
            Media = media,
            FatSectors = fatSize,
            RootCluster = rootCluster,
            FsInfoSector = fsInfo,
            MirroringOff = mirroringOff,
            ActiveFat = activeFat,
            VolumeId = volumeId,
            Label = label == "NO NAME" ? "" : label,
            OemName = MsdosConv.ShortFieldToString(s.Slice(BootSectorLayout.OemName, 8)),
            Type = type,
            ClusterCount = (uint)clusters,
        };
        return null;
    }
}
