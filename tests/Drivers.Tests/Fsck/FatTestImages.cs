using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.FsDrivers.Msdosfs.Newfs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>Builds FAT images for the fsck and newfs tests and runs the checkers on them.</summary>
internal static class FatTestImages
{
    public static void CreateFile(string path, long size)
    {
        using var f = File.Create(path);
        f.SetLength(size);
    }

    /// <summary>Format a sparse file of <paramref name="size"/> bytes with our newfs.</summary>
    public static string Newfs(string path, long size, params (string Key, string? Value)[] options)
    {
        CreateFile(path, size);
        using IBlockDevice dev = Open(path, readOnly: false);
        var dict = options.ToDictionary(o => o.Key, o => o.Value);
        Errno rc = new FatFormatter(new ManualClock(new Timespec(1_700_000_000, 0))).Format(dev, dict, out string? message);
        Assert.True(rc == 0, $"newfs failed: {rc} {message}");
        return message!;
    }

    /// <summary>Make an image with mkfs.fat and fill it with mtools: the independent way.</summary>
    public static void MkfsWithFiles(string path, long size, string fatBits, int files = 3, string? label = "TESTVOL")
    {
        CreateFile(path, size);
        string[] mkfs = label is null ? ["-F", fatBits, path] : ["-F", fatBits, "-n", label, path];
        OracleTool.RunExpect(0, "mkfs.fat", mkfs);
        using var scratch = new ScratchDir("fatsrc");
        for (int i = 0; i < files; i++)
        {
            File.WriteAllBytes(scratch.File($"file{i}.bin"), Enumerable.Range(0, 5000 * (i + 1)).Select(b => (byte)b).ToArray());
        }
        File.WriteAllText(scratch.File("a long file name.txt"), "hello");
        OracleTool.RunExpect(0, "mmd", "-i", path, "::/SUBDIR");
        OracleTool.RunExpect(0, "mmd", "-i", path, "::/SUBDIR/Deeper Directory");
        string[] all = [.. Directory.GetFiles(scratch.Path).Order(StringComparer.Ordinal)];
        OracleTool.RunExpect(0, "mcopy", ["-i", path, .. all, "::/"]);
        OracleTool.RunExpect(0, "mcopy", ["-i", path, .. all, "::/SUBDIR/Deeper Directory/"]);
    }

    public static IBlockDevice Open(string path, bool readOnly)
    {
        Errno rc = FileBlockDevice.Open(path, readOnly, out FileBlockDevice? dev, out string? error);
        Assert.True(rc == 0, $"open {path}: {rc} {error}");
        return dev!;
    }

    public static CheckReport Check(string path, bool repair) => Check(path, repair, HostClock.Instance);

    /// <summary>Our check, stamping the files it makes with <paramref name="clock"/>'s time.</summary>
    public static CheckReport Check(string path, bool repair, IClock clock)
    {
        using IBlockDevice dev = Open(path, readOnly: !repair);
        return new FatChecker(clock).Check(dev, repair);
    }

    public static string Describe(CheckReport r) =>
        $"exit {r.ExitCode} {r.OperationalError}\n" + string.Join('\n', r.Findings.Select(f => $"{f.Phase} {f.Location}: {f.Message} {(f.Repaired ? "(fixed)" : "")}"));

    /// <summary>fsck.fat -n: exit 0 when it has nothing to change, 1 when it would change something.</summary>
    public static ToolResult FsckFat(string path) => OracleTool.Run("fsck.fat", "-n", "-v", path);

    public static void AssertBothClean(string path)
    {
        ToolResult oracle = FsckFat(path);
        Assert.True(oracle.ExitCode == 0 && !oracle.Stdout.Contains("Free cluster summary wrong", StringComparison.Ordinal),
            oracle.Transcript);
        CheckReport ours = Check(path, repair: false);
        Assert.True(ours.ExitCode == 0, Describe(ours) + "\n" + oracle.Transcript);
    }

    /// <summary>Both checkers must find damage: our exit is 4 and fsck.fat -n would change something.</summary>
    public static CheckReport AssertBothDamaged(string path)
    {
        ToolResult oracle = FsckFat(path);
        CheckReport ours = Check(path, repair: false);
        Assert.True(oracle.ExitCode != 0, "fsck.fat found nothing\n" + oracle.Transcript + "\n" + Describe(ours));
        Assert.True(ours.ExitCode == 4, Describe(ours) + "\n" + oracle.Transcript);
        return ours;
    }

