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
}
