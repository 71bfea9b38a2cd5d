using System.IO.Hashing;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.Ukfs.Partitions;

/// <summary>
/// Reads a GPT: the primary header at LBA 1, or the backup at the last LBA when the primary
/// is damaged; both CRCs (header and entry array) must match before any entry is believed.
/// </summary>
internal static class GptReader
{
    /// <summary>More entries than this is not a real table (the usual is 128).</summary>
    private const uint MaxEntries = 4096;

    public static List<PartitionInfo> Read(IBlockDevice device, List<string> warnings)
    {
        var found = new List<PartitionInfo>();
        int ss = device.SectorSize;
        long lastLba = (device.Length / ss) - 1;
        if (lastLba < 2)
        {
            return found;
        }
        GptHeader? header = ReadHeader(device, 1, out string? primaryProblem);
        if (header is null)
        {
            if (primaryProblem == "no GPT signature")
            {
                return found;
            }
            header = ReadHeader(device, lastLba, out string? backupProblem);
            if (header is null)
            {
                warnings.Add($"GPT: primary header rejected ({primaryProblem}); backup header rejected ({backupProblem})");
                return found;
            }
            warnings.Add($"GPT: primary header rejected ({primaryProblem}); using the backup header");
        }
        if (header.EntryCount > MaxEntries || header.EntrySize < GptEntry.MinSize || header.EntrySize > 4096
            || header.EntrySize % 8 != 0)
        {
            warnings.Add($"GPT: entry array of {header.EntryCount} entries of {header.EntrySize} bytes is invalid");
            return found;
        }
        long arrayBytes = (long)header.EntryCount * header.EntrySize;
        long arrayOffset = (long)header.EntriesLba * ss;
        if (header.EntriesLba > (ulong)lastLba || !BlockDeviceChecks.InRange(arrayOffset, arrayBytes, device.Length))
        {
            warnings.Add("GPT: entry array lies outside the disk");
            return found;
        }
        byte[] array = new byte[arrayBytes];
        if (device.Read(arrayOffset, array) != Errno.OK)
        {
            warnings.Add("GPT: entry array unreadable");
            return found;
        }
        uint crc = Crc32.HashToUInt32(array);
        if (crc != header.EntriesCrc)
        {
            warnings.Add($"GPT: entry array CRC32 mismatch (stored 0x{header.EntriesCrc:x8}, computed 0x{crc:x8}), table ignored");
            return found;
        }
        for (int i = 0; i < header.EntryCount; i++)
        {
            GptEntry e = GptEntry.Parse(array.AsSpan(i * (int)header.EntrySize, (int)header.EntrySize));
            if (e.IsUnused)
            {
                continue;
            }
            string index = (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (e.LastLba < e.FirstLba || e.LastLba > (ulong)lastLba)
            {
                warnings.Add($"GPT:{index}: lies outside the disk (LBA {e.FirstLba}..{e.LastLba}), ignored");
                continue;
            }
            long offset = (long)e.FirstLba * ss;
            long length = (long)(e.LastLba - e.FirstLba + 1) * ss;
            found.Add(new PartitionInfo(PartitionScheme.Gpt, index, offset, length, GptEntry.TypeName(e.TypeGuid),
                e.Name.Length == 0 ? null : e.Name));
        }
        return found;
    }

    private static GptHeader? ReadHeader(IBlockDevice device, long lba, out string? problem)
    {
        byte[] sector = new byte[device.SectorSize];
        if (device.Read(lba * device.SectorSize, sector) != Errno.OK)
        {
            problem = "unreadable";
            return null;
        }
        GptHeader? h = GptHeader.Parse(sector, out problem);
        if (h is not null && h.CurrentLba != (ulong)lba)
        {
            problem = $"header claims to be at LBA {h.CurrentLba}, found at {lba}";
            return null;
        }
        return h;
    }
}
