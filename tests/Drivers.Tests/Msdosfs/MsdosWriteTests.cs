using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Msdosfs;

/// <summary>
/// Write workloads on fresh mkfs.fat images, each checked afterwards by fsck.fat -n and by
/// reading back with mtools (mdir, mcopy), never only by this driver.
/// </summary>
public sealed class MsdosWriteTests
{
    public static TheoryData<string> Geometries => new()
    {
        "fat12", "fat16", "fat32", "fat32-4kss",
    };

    private static string NewImage(ScratchDir s, string geometry) => geometry switch
    {
        "fat12" => FatTestUtil.NewImage(s, geometry, 4000, "-F", "12", "-s", "2"),
        "fat16" => FatTestUtil.NewImage(s, geometry, 20000, "-F", "16", "-s", "1"),
        "fat32" => FatTestUtil.NewImage(s, geometry, 66000, "-F", "32", "-s", "1"),
        _ => FatTestUtil.NewImage(s, geometry, 300000, "-F", "32", "-S", "4096", "-s", "1"),
    };

    private static string[] Mdir(string image)
    {
        ToolResult r = OracleTool.RunExpect(0, "mdir", "-/", "-b", "-a", "-i", image, "::/");
        return [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).Order(StringComparer.Ordinal)];
    }

    private static byte[] Pattern(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void CreateWriteMkdir_ThenFsckCleanAndMtoolsReadsTheSame(string geometry)
    {
        using var s = new ScratchDir("fatw");
        string img = NewImage(s, geometry);
        var files = new Dictionary<string, byte[]>
        {
            ["/UPPER.TXT"] = Pattern(10, 1),
            ["/lower.txt"] = Pattern(5000, 2),
            ["/Mixed Case Long Name.data"] = Pattern(70001, 3),
            ["/dir one/nested/deep file.bin"] = Pattern(200_000, 4),
            ["/dir one/empty"] = [],
            ["/" + new string('x', 250) + ".txt"] = Pattern(17, 5),
            ["/ünïcödé 名前.txt"] = Pattern(100, 6),
        };
        Mount m = FatTestUtil.MountImage(img);
        try
        {
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/dir one"));
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/dir one/nested"));
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/empty dir"));
            foreach ((string path, byte[] data) in files)
            {
                Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, path, data));
            }
            foreach ((string path, byte[] data) in files)
            {
                Assert.Equal(data, FatTestUtil.ReadAll(m, path));
            }
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        FatTestUtil.FsckClean(img);
        string[] listing = Mdir(img);
        foreach ((string path, byte[] data) in files)
        {
            Assert.Contains("::" + path, listing);
            Assert.Equal(data, FatTestUtil.Mcopy(img, path));
        }
        Assert.Contains("::/empty dir/", listing);

        // And our driver reads it back after a fresh mount.
        m = FatTestUtil.MountImage(img, readOnly: true);
        try
        {
            foreach ((string path, byte[] data) in files)
            {
                Assert.Equal(data, FatTestUtil.ReadAll(m, path));
            }
        }
        finally
        {
            m.Unmount();
        }
    }

    [Fact]
    public void ShortNames_ForSimilarLongNames_NeverCollide()
    {
        using var s = new ScratchDir("fatw");
        string img = NewImage(s, "fat16");
        Mount m = FatTestUtil.MountImage(img);
        try
        {
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/d"));
            for (int i = 0; i < 300; i++)
            {
                Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, $"/d/file number {i}.text", [(byte)i]));
            }
        }
        finally
        {
            m.Unmount();
        }
        FatTestUtil.FsckClean(img);
        ToolResult r = OracleTool.RunExpect(0, "mdir", "-i", img, "::/d");
        string[] shorts = [.. r.Stdout.Split('\n').Where(l => l.StartsWith("FILE", StringComparison.Ordinal)).Select(l => l[..12])];
        Assert.Equal(300, shorts.Length);
        Assert.Equal(300, shorts.Distinct().Count());
        Assert.Equal([unchecked((byte)299)], FatTestUtil.Mcopy(img, "/d/file number 299.text"));
    }

    [Fact]
    public void LongNameChurn_ReusesSlots_AndStaysConsistent()
    {
        using var s = new ScratchDir("fatw");
        string img = NewImage(s, "fat32");
        Mount m = FatTestUtil.MountImage(img);
        var live = new HashSet<string>();
        var rnd = new Random(7);
        string NewName() => $"/churn/{new string('n', rnd.Next(1, 60))} {rnd.Next(0, 1_000_000)}.dat";
        try
        {
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/churn"));
            for (int i = 0; i < 200; i++)
            {
                string name = NewName();
                Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, name, Pattern(rnd.Next(0, 3000), i)));
                live.Add(name);
            }
            long first = DirSize(m, "/churn");
            for (int round = 0; round < 20; round++)
            {
                // Replace a random half of the entries by new names of other lengths.
                foreach (string victim in live.Where(_ => rnd.Next(2) == 0).ToList())
                {
                    Assert.Equal(Errno.OK, FatTestUtil.Remove(m, victim));
                    live.Remove(victim);
                    string name = NewName();
                    Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, name, Pattern(rnd.Next(0, 3000), round)));
                    live.Add(name);
                }
            }
            List<string> listed = [.. FatTestUtil.List(m, "/churn").Select(d => "/churn/" + d.Name).Where(n => !n.EndsWith("/.", StringComparison.Ordinal) && !n.EndsWith("/..", StringComparison.Ordinal))];
            Assert.Equal(live.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
            // Deleted slots were reused: the directory did not keep growing.
            long last = DirSize(m, "/churn");
            Assert.True(last <= first * 2, $"directory grew from {first} to {last} bytes");
        }
        finally
        {
            m.Unmount();
        }
        FatTestUtil.FsckClean(img);
        string[] listing = Mdir(img);
        foreach (string name in live)
        {
            Assert.Contains("::" + name, listing);
        }
        Assert.Equal(live.Count, listing.Count(l => l.StartsWith("::/churn/", StringComparison.Ordinal) && !l.EndsWith('/')));
    }

    private static long DirSize(Mount m, string path)
    {
        Vnode dir = FatTestUtil.Resolve(m, path);
        Assert.Equal(Errno.OK, Vop.GetAttr(dir, out VAttr va));
        dir.Release();
        return va.Size;
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void FillVolume_GivesEnospc_ThenFreeingAllowsWritingAgain(string geometry)
    {
        using var s = new ScratchDir("fatw");
        string img = geometry == "fat32-4kss" || geometry == "fat32" ? FatTestUtil.NewImage(s, geometry, 34000, "-F", "32", "-s", "1") : NewImage(s, geometry);
        Mount m = FatTestUtil.MountImage(img);
        try
        {
            Assert.Equal(Errno.OK, m.Statvfs(out StatVfs before));
            Assert.Equal(Errno.OK, FatTestUtil.Create(m, "/big", out Vnode? vp));
            byte[] chunk = Pattern(1 << 20, 9);
            long total = 0;
            Errno e;
            while (true)
            {
                e = Vop.Write(vp!, total, chunk, out int n);
                total += n;
                if (e != Errno.OK || n < chunk.Length)
                {
                    break;
                }
            }
            Assert.True(e is Errno.OK or Errno.ENOSPC, e.ToString());
            Assert.Equal(Errno.ENOSPC, Vop.Write(vp!, total, chunk.AsSpan(0, 4096), out int none));
            Assert.Equal(0, none);
            Assert.Equal(Errno.OK, m.Statvfs(out StatVfs full));
            Assert.Equal(0, full.BlocksFree);
            Assert.Equal(Errno.OK, Vop.GetAttr(vp!, out VAttr va));
            Assert.Equal(total, va.Size);
            vp!.Release();
            // Growth that does not fit fails whole and leaves no cluster past the end.
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/small", []));
            Assert.Equal(Errno.OK, FatTestUtil.Remove(m, "/small"));
            Vnode grow = FatTestUtil.Resolve(m, "/big");
            VAttr g = VAttr.ForSet(VAttrMask.Size);
            g.Size = total + (64L << 20);
            Assert.Equal(Errno.ENOSPC, Vop.SetAttr(grow, g, FatTestUtil.Root));
            Assert.Equal(Errno.ENOSPC, Vop.Write(grow, total + (64L << 20), new byte[] { 1 }, out _));
            Assert.Equal(Errno.OK, Vop.GetAttr(grow, out va));
            Assert.Equal(total, va.Size);
            grow.Release();
            Assert.Equal(Errno.OK, FatTestUtil.Remove(m, "/big"));
            Assert.Equal(Errno.OK, m.Statvfs(out StatVfs after));
            Assert.Equal(before.BlocksFree, after.BlocksFree);
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/again", chunk));
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        FatTestUtil.FsckClean(img);
        Assert.Equal(Pattern(1 << 20, 9), FatTestUtil.Mcopy(img, "/again"));
    }

    [Fact]
    public void FixedRootDirectory_WhenFull_GivesEnospc()
    {
        using var s = new ScratchDir("fatw");
        string img = FatTestUtil.NewImage(s, "root", 20000, "-F", "16", "-r", "32");
        Mount m = FatTestUtil.MountImage(img);
        int made = 0;
        try
        {
            Errno e;
            while ((e = FatTestUtil.WriteFile(m, $"/F{made}.TXT", [1])) == Errno.OK)
            {
                made++;
            }
            Assert.Equal(Errno.ENOSPC, e);
            int rootEntries = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(File.ReadAllBytes(img).AsSpan(17));
            Assert.Equal(rootEntries, made);
            Assert.Equal(Errno.ENOSPC, FatTestUtil.Mkdir(m, "/D"));
            Assert.Equal(Errno.OK, FatTestUtil.Remove(m, "/F3.TXT"));
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/G.TXT", [2]));
        }
        finally
        {
            m.Unmount();
        }
        FatTestUtil.FsckClean(img);
        Assert.Equal([(byte)2], FatTestUtil.Mcopy(img, "/G.TXT"));
    }

    [Fact]
    public void Rename_DirectoryAcrossParents_FixesDotDot()
    {
        using var s = new ScratchDir("fatw");
        string img = NewImage(s, "fat32");
        Mount m = FatTestUtil.MountImage(img);
        try
        {
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/a"));
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/b"));
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/a/moving dir"));
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/a/moving dir/inside.txt", [1, 2, 3]));
            Vnode moving = FatTestUtil.Resolve(m, "/a/moving dir");
            Assert.Equal(Errno.OK, FatTestUtil.Rename(m, "/a/moving dir", "/b/moved dir"));
            Vnode moved = FatTestUtil.Resolve(m, "/b/moved dir");
            Assert.Same(moving, moved);
            moving.Release();
            moved.Release();
            Vnode up = FatTestUtil.Resolve(m, "/b/moved dir/..");
            Vnode b = FatTestUtil.Resolve(m, "/b");
            Assert.Same(b, up);
            up.Release();
            b.Release();
            Assert.Equal(Errno.OK, FatTestUtil.Rename(m, "/b/moved dir/inside.txt", "/top.txt"));
            // Replace an existing file.
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/victim.txt", [9, 9]));
            Assert.Equal(Errno.OK, FatTestUtil.Rename(m, "/top.txt", "/victim.txt"));
            Assert.Equal(Errno.ENOENT, FatTestUtil.TryResolve(m, "/top.txt", out _));
            Assert.Equal(new byte[] { 1, 2, 3 }, FatTestUtil.ReadAll(m, "/victim.txt"));
            // A directory into the root.
            Assert.Equal(Errno.OK, FatTestUtil.Rename(m, "/b/moved dir", "/at root"));
        }
        finally
        {
            m.Unmount();
        }
        FatTestUtil.FsckClean(img);
        string[] listing = Mdir(img);
        Assert.Contains("::/at root/", listing);
        Assert.DoesNotContain("::/b/moved dir/", listing);
        Assert.Equal(new byte[] { 1, 2, 3 }, FatTestUtil.Mcopy(img, "/victim.txt"));
    }

    [Fact]
    public void Truncate_GrowsWithZerosAndShrinkFreesClusters()
    {
        using var s = new ScratchDir("fatw");
        string img = NewImage(s, "fat16");
        Mount m = FatTestUtil.MountImage(img);
        try
        {
            Assert.Equal(Errno.OK, m.Statvfs(out StatVfs st0));
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/t", Pattern(10_000, 1)));
            Vnode vp = FatTestUtil.Resolve(m, "/t");
            VAttr set = VAttr.ForSet(VAttrMask.Size);
            set.Size = 100;
            Assert.Equal(Errno.OK, Vop.SetAttr(vp, set, FatTestUtil.Root));
            set.Size = 50_000;
            Assert.Equal(Errno.OK, Vop.SetAttr(vp, set, FatTestUtil.Root));
            // A write far past the end: the gap reads as zeros.
            Assert.Equal(Errno.OK, Vop.Write(vp, 80_000, new byte[] { 7 }, out _));
            vp.Release();
            byte[] all = FatTestUtil.ReadAll(m, "/t");
            Assert.Equal(80_001, all.Length);
            Assert.Equal(Pattern(10_000, 1)[..100], all[..100]);
            Assert.All(all[100..80_000], b => Assert.Equal(0, b));
            Assert.Equal(7, all[80_000]);
            vp = FatTestUtil.Resolve(m, "/t");
            set.Size = 0;
            Assert.Equal(Errno.OK, Vop.SetAttr(vp, set, FatTestUtil.Root));
            vp.Release();
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
    public void UnstorableOperations_FailWithTheKernelsErrno()
    {
        using var s = new ScratchDir("fatw");
        string img = NewImage(s, "fat16");
        Mount m = FatTestUtil.MountImage(img, options: "uid=1000,gid=100,mask=644");
        try
        {
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/f", [1]));
            Vnode root = FatTestUtil.Resolve(m, "/");
            Vnode f = FatTestUtil.Resolve(m, "/f");
            Assert.Equal(Errno.EPERM, Vop.Link(f, root, "g", FatTestUtil.Root));
            Assert.Equal(Errno.EPERM, Vop.Symlink(root, "l", "f", FatTestUtil.Root, out _));
            Assert.Equal(Errno.EPERM, Vop.Mknod(root, "n", VType.CharDevice, 0x1A4, 0x103, FatTestUtil.Root, out _));
            VAttr chown = VAttr.ForSet(VAttrMask.Uid);
            chown.Uid = 5;
            Assert.Equal(Errno.EPERM, Vop.SetAttr(f, chown, FatTestUtil.Root));
            chown.Uid = 1000;
            Assert.Equal(Errno.OK, Vop.SetAttr(f, chown, FatTestUtil.Root));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr va));
            Assert.Equal(1000u, va.Uid);
            Assert.Equal(100u, va.Gid);
            Assert.Equal(0x1A4u, va.Mode);
            VAttr chmod = VAttr.ForSet(VAttrMask.Mode);
            chmod.Mode = 0x124; // 0444: read-only attribute
            Assert.Equal(Errno.OK, Vop.SetAttr(f, chmod, FatTestUtil.Root));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out va));
            Assert.Equal(0x124u, va.Mode);
            f.Release();
            root.Release();
        }
        finally
        {
            m.Unmount();
        }
        FatTestUtil.FsckClean(img);
        ToolResult r = OracleTool.RunExpect(0, "mattrib", "-i", img, "::/f");
        Assert.Contains("R", r.Stdout[..10], StringComparison.Ordinal);
    }

    [Fact]
    public void Timestamps_AreStoredWithFatGranularity()
    {
        using var s = new ScratchDir("fatw");
        string img = NewImage(s, "fat32");
        Mount m = FatTestUtil.MountImage(img, options: "gmtoff=0");
        try
        {
            Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, "/t", [1]));
            Vnode vp = FatTestUtil.Resolve(m, "/t");
            VAttr set = VAttr.ForSet(VAttrMask.Mtime | VAttrMask.Atime);
            set.Mtime = new Timespec(1_600_000_003, 500_000_000);
            set.Atime = new Timespec(1_600_000_003, 0);
            Assert.Equal(Errno.OK, Vop.SetAttr(vp, set, FatTestUtil.Root));
            Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
            Assert.Equal(new Timespec(1_600_000_002, 0), va.Mtime);
            Assert.Equal(new Timespec(1_600_000_003 - (1_600_000_003 % 86400), 0), va.Atime);
            vp.Release();
        }
        finally
        {
            m.Unmount();
        }
        // mtools shows the stored (local = UTC here) time: 2020-09-13 12:26:42.
        ToolResult r = OracleTool.RunExpect(0, "mdir", "-i", img, "::/t");
        Assert.Contains("2020-09-13  12:26", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Mount_SetsDirtyBitWhileMountedAndCleanAfter_AndRefusesDirtyReadWrite()
    {
        using var s = new ScratchDir("fatw");
        string img = NewImage(s, "fat16");
        Mount m = FatTestUtil.MountImage(img);
        // While mounted the clean bit is off: a copy of the image is dirty.
        string copy = s.File("copy.img");
        File.Copy(img, copy);
        m.Unmount();
        FatTestUtil.FsckClean(img);
        Assert.Equal(Errno.EINVAL, FatTestUtil.TryMount(copy, false, out _, out string? msg));
        Assert.Contains("not cleanly unmounted", msg, StringComparison.Ordinal);
        FatTestUtil.MountImage(copy, readOnly: true).Unmount();
        FatTestUtil.MountImage(copy, options: "force").Unmount();
        FatTestUtil.FsckClean(copy);
    }

    [Fact]
    public void Rename_ChangingOnlyCase_StoresTheNewSpelling_AsLinuxVfatDoes()
    {
        using var s = new ScratchDir("fatw");
        string img = NewImage(s, "fat16");
        Mount m = FatTestUtil.MountImage(img);
        try
        {
            var h = new VfsHarness(m);
            h.WriteFileOk("/readme.txt", "text"u8.ToArray());
            Assert.Equal(Errno.OK, h.Mkdir("/dir"));
            h.WriteFileOk("/dir/inner", "in"u8.ToArray());
            Assert.Equal(Errno.OK, h.Rename("/readme.txt", "/README.TXT"));
            Assert.Equal(["README.TXT", "dir"], h.ListOk("/").Order(StringComparer.Ordinal));
            Assert.Equal(Errno.OK, h.Rename("/README.TXT", "/ReadMe.Txt"));
            Assert.Equal(Errno.OK, h.Rename("/dir", "/Dir"));
            Assert.Equal(["Dir", "ReadMe.Txt"], h.ListOk("/").Order(StringComparer.Ordinal));
            Assert.Equal("text"u8.ToArray(), h.ReadAllOk("/readme.txt"));
            Assert.Equal("in"u8.ToArray(), h.ReadAllOk("/DIR/inner"));
            // A rename with another name for one file elsewhere still does nothing.
            Assert.Equal(Errno.OK, h.Rename("/ReadMe.Txt", "/ReadMe.Txt"));
            Assert.Equal(["Dir", "ReadMe.Txt"], h.ListOk("/").Order(StringComparer.Ordinal));
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        FatTestUtil.FsckClean(img);
        Assert.Equal(["::/Dir/", "::/Dir/inner", "::/ReadMe.Txt"], Mdir(img));
        Assert.Equal("text"u8.ToArray(), FatTestUtil.Mcopy(img, "/ReadMe.Txt"));
    }

    [Fact]
    public void Rename_ChangingOnlyCase_InAFullFixedRoot_IsEnospcAndChangesNothing()
    {
        using var s = new ScratchDir("fatw");
        string img = FatTestUtil.NewImage(s, "fullroot", 4000, "-F", "12", "-r", "16");
        Mount m = FatTestUtil.MountImage(img);
        try
        {
            var h = new VfsHarness(m);
            for (int i = 0; i < 16; i++)
            {
                Assert.Equal(Errno.OK, h.Create($"/F{i}.TXT"));
            }
            // "f0.Txt" needs a long-name slot more than "F0.TXT", and the root has none left.
            Assert.Equal(Errno.ENOSPC, h.Rename("/F0.TXT", "/f0.Txt"));
            Assert.Contains("F0.TXT", h.ListOk("/"));
            // All lower case fits the short entry (its case flags): no extra slot.
            Assert.Equal(Errno.OK, h.Rename("/F1.TXT", "/f1.txt"));
            Assert.Contains("f1.txt", h.ListOk("/"));
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        FatTestUtil.FsckClean(img);
    }

    [Fact]
    public void UnknownOption_IsRejectedWithEinval()
    {
        using var s = new ScratchDir("fatw");
        string img = NewImage(s, "fat12");
        Assert.Equal(Errno.EINVAL, FatTestUtil.TryMount(img, true, out _, out string? msg, "bogus=1"));
        Assert.Contains("bogus", msg, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateInLargeDirectory_StaysLinear()
    {
        using var s = new ScratchDir("fatw");
        string img = NewImage(s, "fat32");
        Mount m = FatTestUtil.MountImage(img);
        try
        {
            Assert.Equal(Errno.OK, FatTestUtil.Mkdir(m, "/big"));
            long first = 0, last = 0;
            for (int i = 0; i < 10_000; i++)
            {
                long work = CacheWork.Of(m, () =>
                    Assert.Equal(Errno.OK, FatTestUtil.WriteFile(m, $"/big/a file with a long name {i}.txt", [])));
                first += i < 1000 ? work : 0;
                last += i >= 9000 ? work : 0;
            }
            // A scan of the directory per create would make the last thousand ~10x the work
            // of the first (the directory is then ten times longer).
            Assert.True(last < first * 2, $"cache lookups: first 1000 creates {first}, last 1000 {last}");
            Vnode vp = FatTestUtil.Resolve(m, "/big/A FILE WITH A LONG NAME 5000.TXT");
            vp.Release();
        }
        finally
        {
            m.Unmount();
        }
        FatTestUtil.FsckClean(img);
    }
}
