using System.Buffers.Binary;
using System.Globalization;
using RumpFs.FsDrivers.Ext2fs.Newfs;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>ext2 revision 0, ext3 and ext4 feature sets of the ext2fs newfs, checked by e2fsck and dumpe2fs.</summary>
public sealed class Ext4NewfsTests
{
    private const string Ext4Features =
        "has_journal ext_attr dir_index filetype extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum";

    private static string Newfs(ScratchDir dir, long size, Dictionary<string, string?> options)
    {
        string img = dir.File("ext.img");
        FatTestImages.CreateFile(img, size);
        using IBlockDevice dev = FatTestImages.Open(img, readOnly: false);
        Errno rc = new Ext2Formatter(new ManualClock(new Timespec(1_700_000_000, 0))).Format(dev, options, out string? message);
        Assert.True(rc == 0, $"{rc} {message}");
        return img;
    }

    private static Dictionary<string, string?> Options(string spec)
    {
        var o = new Dictionary<string, string?>(StringComparer.Ordinal) { ["label"] = "newvol" };
        foreach (string kv in spec.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = kv.IndexOf('=', StringComparison.Ordinal);
            o[kv[..eq]] = kv[(eq + 1)..];
        }
        return o;
    }

    private static string Field(string dump, string name)
    {
        string? line = dump.Split('\n').FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal));
        Assert.True(line is not null, $"no '{name}' in\n{dump}");
        return line![(name.Length + 1)..].Trim();
    }

    public static TheoryData<string, long, int, int, int, string, int> Sets => new()
    {
        // options, size, block size, inode count, inode size, features, journal blocks
        { "type=ext2", 64L << 20, 1024, 16384, 128, "ext_attr filetype sparse_super large_file", 0 },
        { "type=ext2;bsize=2048", 64L << 20, 2048, 4096, 128, "ext_attr filetype sparse_super large_file", 0 },
        { "type=ext2;bsize=4096", 64L << 20, 4096, 4096, 128, "ext_attr filetype sparse_super large_file", 0 },
        { "type=ext3", 64L << 20, 1024, 16384, 256, "has_journal ext_attr dir_index filetype sparse_super large_file", 4096 },
        { "type=ext3;bsize=4096", 200L << 20, 4096, 12800, 256, "has_journal ext_attr dir_index filetype sparse_super large_file", 4096 },
        { "type=ext4", 64L << 20, 1024, 16384, 256, Ext4Features, 4096 },
        { "type=ext4;bsize=4096", 64L << 20, 4096, 4096, 256, Ext4Features, 1024 },
        { "type=ext4", 700L << 20, 4096, 44832, 256, Ext4Features, 4096 },
        { "type=ext4;bsize=1024", 300L << 20, 1024, 76912, 256, Ext4Features, 8192 },
        { "type=ext4;features=^metadata_csum", 64L << 20, 1024, 16384, 256, Ext4Features.Replace(" metadata_csum", "", StringComparison.Ordinal), 4096 },
        { "type=ext4;features=^64bit", 64L << 20, 1024, 16384, 256, Ext4Features.Replace(" 64bit", "", StringComparison.Ordinal), 4096 },
        { "type=ext4;features=^flex_bg+^metadata_csum+uninit_bg", 64L << 20, 1024, 16384, 256,
            "has_journal ext_attr dir_index filetype extent 64bit sparse_super large_file huge_file uninit_bg dir_nlink extra_isize", 4096 },
        { "type=ext4;features=metadata_csum_seed:^huge_file", 64L << 20, 1024, 16384, 256,
            "has_journal ext_attr dir_index filetype extent 64bit flex_bg metadata_csum_seed sparse_super large_file dir_nlink extra_isize metadata_csum",
            4096 },
        { "type=ext2;features=^sparse_super", 40L << 20, 1024, 10240, 128, "ext_attr filetype large_file", 0 },
        { "type=ext2;inode_size=256", 64L << 20, 1024, 16384, 256, "ext_attr filetype sparse_super large_file", 0 },
    };

    [Theory]
    [MemberData(nameof(Sets))]
    public void Newfs_FeatureSet_PassesE2fsckAndDumpe2fsShowsIt(string spec, long size, int bsize, int inodes, int isize, string features,
        int journalBlocks)
    {
        using var dir = new ScratchDir("ext4newfs");
        string img = Newfs(dir, size, Options(spec));
        ToolResult fsck = OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        Assert.Contains($"11/{inodes} files", fsck.Stdout, StringComparison.Ordinal);
        string dump = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        Assert.Equal(features, Field(dump, "Filesystem features"));
        Assert.Equal("1 (dynamic)", Field(dump, "Filesystem revision #"));
        Assert.Equal(bsize.ToString(CultureInfo.InvariantCulture), Field(dump, "Block size"));
        Assert.Equal(inodes.ToString(CultureInfo.InvariantCulture), Field(dump, "Inode count"));
        Assert.Equal(isize.ToString(CultureInfo.InvariantCulture), Field(dump, "Inode size"));
        Assert.Equal("newvol", Field(dump, "Filesystem volume name"));
        Assert.Equal("clean", Field(dump, "Filesystem state"));
        // Random UUIDs carry version 4 and the RFC 4122 variant, as mke2fs's do.
        const string UuidV4 = "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";
        Assert.Matches(UuidV4, Field(dump, "Filesystem UUID"));
        Assert.Matches(UuidV4, Field(dump, "Directory Hash Seed"));
        if (journalBlocks > 0)
        {
            Assert.Equal("8", Field(dump, "Journal inode"));
            Assert.Equal(journalBlocks.ToString(CultureInfo.InvariantCulture), Field(dump, "Total journal blocks"));
            Assert.Equal("0", Field(dump, "Journal start")); // clean: nothing to replay
            Assert.Equal("inode blocks", Field(dump, "Journal backup"));
            string stat = OracleTool.RunExpect(0, "debugfs", "-R", "stat <8>", img).Stdout;
            Assert.Contains("Mode:  0600", stat, StringComparison.Ordinal);
            Assert.Contains($"Size: {(long)journalBlocks * bsize}", stat, StringComparison.Ordinal);
            Assert.Equal(features.Contains("extent", StringComparison.Ordinal), stat.Contains("EXTENTS:", StringComparison.Ordinal));
        }
        else
        {
            Assert.DoesNotContain("Journal inode", dump, StringComparison.Ordinal);
        }
        if (features.Contains("extra_isize", StringComparison.Ordinal))
        {
            Assert.Equal("32", Field(dump, "Required extra isize"));
        }
        if (features.Contains("metadata_csum", StringComparison.Ordinal))
        {
            Assert.Equal("crc32c", Field(dump, "Checksum type"));
        }
        string root = OracleTool.RunExpect(0, "debugfs", "-R", "ls -l /", img).Stdout;
        Assert.Contains("lost+found", root, StringComparison.Ordinal);
    }

    [Fact]
    public void Newfs_Rev0_IsTheOriginalRevisionWithoutFeatures()
    {
        using var dir = new ScratchDir("ext2rev0");
        var options = new Dictionary<string, string?> { ["rev"] = "0" };
        string img = Newfs(dir, 30L << 20, options);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        string dump = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        Assert.Equal("0 (original)", Field(dump, "Filesystem revision #"));
        Assert.Equal("(none)", Field(dump, "Filesystem features"));
        // The revision 0 superblock has no inode size or first inode: dumpe2fs shows none.
        Assert.DoesNotContain("Inode size", dump, StringComparison.Ordinal);
        Assert.Equal("1920", Field(dump, "Inodes per group"));
        // Without sparse_super every group carries a superblock copy.
        string groups = OracleTool.RunExpect(0, "dumpe2fs", img).Stdout;
        Assert.Equal(4, groups.Split('\n').Count(l => l.Contains("superblock at", StringComparison.Ordinal)));
        string ls = OracleTool.RunExpect(0, "debugfs", "-R", "ls -l /", img).Stdout;
        Assert.Contains("lost+found", ls, StringComparison.Ordinal);
    }

    [Fact]
    public void Newfs_Ext4FlexBg_PacksBitmapsAndTablesInTheFirstGroup()
    {
        using var dir = new ScratchDir("ext4flex");
        string img = Newfs(dir, 64L << 20, Options("type=ext4"));
        string dump = OracleTool.RunExpect(0, "dumpe2fs", img).Stdout;
        Assert.Equal("16", Field(dump, "Flex block group size"));
        string[] lines = dump.Split('\n');
        // Groups 1 to 7 have their block bitmap, inode bitmap and inode table in group 0.
        Assert.Equal(7, lines.Count(l => l.Contains("Block bitmap at", StringComparison.Ordinal) && l.Contains("(bg #0 +", StringComparison.Ordinal)));
        Assert.Equal(7, lines.Count(l => l.Contains("Inode table at", StringComparison.Ordinal) && l.Contains("(bg #0 +", StringComparison.Ordinal)));
        Assert.Contains("ITABLE_ZEROED", dump, StringComparison.Ordinal);
    }

    [Fact]
    public void Newfs_TinyExt4_DropsTheJournalAsMke2fsDoes()
    {
        using var dir = new ScratchDir("ext4tiny");
        string img = dir.File("tiny.img");
        FatTestImages.CreateFile(img, 1500L << 10);
        using (IBlockDevice dev = FatTestImages.Open(img, readOnly: false))
        {
            Errno rc = new Ext2Formatter().Format(dev, Options("type=ext4"), out string? message);
            Assert.Equal(Errno.OK, rc);
            Assert.Contains("too small for a journal", message, StringComparison.Ordinal);
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        Assert.DoesNotContain("has_journal", Field(OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout, "Filesystem features"),
            StringComparison.Ordinal);
    }

    [Fact]
    public void Newfs_TinyExt4WithOrphanFile_DropsBothAsMke2fsDoes()
    {
        using var dir = new ScratchDir("ext4tiny");
        string img = dir.File("tiny.img");
        FatTestImages.CreateFile(img, 1500L << 10);
        using (IBlockDevice dev = FatTestImages.Open(img, readOnly: false))
        {
            Errno rc = new Ext2Formatter().Format(dev, Options("type=ext4;features=orphan_file"), out string? message);
            Assert.Equal(Errno.OK, rc);
            Assert.Contains("nor an orphan file", message, StringComparison.Ordinal);
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        string dump = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        Assert.DoesNotContain("orphan_file", Field(dump, "Filesystem features"), StringComparison.Ordinal);
        Assert.DoesNotContain("Orphan file inode", dump, StringComparison.Ordinal);
        // mke2fs drops both on the same volume.
        string theirs = dir.File("theirs.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-O", "orphan_file", theirs, "1500K");
        Assert.DoesNotContain("orphan_file", Field(OracleTool.RunExpect(0, "dumpe2fs", "-h", theirs).Stdout, "Filesystem features"),
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("type=ext4;features=nosuch", 16L << 20, "nosuch")]
    [InlineData("type=ext4;features=resize_inode", 16L << 20, "resize_inode")]
    [InlineData("type=ext4;features=inline_data", 16L << 20, "inline_data")]
    [InlineData("type=ext4;features=bigalloc", 16L << 20, "bigalloc")]
    [InlineData("type=ext2;features=64bit", 16L << 20, "64bit")]
    [InlineData("type=ext5", 16L << 20, "type=ext5")]
    [InlineData("type=ext4;rev=0", 16L << 20, "rev=0")]
    [InlineData("rev=2", 16L << 20, "rev=2")]
    [InlineData("rev=0;inode_size=256", 16L << 20, "inode_size")]
    [InlineData("type=ext4;bsize=8192", 16L << 20, "bsize")]
    [InlineData("type=ext4;bsize=1000", 16L << 20, "bsize")]
    [InlineData("type=ext2;inode_size=100", 16L << 20, "inode_size")]
    [InlineData("type=ext2;features=extra_isize", 16L << 20, "extra_isize")]
    [InlineData("type=ext4", 32L << 10, "too small")]
    [InlineData("type=ext4;features=has_journal", 1500L << 10, "too small for a journal")]
    [InlineData("type=ext4;inodes=2000000", 16L << 20, "inodes")]
    [InlineData("type=ext2;features=orphan_file", 16L << 20, "orphan_file needs has_journal")]
    public void Newfs_Refused_ReturnsEinvalNamingTheProblemAndWritesNothing(string spec, long size, string named)
    {
        using var dev = new MemoryBlockDevice(size);
        Dictionary<string, string?> options = Options(spec);
        options.Remove("label");
        Errno rc = new Ext2Formatter().Format(dev, options, out string? message);
        Assert.Equal(Errno.EINVAL, rc);
        Assert.Contains(named, message, StringComparison.Ordinal);
        Assert.Equal(0, dev.WriteCount);
    }

    [Fact]
    public void Newfs_LabelOnRevision0_IsRefused()
    {
        using var dev = new MemoryBlockDevice(16L << 20);
        Errno rc = new Ext2Formatter().Format(dev, new Dictionary<string, string?> { ["rev"] = "0", ["label"] = "x" }, out string? message);
        Assert.Equal(Errno.EINVAL, rc);
        Assert.Contains("revision 0", message, StringComparison.Ordinal);
        Assert.Equal(0, dev.WriteCount);
    }

    [Fact]
    public void NewFile_FragmentedExtents_GetOneLevelOfCheckedLeafBlocks()
    {
        Ext2Geometry g = Ext2Geometry.Choose(64L << 20, Options("type=ext4"), out string? error)!;
        Assert.Null(error);
        Ext2Layout l = Ext2Layout.Place(g, out error)!;
        // Every other block taken: 50 blocks come as 50 runs.
        for (uint b = l.DataGoal; b < l.DataGoal + 200; b += 2)
        {
            l.Map.MarkUsed(b, 1);
        }
        Ext2NewFile f = Ext2NewFile.Allocate(l.Map, g.BlockSize, l.DataGoal, 50, extents: true, csum: true, inodeSeed: 1234)!;
        Assert.Equal(50, f.Runs.Count);
        Ext4Extent.Header root = Ext4Extent.ReadHeader(f.BlockArea);
        Assert.Equal((Ext4Extent.Magic, (ushort)1, (ushort)1), (root.Magic, root.Entries, root.Depth));
        (uint first, ulong leafBlock) = Ext4Extent.ReadIndex(Ext4Extent.Entry((ReadOnlySpan<byte>)f.BlockArea, 0));
        Assert.Equal(0u, first);
        (uint blk, byte[] leaf) = Assert.Single(f.MapBlocks);
        Assert.Equal(leafBlock, blk);
        Ext4Extent.Header h = Ext4Extent.ReadHeader(leaf);
        Assert.Equal((ushort)50, h.Entries);
        Assert.Equal((ushort)0, h.Depth);
        for (int i = 0; i < 50; i++)
        {
            ExtentRun x = Ext4Extent.ReadLeaf(Ext4Extent.Entry((ReadOnlySpan<byte>)leaf, i));
            Assert.Equal(((uint)i, f.Runs[i].Start, 1), (x.Logical, (uint)x.Physical, x.Length));
        }
        int tail = Ext4Extent.TailOffset(h.Max);
        Assert.Equal(Ext2Crc.Crc32c(1234, leaf.AsSpan(0, tail)), BinaryPrimitives.ReadUInt32LittleEndian(leaf.AsSpan(tail)));
        Assert.Equal(51UL, f.TotalBlocks);
    }

    [Fact]
    public void NewFile_IndirectMap_ReachesDoubleIndirectBlocks()
    {
        Ext2Geometry g = Ext2Geometry.Choose(64L << 20, Options("type=ext3"), out _)!;
        Ext2Layout l = Ext2Layout.Place(g, out _)!;
        // 1 KiB blocks: 12 direct, 256 through the single indirect block, the rest through the double.
        Ext2NewFile f = Ext2NewFile.Allocate(l.Map, g.BlockSize, l.DataGoal, 1000, extents: false, csum: false, inodeSeed: 0)!;
        // Pointer blocks: one single indirect, one double indirect and ceil(732/256) = 3 below it.
        Assert.Equal(5, f.MapBlocks.Count);
        Assert.Equal(1005UL, f.TotalBlocks);
        var data = f.Runs.SelectMany(r => Enumerable.Range(0, (int)r.Length).Select(i => r.Start + (uint)i)).ToList();
        uint Ptr(byte[] b, int i) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4 * i));
        Assert.Equal(data[11], Ptr(f.BlockArea, 11));
        byte[] ind = f.MapBlocks.Single(m => m.Block == Ptr(f.BlockArea, 12)).Data;
        Assert.Equal(data[12 + 255], Ptr(ind, 255));
        byte[] dind = f.MapBlocks.Single(m => m.Block == Ptr(f.BlockArea, 13)).Data;
        byte[] third = f.MapBlocks.Single(m => m.Block == Ptr(dind, 2)).Data;
        Assert.Equal(data[999], Ptr(third, 999 - 12 - 256 - 512));
        Assert.Equal(0u, Ptr(f.BlockArea, 14));
    }

    [Fact]
    public void NewFile_IndirectMap_ReachesTripleIndirectBlocksInMapOrder()
    {
        Ext2Geometry g = Ext2Geometry.Choose(100L << 20, Options("type=ext2;bsize=1024"), out _)!;
        Ext2Layout l = Ext2Layout.Place(g, out _)!;
        // 12 direct + 256 single + 65536 double; the last 196 blocks go through the triple indirect block.
        Ext2NewFile f = Ext2NewFile.Allocate(l.Map, g.BlockSize, l.DataGoal, 66000, extents: false, csum: false, inodeSeed: 0)!;
        Assert.Equal(1 + (1 + 256) + (1 + 1 + 1), f.MapBlocks.Count);
        uint Ptr(byte[] b, int i) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4 * i));
        byte[] Block(uint blk) => f.MapBlocks.Single(m => m.Block == blk).Data;
        var data = f.Runs.SelectMany(r => Enumerable.Range(0, (int)r.Length).Select(i => r.Start + (uint)i)).ToList();
        Assert.Equal(66000, data.Count);
        uint tind = Ptr(f.BlockArea, 14);
        byte[] ind = Block(Ptr(Block(Ptr(Block(tind), 0)), 0));
        Assert.Equal(data[65999], Ptr(ind, 195));
        Assert.Equal(0u, Ptr(ind, 196));
        // Each pointer block sits just before the first block it maps.
        Assert.Equal(tind + 3, data[65804]);
    }

    [Theory]
    [InlineData("type=ext4")]
    [InlineData("type=ext3")]
    [InlineData("rev=0")]
    public void Newfs_OverOldData_ZeroesTablesAndJournalAndPassesE2fsck(string spec)
    {
        using var dir = new ScratchDir("ext4dirty");
        string img = dir.File("dirty.img");
        File.WriteAllBytes(img, [.. Enumerable.Range(0, 48 << 20).Select(i => (byte)((i * 131) ^ (i >> 9)))]);
        using (IBlockDevice dev = FatTestImages.Open(img, readOnly: false))
        {
            Dictionary<string, string?> options = Options(spec);
            options.Remove("label");
            Assert.Equal(Errno.OK, new Ext2Formatter().Format(dev, options, out _));
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
    }

    [Fact]
    public void Newfs_LargeSparseImage_StaysSparse()
    {
        using var dir = new ScratchDir("ext4sparse");
        string img = Newfs(dir, 4L << 30, Options("type=ext4"));
        long allocated = long.Parse(OracleTool.RunExpect(0, "stat", "-c", "%b", img).Stdout.Trim(), CultureInfo.InvariantCulture) * 512;
        // The inode tables (64 MiB) and the journal (64 MiB) of a fresh image are holes, not written zeros.
        Assert.InRange(allocated, 0, 8L << 20);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
    }
}
