using System.Text;
using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Newfs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Images made by our FFS newfs, and a small tree written into them through the driver
/// that fits even a 4 MiB image: directories, fragment-sized and indirect-block files, a
/// hard link, symlinks, a rename and a directory of many entries. Knows what it wrote, so
/// a remount, FfsCheck and sleuthkit can be held to it.
/// </summary>
internal sealed class FfsNewfsTree
{
    private static readonly Credentials Root = Credentials.Root;

    /// <summary>Regular files by path with their bytes; symlinks by path with their target; directories.</summary>
    public Dictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Links { get; } = new(StringComparer.Ordinal);
    public SortedSet<string> Dirs { get; } = new(StringComparer.Ordinal);

    public static Timespec FormatTime => new(1_700_000_000, 0);

    /// <summary>An image file of <paramref name="size"/> bytes (sparse when new) formatted with <paramref name="options"/>.</summary>
    public static string Newfs(string path, long size, params (string Key, string? Value)[] options)
    {
        // An existing file keeps its contents: newfs must cope with what was there.
        using (var f = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write))
        {
            f.SetLength(size);
        }
        Assert.Equal(Errno.OK, FileBlockDevice.Open(path, false, out FileBlockDevice? dev, out string? err));
        using (dev)
        {
            Errno rc = new FfsFormatter(new ManualClock(FormatTime)).Format(dev!, options.ToDictionary(o => o.Key, o => o.Value), out string? message);
            Assert.True(rc == Errno.OK, $"newfs {string.Join(',', options)} on {size} bytes: {rc} {message} {err}");
        }
        return path;
    }

    /// <summary>The superblock the driver finds on the image.</summary>
    public static FfsSuperblock ReadSuperblock(string path)
    {
        Assert.Equal(Errno.OK, FileBlockDevice.Open(path, true, out FileBlockDevice? dev, out _));
        using (dev)
        {
            FfsSuperblock? sb = FfsSuperblockCheck.Find(dev!, out string? why);
            Assert.True(sb is not null, why);
            Assert.Null(FfsSuperblockCheck.Validate(sb!, dev!.Length));
            return sb!;
        }
    }

    public static void AssertClean(string path, long inodes, long dirs)
    {
        FfsCheckReport r = FfsCheckTests.CheckImage(path);
        Assert.True(r.IsClean, r.ToString());
        Assert.Equal(inodes, r.InodesInUse);
        Assert.Equal(dirs, r.Directories);
    }

    /// <summary>Write the tree; <paramref name="bsize"/> sizes the file that needs an indirect block.</summary>
    public void Write(Mount mp, int bsize, int fsize)
    {
        Mkdir(mp, "/d1");
        Mkdir(mp, "/d1/d2");
        Mkdir(mp, "/many");
        Put(mp, "/empty", []);
        Put(mp, "/d1/small.txt", Encoding.ASCII.GetBytes("a small file\n"));
        Put(mp, "/d1/d2/frags", Bytes((3 * fsize) + 5, 1));
        Put(mp, "/d1/block-and-a-bit", Bytes(bsize + 17, 2));
        // Past the twelve direct blocks: needs the single-indirect block.
        Put(mp, "/indirect", Bytes((13 * bsize) + 123, 3));
        for (int i = 0; i < 40; i++)
        {
            Put(mp, $"/many/entry-{i:D2}-{new string('x', i)}", Encoding.ASCII.GetBytes($"entry {i}"));
        }
        Vnode d1 = FfsTestMount.Resolve(mp, "/d1");
        Vnode small = FfsTestMount.Resolve(mp, "/d1/small.txt");
        Vnode top = FfsTestMount.Resolve(mp, "/");
        Assert.Equal(Errno.OK, Vop.Link(small, top, "hardlink", Root));
        Files["/hardlink"] = Files["/d1/small.txt"];
        Assert.Equal(Errno.OK, Vop.Symlink(d1, "short-link", "small.txt", Root, out Vnode? s1));
        s1!.Release();
        Links["/d1/short-link"] = "small.txt";
        string longTarget = "../" + new string('t', 200);
        Assert.Equal(Errno.OK, Vop.Symlink(d1, "long-link", longTarget, Root, out Vnode? s2));
        s2!.Release();
        Links["/d1/long-link"] = longTarget;
        Assert.Equal(Errno.OK, Vop.Rename(d1, "block-and-a-bit", top, "renamed", Root));
        Files["/renamed"] = Files["/d1/block-and-a-bit"];
        Files.Remove("/d1/block-and-a-bit");
        small.Release();
        d1.Release();
        top.Release();
    }

    /// <summary>The mount shows exactly the tree, with its bytes, targets and link counts.</summary>
    public void Verify(Mount mp)
    {
        var want = new SortedSet<string>(Files.Keys.Concat(Links.Keys).Concat(Dirs).Select(p => p[1..]), StringComparer.Ordinal);
        Assert.Equal(want, FfsTestMount.Walk(mp));
        foreach ((string path, byte[] content) in Files)
        {
            Vnode vp = FfsTestMount.Resolve(mp, path);
            Assert.True(content.AsSpan().SequenceEqual(FfsTestMount.ReadAll(vp)), $"{path}: content differs");
            vp.Release();
        }
        foreach ((string path, string target) in Links)
        {
            Vnode vp = FfsTestMount.Resolve(mp, path);
            Assert.Equal(Errno.OK, Vop.Readlink(vp, out string t));
            Assert.Equal(target, t);
            vp.Release();
        }
        Vnode hard = FfsTestMount.Resolve(mp, "/hardlink");
        Assert.Equal(Errno.OK, Vop.GetAttr(hard, out VAttr va));
        hard.Release();
        Assert.Equal(2u, va.Nlink);
        Vnode root = FfsTestMount.Resolve(mp, "/");
        Assert.Equal(Errno.OK, Vop.GetAttr(root, out VAttr ra));
        root.Release();
        Assert.Equal(2u + 2u, ra.Nlink); // ".", its own "..", and the ".." of d1 and many
    }

    /// <summary>Inodes the tree uses, with the root: files, symlinks, directories (the hard link shares one).</summary>
    public long InodeCount => 1 + Files.Count - 1 + Links.Count + Dirs.Count;

    /// <summary>sleuthkit lists exactly the tree and gives the same bytes.</summary>
    public void SleuthkitAgrees(string image, ScratchDir scratch)
    {
        OracleTool.RunExpect(0, "fsstat", image);
        ToolResult fls = OracleTool.RunExpect(0, "fls", "-r", "-p", image);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in fls.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Split('\t')[0].Contains('*', StringComparison.Ordinal) || line.Contains("$OrphanFiles", StringComparison.Ordinal))
            {
                continue;
            }
            string[] parts = line.Split('\t', 2);
            seen["/" + parts[1]] = parts[0].Split(' ')[^1].TrimEnd(':');
        }
        Assert.Equal(Files.Keys.Concat(Links.Keys).Concat(Dirs).Order(StringComparer.Ordinal), seen.Keys.Order(StringComparer.Ordinal));
        // One tsk_recover for every allocated file: an icat per file costs two processes each.
        string recovered = scratch.File("tsk-recovered");
        Directory.CreateDirectory(recovered);
        OracleTool.RunExpect(0, "tsk_recover", "-a", image, recovered);
        foreach ((string p, byte[] content) in Files)
        {
            string copy = Path.Combine(recovered, p[1..]);
            // tsk_recover writes no file for an empty one; fls above has listed it.
            byte[] got = File.Exists(copy) ? File.ReadAllBytes(copy) : [];
            Assert.True(content.AsSpan().SequenceEqual(got), $"sleuthkit's {p} differs");
        }
    }

    private void Mkdir(Mount mp, string path)
    {
        Assert.Equal(Errno.OK, Namei.ResolveParent(mp, path, Root, out Vnode? d, out string name, out _));
        Assert.Equal(Errno.OK, Vop.Mkdir(d!, name, 0x1ED, Root, out Vnode? vp));
        vp!.Release();
        d!.Release();
        Dirs.Add(path);
    }

    private void Put(Mount mp, string path, byte[] data)
    {
        Assert.Equal(Errno.OK, Namei.ResolveParent(mp, path, Root, out Vnode? d, out string name, out _));
        Assert.Equal(Errno.OK, Vop.Create(d!, name, 0x1A4, Root, out Vnode? vp));
        d!.Release();
        Errno e = Vop.Write(vp!, 0, data, out int n);
        Assert.True(e == Errno.OK, $"write {path}: {e}; log: {string.Join(" | ", FfsTestMount.LastLog)}");
        Assert.Equal(data.Length, n);
        vp!.Release();
        Files[path] = data;
    }

    private static byte[] Bytes(int n, int seed)
    {
        byte[] b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }
}