    /// <summary>The FSCKnnnn.REC files in the root as mtools lists and reads them, by name ("FSCK0000.REC"), in name order.</summary>
    public static SortedDictionary<string, byte[]> RecFiles(string path)
    {
        ToolResult list = OracleTool.Run("mdir", "-b", "-i", path, "::/");
        Assert.True(list.ExitCode == 0, list.Transcript);
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string line in list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string name = line.StartsWith("::/", StringComparison.Ordinal) ? line[3..] : line;
            if (name.StartsWith("FSCK", StringComparison.Ordinal) && name.EndsWith(".REC", StringComparison.Ordinal))
            {
                files[name] = FatCheckTests.Mtype(path, "/" + name);
            }
        }
        return files;
    }

    public static void Patch(string path, long offset, params byte[] bytes)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(bytes);
    }

    public static byte[] ReadAt(string path, long offset, int count)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read);
        f.Position = offset;
        var b = new byte[count];
        f.ReadExactly(b);
        return b;
    }

    /// <summary>Device offset of the short entry <paramref name="name11"/> (11 bytes, blank padded) in the root directory.</summary>
    public static long RootEntryOffset(string path, string name11)
    {
        FatBootRecord b = Boot(path);
        long at = b.Kind == FatKind.Fat32 ? b.ClusterOffset(b.RootCluster) : b.RootDirOffset;
        int length = b.Kind == FatKind.Fat32 ? b.ClusterBytes : b.RootEntries * 32;
        byte[] dir = ReadAt(path, at, length);
        byte[] want = System.Text.Encoding.ASCII.GetBytes(name11);
        for (int i = 0; i < length; i += 32)
        {
            if (dir.AsSpan(i, 11).SequenceEqual(want) && !FatDirRecord.IsLongName(dir.AsSpan(i, 32)))
            {
                return at + i;
            }
        }
        throw new InvalidOperationException($"{name11} not in the root directory");
    }

    /// <summary>Device offset of the short entry <paramref name="name11"/> in the first cluster of the directory starting at <paramref name="dirCluster"/>.</summary>
    public static long EntryOffset(string path, uint dirCluster, string name11)
    {
        FatBootRecord b = Boot(path);
        long at = b.ClusterOffset(dirCluster);
        byte[] dir = ReadAt(path, at, b.ClusterBytes);
        byte[] want = System.Text.Encoding.ASCII.GetBytes(name11);
        for (int i = 0; i < dir.Length; i += 32)
        {
            if (dir.AsSpan(i, 11).SequenceEqual(want) && !FatDirRecord.IsLongName(dir.AsSpan(i, 32)))
            {
                return at + i;
            }
        }
        throw new InvalidOperationException($"{name11} not in the directory at cluster {dirCluster}");
    }

    /// <summary>Point the entry at <paramref name="entryOffset"/> to another start cluster.</summary>
    public static void SetStartCluster(string path, long entryOffset, uint cluster)
    {
        byte[] entry = ReadAt(path, entryOffset, 32);
        FatDirRecord.SetCluster(entry, cluster, Boot(path).Kind);
        Patch(path, entryOffset, entry);
    }

    public static uint StartCluster(string path, long entryOffset) =>
        FatDirRecord.Cluster(ReadAt(path, entryOffset, 32), Boot(path).Kind);

    public static uint FatEntry(string path, uint cluster)
    {
        FatBootRecord b = Boot(path);
        return FatTable.Get(ReadAt(path, b.FatOffset, (int)b.FatBytes), b.Kind, cluster);
    }

    /// <summary>Set a FAT entry in the given copies (all by default).</summary>
    public static void SetFatEntry(string path, uint cluster, uint value, params int[] copies)
    {
        FatBootRecord b = Boot(path);
        foreach (int copy in copies.Length == 0 ? Enumerable.Range(0, b.NumFats) : copies)
        {
            long at = b.FatOffset + copy * b.FatBytes;
            byte[] fat = ReadAt(path, at, (int)b.FatBytes);
            FatTable.Set(fat, b.Kind, cluster, value);
            Patch(path, at, fat);
        }
    }

    /// <summary>The clusters of a chain, in order.</summary>
    public static List<uint> Chain(string path, uint start)
    {
        FatBootRecord b = Boot(path);
        var chain = new List<uint>();
        for (uint c = start; c >= 2 && c <= b.MaxCluster && chain.Count <= b.ClusterCount; c = FatTable.Value(FatEntry(path, c), b.Kind))
        {
            chain.Add(c);
        }
        return chain;
    }

    /// <summary>The highest cluster in use plus some distance: a cluster that is free.</summary>
    public static uint FreeCluster(string path)
    {
        FatBootRecord b = Boot(path);
        for (uint c = b.MaxCluster; c >= 2; c--)
        {
            if (FatEntry(path, c) == 0)
            {
                return c;
            }
        }
        throw new InvalidOperationException("no free cluster");
    }

    /// <summary>The parsed boot record of an image, for computing where to patch.</summary>
    public static FatBootRecord Boot(string path)
    {
        byte[] s = ReadAt(path, 0, 512);
        return FatBootRecord.Parse(s, new FileInfo(path).Length, out string? error) ?? throw new InvalidOperationException(error);
    }
}
