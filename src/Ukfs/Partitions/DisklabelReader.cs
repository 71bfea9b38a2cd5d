using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.Ukfs.Partitions;

/// <summary>
/// Finds a NetBSD disklabel. Ports keep it at different places (sector 1 on x86, sector 0
/// at byte 64 or 128 on others), so, like disklabel(8), search the first sectors for the
/// magic at every 4-byte boundary and take the first that passes the checks of
/// <see cref="Disklabel.Parse"/>.
/// </summary>
internal static class DisklabelReader
{
    /// <summary>How far into the disk or NetBSD partition to search (the boot block area).</summary>
    private const int SearchBytes = 8192;

    private static readonly char[] s_letters = "abcdefghijklmnopqrstuv".ToCharArray();

    /// <summary>Search for a label starting at <paramref name="baseOffset"/> (0, or an MBR NetBSD partition).</summary>
    public static Disklabel? Find(IBlockDevice device, long baseOffset, long limit)
    {
        int size = (int)Math.Min(SearchBytes, Math.Min(limit, device.Length - baseOffset));
        if (size < Disklabel.PartitionsOffset)
        {
            return null;
        }
        byte[] area = new byte[size];
        if (device.Read(baseOffset, area) != Errno.OK)
        {
            return null;
        }
        for (int off = 0; off + Disklabel.PartitionsOffset <= size; off += 4)
        {
            if (area[off] is 0x57 or 0x82)
            {
                Disklabel? label = Disklabel.Parse(area.AsSpan(off));
                if (label is not null)
                {
                    return label;
                }
            }
        }
        return null;
    }

    /// <summary>The label's partitions as <see cref="PartitionInfo"/>, each checked against the disk.</summary>
    public static List<PartitionInfo> Partitions(IBlockDevice device, Disklabel label, List<string> warnings)
    {
        var found = new List<PartitionInfo>();
        long ss = label.SectorSize is >= 512 and <= 65536 && (label.SectorSize & (label.SectorSize - 1)) == 0
            ? label.SectorSize
            : device.SectorSize;
        for (int i = 0; i < label.Partitions.Count; i++)
        {
            DisklabelPartition p = label.Partitions[i];
            if (p.Size == 0)
            {
                continue;
            }
            string index = s_letters[i].ToString();
            long offset = p.Offset * ss;
            long length = p.Size * ss;
            if (!BlockDeviceChecks.InRange(offset, length, device.Length))
            {
                warnings.Add($"DISKLABEL:{index}: lies outside the disk (sectors {p.Offset}+{p.Size}), ignored");
                continue;
            }
            found.Add(new PartitionInfo(PartitionScheme.Disklabel, index, offset, length, Disklabel.FsTypeName(p.FsType), null));
        }
        return found;
    }
}
