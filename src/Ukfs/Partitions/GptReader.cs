using System.IO.Hashing;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.Ukfs.Partitions;

/// <summary>
/// Reads a GPT: the primary header at LBA 1 with its entry array, or, when either fails its
/// CRC32, the backup header at the last LBA with its own array. Nothing in a table whose
/// CRCs do not match is believed.
/// </summary>
internal static class GptReader
{
    /// <summary>More entries than this is not a real table (the usual is 128).</summary>
    private const uint MaxEntries = 4096;

    public static List<PartitionInfo> Read(IBlockDevice device, List<string> warnings)
    {
        int ss = device.SectorSize;
        long lastLba = (device.Length / ss) - 1;
        if (lastLba < 2)
        {
            return [];
        }
        List<PartitionInfo>? found = ReadTable(device, 1, lastLba, warnings, out string? primaryProblem);
        if (found is not null)
        {
            return found;
        }
        if (primaryProblem == NoSignature)
        {
            return [];
        }
        found = ReadTable(device, lastLba, lastLba, warnings, out string? backupProblem);
        if (found is null)
        {
            warnings.Add($"GPT: primary table rejected ({primaryProblem}); backup table rejected ({backupProblem})");
            return [];
        }
        warnings.Add($"GPT: primary table rejected ({primaryProblem}); using the backup table");
        return found;
    }

    private const string NoSignature = "no GPT signature";

    private static List<PartitionInfo>? ReadTable(IBlockDevice device, long headerLba, long lastLba, List<string> warnings, out string? problem)
    {
        int ss = device.SectorSize;
        byte[] sector = new byte[ss];
        if (device.Read(headerLba * ss, sector) != Errno.OK)
        {
            problem = "header unreadable";
            return null;
        }
        GptHeader? header = GptHeader.Parse(sector, out problem);
        if (header is null)
        {
            return null;
        }
        if (header.CurrentLba != (ulong)headerLba)
        {
            problem = $"header claims to be at LBA {header.CurrentLba}, found at {headerLba}";
            return null;
        }
        if (header.EntryCount > MaxEntries || header.EntrySize < GptEntry.MinSize || header.EntrySize > 4096
            || header.EntrySize % 8 != 0)
        {
            problem = $"entry array of {header.EntryCount} entries of {header.EntrySize} bytes is invalid";
            return null;
        }
        long arrayBytes = (long)header.EntryCount * header.EntrySize;
        if (header.EntriesLba > (ulong)lastLba || !BlockDeviceChecks.InRange((long)header.EntriesLba * ss, arrayBytes, device.Length))
        {
            problem = "entry array lies outside the disk";
            return null;
        }
        byte[] array = new byte[arrayBytes];
        if (device.Read((long)header.EntriesLba * ss, array) != Errno.OK)
        {
            problem = "entry array unreadable";
            return null;
        }
        uint crc = Crc32.HashToUInt32(array);
        if (crc != header.EntriesCrc)
        {
            problem = $"entry array CRC32 mismatch (stored 0x{header.EntriesCrc:x8}, computed 0x{crc:x8})";
            return null;
        }
        var found = new List<PartitionInfo>();
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
                // A CRC-valid entry outside the disk: a truncated image. Skip just this one.
                warnings.Add($"GPT:{index}: lies outside the disk (LBA {e.FirstLba}..{e.LastLba}), ignored");
                continue;
            }
            long offset = (long)e.FirstLba * ss;
            long length = (long)(e.LastLba - e.FirstLba + 1) * ss;
            found.Add(new PartitionInfo(PartitionScheme.Gpt, index, offset, length, GptEntry.TypeName(e.TypeGuid),
                e.Name.Length == 0 ? null : e.Name));
        }
        problem = null;
        return found;
    }
}
