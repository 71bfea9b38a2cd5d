using System.Text.Json;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>`ukfs` on real image files: probe, read-only opening, errors before any driver is involved.</summary>
public sealed class CliImageTests : IDisposable
{
    private readonly CliHarness _cli = CliHarness.OnImages();
    private readonly ScratchDir _dir = new("ukfs-cli-img");

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    private string PartitionedDisk()
    {
        string disk = DiskBuilder.Sparse(_dir, "disk.img", 48L << 20);
        DiskBuilder.Sfdisk(disk, "label: dos\nstart=2048, size=40960, type=6\nstart=43008, size=40960, type=83\n");
        DiskBuilder.Place(disk, DiskBuilder.FatImage(_dir, "p1.fat", 40960, 16, "A.TXT", "a"), 2048);
        DiskBuilder.Place(disk, DiskBuilder.ExtImage(_dir, "p2.ext", 40960, "ext4", "f", "x"), 43008);
        return disk;
    }

    [Fact]
    public void Probe_Text_NamesPartitionsAndTheirFileSystems()
    {
        string disk = PartitionedDisk();
        string t = _cli.Ok(disk, "probe").Stdout;
        Assert.Contains($"{disk}%MBR:1%  offset {2048 * 512}  length {40960 * 512}  0x06 FAT16: FAT16 (msdos", t, StringComparison.Ordinal);
        Assert.Contains($"{disk}%MBR:2%  offset {43008 * 512}  length {40960 * 512}  0x83 Linux: ext4 (ext2fs", t, StringComparison.Ordinal);
        Assert.StartsWith($"{disk}: {48L << 20} bytes, no known file system", t, StringComparison.Ordinal);
    }

    [Fact]
    public void Probe_Json_Parses()
    {
        string disk = PartitionedDisk();
        using JsonDocument doc = JsonDocument.Parse(_cli.Ok(disk, "probe", "--json").Stdout);
        JsonElement root = doc.RootElement;
        Assert.Equal(48L << 20, root.GetProperty("size").GetInt64());
        Assert.False(root.TryGetProperty("fileSystem", out _));
        JsonElement[] parts = [.. root.GetProperty("partitions").EnumerateArray()];
        Assert.Equal(2, parts.Length);
        Assert.Equal("MBR", parts[1].GetProperty("scheme").GetString());
        Assert.Equal("2", parts[1].GetProperty("index").GetString());
        Assert.Equal(43008L * 512, parts[1].GetProperty("offset").GetInt64());
        Assert.Equal("ext2fs", parts[1].GetProperty("fileSystem").GetProperty("driver").GetString());
        Assert.Equal("ext4", parts[1].GetProperty("fileSystem").GetProperty("variant").GetString());
        Assert.Empty(root.GetProperty("warnings").EnumerateArray());
    }

