using System.Text;
using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>
/// A mixed write workload (trees, appends, holes, indirect blocks, truncation, every kind of
/// rename, links, symlinks, attribute changes), then: FfsCheck clean, a remount showing
/// exactly the expected tree, and on UFS1 sleuthkit's fls/icat/fsstat agreeing.
/// </summary>
public sealed class FfsWorkloadTests : IDisposable
{
    private readonly ScratchDir _scratch = new("ffs-workload");
    private readonly Dictionary<string, Expected> _model = new(StringComparer.Ordinal);

    private sealed record Expected(VType Type, byte[]? Content = null, string? Target = null, uint Mode = 0x1A4);

    public void Dispose() => _scratch.Dispose();

    public static TheoryData<string> Empties => new() { "ffs1-empty-64m", "ffs2-empty-64m", "ffs1-empty-4k-f512", "ffs2-empty-64k-f64k", "ffs1-empty-16k-f2k" };

    private static readonly Credentials Root = Credentials.Root;

    private static Vnode Parent(Mount mp, string path, out string name)
    {
        Assert.Equal(Errno.OK, Namei.ResolveParent(mp, path, Root, out Vnode? dvp, out name, out _));
        return dvp!;
    }

    private void Mkdir(Mount mp, string path)
    {
        Vnode d = Parent(mp, path, out string name);
        Assert.Equal(Errno.OK, Vop.Mkdir(d, name, 0x1ED, Root, out Vnode? vp));
        vp!.Release();
        d.Release();
        _model[path] = new Expected(VType.Directory, Mode: 0x1ED);
    }

    private void Put(Mount mp, string path, long offset, byte[] data)
    {
        Errno e = Namei.Resolve(mp, path, NameiFlags.NoFollow, Root, out Vnode? vp);
        if (e == Errno.ENOENT)
        {
            Vnode d = Parent(mp, path, out string name);
            Assert.Equal(Errno.OK, Vop.Create(d, name, 0x1A4, Root, out vp));
            d.Release();
            _model[path] = new Expected(VType.Regular, []);
        }
        Assert.Equal(Errno.OK, Vop.Write(vp!, offset, data, out int n));
        Assert.Equal(data.Length, n);
        vp!.Release();
        byte[] old = _model[path].Content!;
        byte[] now = new byte[Math.Max(old.Length, offset + data.Length)];
        old.CopyTo(now, 0);
        data.CopyTo(now, offset);
        _model[path] = _model[path] with { Content = now };
    }

    private void Truncate(Mount mp, string path, long size)
    {
        Vnode vp = FfsTestMount.Resolve(mp, path);
        VAttr va = VAttr.ForSet(VAttrMask.Size);
        va.Size = size;
        Assert.Equal(Errno.OK, Vop.SetAttr(vp, va, Root));
        vp.Release();
        byte[] old = _model[path].Content!;
        byte[] now = new byte[size];
        Array.Copy(old, now, Math.Min(old.Length, size));
        _model[path] = _model[path] with { Content = now };
    }

    private void Rename(Mount mp, string from, string to)
    {
        Vnode fd = Parent(mp, from, out string fn);
        Vnode td = Parent(mp, to, out string tn);
        Errno e = Vop.Rename(fd, fn, td, tn, Root);
        fd.Release();
        td.Release();
        Assert.True(e == Errno.OK, $"rename {from} {to}: {e}");
        foreach (string k in _model.Keys.Where(k => k == to || k.StartsWith(to + "/", StringComparison.Ordinal)).ToList())
        {
            _model.Remove(k);
        }
        foreach (string k in _model.Keys.Where(k => k == from || k.StartsWith(from + "/", StringComparison.Ordinal)).ToList())
        {
            _model[to + k[from.Length..]] = _model[k];
            _model.Remove(k);
        }
    }

    private static Random Rng(int seed) => new(seed);

    private static byte[] Bytes(int n, int seed)
    {
        byte[] b = new byte[n];
        Rng(seed).NextBytes(b);
        return b;
    }

