using RumpFs.Kernel.Devices;

namespace RumpFs.Ukfs.Partitions;

/// <summary>
/// Lists the partitions of a disk image: MBR (with logical partitions), GPT, and a NetBSD
/// disklabel on the whole disk or inside the first MBR NetBSD partition (type 0xA9).
/// Reads only; damaged tables become warnings, never exceptions.
/// </summary>
public static class PartitionProbe
{
    /// <summary>Every partition found on <paramref name="device"/>.</summary>
    public static PartitionListing Probe(IBlockDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var warnings = new List<string>();
        var all = new List<PartitionInfo>();
        List<(PartitionInfo Info, MbrEntry Entry)> mbr = MbrReader.Read(device, warnings);
        all.AddRange(mbr.Select(m => m.Info));
        all.AddRange(GptReader.Read(device, warnings));

        Disklabel? label = null;
        foreach ((PartitionInfo info, MbrEntry entry) in mbr)
        {
            if (entry.Type == MbrRecord.TypeNetBsd)
            {
                label = DisklabelReader.Find(device, info.Offset, info.Length);
                break;
            }
        }
        label ??= DisklabelReader.Find(device, 0, device.Length);
        if (label is not null)
        {
            all.AddRange(DisklabelReader.Partitions(device, label, warnings));
        }
        return new PartitionListing(all, warnings);
    }
}