    [Fact]
    public void Probe_OfAPartition_NamesItsFileSystem()
    {
        string disk = PartitionedDisk();
        Assert.Contains("FAT16 (msdos", _cli.Ok(disk + "%MBR:1%", "probe").Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Ls_OnPartitionedDiskWithoutSelection_SaysToSelectAPartition()
    {
        string disk = PartitionedDisk();
        CliResult r = _cli.Fails(disk, "ls");
        Assert.Contains("no known file system found (it is partitioned", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingImage_OneLine()
    {
        CliResult r = _cli.Fails(_dir.File("nope.img"), "ls");
        Assert.Contains("no such file", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadCommands_OpenReadOnly_WriteCommandsReadWrite()
    {
        // A shared lock (another read-only user) lets read commands open the image and
        // stops write commands, which take the exclusive lock.
        string disk = PartitionedDisk();
        Assert.Equal(Errno.OK, FileBlockDevice.Open(disk, readOnly: true, out FileBlockDevice? holder, out _));
        using (holder)
        {
            foreach (string verb in new[] { "ls", "cat", "stat", "df", "tree", "find", "info", "get" })
            {
                string[] args = verb switch
                {
                    "cat" or "stat" or "get" => [disk + "%MBR:1%", verb, "/x"],
                    _ => [disk + "%MBR:1%", verb],
                };
                CliResult r = _cli.Run(args);
                Assert.DoesNotContain("in use", r.Stderr, StringComparison.Ordinal);
            }
            foreach (string[] args in new[] { new[] { "mkdir", "/x" }, ["rm", "/x"], ["touch", "/x"], ["put", "/etc/hostname"],
                ["chmod", "755", "/"], ["chown", "0", "/"], ["mv", "/a", "/b"], ["ln", "-s", "a", "/b"] })
            {
                CliResult r = _cli.Fails([disk + "%MBR:1%", .. args]);
                Assert.Contains("in use by another process", r.Stderr, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void UnknownType_NamesAvailableDrivers()
    {
        string disk = PartitionedDisk();
        CliResult r = _cli.Fails("-t", "zfs", disk + "%MBR:1%", "ls");
        Assert.Contains("unknown file-system type 'zfs'", r.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ext2", "")]
    [InlineData("ext4", "")]
    [InlineData("ext4", "orphan_file,metadata_csum_seed,^resize_inode")]
    public void Info_Ext_FeaturesAsDumpe2fsNamesThem_TypeOnce(string type, string features)
    {
        string img = Path.Combine(_dir.Path, "info.img");
        var mkfs = new List<string> { "-q", "-F", "-t", type, "-b", "1024" };
        if (features.Length > 0)
        {
            mkfs.AddRange(["-O", features]);
        }
        OracleTool.RunExpect(0, "mke2fs", [.. mkfs, img, "8M"]);
        string text = _cli.Ok(img, "info").Stdout;
        string[] lines = text.Split('\n');

        Assert.Single(lines, l => l.StartsWith("type:", StringComparison.Ordinal));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, $@"^type:\s+{type} \(ext2fs driver\)$"));
        // dumpe2fs lists every feature in one line; ours splits them by kind. The sets must agree.
        string dump = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        var expected = System.Text.RegularExpressions.Regex.Match(dump, @"(?m)^Filesystem features:\s+(.*)$").Groups[1].Value
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        var ours = new HashSet<string>(StringComparer.Ordinal);
        foreach (string kind in new[] { "compat features:", "incompat features:", "ro_compat features:" })
        {
            string line = Assert.Single(lines, l => l.StartsWith(kind, StringComparison.Ordinal));
            ours.UnionWith(line[kind.Length..].Split([',', ' '], StringSplitOptions.RemoveEmptyEntries));
        }
        Assert.Equal(expected.Order(StringComparer.Ordinal), ours.Order(StringComparer.Ordinal));
        if (features.Contains("orphan_file", StringComparison.Ordinal))
        {
            Assert.Contains("orphan_file", ours);
        }
        Assert.Single(lines, l => l.StartsWith("block size:", StringComparison.Ordinal));
    }

    /// <summary>debugfs's view of one time field ("atime", "mtime") of a file: seconds and nanoseconds.</summary>
    private static (long Seconds, long Nanoseconds) DebugfsTime(string img, string path, string field)
    {
        string stat = OracleTool.RunExpect(0, "debugfs", "-R", $"stat {path}", img).Stdout;
        var m = System.Text.RegularExpressions.Regex.Match(stat, $@"(?m)^\s*{field}: 0x([0-9a-f]+):([0-9a-f]+)");
        Assert.True(m.Success, stat);
        long extra = Convert.ToInt64(m.Groups[2].Value, 16);
        return (Convert.ToInt64(m.Groups[1].Value, 16) + ((extra & 3) << 32), extra >> 2);
    }

    [Fact]
    public void Touch_DateReferenceOneTimeNoCreateAndLinks_AsCoreutilsTouch()
    {
        string img = _dir.File("t.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", img, "8M");
        _cli.Ok(img, "touch", "-d", "2001-02-03T04:05:06.5Z", "/f");
        Assert.Equal((981173106L, 500_000_000L), DebugfsTime(img, "/f", "mtime"));
        Assert.Equal((981173106L, 500_000_000L), DebugfsTime(img, "/f", "atime"));

        _cli.Ok(img, "touch", "-m", "-d", "@1000000000", "/f");
        Assert.Equal((1000000000L, 0L), DebugfsTime(img, "/f", "mtime"));
        Assert.Equal((981173106L, 500_000_000L), DebugfsTime(img, "/f", "atime"));

        _cli.Ok(img, "touch", "-d", "@1500000000", "/ref");
        _cli.Ok(img, "touch", "-a", "-r", "/ref", "/f");
        Assert.Equal((1500000000L, 0L), DebugfsTime(img, "/f", "atime"));
        Assert.Equal((1000000000L, 0L), DebugfsTime(img, "/f", "mtime"));

        _cli.Ok(img, "touch", "-c", "/missing");
        Assert.Contains("File not found", OracleTool.Run("debugfs", "-R", "stat /missing", img).Stderr, StringComparison.Ordinal);

        _cli.Ok(img, "ln", "-s", "f", "/link");
        _cli.Ok(img, "touch", "-h", "-d", "@5", "/link");
        Assert.Equal((5L, 0L), DebugfsTime(img, "/link", "mtime"));
        Assert.Equal((1000000000L, 0L), DebugfsTime(img, "/f", "mtime"));
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);

        byte[] before = File.ReadAllBytes(img);
        Assert.Contains("touch: -d 'next week'", _cli.Fails(img, "touch", "-d", "next week", "/f").Stderr, StringComparison.Ordinal);
        Assert.Contains("give one of -d, -t and -r", _cli.Fails(img, "touch", "-d", "@1", "-r", "/ref", "/f").Stderr, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(img));
    }
}

/// <summary>`ukfs` writing inside one partition of a disk, with a driver that can write.</summary>
public sealed class CliPartitionWriteTests : IDisposable
{
    private const int S = DiskBuilder.Sector;
    private readonly CliHarness _cli = CliHarness.OnImages();
    private readonly ScratchDir _dir = new("ukfs-part-write");

    public CliPartitionWriteTests() => FsDrivers.AllDrivers.Register();

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    private static byte[] Slice(string disk, long startSector, long sectors)
    {
        byte[] b = new byte[sectors * S];
        using var f = File.OpenRead(disk);
        f.Position = startSector * S;
        f.ReadExactly(b);
        return b;
    }

    [Theory]
    [InlineData("gpt", "%GPT:2%")]
    [InlineData("mbr-disklabel", "%DISKLABEL:e%")]
    public void Put_IntoExtPartition_E2fsckCleanAndNeighboursUntouched(string layout, string selector)
    {
        if (RumpFs.Vfs.FileSystemRegistry.Find("ext2fs") is null)
        {
            return;
        }
        string disk = DiskBuilder.Sparse(_dir, "disk.img", 64L << 20);
        const long p1 = 2048, p1Size = 20480, p2 = 24576, p2Size = 40960;
        if (layout == "gpt")
        {
            DiskBuilder.Sfdisk(disk, $"label: gpt\nstart={p1}, size={p1Size}\nstart={p2}, size={p2Size}\n");
        }
        else
        {
            DiskBuilder.Sfdisk(disk, $"label: dos\nstart={p1}, size={p1Size + p2Size + 2048}, type=a9\n");
            PartitionProbeTests.WriteLabel(disk, p1 + 1, bigEndian: false, [new((uint)p1Size - 64, (uint)p1 + 64, 0, 7, 0, 0),
                new(0, 0, 0, 0, 0, 0), new((uint)(p1Size + p2Size + 2048), (uint)p1, 0, 0, 0, 0), new(0, 0, 0, 0, 0, 0),
                new((uint)p2Size, (uint)p2, 0, 17, 0, 0)]);
        }
        byte[] pattern = new byte[(p1Size - 64) * S];
        new Random(5).NextBytes(pattern);
        DiskBuilder.Poke(disk, (p1 + 64) * S, pattern);
        DiskBuilder.Place(disk, DiskBuilder.ExtImage(_dir, "p2.ext", p2Size, "ext4", "f", "x"), p2);
        byte[] before = File.ReadAllBytes(disk);

        string tree = Path.Combine(_dir.Path, "payload");
        Directory.CreateDirectory(tree);
        byte[] data = new byte[3 << 20];
        new Random(6).NextBytes(data);
        File.WriteAllBytes(Path.Combine(tree, "data.bin"), data);
        _cli.Ok(disk + selector, "put", tree, "/");
        _cli.Ok(disk + selector, "mkdir", "/made");
        Assert.Equal(data, _cli.Ok(disk + selector, "cat", "/payload/data.bin").Binary);

        byte[] after = File.ReadAllBytes(disk);
        Assert.True(before.AsSpan(0, (int)(p2 * S)).SequenceEqual(after.AsSpan(0, (int)(p2 * S))), "bytes before the partition changed");
        long end = (p2 + p2Size) * S;
        Assert.True(before.AsSpan((int)end).SequenceEqual(after.AsSpan((int)end)), "bytes after the partition changed");
        string part = _dir.File("p2.out");
        File.WriteAllBytes(part, Slice(disk, p2, p2Size));
        OracleTool.RunExpect(0, "e2fsck", "-fn", part);
        ToolResult ls = OracleTool.Run("debugfs", "-R", "ls -l /payload", part);
        Assert.Contains("data.bin", ls.Stdout, StringComparison.Ordinal);
    }
}

/// <summary>The real `ukfs` process: stdout, stderr and exit status as a shell sees them.</summary>
public sealed class CliProcessTests : IDisposable
{
    private readonly ScratchDir _dir = new("ukfs-proc");

    public void Dispose() => _dir.Dispose();

    private static ToolResult Ukfs(params string[] args) =>
        OracleTool.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "ukfs.dll"), .. args]);

    [Fact]
    public void Cat_WritesTheFileToStdout_ErrorsToStderrWithExit1()
    {
        FsDrivers.AllDrivers.Register();
        if (RumpFs.Vfs.FileSystemRegistry.Find("ext2fs") is null)
        {
            return;
        }
        string img = DiskBuilder.ExtImage(_dir, "e.img", 16384, "ext4", "hello.txt", "hello from ext4\n");
        ToolResult ok = Ukfs(img, "cat", "/hello.txt");
        Assert.True(ok.ExitCode == 0, ok.Transcript);
        Assert.Equal("hello from ext4\n", ok.Stdout);
        Assert.Equal("", ok.Stderr);
        ToolResult bad = Ukfs(img, "cat", "/missing");
        Assert.Equal(1, bad.ExitCode);
        Assert.Equal("ukfs: /missing: No such file or directory\n", bad.Stderr);
    }
}