    private void RunWorkload(Mount mp)
    {
        Mkdir(mp, "/a");
        Mkdir(mp, "/a/b");
        Mkdir(mp, "/a/b/c");
        Mkdir(mp, "/other");
        foreach (int size in new[] { 0, 1, 511, 1000, 1025, 5000, 8191, 8192, 8193, 100_000, 3_000_000 })
        {
            Put(mp, $"/a/sized-{size}", 0, Bytes(size, size));
        }
        Put(mp, "/a/b/double-indirect", 0, Bytes(10_500_000, 7));
        Put(mp, "/sparse", 0, "start"u8.ToArray());
        Put(mp, "/sparse", 20_000_000, "end"u8.ToArray());
        Put(mp, "/sparse", 150_000, "middle"u8.ToArray());
        for (int i = 0; i < 30; i++)
        {
            Put(mp, "/a/b/c/appended", _model.TryGetValue("/a/b/c/appended", out Expected? x) ? x.Content!.Length : 0, Bytes(700, 100 + i));
        }
        Truncate(mp, "/a/sized-3000000", 50_000);
        Truncate(mp, "/a/sized-100000", 0);
        Truncate(mp, "/a/sized-5000", 70_000);
        Truncate(mp, "/a/b/double-indirect", 9_000_000);

        // Many entries in one directory, some removed again (compaction and merging).
        Mkdir(mp, "/many");
        for (int i = 0; i < 600; i++)
        {
            Put(mp, $"/many/entry-{i:D4}{new string('z', i % 37)}", 0, Encoding.ASCII.GetBytes($"n{i}"));
        }
        for (int i = 0; i < 600; i += 3)
        {
            string p = $"/many/entry-{i:D4}{new string('z', i % 37)}";
            Vnode d = Parent(mp, p, out string name);
            Assert.Equal(Errno.OK, Vop.Remove(d, name, Root));
            d.Release();
            _model.Remove(p);
        }

        // Renames: same directory, across directories, a directory to a new parent, over a
        // file, over an empty directory.
        Rename(mp, "/a/sized-1", "/a/renamed-1");
        Rename(mp, "/a/sized-511", "/other/moved-511");
        Rename(mp, "/a/b/c", "/other/c");
        Rename(mp, "/a/sized-1000", "/a/sized-1025");
        Mkdir(mp, "/other/empty");
        Rename(mp, "/a/b", "/other/empty");

        // Links and symlinks.
        Vnode target = FfsTestMount.Resolve(mp, "/a/sized-8192");
        Vnode od = FfsTestMount.Resolve(mp, "/other");
        Assert.Equal(Errno.OK, Vop.Link(target, od, "hard", Root));
        target.Release();
        _model["/other/hard"] = _model["/a/sized-8192"];
        string longTarget = "../" + new string('t', 300);
        foreach ((string name, string t) in new[] { ("short", "a/sized-0"), ("long", longTarget) })
        {
            Assert.Equal(Errno.OK, Vop.Symlink(od, name, t, Root, out Vnode? sl));
            sl!.Release();
            _model["/other/" + name] = new Expected(VType.Symlink, Target: t, Mode: 0x1FF);
        }
        od.Release();
        Vnode ad = FfsTestMount.Resolve(mp, "/a");
        Assert.Equal(Errno.OK, Vop.Remove(ad, "sized-8192", Root));
        ad.Release();
        _model.Remove("/a/sized-8192");

        // Attributes with nanoseconds.
        Vnode f = FfsTestMount.Resolve(mp, "/a/renamed-1");
        VAttr va = VAttr.ForSet(VAttrMask.Mode | VAttrMask.Uid | VAttrMask.Gid | VAttrMask.Mtime | VAttrMask.Atime);
        va.Mode = 0x1C0;
        va.Uid = 1234;
        va.Gid = 99;
        va.Mtime = new Timespec(1_234_567_890, 987_654_321);
        va.Atime = new Timespec(1_000_000_000, 5);
        Assert.Equal(Errno.OK, Vop.SetAttr(f, va, Root));
        f.Release();
        _model["/a/renamed-1"] = _model["/a/renamed-1"] with { Mode = 0x1C0 };
    }

