using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.Ukfs.Partitions;

/// <summary>
/// Reads an MBR: primaries 1..4, and the logical partitions 5.. of the first extended
/// partition, following its chain of EBRs. In an EBR, entry 0 is the logical partition with
/// its start relative to that EBR, and entry 1 points to the next EBR relative to the start
/// of the extended partition.
/// </summary>
internal static class MbrReader
{
    /// <summary>More logical partitions than this means the chain loops or is garbage.</summary>
    private const int MaxLogical = 128;

    /// <summary>
    /// The partitions and the raw primary entries (for the NetBSD and GPT checks), or an empty
    /// list when sector 0 is not an MBR.
    /// </summary>
    public static List<(PartitionInfo Info, MbrEntry Entry)> Read(IBlockDevice device, List<string> warnings)
    {
        var found = new List<(PartitionInfo, MbrEntry)>();
        long sectorSize = device.SectorSize;
        byte[] sector = new byte[Math.Max(MbrRecord.RecordSize, device.SectorSize)];
        if (device.Length < sector.Length || device.Read(0, sector) != Errno.OK
            || !MbrRecord.HasSignature(sector) || !MbrRecord.EntriesLookValid(sector))
        {
            return found;
        }
        MbrEntry? extended = null;
        for (int i = 0; i < MbrRecord.EntryCount; i++)
        {
            MbrEntry e = MbrRecord.Entry(sector, i);
            if (e.IsEmpty)
            {
                continue;
            }
            string index = (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            long offset = e.FirstSector * sectorSize;
            long length = e.SectorCount * sectorSize;
            if (e.Type == MbrRecord.TypeGptProtective)
            {
                // Covers the whole disk by design (often clipped to 2 TiB); the GPT says more.
                continue;
            }
            if (!BlockDeviceChecks.InRange(offset, length, device.Length))
            {
                warnings.Add($"MBR:{index}: lies outside the disk (sectors {e.FirstSector}+{e.SectorCount}), ignored");
                continue;
            }
            found.Add((new PartitionInfo(PartitionScheme.Mbr, index, offset, length, MbrRecord.TypeName(e.Type), null), e));
            if (e.IsExtended && extended is null)
            {
                extended = e;
            }
        }
        if (extended is MbrEntry ext)
        {
            ReadLogical(device, ext, found, warnings);
        }
        return found;
    }

    private static void ReadLogical(IBlockDevice device, MbrEntry ext, List<(PartitionInfo, MbrEntry)> found, List<string> warnings)
    {
        long sectorSize = device.SectorSize;
        long extStart = ext.FirstSector;
        long extEnd = extStart + ext.SectorCount;
        long ebr = extStart;
        var seen = new HashSet<long>();
        byte[] sector = new byte[Math.Max(MbrRecord.RecordSize, device.SectorSize)];
        int number = 5;
        while (seen.Add(ebr))
        {
            if (seen.Count > MaxLogical)
            {
                warnings.Add($"MBR: more than {MaxLogical} logical partitions, the rest ignored");
                return;
            }
            if (ebr < extStart || ebr >= extEnd || device.Read(ebr * sectorSize, sector) != Errno.OK
                || !MbrRecord.HasSignature(sector))
            {
                warnings.Add($"MBR: extended boot record at sector {ebr} is missing or unreadable, logical partitions from {number} on ignored");
                return;
            }
            MbrEntry logical = MbrRecord.Entry(sector, 0);
            MbrEntry next = MbrRecord.Entry(sector, 1);
            if (!logical.IsEmpty)
            {
                string index = number.ToString(System.Globalization.CultureInfo.InvariantCulture);
                long first = ebr + logical.FirstSector;
                long offset = first * sectorSize;
                long length = logical.SectorCount * sectorSize;
                if (first + logical.SectorCount > extEnd || !BlockDeviceChecks.InRange(offset, length, device.Length))
                {
                    warnings.Add($"MBR:{index}: lies outside its extended partition, ignored");
                }
                else
                {
                    var rebased = new MbrEntry(logical.Status, logical.Type, (uint)first, logical.SectorCount);
                    found.Add((new PartitionInfo(PartitionScheme.Mbr, index, offset, length, MbrRecord.TypeName(logical.Type), null), rebased));
                }
                number++;
            }
            if (next.IsEmpty)
            {
                return;
            }
            ebr = extStart + next.FirstSector;
        }
        warnings.Add($"MBR: the chain of extended boot records loops at sector {ebr}, stopped there");
    }
}
