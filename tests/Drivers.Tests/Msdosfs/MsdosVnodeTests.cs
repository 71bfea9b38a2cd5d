using System.Security.Cryptography;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Msdosfs;

/// <summary>File ids, vnode life cycle, options and concurrency of the FAT driver.</summary>
public sealed class MsdosVnodeTests
{
    private static string Fat32(ScratchDir s) => FatTestUtil.NewImage(s, "v", 66000, "-F", "32", "-s", "1");

    private static ulong InoOf(Mount m, string path)
    {
        Vnode vp = FatTestUtil.Resolve(m, path);
        Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
        vp.Release();
        return va.Ino;
    }

    [Fact]
    public void Ino_StaysAcrossRename_AndANewFileAtTheOldSlotGetsAnother()
    {
        using var s = new ScratchDir("fatv");
        Mount m = FatTestUtil.MountImage(Fat32(s));
        try
        {
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/a.txt", [1]));
            Vnode held = FatTestUtil.Resolve(m, "/a.txt");
            ulong ino = held.Ino;
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/d"));
            Assert.Equal(Errno.OK, FatTestUtil.Rename(m, "/a.txt", "/d/b.txt"));
            Assert.Equal(ino, InoOf(m, "/d/b.txt"));
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/c.txt", [2]));
            Assert.NotEqual(ino, InoOf(m, "/c.txt"));
            held.Release();
            m.Vnodes.ReclaimUnreferenced();
            // Still the same number after the vnode left the cache.
            Assert.Equal(ino, InoOf(m, "/d/b.txt"));
            List<DirEntry> listed = FatTestUtil.List(m, "/d");
            Assert.Equal(ino, listed.Single(e => e.Name == "b.txt").Ino);
            Assert.Equal(InoOf(m, "/c.txt"), FatTestUtil.List(m, "/").Single(e => e.Name == "c.txt").Ino);
        }
        finally
        {
            m.Unmount();
        }
    }

    [Fact]
    public void VGet_OfADirectoryNotCached_FindsItThroughDotDot()
    {
        using var s = new ScratchDir("fatv");
        Mount m = FatTestUtil.MountImage(Fat32(s));
        try
        {
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/a"));
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/a/b"));
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/a/b/c"));
            ulong b = InoOf(m, "/a/b");
            ulong a = InoOf(m, "/a");
            m.Vnodes.ReclaimUnreferenced();
            Assert.Equal(Errno.OK, m.VGet(b, out Vnode? vb));
            Assert.Equal(VType.Directory, vb!.Type);
            Assert.Equal(Errno.OK, Vop.Lookup(vb, "..", FatTestUtil.Root, out Vnode? va));
            Assert.Equal(a, va!.Ino);
            va.Release();
            Assert.Equal(Errno.OK, Vop.Lookup(vb, "c", FatTestUtil.Root, out Vnode? vc));
            vc!.Release();
            vb.Release();
            m.Vnodes.ReclaimUnreferenced();
            // ".." from a directory whose parent left the cache.
            Vnode c = FatTestUtil.Resolve(m, "/a/b/c");
            m.Vnodes.ReclaimUnreferenced();
            Assert.Equal(Errno.OK, Vop.Lookup(c, "..", FatTestUtil.Root, out Vnode? up));
            Assert.Equal(b, up!.Ino);
            up.Release();
            c.Release();
            Assert.Equal(Errno.ESTALE, m.VGet(1UL << 41, out _));
        }
        finally
        {
            m.Unmount();
        }
    }

