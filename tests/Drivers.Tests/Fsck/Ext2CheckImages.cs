using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.FsDrivers.Ext2fs.Check;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>Builds ext2/ext4 images with mke2fs -d, damages them with debugfs or byte patches, and runs both checkers.</summary>
internal static partial class Ext2CheckImages
{
    /// <summary>An image of <paramref name="flavour"/> ("ext2", "ext3", "ext4", "ext4-nocsum") with a small tree.</summary>
    public static string Make(ScratchDir dir, string flavour)
    {
        string src = Path.Combine(dir.Path, "src");
        if (!Directory.Exists(src))
        {
            Directory.CreateDirectory(Path.Combine(src, "d", "e"));
            Directory.CreateDirectory(Path.Combine(src, "many"));
            File.WriteAllText(Path.Combine(src, "a.txt"), "hello\n");
            File.WriteAllBytes(Path.Combine(src, "big.bin"), Bytes(300_000, 1));
            File.WriteAllBytes(Path.Combine(src, "d", "small.bin"), Bytes(5000, 2));
            File.WriteAllText(Path.Combine(src, "d", "e", "x"), "x\n");
            File.WriteAllText(Path.Combine(src, "empty"), "");
            File.CreateSymbolicLink(Path.Combine(src, "link"), "a.txt");
            for (int i = 0; i < 40; i++)
            {
                File.WriteAllText(Path.Combine(src, "many", $"file{i}"), i.ToString(CultureInfo.InvariantCulture));
            }
        }
        string img = dir.File(flavour + ".img");
        string[] type = flavour switch
        {
            "ext2" => ["-t", "ext2"],
            "ext3" => ["-t", "ext3"],
            "ext4" => ["-t", "ext4"],
            "ext4-nocsum" => ["-t", "ext4", "-O", "^metadata_csum,^64bit"],
            _ => throw new ArgumentException(flavour),
        };
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", "1024", "-E", "lazy_itable_init=0" }, .. type, "-d", src, img, "16M"]);
        return img;
    }