    private void Verify(Mount mp)
    {
        SortedSet<string> tree = FfsTestMount.Walk(mp);
        Assert.Equal(_model.Keys.Select(k => k[1..]).Order(StringComparer.Ordinal), tree);
        foreach ((string path, Expected x) in _model)
        {
            Vnode vp = FfsTestMount.Resolve(mp, path);
            Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
            Assert.Equal(x.Type, va.Type);
            Assert.True(x.Mode == va.Mode, $"{path}: mode {Convert.ToString(va.Mode, 8)}, want {Convert.ToString(x.Mode, 8)}");
            if (x.Content is not null)
            {
                Assert.Equal(x.Content.Length, va.Size);
                Assert.True(x.Content.AsSpan().SequenceEqual(FfsTestMount.ReadAll(vp)), $"{path}: content differs");
            }
            if (x.Target is not null)
            {
                Assert.Equal(Errno.OK, Vop.Readlink(vp, out string t));
                Assert.Equal(x.Target, t);
            }
            vp.Release();
        }
        Vnode r1 = FfsTestMount.Resolve(mp, "/a/renamed-1");
        Assert.Equal(Errno.OK, Vop.GetAttr(r1, out VAttr a1));
        r1.Release();
        Assert.Equal(new Timespec(1_234_567_890, 987_654_321), a1.Mtime);
        Assert.Equal(1234u, a1.Uid);
        Vnode other = FfsTestMount.Resolve(mp, "/other");
        Assert.Equal(Errno.OK, Vop.GetAttr(other, out VAttr ao));
        other.Release();
        Assert.Equal(4u, ao.Nlink); // ".", its entry, and the ".." of c and empty
        Vnode c = FfsTestMount.Resolve(mp, "/other/c/..");
        Assert.Equal(other.Ino, c.Ino);
        c.Release();
    }

    [Theory]
    [MemberData(nameof(Empties))]
    public void Workload_RemountCheckAndOracles_AllAgree(string image)
    {
        string path = Corpus.Get(image).CopyTo(_scratch);
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        RunWorkload(mp);
        Verify(mp);
        Assert.Equal(Errno.OK, mp.Unmount());

        FfsCheckReport report = FfsCheckTests.CheckImage(path);
        Assert.True(report.IsClean, report.ToString());

        Mount again = FfsTestMount.Open(path, readOnly: true);
        Verify(again);
        Assert.Equal(Errno.OK, again.Unmount());

        if (image.StartsWith("ffs1", StringComparison.Ordinal))
        {
            CheckWithSleuthkit(path);
        }
    }

    /// <summary>sleuthkit (UFS1 only: it does not find UFS2 superblocks at 8192) sees the same tree and bytes.</summary>
    private void CheckWithSleuthkit(string image)
    {
        OracleTool.RunExpect(0, "fsstat", image);
        ToolResult fls = OracleTool.RunExpect(0, "fls", "-r", "-p", image);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in fls.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // "r/r 12:\tpath"; names left in the slack of removed entries show as "* 12(realloc)".
            // sleuthkit's virtual "$OrphanFiles" lists freed inodes, which keep their old bytes.
            if (line.Split('\t')[0].Contains('*', StringComparison.Ordinal) || line.Contains("$OrphanFiles", StringComparison.Ordinal))
            {
                continue;
            }
            string[] parts = line.Split('\t', 2);
            string ino = parts[0].Split(' ')[^1].TrimEnd(':');
            seen["/" + parts[1]] = ino;
        }
        Assert.Equal(_model.Keys.Order(StringComparer.Ordinal), seen.Keys.Order(StringComparer.Ordinal));
        foreach ((string p, Expected x) in _model.Where(kv => kv.Value.Type == VType.Regular).Take(40))
        {
            string dump = Path.Combine(_scratch.Path, "icat.out");
            ToolResult r = OracleTool.Run("bash", "-c", $"icat '{image}' {seen[p]} > '{dump}'");
            Assert.True(r.ExitCode == 0, r.Transcript);
            Assert.True(x.Content!.AsSpan().SequenceEqual(File.ReadAllBytes(dump)), $"icat {p} differs");
        }
    }
}
