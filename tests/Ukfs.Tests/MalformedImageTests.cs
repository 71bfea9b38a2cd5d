using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>Damaged images through `ukfs`: one line and exit 1, never a crash or a stack trace.</summary>
public sealed class MalformedImageTests : IDisposable
{
    private readonly CliHarness _cli = CliHarness.OnImages();
    private readonly ScratchDir _dir = new("ukfs-bad");

    public MalformedImageTests() => FsDrivers.AllDrivers.Register();

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    public static TheoryData<string> Images()
    {
        var data = new TheoryData<string>();
        // The first image of each type is enough: the drivers' own malformed-image suites go deeper.
        foreach (CorpusImage i in Corpus.All.GroupBy(i => i.FsType).Select(g => g.First()))
        {
            data.Add(i.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void TruncatedImage_LsGetAndProbe_FailCleanly(string name)
    {
        CorpusImage image = Corpus.Get(name);
        if (RumpFs.Vfs.FileSystemRegistry.Find(image.FsType) is null)
        {
            return;
        }
        foreach (long keep in new long[] { 0, 600, 4096, 70_000, 300_000 })
        {
            string img = _dir.File($"{name}-{keep}.img");
            using (var src = File.OpenRead(image.ImagePath))
            using (var dst = File.Create(img))
            {
                byte[] b = new byte[keep];
                src.ReadExactly(b);
                dst.Write(b);
            }
            CliResult ls = _cli.Run(img, "ls", "-R", "/");
            Assert.True(ls.Exit is 0 or 1, ls.ToString());
            if (ls.Exit == 1)
            {
                Assert.StartsWith("ukfs: ", ls.Stderr, StringComparison.Ordinal);
            }
            string dest = Path.Combine(_dir.Path, $"out-{keep}");
            Directory.CreateDirectory(dest);
            CliResult get = _cli.Run(img, "get", "/", dest);
            Assert.True(get.Exit is 0 or 1, get.ToString());
            Assert.Equal(0, _cli.Run(img, "probe").Exit);
        }
    }

    [Fact]
    public void GarbageAfterAnExtMagic_RefusedWithOneLine()
    {
        var rng = new Random(99);
        for (int i = 0; i < 20; i++)
        {
            byte[] data = new byte[1 << 20];
            rng.NextBytes(data);
            data[1024 + 56] = 0x53;
            data[1024 + 57] = 0xEF;
            string img = _dir.File($"garbage{i}.img");
            File.WriteAllBytes(img, data);
            CliResult r = _cli.Run(img, "ls", "/");
            Assert.True(r.Exit is 0 or 1, r.ToString());
            if (r.Exit == 1)
            {
                Assert.StartsWith("ukfs: ", r.Stderr, StringComparison.Ordinal);
                Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Get_BlockMapDamagedPartWayThroughABigFile_OneLineErrorNoHang()
    {
        // The copy reads the next chunk while it writes the current one: a read that fails
        // several chunks in must still end the command with one line and exit 1.
        string tree = _dir.File("tree");
        Directory.CreateDirectory(tree);
        byte[] big = new byte[6 << 20];
        new Random(5).NextBytes(big);
        File.WriteAllBytes(Path.Combine(tree, "big"), big);
        string img = _dir.File("dind.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", "-d", tree, img, "16M");
        // Blocks past 4 MiB + 48 KiB hang off the double indirect block: point it off the device.
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "sif /big block[DIND] 99999999", img);
        string dest = _dir.File("big.out");
        CliResult get = _cli.Run(img, "get", "/big", dest);
        Assert.True(get.Exit == 1, get.ToString());
        Assert.Single(get.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("ukfs: ", get.Stderr, StringComparison.Ordinal);
        Assert.Contains("/big", get.Stderr, StringComparison.Ordinal);
        // What came before the damage was copied intact.
        byte[] got = File.ReadAllBytes(dest);
        Assert.True(got.Length >= 4 << 20, $"only {got.Length} bytes copied");
        Assert.Equal(big.AsSpan(0, 4 << 20).ToArray(), got.AsSpan(0, 4 << 20).ToArray());
    }

    /// <summary>
    /// An ext4 image whose one file has attributes in its inode and in an attribute block;
    /// both areas then take random damage. getfattr and get answer with one line (EIO for a
    /// broken block) or succeed, never crash; the image is not written.
    /// </summary>
    [Fact]
    public void DamagedExtendedAttributes_GetfattrAndGet_FailCleanly()
    {
        string tree = _dir.File("xtree");
        Directory.CreateDirectory(tree);
        string file = Path.Combine(tree, "f");
        File.WriteAllText(file, "data");
        Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(file, "user.small", "s"u8.ToArray()));
        Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(file, "user.big", new byte[700]));
        string clean = _dir.File("x.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-I", "256", "-d", tree, clean, "8M");
        // Where the two areas are: the inode (after its 128 + extra bytes) and the block i_file_acl names.
        string stat = OracleTool.RunExpect(0, "debugfs", "-R", "stat /f", clean).Stdout;
        long aclBlock = long.Parse(System.Text.RegularExpressions.Regex.Match(stat, @"File ACL: (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(aclBlock > 0, stat);
        string imap = OracleTool.RunExpect(0, "debugfs", "-R", "imap /f", clean).Stdout;
        var m = System.Text.RegularExpressions.Regex.Match(imap, @"located at block (\d+), offset 0x([0-9a-f]+)");
        long inodeAt = (long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 1024) + Convert.ToInt64(m.Groups[2].Value, 16);
        (long Start, int Length)[] areas = [(inodeAt + 128, 128), (aclBlock * 1024, 1024)];

        byte[] original = File.ReadAllBytes(clean);
        var random = new Random(8);
        for (int round = 0; round < 60; round++)
        {
            byte[] damaged = (byte[])original.Clone();
            (long start, int length) = areas[round % 2];
            for (int k = 0, n = 1 + random.Next(8); k < n; k++)
            {
                damaged[start + random.Next(length)] = (byte)random.Next(256);
            }
            string img = _dir.File($"x-{round}.img");
            File.WriteAllBytes(img, damaged);
            CliResult show = _cli.Run(img, "getfattr", "-e", "hex", "/f");
            Assert.True(show.Exit is 0 or 1, show.ToString());
            Assert.True(show.Exit == 0 || show.Stderr.StartsWith("ukfs: ", StringComparison.Ordinal), show.ToString());
            string dest = Path.Combine(_dir.Path, $"xout-{round}");
            Directory.CreateDirectory(dest);
            CliResult get = _cli.Run(img, "get", "/f", dest);
            Assert.True(get.Exit is 0 or 1, get.ToString());
            Assert.DoesNotContain("   at ", get.Stderr + show.Stderr, StringComparison.Ordinal);
            Assert.Equal(damaged, File.ReadAllBytes(img));
        }
    }
}
