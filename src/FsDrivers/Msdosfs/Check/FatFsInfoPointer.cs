using System.Buffers.Binary;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// The FAT32 boot sector's FSInfo sector number. One outside the reserved area (where the
/// driver ignores it, so the free count is never kept), or naming the backup boot sector,
/// is an error, repaired from the
/// backup boot sector's number when that one is usable, else from sector 1 when it holds
/// an FSInfo sector (where mkfs.fat and Windows put it). The backup boot sector is
/// corrected with the boot sector, so that the two do not come to differ.
/// </summary>
internal static class FatFsInfoPointer
{
    private const int UsualFsInfoSector = 1;

    /// <summary>The FSInfo sector to check, or 0 when the volume has none that can be found.</summary>
    public static int Resolve(FatVolume v, CheckReport report, bool repair)
    {
        int field = v.Boot.FsInfoSectorField;
        if (field == 0 || field == 0xFFFF)
        {
            report.Note("fsinfo", "boot sector", "no FSInfo sector");
            return 0;
        }
        if (IsInReservedArea(v, field))
        {
            return field;
        }
        // The backup boot sector is no FSInfo sector either: a repair of "its" signatures
        // would overwrite the backup.
        string where = field == v.Boot.BackupBootSector ? "is the backup boot sector" : "is outside the reserved area";
        int backupField = BackupField(v);
        int found = IsInReservedArea(v, backupField) ? backupField : HoldsFsInfo(v, UsualFsInfoSector) ? UsualFsInfoSector : 0;
        if (found == 0)
        {
            report.Note("fsinfo", "boot sector", $"FSInfo sector {field} {where} and no FSInfo sector was found; none is used");
            return 0;
        }
        string source = found == backupField ? "the backup boot sector's number" : $"sector {found} holds the FSInfo signatures";
        report.Add("fsinfo", "boot sector", $"FSInfo sector {field} {where}; set to {found} ({source})", repair);
        if (repair)
        {
            SetField(v, 0, found);
            if (backupField == field)
            {
                SetField(v, v.Boot.BackupBootSector, found);
            }
        }
        return found;
    }

    /// <summary>A place an FSInfo sector can be: in the reserved area, and not the boot sector or its backup.</summary>
    private static bool IsInReservedArea(FatVolume v, int sector) =>
        sector > 0 && sector < v.Boot.ReservedSectors && sector != v.Boot.BackupBootSector;

    /// <summary>The backup boot sector's FSInfo number, when the backup is a valid boot sector; else 0.</summary>
    private static int BackupField(FatVolume v)
    {
        if (v.Boot.BackupBootSector is 0 or 0xFFFF || v.Boot.BackupBootSector >= v.Boot.ReservedSectors)
        {
            return 0;
        }
        var sector = new byte[512];
        if (v.Device.Read((long)v.Boot.BackupBootSector * v.Boot.BytesPerSector, sector) != 0)
        {
            return 0;
        }
        FatBootRecord? backup = FatBootRecord.Parse(sector, v.Device.Length, out _);
        return backup is { Kind: FatKind.Fat32 } ? backup.FsInfoSectorField : 0;
    }

    private static bool HoldsFsInfo(FatVolume v, int sector)
    {
        if (!IsInReservedArea(v, sector))
        {
            return false;
        }
        var s = new byte[FsInfo.Size];
        return v.Device.Read((long)sector * v.Boot.BytesPerSector, s) == 0 && FsInfo.IsValid(s);
    }

    private static void SetField(FatVolume v, int bootSector, int value)
    {
        var sector = new byte[512];
        long at = (long)bootSector * v.Boot.BytesPerSector;
        if (v.Device.Read(at, sector) == 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(sector.AsSpan(FatBootRecord.Offsets.FsInfoSector), (ushort)value);
            v.Device.Write(at, sector);
        }
    }
}
