using System.Text.Json;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Ukfs.Partitions;

namespace RumpFs.Ukfs.Tests;

public sealed class PartitionProbeTests : IDisposable
{
    private const int S = DiskBuilder.Sector;
    private readonly ScratchDir _dir = new("ukfs-part");

    public void Dispose() => _dir.Dispose();

    private static PartitionListing ProbeFile(string path)
    {
        Assert.Equal(Errno.OK, FileBlockDevice.Open(path, readOnly: true, out FileBlockDevice? dev, out string? error));
        using (dev)
        {
            return PartitionProbe.Probe(dev!);
        }
    }

    /// <summary>sfdisk's own view of the table: node suffix -> (start, size) in sectors.</summary>
    private static Dictionary<string, (long Start, long Size)> SfdiskView(string image)
    {
        ToolResult r = OracleTool.Run("sfdisk", "-J", image);
        Assert.True(r.ExitCode == 0, r.Transcript);
        using JsonDocument doc = JsonDocument.Parse(r.Stdout);
        var result = new Dictionary<string, (long, long)>();
        foreach (JsonElement p in doc.RootElement.GetProperty("partitiontable").GetProperty("partitions").EnumerateArray())
        {
            string node = p.GetProperty("node").GetString()!;
            string suffix = node[image.Length..].TrimStart('p');
            result[suffix] = (p.GetProperty("start").GetInt64(), p.GetProperty("size").GetInt64());
        }
        return result;
    }