    /// <summary>An image whose /big directory (300 names) e2fsck -D has turned into a hash tree.</summary>
    public static string MakeIndexed(ScratchDir dir, string flavour)
    {
        string src = Path.Combine(dir.Path, "src-indexed");
        Directory.CreateDirectory(Path.Combine(src, "big"));
        for (int i = 0; i < 300; i++)
        {
            File.WriteAllText(Path.Combine(src, "big", $"name-number-{i}"), i.ToString(CultureInfo.InvariantCulture));
        }
        string img = dir.File(flavour + "-indexed.img");
        // A fixed hash seed keeps every name's hash, and so the tree's shape, the same from run to run.
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", flavour, "-E", "hash_seed=4f2a9c1e-7b3d-4e8a-9c6f-1a2b3c4d5e6f",
            "-U", "0c8e7f4a-1b2c-4d3e-8f9a-0b1c2d3e4f5a", "-d", src, img, "16M");
        ToolResult r = OracleTool.Run("e2fsck", "-fyD", img);
        Assert.True(r.ExitCode <= 1, r.Transcript);
        Assert.Contains("Indirect levels", DebugfsRead(img, "htree /big"), StringComparison.Ordinal);
        return img;
    }

    private static byte[] Bytes(int n, int seed)
    {
        byte[] b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static CheckReport Check(string path, bool repair)
    {
        Errno e = FileBlockDevice.Open(path, !repair, out FileBlockDevice? dev, out string? msg);
        Assert.True(e == Errno.OK, $"open {path}: {e} {msg}");
        using (dev)
        {
            return new Ext2Checker().Check(dev!, repair);
        }
    }

    public static string Describe(CheckReport r) =>
        $"exit {r.ExitCode} {r.OperationalError}\n" + string.Join('\n',
            r.Findings.Select(f => $"{f.Severity} {f.Phase} {f.Location}: {f.Message} {(f.Repaired ? "(fixed)" : "")}"));

    public static ToolResult E2fsck(string path) => OracleTool.Run("e2fsck", "-fn", path);

    public static void AssertBothClean(string path)
    {
        ToolResult oracle = E2fsck(path);
        CheckReport ours = Check(path, repair: false);
        Assert.True(oracle.ExitCode == 0, "e2fsck -fn is not clean\n" + oracle.Transcript + "\n" + Describe(ours));
        Assert.True(ours.ExitCode == 0, Describe(ours) + "\n" + oracle.Transcript);
    }

    /// <summary>Both checkers find damage (e2fsck -fn exits 4, or 12 when it gives up without salvaging).</summary>
    public static CheckReport AssertBothDamaged(string path)
    {
        ToolResult oracle = E2fsck(path);
        CheckReport ours = Check(path, repair: false);
        Assert.True((oracle.ExitCode & 4) != 0, "e2fsck found nothing\n" + oracle.Transcript + "\n" + Describe(ours));
        Assert.True(ours.ExitCode == 4, Describe(ours) + "\n" + oracle.Transcript);
        return ours;
    }

    /// <summary>Damage found by both, our repair exits 1, then both find the image clean; returns our first report.</summary>
    public static CheckReport RepairRoundTrip(string path)
    {
        CheckReport before = AssertBothDamaged(path);
        CheckReport fix = Check(path, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(path);
        return before;
    }

    /// <summary>
    /// <see cref="RepairRoundTrip"/> that also asks the repair to converge: a second -y finds
    /// nothing. Returns our -n report and our repair's.
    /// </summary>
    public static (CheckReport Before, CheckReport Fix) ConvergingRepair(string path)
    {
        CheckReport before = AssertBothDamaged(path);
        CheckReport fix = Check(path, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(path);
        CheckReport again = Check(path, repair: true);
        Assert.True(again.ExitCode == 0, Describe(again));
        return (before, fix);
    }

    /// <summary>
    /// Orphans a crash left behind: both checkers report them under -n; our repair releases
    /// them with notes only (exit 0, as e2fsck -fy's orphan release), then both find the
    /// image clean; returns the repair's report.
    /// </summary>
    public static CheckReport ReleaseRoundTrip(string path)
    {
        AssertBothDamaged(path);
        CheckReport fix = Check(path, repair: true);
        Assert.True(fix.ExitCode == 0 && fix.Findings.All(f => f.Severity == CheckSeverity.Note), Describe(fix));
        AssertBothClean(path);
        return fix;
    }

    /// <summary>The superblock's free block and inode counts, as dumpe2fs shows them.</summary>
    public static string FreeCounts(string img)
    {
        string sb = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        return Regex.Match(sb, @"Free blocks:\s+\d+").Value + " " + Regex.Match(sb, @"Free inodes:\s+\d+").Value;
    }

    /// <summary>The inode number of <paramref name="file"/> (debugfs stat).</summary>
    public static uint InodeNumber(string img, string file) =>
        uint.Parse(InodeNumberLine().Match(DebugfsRead(img, $"stat {file}")).Groups[1].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Inode: (\d+)")]
    private static partial Regex InodeNumberLine();

    public static void Debugfs(string path, string command) =>
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", command, path);

    public static string DebugfsRead(string path, string command) =>
        OracleTool.RunExpect(0, "debugfs", "-R", command, path).Stdout;

    /// <summary>Every regular file of the image as path → bytes (base64), read with debugfs rdump into <paramref name="dir"/>/<paramref name="name"/>.</summary>
    public static Dictionary<string, string> RdumpTree(ScratchDir dir, string img, string name)
    {
        string into = dir.File(name);
        Directory.CreateDirectory(into);
        OracleTool.RunExpect(0, "debugfs", "-R", $"rdump / {into}", img);
        return Directory.GetFiles(into, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(into, f), f => Convert.ToBase64String(File.ReadAllBytes(f)));
    }

    /// <summary>The physical block of logical block <paramref name="logical"/> of <paramref name="file"/>.</summary>
    public static long Bmap(string path, string file, int logical) =>
        long.Parse(DebugfsRead(path, $"bmap {file} {logical}").Trim(), CultureInfo.InvariantCulture);

    /// <summary>The device offset of inode <paramref name="ino"/> (debugfs imap).</summary>
    public static long InodeOffset(string path, uint ino, int blockSize = 1024)
    {
        string text = DebugfsRead(path, $"imap <{ino}>");
        Match m = ImapLine().Match(text);
        Assert.True(m.Success, text);
        return (long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * blockSize)
            + Convert.ToInt64(m.Groups[2].Value, 16);
    }

    [GeneratedRegex(@"located at block (\d+), offset 0x([0-9a-fA-F]+)")]
    private static partial Regex ImapLine();

    /// <summary>A copy of <paramref name="img"/> named <paramref name="name"/> in the same folder (for the oracle's run).</summary>
    public static string CopyBeside(string img, string name)
    {
        string to = Path.Combine(Path.GetDirectoryName(img)!, name);
        File.Copy(img, to, overwrite: true);
        return to;
    }

    /// <summary>Inode <paramref name="ino"/>'s contents as debugfs dumps them (beside the image).</summary>
    public static byte[] DumpInode(string img, uint ino)
    {
        string to = img + $".dump-{ino}-{Guid.NewGuid():N}";
        OracleTool.RunExpect(0, "debugfs", "-R", $"dump <{ino}> {to}", img);
        byte[] data = File.ReadAllBytes(to);
        File.Delete(to);
        return data;
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
}
