using System.Buffers.Binary;

namespace RumpFs.Ukfs.Partitions;

/// <summary>One partition of a disklabel (struct partition, 16 bytes).</summary>
internal readonly record struct DisklabelPartition(uint Size, uint Offset, uint FragmentSize, byte FsType, byte Frag, ushort Cpg);

/// <summary>
/// A NetBSD disklabel (struct disklabel in sys/sys/disklabel.h), in either byte order: the
/// order is found from d_magic once, here, and every field is read through it. Partition
/// offsets are in sectors from the start of the disk, also when the label lives inside an
/// MBR partition.
/// </summary>
internal sealed class Disklabel
{
    public const uint Magic = 0x82564557;

    /// <summary>Partitions a label can hold at most (MAXPARTITIONS is 16 or 22 by port).</summary>
    public const int MaxPartitions = 22;

    private const int MagicOffset = 0;
    private const int TypeNameOffset = 8;
    private const int TypeNameLength = 16;
    private const int PackNameOffset = 24;
    private const int PackNameLength = 16;
    private const int SectorSizeOffset = 40;
    private const int SecPerUnitOffset = 60;
    private const int Magic2Offset = 132;
    private const int ChecksumOffset = 136;
    private const int NPartitionsOffset = 138;
    private const int BbSizeOffset = 140;
    private const int SbSizeOffset = 144;

    /// <summary>Offset of d_partitions[0]; the fixed part of the label ends here.</summary>
    public const int PartitionsOffset = 148;
    public const int PartitionSize = 16;

    private const int PSizeOffset = 0;
    private const int POffsetOffset = 4;
    private const int PFsizeOffset = 8;
    private const int PFstypeOffset = 12;
    private const int PFragOffset = 13;
    private const int PCpgOffset = 14;

    private Disklabel(bool bigEndian, uint sectorSize, uint sectorsPerUnit, string typeName, string packName,
        IReadOnlyList<DisklabelPartition> partitions)
    {
        BigEndian = bigEndian;
        SectorSize = sectorSize;
        SectorsPerUnit = sectorsPerUnit;
        TypeName = typeName;
        PackName = packName;
        Partitions = partitions;
    }

    public bool BigEndian { get; }
    public uint SectorSize { get; }
    public uint SectorsPerUnit { get; }
    public string TypeName { get; }
    public string PackName { get; }
    public IReadOnlyList<DisklabelPartition> Partitions { get; }

    /// <summary>
    /// Parse a label starting at <paramref name="label"/>[0]. Null unless both magics match in
    /// one byte order, the partition count is sane and the XOR checksum over the label is zero.
    /// </summary>
    public static Disklabel? Parse(ReadOnlySpan<byte> label)
    {
        if (label.Length < PartitionsOffset)
        {
            return null;
        }
        bool big;
        if (BinaryPrimitives.ReadUInt32LittleEndian(label[MagicOffset..]) == Magic)
        {
            big = false;
        }
        else if (BinaryPrimitives.ReadUInt32BigEndian(label[MagicOffset..]) == Magic)
        {
            big = true;
        }
        else
        {
            return null;
        }
        if (U32(label, Magic2Offset, big) != Magic)
        {
            return null;
        }
        int n = U16(label, NPartitionsOffset, big);
        int end = PartitionsOffset + (n * PartitionSize);
        if (n == 0 || n > MaxPartitions || end > label.Length)
        {
            return null;
        }
        // dkcksum: XOR of every 16-bit word up to the end of the partition array is zero.
        // XOR commutes with byte swapping, so one byte order serves both.
        ushort sum = 0;
        for (int i = 0; i < end; i += 2)
        {
            sum ^= BinaryPrimitives.ReadUInt16LittleEndian(label[i..]);
        }
        if (sum != 0)
        {
            return null;
        }
        var parts = new DisklabelPartition[n];
        for (int i = 0; i < n; i++)
        {
            int p = PartitionsOffset + (i * PartitionSize);
            parts[i] = new DisklabelPartition(
                U32(label, p + PSizeOffset, big),
                U32(label, p + POffsetOffset, big),
                U32(label, p + PFsizeOffset, big),
                label[p + PFstypeOffset],
                label[p + PFragOffset],
                U16(label, p + PCpgOffset, big));
        }
        return new Disklabel(big, U32(label, SectorSizeOffset, big), U32(label, SecPerUnitOffset, big),
            Text(label.Slice(TypeNameOffset, TypeNameLength)), Text(label.Slice(PackNameOffset, PackNameLength)), parts);
    }