    [Fact]
    public void Mbr_PrimaryExtendedAndLogical_MatchSfdisk()
    {
        string disk = DiskBuilder.Sparse(_dir, "mbr.img", 64L << 20);
        DiskBuilder.Sfdisk(disk, """
            label: dos
            start=2048, size=8192, type=83
            start=10240, size=40960, type=5
            start=12288, size=4096, type=c
            start=18432, size=8192, type=83
            start=28672, size=2048, type=a9
            start=51200, size=8192, type=c
            """);
        PartitionListing listing = ProbeFile(disk);
        Assert.Empty(listing.Warnings);
        var expected = SfdiskView(disk);
        var mbr = listing.Partitions.Where(p => p.Scheme == PartitionScheme.Mbr).ToList();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), mbr.Select(p => p.Index).Order(StringComparer.Ordinal));
        foreach (PartitionInfo p in mbr)
        {
            Assert.Equal(expected[p.Index].Start * S, p.Offset);
            Assert.Equal(expected[p.Index].Size * S, p.Length);
        }
        Assert.Contains(mbr, p => p.Index == "5" && p.TypeName.Contains("FAT32", StringComparison.Ordinal));
        Assert.Contains(mbr, p => p.Index == "7" && p.TypeName.Contains("NetBSD", StringComparison.Ordinal));
    }

    [Fact]
    public void Gpt_Entries_MatchSfdisk_WithNames()
    {
        string disk = DiskBuilder.Sparse(_dir, "gpt.img", 64L << 20);
        DiskBuilder.Sfdisk(disk, """
            label: gpt
            start=2048, size=8192, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="esp"
            start=10240, size=16384, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
            start=26624, size=16384, type=49F48D5A-B10E-11DC-B99B-0019D1879648
            """);
        PartitionListing listing = ProbeFile(disk);
        Assert.Empty(listing.Warnings);
        var expected = SfdiskView(disk);
        var gpt = listing.Partitions.Where(p => p.Scheme == PartitionScheme.Gpt).ToList();
        Assert.Equal(3, gpt.Count);
        foreach (PartitionInfo p in gpt)
        {
            Assert.Equal(expected[p.Index].Start * S, p.Offset);
            Assert.Equal(expected[p.Index].Size * S, p.Length);
        }
        Assert.Equal("root", gpt.Single(p => p.Index == "2").Label);
        Assert.Equal("NetBSD FFS", gpt.Single(p => p.Index == "3").TypeName);
        Assert.DoesNotContain(listing.Partitions, p => p.Scheme == PartitionScheme.Mbr);
    }

    [Fact]
    public void Gpt_PrimaryEntryArrayCorrupt_UsesBackupAndWarns()
    {
        string disk = DiskBuilder.Sparse(_dir, "gpt-bad.img", 16L << 20);
        DiskBuilder.Sfdisk(disk, "label: gpt\nstart=2048, size=4096, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n");
        DiskBuilder.Poke(disk, (2 * S) + 32, [0x99]); // first LBA of entry 1 in the primary array
        PartitionListing listing = ProbeFile(disk);
        Assert.Contains(listing.Warnings, w => w.Contains("entry array CRC32 mismatch", StringComparison.Ordinal)
            && w.Contains("using the backup", StringComparison.Ordinal));
        PartitionInfo p = Assert.Single(listing.Partitions);
        Assert.Equal(2048L * S, p.Offset);
    }

    [Fact]
    public void Gpt_BothHeadersCorrupt_NoPartitionsAndWarns()
    {
        string disk = DiskBuilder.Sparse(_dir, "gpt-dead.img", 16L << 20);
        DiskBuilder.Sfdisk(disk, "label: gpt\nstart=2048, size=4096\n");
        DiskBuilder.Poke(disk, S + 24, [0x42]);                       // primary header: current LBA
        DiskBuilder.Poke(disk, (16L << 20) - S + 40, [0x42, 0x42]);   // backup header: first usable LBA
        PartitionListing listing = ProbeFile(disk);
        Assert.Empty(listing.Partitions);
        Assert.Contains(listing.Warnings, w => w.Contains("header CRC32 mismatch", StringComparison.Ordinal));
    }

    [Fact]
    public void Mbr_EbrChainLoops_StopsWithWarning()
    {
        string disk = DiskBuilder.Sparse(_dir, "loop.img", 16L << 20);
        DiskBuilder.Sfdisk(disk, "label: dos\nstart=2048, size=16384, type=5\nstart=4096, size=1024, type=83\nstart=8192, size=1024, type=83\n");
        // The second EBR (at 8192 - 2048 = 6144 .. sfdisk puts it just before its logical) points back to the first.
        var before = ProbeFile(disk).Partitions.Where(p => p.Index is "5" or "6").ToList();
        Assert.Equal(2, before.Count);
        long secondEbr = FindEbrAfter(disk, 2048);
        byte[] next = new byte[16];
        next[4] = 0x05;
        BitConverter.TryWriteBytes(next.AsSpan(8), 0u);     // relative to the extended start: the first EBR
        BitConverter.TryWriteBytes(next.AsSpan(12), 1024u);
        DiskBuilder.Poke(disk, (secondEbr * S) + 446 + 16, next);
        PartitionListing listing = ProbeFile(disk);
        Assert.Contains(listing.Warnings, w => w.Contains("loops", StringComparison.Ordinal));
        Assert.Equal(2, listing.Partitions.Count(p => p.Index is "5" or "6"));
    }

    private static long FindEbrAfter(string disk, long extStart)
    {
        byte[] first = new byte[512];
        using (var f = File.OpenRead(disk))
        {
            f.Position = extStart * S;
            f.ReadExactly(first);
        }
        uint rel = BitConverter.ToUInt32(first, 446 + 16 + 8);
        return extStart + rel;
    }

    [Fact]
    public void Mbr_PartitionPastTheEnd_IgnoredWithWarning()
    {
        string disk = DiskBuilder.Sparse(_dir, "short.img", 8L << 20);
        DiskBuilder.Sfdisk(disk, "label: dos\nstart=2048, size=4096, type=83\n");
        byte[] size = BitConverter.GetBytes(1u << 30);
        DiskBuilder.Poke(disk, 446 + 12, size);
        PartitionListing listing = ProbeFile(disk);
        Assert.Empty(listing.Partitions);
        Assert.Contains(listing.Warnings, w => w.StartsWith("MBR:1: lies outside", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Disklabel_WholeDisk_BothByteOrders(bool bigEndian)
    {
        string disk = DiskBuilder.Sparse(_dir, "label.img", 32L << 20);
        WriteLabel(disk, 1, bigEndian, [new(8192, 64, 1024, 7, 8, 16), new(4096, 8256, 0, 1, 0, 0), new(65536, 0, 0, 0, 0, 0),
            new(0, 0, 0, 0, 0, 0), new(16384, 12352, 0, 8, 0, 0)]);
        PartitionListing listing = ProbeFile(disk);
        Assert.Empty(listing.Warnings);
        var parts = listing.Partitions.Where(p => p.Scheme == PartitionScheme.Disklabel).ToDictionary(p => p.Index);
        Assert.Equal(["a", "b", "c", "e"], parts.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(64L * S, parts["a"].Offset);
        Assert.Equal(8192L * S, parts["a"].Length);
        Assert.Equal("4.2BSD", parts["a"].TypeName);
        Assert.Equal(12352L * S, parts["e"].Offset);
        Assert.Equal("MSDOS", parts["e"].TypeName);
    }

    [Fact]
    public void Disklabel_InsideMbrNetBsdPartition_Found()
    {
        string disk = DiskBuilder.Sparse(_dir, "mbr-label.img", 32L << 20);
        DiskBuilder.Sfdisk(disk, "label: dos\nstart=2048, size=20480, type=83\nstart=22528, size=40960, type=a9\n");
        // Offsets in a disklabel count from the start of the disk, also inside an MBR partition.
        WriteLabel(disk, 22528 + 1, bigEndian: false, [new(20480, 22528 + 64, 1024, 7, 8, 16), new(0, 0, 0, 0, 0, 0),
            new(40960, 22528, 0, 0, 0, 0), new(63488, 0, 0, 0, 0, 0), new(8192, 22528 + 20544, 0, 17, 0, 0)]);
        PartitionListing listing = ProbeFile(disk);
        Assert.Empty(listing.Warnings);
        PartitionInfo e = listing.Partitions.Single(p => p.Scheme == PartitionScheme.Disklabel && p.Index == "e");
        Assert.Equal((22528L + 20544) * S, e.Offset);
        Assert.Equal("Linux Ext2", e.TypeName);
        Assert.Equal(2, listing.Partitions.Count(p => p.Scheme == PartitionScheme.Mbr));
    }

    [Fact]
    public void Disklabel_BadChecksum_Ignored()
    {
        string disk = DiskBuilder.Sparse(_dir, "label-bad.img", 8L << 20);
        WriteLabel(disk, 1, bigEndian: false, [new(4096, 64, 0, 7, 0, 0)]);
        DiskBuilder.Poke(disk, S + Disklabel.PartitionsOffset, [0x11]);
        Assert.Empty(ProbeFile(disk).Partitions);
    }

    [Fact]
    public void Disklabel_FieldOffsets_AddUpToTheStructSize()
    {
        // struct disklabel with 16 partitions is 148 + 16 * 16 = 404 bytes.
        Assert.Equal(404, Disklabel.PartitionsOffset + (16 * Disklabel.PartitionSize));
        byte[] buf = new byte[512];
        Disklabel.Write(buf, false, 512, 1000, [new(10, 20, 0, 7, 0, 0)]);
        Disklabel label = Assert.IsType<Disklabel>(Disklabel.Parse(buf));
        Assert.Equal(1000u, label.SectorsPerUnit);
        Assert.Equal(new DisklabelPartition(10, 20, 0, 7, 0, 0), Assert.Single(label.Partitions));
    }

    [Fact]
    public void Probe_RandomGarbage_FindsNothingAndDoesNotThrow()
    {
        var rng = new Random(12345);
        for (int i = 0; i < 50; i++)
        {
            byte[] data = new byte[1 << 16];
            rng.NextBytes(data);
            data[510] = 0x55;
            data[511] = 0xAA;
            for (int k = 0; k < 4; k++)
            {
                data[446 + (k * 16)] = 0; // status bytes valid: the entries are believed, then checked
            }
            "EFI PART"u8.CopyTo(data.AsSpan(512));
            using var dev = new MemoryBlockDevice(data, readOnly: true);
            PartitionListing listing = PartitionProbe.Probe(dev);
            Assert.All(listing.Partitions, p => Assert.True(p.Offset + p.Length <= data.Length));
        }
    }

    internal static void WriteLabel(string disk, long sector, bool bigEndian, DisklabelPartition[] parts)
    {
        byte[] buf = new byte[S];
        long total = new FileInfo(disk).Length / S;
        Disklabel.Write(buf, bigEndian, S, (uint)total, parts);
        DiskBuilder.Poke(disk, sector * S, buf);
    }
}
