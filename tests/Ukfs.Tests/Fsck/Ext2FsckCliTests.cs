using System.Text.Json;
using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests.Fsck;

/// <summary>`ukfs IMAGE fsck` on ext2/ext4 images from mke2fs -d: the ext2 checker through the registry, against e2fsck.</summary>
public sealed class Ext2FsckCliTests
{
    private static string Mke2fs(ScratchDir dir, string type)
    {
        string src = Path.Combine(dir.Path, "src");
        Directory.CreateDirectory(Path.Combine(src, "d"));
        File.WriteAllText(Path.Combine(src, "d", "f.txt"), "ext");
        File.WriteAllBytes(Path.Combine(src, "blob.bin"), [.. Enumerable.Range(0, 50_000).Select(i => (byte)(i % 251 + 1))]);
        string img = dir.File(type + ".img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", type, "-d", src, img, "8M");
        return img;
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Fsck_CleanImage_ExitZeroAndStaysCleanAfterDriverWrites(string type)
    {
        using var dir = new ScratchDir("ukfsext2");
        string img = Mke2fs(dir, type);
        using var h = CliHarness.OnImages();
        CliResult r = h.Run(img, "fsck");
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Contains("clean", r.Stdout, StringComparison.Ordinal);
        using (UkfsMount m = UkfsMount.Open("ext2fs", img))
        {
            m.Mkdir("/new");
            m.WriteAllBytes("/new/data.bin", new byte[70_000]);
            m.Remove("/d/f.txt");
            m.Unmount();
        }
        r = h.Run(img, "fsck", "--json");
        Assert.True(r.Exit == 0, r.ToString());
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
    }

    [Fact]
    public void Fsck_Json_ListsEveryFindingWithLocationThenRepairLeavesBothClean()
    {
        using var dir = new ScratchDir("ukfsext2");
        string img = Mke2fs(dir, "ext4");
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "set_inode_field /d/f.txt links_count 4", img);
        string blk = OracleTool.RunExpect(0, "debugfs", "-R", "bmap /blob.bin 0", img).Stdout.Trim();
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "freeb " + blk, img);
        Assert.Equal(4, OracleTool.Run("e2fsck", "-fn", img).ExitCode);
        using var h = CliHarness.OnImages();

        CliResult check = h.Run(img, "fsck", "-n", "--json");
        Assert.True(check.Exit == 4, check.ToString());
        using (JsonDocument doc = JsonDocument.Parse(check.Stdout))
        {
            Assert.Equal(4, doc.RootElement.GetProperty("exitCode").GetInt32());
            Assert.Equal("ext2fs", doc.RootElement.GetProperty("fsType").GetString());
            Assert.True(doc.RootElement.GetProperty("errors").GetInt32() > 0);
            Assert.Equal(0, doc.RootElement.GetProperty("repaired").GetInt32());
            JsonElement[] findings = [.. doc.RootElement.GetProperty("findings").EnumerateArray()];
            Assert.Contains(findings, f => f.GetProperty("phase").GetString() == "references"
                && f.GetProperty("location").GetString()!.StartsWith("inode ", StringComparison.Ordinal)
                && f.GetProperty("message").GetString()!.Contains("link count is 4, should be 1", StringComparison.Ordinal));
            Assert.Contains(findings, f => f.GetProperty("phase").GetString() == "summary"
                && f.GetProperty("message").GetString()!.Contains("block bitmap differences", StringComparison.Ordinal));
            Assert.All(findings.Where(f => f.GetProperty("severity").GetString() == "error"),
                f => Assert.False(f.GetProperty("repaired").GetBoolean()));
        }

        CliResult repair = h.Run(img, "fsck", "-y", "--json");
        Assert.True(repair.Exit == 1, repair.ToString());
        using (JsonDocument doc = JsonDocument.Parse(repair.Stdout))
        {
            Assert.All(doc.RootElement.GetProperty("findings").EnumerateArray()
                    .Where(f => f.GetProperty("severity").GetString() == "error"),
                f => Assert.True(f.GetProperty("repaired").GetBoolean()));
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        CliResult again = h.Run(img, "fsck");
        Assert.True(again.Exit == 0, again.ToString());
    }

    [Fact]
    public void Fsck_Ext2SuperblockWiped_IsOperationalErrorEight()
    {
        using var dir = new ScratchDir("ukfsext2");
        string img = Mke2fs(dir, "ext2");
        using (var f = new FileStream(img, FileMode.Open, FileAccess.Write))
        {
            f.Position = 1024;
            f.Write(new byte[1024]);
        }
        using var h = CliHarness.OnImages();
        CliResult r = h.Run("-t", "ext2fs", img, "fsck");
        Assert.True(r.Exit == 8, r.ToString());
        Assert.Contains("bad magic", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Fsck_OptimizeDirectories_RewritesThemAndExitsZero_AndIsRefusedWithoutYOrOnFat()
    {
        using var dir = new ScratchDir("ukfsext2");
        string img = Mke2fs(dir, "ext4");
        using var h = CliHarness.OnImages();

        CliResult noY = h.Run(img, "fsck", "-D");
        Assert.True(noY.Exit == 1, noY.ToString());
        Assert.Equal("ukfs: fsck: -D rewrites directories; give -y with it", noY.Stderr.Trim());

        CliResult y = h.Run(img, "fsck", "-y", "-D");
        Assert.True(y.Exit == 0, y.ToString());
        Assert.Contains("directories optimised", y.Stdout, StringComparison.Ordinal);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);

        string fat = dir.File("fat.img");
        OracleTool.RunExpect(0, "mkfs.fat", "-C", fat, "4096");
        byte[] before = File.ReadAllBytes(fat);
        CliResult onFat = h.Run(fat, "fsck", "-y", "-D");
        Assert.True(onFat.Exit == 1, onFat.ToString());
        Assert.Contains("-D (optimise directories) is for ext2/3/4 file systems", onFat.Stderr, StringComparison.Ordinal);
        Assert.Single(onFat.Stderr.Trim().Split('\n'));
        Assert.Equal(before, File.ReadAllBytes(fat));
    }
}
