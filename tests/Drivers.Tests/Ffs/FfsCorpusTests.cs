using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>Every FFS image of the corpus (made by makefs) read back and compared with its manifest.</summary>
public class FfsCorpusTests
{
    public static TheoryData<string> Images => Corpus.NamesOf("ffs");

    [Theory]
    [MemberData(nameof(Images))]
    public void Image_ReadOnlyMount_MatchesManifest(string name)
    {
        CorpusImage img = Corpus.Get(name);
        IReadOnlyList<ManifestEntry> manifest = Manifest.Read(img.ManifestPath);
        Mount mp = FfsTestMount.Open(img.ImagePath);
        try
        {
            SortedSet<string> tree = FfsTestMount.Walk(mp);
            tree.Remove("lost+found");
            Assert.Equal(manifest.Select(m => m.Path).OrderBy(p => p, StringComparer.Ordinal), tree);
            foreach (ManifestEntry m in manifest)
            {
                CheckEntry(mp, m);
            }
        }
        finally
        {
            Assert.Equal(Errno.OK, mp.Unmount());
        }
    }

    private static void CheckEntry(Mount mp, ManifestEntry m)
    {
        Vnode vp = FfsTestMount.Resolve(mp, "/" + m.Path);
        try
        {
            Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
            VType want = m.Type switch
            {
                'f' => VType.Regular,
                'd' => VType.Directory,
                'l' => VType.Symlink,
                'c' => VType.CharDevice,
                'b' => VType.BlockDevice,
                'p' => VType.Fifo,
                _ => VType.Socket,
            };
            Assert.True(want == va.Type, $"{m.Path}: type {va.Type}, want {want}");
            Assert.True(m.Mode == va.Mode, $"{m.Path}: mode {Convert.ToString(va.Mode, 8)}, want {Convert.ToString(m.Mode, 8)}");
            Assert.True(m.Nlink == va.Nlink, $"{m.Path}: nlink {va.Nlink}, want {m.Nlink}");
            if (m.Type is 'f' or 'l')
            {
                Assert.True(m.Size == va.Size, $"{m.Path}: size {va.Size}, want {m.Size}");
            }
            if (m.Type == 'f')
            {
                Assert.True(m.Sha256 == FfsTestMount.Sha256(FfsTestMount.ReadAll(vp)), $"{m.Path}: content differs");
            }
            if (m.Type == 'l')
            {
                Assert.Equal(Errno.OK, Vop.Readlink(vp, out string target));
                Assert.Equal(m.Target, target);
            }
        }
        finally
        {
            vp.Release();
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Image_Probe_RecognisesFfs(string name)
    {
        CorpusImage img = Corpus.Get(name);
        Assert.Equal(Errno.OK, Kernel.Devices.FileBlockDevice.Open(img.ImagePath, true, out var dev, out _));
        using (dev)
        {
            Assert.True(new FsDrivers.Ffs.FfsDriver().Probe(dev!));
        }
    }

    [Fact]
    public void Image_Mtime_MatchesFixture()
    {
        foreach (string name in new[] { "ffs1-le-8k-f2", "ffs2-be-8k-f2" })
        {
            Mount mp = FfsTestMount.Open(Corpus.Get(name).ImagePath);
            try
            {
                Vnode vp = FfsTestMount.Resolve(mp, "/old-file");
                Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
                vp.Release();
                // makefs stores whole seconds (nanoseconds are covered by the write tests).
                Assert.Equal(981173106, va.Mtime.Seconds);
            }
            finally
            {
                mp.Unmount();
            }
        }
    }

    [Fact]
    public void Image_DeviceNode_ReportsRdev()
    {
        Mount mp = FfsTestMount.Open(Corpus.Get("ffs2-le-8k-f2").ImagePath);
        try
        {
            Vnode vp = FfsTestMount.Resolve(mp, "/dev/loop0");
            Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
            vp.Release();
            Assert.Equal(VType.BlockDevice, va.Type);
            Assert.Equal((7UL << 8) | 0, va.Rdev);
        }
        finally
        {
            mp.Unmount();
        }
    }

    [Fact]
    public void Statvfs_ReadOnlyImage_ReportsGeometryAndFreeSpace()
    {
        Mount mp = FfsTestMount.Open(Corpus.Get("ffs2-le-8k-f2").ImagePath);
        try
        {
            Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs st));
            Assert.Equal(8192, st.BlockSize);
            Assert.Equal(1024, st.FragmentSize);
            Assert.True(st.Blocks > 0 && st.BlocksFree >= 0 && st.BlocksFree <= st.Blocks);
            Assert.True(st.BlocksAvailable <= st.BlocksFree);
            Assert.True(st.ReadOnly);
            Assert.Equal(255, st.NameMax);
        }
        finally
        {
            mp.Unmount();
        }
    }
}
