using System.Buffers.Binary;
using RumpFs.Kernel.Devices;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// Which boot sector a FAT32 check trusts. The boot sector is damaged when it does not
/// parse (bytes per sector, FAT count, sizes ...), when no FAT starts with the signature where
/// it puts them, or when its root cluster cannot be the root: free or bad in the FAT, the start of a subdirectory ("." and ".." first), or a
/// cluster whose contents are mostly not directory entries. Then the backup boot sector (the
/// one the boot sector names, else sector 6) is used when it is sound by the same rules,
/// carries 0x55AA and names itself as the backup. fsck.fat never reads the backup: it gives up on a boot sector
/// it cannot parse and walks whatever cluster the root number names.
/// </summary>
internal static class FatBootChoice
{
    private const int UsualBackupSector = 6;
    private const int BootSignatureOffset = FatBootRecord.Offsets.Signature;
    private static readonly int[] s_sectorSizes = [512, 1024, 2048, 4096];

    /// <summary>
    /// What is wrong with a FAT32 boot sector whose layout finds a FAT (as "names ..."), or
    /// null. A missing 0x55AA alone is not such damage: the layout and the root still come
    /// from that sector (the repair writes the signature), since a backup that differs in
    /// anything else would be trusted over a sector that is right.
    /// </summary>
    public static string? Damage(FatVolume v) => v.Kind != FatKind.Fat32 ? null : RootProblem(v);

    public static bool HasBootSignature(ReadOnlySpan<byte> sector) =>
        BinaryPrimitives.ReadUInt16LittleEndian(sector[BootSignatureOffset..]) == 0xAA55;

    /// <summary>
    /// A volume laid out by a sound FAT32 backup boot sector, its sector number in
    /// <see cref="FatVolume.BootFromBackup"/>; null when there is none. The backup is looked
    /// for where the boot sector's own fields say, then in sector 6, with each sector size
    /// when the boot sector's is damaged.
    /// </summary>
    public static FatVolume? FromBackup(IBlockDevice device, ReadOnlySpan<byte> sector0, FatBootRecord? boot)
    {
        int field = BinaryPrimitives.ReadUInt16LittleEndian(sector0[FatBootRecord.Offsets.BackupBootSector..]);
        int rawSize = BinaryPrimitives.ReadUInt16LittleEndian(sector0[FatBootRecord.Offsets.BytesPerSector..]);
        var sizes = new List<int>();
        if (boot is not null)
        {
            sizes.Add(boot.BytesPerSector);
        }
        else if (s_sectorSizes.Contains(rawSize))
        {
            sizes.Add(rawSize);
        }
        sizes.AddRange(s_sectorSizes.Where(s => !sizes.Contains(s)));
        int[] places = field is > 0 and < 0xFFFF && field != UsualBackupSector ? [field, UsualBackupSector] : [UsualBackupSector];
        var sector = new byte[512];
        foreach (int size in sizes)
        {
            foreach (int at in places)
            {
                long offset = (long)at * size;
                if (offset + sector.Length > device.Length || device.Read(offset, sector) != 0)
                {
                    continue;
                }
                FatBootRecord? backup = FatBootRecord.Parse(sector, device.Length, out _);
                if (backup is null || backup.Kind != FatKind.Fat32 || backup.BackupBootSector != at
                    || at >= backup.ReservedSectors || backup.BytesPerSector != size)
                {
                    continue;
                }
                FatVolume? v = FatVolume.Load(device, backup);
                if (v is not null && HasBootSignature(sector) && Damage(v) is null)
                {
                    v.BootFromBackup = at;
                    return v;
                }
            }
        }
        return null;
    }

    /// <summary>Why the root cluster cannot be the root directory, or null.</summary>
    private static string? RootProblem(FatVolume v)
    {
        uint root = v.Boot.RootCluster; // the BPB parser let only 2..MaxCluster through
        uint value = v.Value(root);
        if (value == FatTable.Free || v.IsBad(value))
        {
            return $"names root cluster {root}, which is {(value == FatTable.Free ? "free" : "bad")} in the FAT";
        }
        var data = new byte[v.Boot.ClusterBytes];
        if (v.Device.Read(v.Boot.ClusterOffset(root), data) != 0)
        {
            return null; // unreadable: the tree check reports it
        }
        if (data.AsSpan(0, FatDirRecord.NameLength).SequenceEqual(".          "u8)
            && data.AsSpan(FatDirRecord.Size, FatDirRecord.NameLength).SequenceEqual("..         "u8))
        {
            return $"names root cluster {root}, which starts a subdirectory (\".\" and \"..\" come first)";
        }
        int good = 0;
        int bad = 0;
        for (int i = 0; i < data.Length; i += FatDirRecord.Size)
        {
            ReadOnlySpan<byte> e = data.AsSpan(i, FatDirRecord.Size);
            if (e[0] == FatDirRecord.EndMarker)
            {
                break;
            }
            if (e[0] == FatDirRecord.Deleted)
            {
                continue;
            }
            if (LooksLikeEntry(e))
            {
                good++;
            }
            else
            {
                bad++;
            }
        }
        // fsck.fat's measure for a directory that is really something else: more than a
        // third of its entries bad.
        return bad > 0 && bad > good / 2
            ? $"names root cluster {root}, whose first cluster holds {bad} entries that cannot be directory entries and {good} that can"
            : null;
    }

    private static bool LooksLikeEntry(ReadOnlySpan<byte> e)
    {
        if (FatDirRecord.IsLongName(e))
        {
            int ordinal = e[FatDirRecord.LfnOrdinal] & ~FatDirRecord.LfnLast;
            return ordinal is >= 1 and <= 20;
        }
        byte attributes = e[FatDirRecord.Attributes];
        if ((attributes & 0xC0) != 0)
        {
            return false; // bits no entry uses
        }
        if ((attributes & FatDirRecord.AttrVolume) != 0)
        {
            // A volume label keeps looser rules than a file name (a '.' is allowed, say).
            return !e[..FatDirRecord.NameLength].ContainsAnyInRange((byte)0, (byte)0x1F);
        }
        return FatDirRecord.IsValidShortName(e[..FatDirRecord.NameLength]);
    }
}
