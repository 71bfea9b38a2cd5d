using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Msdosfs;

/// <summary>Every FAT image of the corpus (mkfs.fat + mcopy -s) read back and compared with its manifest.</summary>
public sealed class MsdosCorpusTests
{
    public static TheoryData<string> Images => Corpus.NamesOf("msdos");

    [Theory]
    [MemberData(nameof(Images))]
    public void CorpusImage_ReadOnlyMount_MatchesManifest(string name)
    {
        CorpusImage image = Corpus.Get(name);
        IReadOnlyList<ManifestEntry> manifest = Manifest.Read(image.ManifestPath);
        Mount m = FatTestUtil.MountImage(image.ImagePath, readOnly: true);
        try
        {
            var byDir = manifest.GroupBy(e => Path.GetDirectoryName(e.Path) ?? "")
                .ToDictionary(g => g.Key, g => g.Select(e => Path.GetFileName(e.Path)).OrderBy(n => n, StringComparer.Ordinal).ToList());
            foreach (ManifestEntry entry in manifest)
            {
                Vnode vp = FatTestUtil.Resolve(m, "/" + entry.Path);
                try
                {
                    Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
                    Assert.Equal(entry.Type == 'd' ? VType.Directory : VType.Regular, va.Type);
                    if (entry.Type == 'f')
                    {
                        Assert.Equal(entry.Size, va.Size);
                    }
                }
                finally
                {
                    vp.Release();
                }
                if (entry.Type == 'f')
                {
                    Assert.Equal(entry.Sha256, FatTestUtil.Sha256(FatTestUtil.ReadAll(m, "/" + entry.Path)));
                }
            }
            foreach (string dir in byDir.Keys.Append("").Distinct())
            {
                List<string> listed = [.. FatTestUtil.List(m, "/" + dir).Select(d => d.Name).Where(n => n is not "." and not "..").OrderBy(n => n, StringComparer.Ordinal)];
                List<string> expected = byDir.GetValueOrDefault(dir) ?? [];
                Assert.Equal(expected, listed);
            }
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void CorpusImage_LookupIgnoresCase(string name)
    {
        CorpusImage image = Corpus.Get(name);
        Mount m = FatTestUtil.MountImage(image.ImagePath, readOnly: true);
        try
        {
            string first = Manifest.Read(image.ManifestPath).First(e => e.Type == 'f' && !e.Path.Contains('/', StringComparison.Ordinal)).Path;
            Vnode a = FatTestUtil.Resolve(m, "/" + first.ToUpperInvariant());
            Vnode b = FatTestUtil.Resolve(m, "/" + first.ToLowerInvariant());
            Assert.Same(a, b);
            a.Release();
            b.Release();
        }
        finally
        {
            m.Unmount();
        }
    }

    [Fact]
    public void Probe_RecognisesEveryFatImage_AndNoOtherImage()
    {
        var driver = new RumpFs.FsDrivers.Msdosfs.MsdosfsDriver();
        foreach (CorpusImage image in Corpus.All)
        {
            Assert.Equal(RumpFs.Kernel.Errno.OK, RumpFs.Kernel.Devices.FileBlockDevice.Open(image.ImagePath, true, out var dev, out _));
            using (dev)
            {
                Assert.True(driver.Probe(dev!) == (image.FsType == "msdos"), $"probe of {image.Name} ({image.FsType})");
            }
        }
    }
}
