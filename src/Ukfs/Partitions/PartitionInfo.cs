namespace RumpFs.Ukfs.Partitions;

/// <summary>The kind of partition table a partition was found in.</summary>
public enum PartitionScheme
{
    /// <summary>A PC master boot record, including logical partitions of an extended partition.</summary>
    Mbr,

    /// <summary>A GUID partition table.</summary>
    Gpt,

    /// <summary>A NetBSD disklabel, on the whole disk or inside an MBR NetBSD partition.</summary>
    Disklabel,
}

/// <summary>
/// One partition found on a disk image: where it lies (in bytes from the start of the image)
/// and how the rump selection syntax names it (<c>%MBR:2%</c>, <c>%GPT:3%</c>, <c>%DISKLABEL:e%</c>).
/// </summary>
/// <param name="Scheme">The table the partition comes from.</param>
/// <param name="Index">Its name within the table: "1".."4" primary and "5".. logical for MBR, "1".. for GPT, "a".."p" for a disklabel.</param>
/// <param name="Offset">First byte of the partition on the image.</param>
/// <param name="Length">Length in bytes.</param>
/// <param name="TypeName">The partition type as the table records it, readable ("0x83 Linux", "NetBSD FFS", a GUID).</param>
/// <param name="Label">A name stored in the table (GPT entry name), or null.</param>
public sealed record PartitionInfo(PartitionScheme Scheme, string Index, long Offset, long Length, string TypeName, string? Label)
{
    /// <summary>The selection suffix that picks this partition, e.g. <c>%MBR:2%</c>.</summary>
    public string Selector => $"%{SchemeName(Scheme)}:{Index}%";

    /// <summary>The scheme's name in the selection syntax ("MBR", "GPT", "DISKLABEL").</summary>
    public static string SchemeName(PartitionScheme scheme) => scheme switch
    {
        PartitionScheme.Mbr => "MBR",
        PartitionScheme.Gpt => "GPT",
        _ => "DISKLABEL",
    };
}

/// <summary>What <see cref="PartitionProbe.Probe"/> found: every partition, and problems met on the way.</summary>
/// <param name="Partitions">The partitions, in table order (MBR, then GPT, then disklabel).</param>
/// <param name="Warnings">One line per table or entry that was recognised but rejected (bad CRC, outside the disk).</param>
public sealed record PartitionListing(IReadOnlyList<PartitionInfo> Partitions, IReadOnlyList<string> Warnings);
