using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
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

    [Theory]
    [InlineData("1")]
    [InlineData("2")]
    public void Fsck_DamagedFfs_NoWritesNothingThenYesRepairsExitOneThenClean(string version)
    {
        using var dir = new ScratchDir("ukfsffs");
        string img = Makefs(dir, version);
        DamageLinkCountAndFreeCount(img, version == "2");
        byte[] damaged = File.ReadAllBytes(img);
        using var h = CliHarness.OnImages();

        CliResult check = h.Run(img, "fsck", "-n", "--json");
        Assert.True(check.Exit == 4, check.ToString());
        Assert.Equal(damaged, File.ReadAllBytes(img));

        CliResult repair = h.Run(img, "fsck", "-y", "--json");
        Assert.True(repair.Exit == 1, repair.ToString());
        using (JsonDocument doc = JsonDocument.Parse(repair.Stdout))
        {
            Assert.Equal(1, doc.RootElement.GetProperty("exitCode").GetInt32());
            Assert.Equal("ffs", doc.RootElement.GetProperty("fsType").GetString());
            JsonElement[] errors = [.. doc.RootElement.GetProperty("findings").EnumerateArray()
                .Where(f => f.GetProperty("severity").GetString() == "error")];
            Assert.Contains(errors, f => f.GetProperty("phase").GetString() == "link counts");
            Assert.Contains(errors, f => f.GetProperty("phase").GetString() == "cylinder groups");
            Assert.All(errors, f => Assert.True(f.GetProperty("repaired").GetBoolean(), f.ToString()));
        }
        CliResult again = h.Run(img, "fsck");
        Assert.True(again.Exit == 0, again.ToString());
        using (UkfsMount m = UkfsMount.Open("ffs", img, new UkfsOptions { ReadOnly = true }))
        {
            Assert.Equal("ffs", System.Text.Encoding.UTF8.GetString(m.ReadAllBytes("/d/f.txt")));
        }
        if (version == "1")
        {
            OracleTool.RunExpect(0, "fsstat", img);
            Assert.Contains("f.txt", OracleTool.RunExpect(0, "fls", "-r", img).Stdout, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Set /d/f.txt's link count to 5 and add 9 to the superblock's free-block total, locating
    /// the inode from the superblock fields (struct fs).
    /// </summary>
    private static void DamageLinkCountAndFreeCount(string img, bool ufs2)
    {
        long ino;
        using (UkfsMount m = UkfsMount.Open("ffs", img, new UkfsOptions { ReadOnly = true }))
        {
            ino = (long)m.Stat("/d/f.txt").Ino;
        }
        if (!ufs2)
        {
            // sleuthkit agrees on the inode number (it reads UFS1 only).
            Assert.Equal(ino, long.Parse(OracleTool.RunExpect(0, "ifind", "-n", "/d/f.txt", img).Stdout.Trim(), CultureInfo.InvariantCulture));
        }
        using var f = new FileStream(img, FileMode.Open, FileAccess.ReadWrite);
        f.Position = InodeOffset(f, ino, ufs2, out byte[] sb, out long sbAt) + 2; // di_nlink
        f.Write(BitConverter.GetBytes((short)5));
        if (ufs2)
        {
            long nbfree = BinaryPrimitives.ReadInt64LittleEndian(sb.AsSpan(1008 + 8));
            f.Position = sbAt + 1008 + 8;
            f.Write(BitConverter.GetBytes(nbfree + 9));
        }
        else
        {
            int nbfree = BinaryPrimitives.ReadInt32LittleEndian(sb.AsSpan(192 + 4));
            f.Position = sbAt + 192 + 4;
            f.Write(BitConverter.GetBytes(nbfree + 9));
        }
    }

    /// <summary>Byte offset of inode <paramref name="ino"/> in a little-endian makefs image, from the superblock fields (struct fs).</summary>
    private static long InodeOffset(FileStream f, long ino, bool ufs2, out byte[] sb, out long sbAt)
    {
        // makefs writes the superblock of both versions at 8 KiB.
        sb = new byte[1376];
        sbAt = 8192;
        f.Position = sbAt;
        f.ReadExactly(sb);
        Assert.Equal(ufs2 ? 0x19540119 : 0x011954, BinaryPrimitives.ReadInt32LittleEndian(sb.AsSpan(1372)));
        int iblkno = BinaryPrimitives.ReadInt32LittleEndian(sb.AsSpan(16));
        int frag = BinaryPrimitives.ReadInt32LittleEndian(sb.AsSpan(56));
        int fshift = BinaryPrimitives.ReadInt32LittleEndian(sb.AsSpan(84));
        int inopb = BinaryPrimitives.ReadInt32LittleEndian(sb.AsSpan(120));
        int ipg = BinaryPrimitives.ReadInt32LittleEndian(sb.AsSpan(184));
        int fpg = BinaryPrimitives.ReadInt32LittleEndian(sb.AsSpan(188));
        long cg = ino / ipg;
        long cgStart = (long)fpg * cg;
        if (!ufs2)
        {
            // UFS1 staggers each group's metadata (cgstart).
            cgStart += (long)BinaryPrimitives.ReadInt32LittleEndian(sb.AsSpan(24)) * (cg & ~BinaryPrimitives.ReadInt32LittleEndian(sb.AsSpan(28)));
        }
        long inodeFrag = cgStart + iblkno + (ino % ipg / inopb * frag);
        return (inodeFrag << fshift) + (ino % inopb * (ufs2 ? 256 : 128));
    }

    /// <summary>
    /// di_size 2^63-1 (the fuzzer's size_huge): cat fails at once with EIO instead of
    /// streaming zeros, writing nothing; fsck -n reports it (exit 4), -y clears the inode
    /// (exit 1), the next -n is clean and the other file is kept.
    /// </summary>
    [Theory]
    [InlineData("1")]
    [InlineData("2")]
    public async Task Cat_SizeAboveMaxFileSize_EioAtOnceAndFsckClearsIt(string version)
    {
        using var dir = new ScratchDir("ukfsffs");
        string img = Makefs(dir, version);
        long ino;
        using (UkfsMount m = UkfsMount.Open("ffs", img))
        {
            m.WriteAllBytes("/d/big", new byte[57_349]);
            ino = (long)m.Stat("/d/big").Ino;
            m.Unmount();
        }
        using (var f = new FileStream(img, FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = InodeOffset(f, ino, version == "2", out _, out _) + (version == "2" ? 16 : 8); // di_size
            f.Write(BitConverter.GetBytes(long.MaxValue));
        }
        byte[] damaged = File.ReadAllBytes(img);
        using var h = CliHarness.OnImages();

        // Before, cat streamed zeros without end: a timeout here is that failure.
        CliResult cat = await Task.Run(() => h.Run(img, "cat", "/d/big")).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(cat.Exit == 1, cat.ToString());
        Assert.Contains("Input/output error", cat.Stderr, StringComparison.Ordinal);
        Assert.Empty(cat.Binary);
        Assert.Equal(damaged, File.ReadAllBytes(img));

        CliResult n = h.Run(img, "fsck", "-n");
        Assert.True(n.Exit == 4, n.ToString());
        Assert.Contains("above fs_maxfilesize", n.Stdout, StringComparison.Ordinal);
        CliResult y = h.Run(img, "fsck", "-y");
        Assert.True(y.Exit == 1, y.ToString());
        CliResult again = h.Run(img, "fsck", "-n");
        Assert.True(again.Exit == 0, again.ToString());
        Assert.Equal("ffs", CliHarness.Text(h.Ok(img, "cat", "/d/f.txt")));
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