    [Fact]
    public void ReadDir_ResumesAfterRemovals_WithoutRepeatsOrLosses()
    {
        using var s = new ScratchDir("fatv");
        Mount m = FatTestUtil.MountImage(Fat32(s));
        try
        {
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/d"));
            for (int i = 0; i < 50; i++)
            {
                Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, $"/d/entry number {i}", []));
            }
            Vnode d = FatTestUtil.Resolve(m, "/d");
            var first = new DirEntryList(12);
            Assert.Equal(Errno.OK, Vop.ReadDir(d, 0, first));
            var seen = first.Entries.Select(e => e.Name).ToHashSet();
            // Remove an entry already seen and one not yet seen.
            Assert.Equal(Errno.OK, FatTestUtil.Remove(m, "/d/entry number 3"));
            Assert.Equal(Errno.OK, FatTestUtil.Remove(m, "/d/entry number 40"));
            long cookie = first.Entries[^1].NextCookie;
            while (true)
            {
                var more = new DirEntryList(7);
                Assert.Equal(Errno.OK, Vop.ReadDir(d, cookie, more));
                if (more.Entries.Count == 0)
                {
                    break;
                }
                foreach (DirEntry e in more.Entries)
                {
                    Assert.True(seen.Add(e.Name), $"{e.Name} reported twice");
                }
                cookie = more.Entries[^1].NextCookie;
            }
            d.Release();
            Assert.DoesNotContain("entry number 40", seen);
            Assert.Equal(52 - 1, seen.Count); // 50 + "." + ".." - the unseen removed one
        }
        finally
        {
            m.Unmount();
        }
    }

    [Fact]
    public void OpenUnlinkedFile_KeepsItsDataUntilReleased_ThenSpaceIsFree()
    {
        using var s = new ScratchDir("fatv");
        string img = Fat32(s);
        Mount m = FatTestUtil.MountImage(img);
        try
        {
            Assert.Equal(Errno.OK, m.Statvfs(out StatVfs st0));
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/gone", new byte[100_000]));
            Vnode vp = FatTestUtil.Resolve(m, "/gone");
            Assert.Equal(Errno.OK, FatTestUtil.Remove(m, "/gone"));
            Assert.Equal(Errno.OK, Vop.Write(vp, 100_000, new byte[] { 5 }, out _));
            var buf = new byte[1];
            Assert.Equal(Errno.OK, Vop.Read(vp, 100_000, buf, out int n));
            Assert.Equal(1, n);
            Assert.Equal(5, buf[0]);
            Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
            Assert.Equal(0u, va.Nlink);
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/gone", [1]));
            Assert.NotEqual(vp.Ino, InoOf(m, "/gone"));
            vp.Release();
            Assert.Equal(Errno.OK, FatTestUtil.Remove(m, "/gone"));
            Assert.Equal(Errno.OK, m.Statvfs(out StatVfs st1));
            Assert.Equal(st0.BlocksFree, st1.BlocksFree);
        }
        finally
        {
            m.Unmount();
        }
        FatTestUtil.FsckClean(img);
    }

    [Fact]
    public void ShortnamesOption_ShowsAndCreatesOnly83Names()
    {
        using var s = new ScratchDir("fatv");
        string img = Fat32(s);
        File.WriteAllBytes(s.File("a long name.txt"), [1]);
        OracleTool.RunExpect(0, "mcopy", "-i", img, s.File("a long name.txt"), "::/");
        Mount m = FatTestUtil.MountImage(img, options: "shortnames");
        try
        {
            Assert.Contains("ALONGN~1.TXT", FatTestUtil.List(m, "/").Select(e => e.Name));
            Assert.Equal(Errno.EINVAL, FatTestUtil.WriteFile(m, "/another long name", [1]));
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/short.txt", [2]));
        }
        finally
        {
            m.Unmount();
        }
        FatTestUtil.FsckClean(img);
        Assert.Equal([2], FatTestUtil.Mcopy(img, "/SHORT.TXT"));
    }

    [Fact]
    public void ReadOnlyMount_LeavesTheImageUnchanged_AndDescribeShowsTheLabel()
    {
        CorpusImage image = Corpus.Get("fat16-512");
        byte[] before = SHA256.HashData(File.ReadAllBytes(image.ImagePath));
        Mount m = FatTestUtil.MountImage(image.ImagePath, readOnly: true);
        try
        {
            FatTestUtil.ReadAll(m, "/Hello World.txt");
            Assert.Equal(Errno.EROFS, FatTestUtil.WriteFile(m, "/new", [1]));
            var info = m.Describe().ToDictionary(kv => kv.Key, kv => kv.Value);
            Assert.Equal("RUMPFS", info["label"]);
            Assert.Equal("FAT16", info["type"]);
        }
        finally
        {
            m.Unmount();
        }
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(image.ImagePath)));
    }

    [Fact]
    public void ConcurrentWriters_InOneAndSeveralDirectories_StayConsistent()
    {
        using var s = new ScratchDir("fatv");
        string img = Fat32(s);
        Mount m = FatTestUtil.MountImage(img);
        var expected = new System.Collections.Concurrent.ConcurrentDictionary<string, byte[]>();
        try
        {
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/shared"));
            for (int t = 0; t < 4; t++)
            {
                Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, $"/own{t}"));
            }
            Parallel.For(0, 4, t =>
            {
                var rnd = new Random(t);
                for (int i = 0; i < 60; i++)
                {
                    string path = i % 2 == 0 ? $"/shared/thread {t} file {i}" : $"/own{t}/file {i}";
                    byte[] data = new byte[rnd.Next(0, 20_000)];
                    rnd.NextBytes(data);
                    Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, path, data));
                    expected[path] = data;
                    if (i % 10 == 9)
                    {
                        Assert.Equal(Errno.OK, FatTestUtil.Remove(m, path));
                        expected.TryRemove(path, out _);
                    }
                }
            });
            foreach ((string path, byte[] data) in expected)
            {
                Assert.Equal(data, FatTestUtil.ReadAll(m, path));
            }
        }
        finally
        {
            m.Unmount();
        }
        FatTestUtil.FsckClean(img);
        foreach ((string path, byte[] data) in expected.Take(20))
        {
            Assert.Equal(data, FatTestUtil.Mcopy(img, path));
        }
    }
}