    /// <summary>
    /// Write a label with the given partitions into <paramref name="dest"/>, with a correct
    /// checksum (tests build disks with it; the format has no other independent writer on Linux).
    /// </summary>
    public static void Write(Span<byte> dest, bool bigEndian, uint sectorSize, uint sectorsPerUnit,
        IReadOnlyList<DisklabelPartition> partitions)
    {
        int end = PartitionsOffset + (partitions.Count * PartitionSize);
        dest[..end].Clear();
        PutU32(dest, MagicOffset, Magic, bigEndian);
        PutU32(dest, Magic2Offset, Magic, bigEndian);
        PutU32(dest, SectorSizeOffset, sectorSize, bigEndian);
        PutU32(dest, SecPerUnitOffset, sectorsPerUnit, bigEndian);
        PutU16(dest, NPartitionsOffset, (ushort)partitions.Count, bigEndian);
        PutU32(dest, BbSizeOffset, 8192, bigEndian);
        PutU32(dest, SbSizeOffset, 8192, bigEndian);
        "rumpfs"u8.CopyTo(dest[TypeNameOffset..]);
        for (int i = 0; i < partitions.Count; i++)
        {
            int p = PartitionsOffset + (i * PartitionSize);
            DisklabelPartition d = partitions[i];
            PutU32(dest, p + PSizeOffset, d.Size, bigEndian);
            PutU32(dest, p + POffsetOffset, d.Offset, bigEndian);
            PutU32(dest, p + PFsizeOffset, d.FragmentSize, bigEndian);
            dest[p + PFstypeOffset] = d.FsType;
            dest[p + PFragOffset] = d.Frag;
            PutU16(dest, p + PCpgOffset, d.Cpg, bigEndian);
        }
        ushort sum = 0;
        for (int i = 0; i < end; i += 2)
        {
            sum ^= BinaryPrimitives.ReadUInt16LittleEndian(dest[i..]);
        }
        BinaryPrimitives.WriteUInt16LittleEndian(dest[ChecksumOffset..], sum);
    }

    /// <summary>The readable name of a p_fstype value (FS_* in disklabel.h).</summary>
    public static string FsTypeName(byte fstype) => fstype switch
    {
        0 => "unused",
        1 => "swap",
        7 => "4.2BSD",
        8 => "MSDOS",
        9 => "4.4LFS",
        10 => "unknown",
        12 => "ISO9660",
        13 => "boot",
        17 => "Linux Ext2",
        18 => "NTFS",
        19 => "RAID",
        20 => "ccd",
        24 => "UDF",
        28 => "cgd",
        _ => $"fstype {fstype}",
    };

    private static uint U32(ReadOnlySpan<byte> s, int o, bool big) =>
        big ? BinaryPrimitives.ReadUInt32BigEndian(s[o..]) : BinaryPrimitives.ReadUInt32LittleEndian(s[o..]);

    private static ushort U16(ReadOnlySpan<byte> s, int o, bool big) =>
        big ? BinaryPrimitives.ReadUInt16BigEndian(s[o..]) : BinaryPrimitives.ReadUInt16LittleEndian(s[o..]);

    private static void PutU32(Span<byte> s, int o, uint v, bool big)
    {
        if (big)
        {
            BinaryPrimitives.WriteUInt32BigEndian(s[o..], v);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s[o..], v);
        }
    }

    private static void PutU16(Span<byte> s, int o, ushort v, bool big)
    {
        if (big)
        {
            BinaryPrimitives.WriteUInt16BigEndian(s[o..], v);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(s[o..], v);
        }
    }

    private static string Text(ReadOnlySpan<byte> s)
    {
        int nul = s.IndexOf((byte)0);
        return System.Text.Encoding.ASCII.GetString(nul < 0 ? s : s[..nul]);
    }
}
