using System.Buffers.Binary;
using System.Text;
using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;
using O = RumpFs.FsDrivers.Msdosfs.Check.FatBootRecord.Offsets;

namespace RumpFs.FsDrivers.Msdosfs.Newfs;

/// <summary>
/// newfs_msdos: writes an empty FAT12/16/32 file system over the whole device (boot
/// sector, FSInfo and backups on FAT32, zeroed FATs and root directory, optional label).
/// </summary>
public sealed class FatFormatter : IFileSystemFormatter
{
    private readonly IClock _clock;

    public FatFormatter() : this(HostClock.Instance)
    {
    }

    // The volume serial comes from the clock, as newfs_msdos derives it; no other random choice.
    public FatFormatter(IClock clock) => _clock = clock;

    public IFileSystemFormatter With(IClock clock, IRandomSource random) => new FatFormatter(clock);

    public string FsType => "msdos";

    public Errno Format(IBlockDevice device, IReadOnlyDictionary<string, string?> options, out string? message)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        FatFormatOptions? o = FatFormatOptions.Parse(options, out message);
        if (o is null)
        {
            return Errno.EINVAL;
        }
        if (device.IsReadOnly)
        {
            message = "the device is read-only";
            return Errno.EROFS;
        }
        FatGeometry? g = FatGeometry.Choose(device.Length, o, out message);
        if (g is null)
        {
            return Errno.EINVAL;
        }
        Timespec now = _clock.Now;
        uint serial = o.VolumeId ?? (uint)(now.Seconds * 0x10001 ^ now.Nanoseconds);
        Errno rc = WriteAll(device, g, o, serial, now);
        if (rc != 0)
        {
            message = $"writing the file system failed: {rc}";
            return rc;
        }
        message = $"FAT{(int)g.Kind}: {g.TotalSectors} sectors of {g.SectorBytes} bytes, {g.ClusterCount} clusters of " +
            $"{g.ClusterBytes} bytes, {g.Fats} FATs of {g.FatSectors} sectors";
        return 0;
    }

    private static Errno WriteAll(IBlockDevice device, FatGeometry g, FatFormatOptions o, uint serial, Timespec now)
    {
        int bps = g.SectorBytes;
        // Zero everything up to the end of the root directory (FAT32: its first cluster).
        long metaEnd = g.DataStartSector * bps + (g.Kind == FatKind.Fat32 ? g.ClusterBytes : 0);
        Errno rc = device.WriteZeros(0, metaEnd);
        if (rc != 0)
        {
            return rc;
        }
        byte[] boot = BootSector(g, o, serial);
        rc = device.Write(0, boot);
        if (rc == 0 && g.Kind == FatKind.Fat32)
        {
            var info = new byte[bps];
            FsInfoSector.Build(info, (uint)(g.ClusterCount - 1), 3);
            rc = device.Write(1L * bps, info);
            rc = rc != 0 ? rc : device.Write(6L * bps, boot);
            rc = rc != 0 ? rc : device.Write(7L * bps, info);
        }
        if (rc != 0)
        {
            return rc;
        }
        var fat = new byte[Math.Min(g.FatSectors * bps, 3L * bps)];
        FatTable.Set(fat, g.Kind, 0, g.Kind switch { FatKind.Fat12 => 0xF00u, FatKind.Fat16 => 0xFF00u, _ => 0x0FFFFF00u } | 0xF8);
        FatTable.Set(fat, g.Kind, 1, FatTable.EndMark(g.Kind));
        if (g.Kind == FatKind.Fat32)
        {
            FatTable.Set(fat, g.Kind, 2, FatTable.EndMark(g.Kind)); // the root directory's cluster
        }
        for (int i = 0; i < g.Fats && rc == 0; i++)
        {
            rc = device.Write((g.ReservedSectors + i * g.FatSectors) * bps, fat);
        }
        if (rc == 0 && o.Label is not null)
        {
            long rootAt = g.Kind == FatKind.Fat32 ? g.DataStartSector * bps : (g.ReservedSectors + g.Fats * g.FatSectors) * bps;
            rc = device.Write(rootAt, LabelEntry(o.Label, now));
        }
        return rc != 0 ? rc : device.Flush();
    }

    private static byte[] BootSector(FatGeometry g, FatFormatOptions o, uint serial)
    {
        var s = new byte[g.SectorBytes];
        bool fat32 = g.Kind == FatKind.Fat32;
        s[O.Jump] = 0xEB;
        s[O.Jump + 1] = fat32 ? (byte)0x58 : (byte)0x3C;
        s[O.Jump + 2] = 0x90;
        Encoding.ASCII.GetBytes("RUMPFS  ", s.AsSpan(O.OemName, 8));
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(O.BytesPerSector), (ushort)g.SectorBytes);
        s[O.SectorsPerCluster] = (byte)g.SectorsPerCluster;
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(O.ReservedSectors), (ushort)g.ReservedSectors);
        s[O.NumFats] = (byte)g.Fats;
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(O.RootEntries), (ushort)g.RootEntries);
        if (g.TotalSectors < 65536 && !fat32)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(O.TotalSectors16), (ushort)g.TotalSectors);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(O.TotalSectors32), (uint)g.TotalSectors);
        }
        s[O.Media] = 0xF8;
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(O.SectorsPerTrack), 32);
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(O.Heads), 64);
        int ext = O.Ext16;
        if (fat32)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(O.FatSize32), (uint)g.FatSectors);
            BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(O.RootCluster), 2);
            BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(O.FsInfoSector), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(O.BackupBootSector), 6);
            ext = O.Ext32;
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(O.FatSize16), (ushort)g.FatSectors);
        }
        s[ext + O.ExtDriveNumber] = 0x80;
        s[ext + O.ExtSignature] = 0x29;
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(ext + O.ExtVolumeId), serial);
        Encoding.ASCII.GetBytes((o.Label ?? "NO NAME").PadRight(11), s.AsSpan(ext + O.ExtLabel, 11));
        Encoding.ASCII.GetBytes($"FAT{(int)g.Kind}".PadRight(8), s.AsSpan(ext + O.ExtFsType, 8));
        // Boot code: "this is not a bootable disk": int 18h (boot failure), then halt.
        int code = ext + O.ExtLength;
        s[code] = 0xCD;
        s[code + 1] = 0x18;
        s[code + 2] = 0xF4;
        s[O.Signature] = 0x55;
        s[O.Signature + 1] = 0xAA;
        return s;
    }

    private static byte[] LabelEntry(string label, Timespec now)
    {
        var e = new byte[FatDirRecord.Size];
        Encoding.ASCII.GetBytes(label.PadRight(11), e.AsSpan(FatDirRecord.Name, FatDirRecord.NameLength));
        e[FatDirRecord.Attributes] = FatDirRecord.AttrVolume;
        DateTime t = DateTimeOffset.FromUnixTimeSeconds(now.Seconds).UtcDateTime;
        int year = Math.Clamp(t.Year, 1980, 2107);
        ushort date = (ushort)(((year - 1980) << 9) | (t.Month << 5) | t.Day);
        ushort time = (ushort)((t.Hour << 11) | (t.Minute << 5) | (t.Second / 2));
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(FatDirRecord.WriteTime), time);
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(FatDirRecord.WriteDate), date);
        return e;
    }
}
