using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests.Fsck;

/// <summary>`ukfs fsck` on FFS images from makefs: the FFS checker through the registry.</summary>
public sealed class FfsFsckCliTests
{
    private static string Makefs(ScratchDir dir, string version)
    {
        string src = Path.Combine(dir.Path, "src");
        Directory.CreateDirectory(Path.Combine(src, "d"));
        File.WriteAllText(Path.Combine(src, "d", "f.txt"), "ffs");
        string img = dir.File("ffs.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", $"version={version}", "-s", "8m", img, src);
        return img;
    }

    [Theory]
    [InlineData("1")]
    [InlineData("2")]
    public void Fsck_CleanMakefsImage_ExitZeroAndStaysCleanAfterDriverWrites(string version)
    {
        using var dir = new ScratchDir("ukfsffs");
        string img = Makefs(dir, version);
        using var h = CliHarness.OnImages();
        CliResult r = h.Run(img, "fsck");
        Assert.True(r.Exit == 0, r.ToString());
        using (UkfsMount m = UkfsMount.Open("ffs", img))
        {
            m.Mkdir("/new");
            m.WriteAllBytes("/new/data.bin", new byte[70_000]);
            m.Remove("/d/f.txt");
            m.Unmount();
        }
        r = h.Run(img, "fsck", "--json");
        Assert.True(r.Exit == 0, r.ToString());
    }

    [Fact]
    public void Fsck_FfsWithoutSuperblock_IsOperationalErrorEight()
    {
        using var dir = new ScratchDir("ukfsffs");
        string img = Makefs(dir, "2");
        using (var f = new FileStream(img, FileMode.Open, FileAccess.Write))
        {
            // Wipe every place a superblock is looked for (8 KiB, 64 KiB, 256 KiB, 0) but keep the size.
            foreach (long at in new long[] { 0, 8192, 65536, 262144 })
            {
                f.Position = at;
                f.Write(new byte[8192]);
            }
        }
        using var h = CliHarness.OnImages();
        CliResult r = h.Run("-t", "ffs", img, "fsck");
        Assert.True(r.Exit == 8, r.ToString());
    }
}
