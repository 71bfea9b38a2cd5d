using System.Security.Cryptography;
using System.Text;
using RumpFs.FsDrivers;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>Helpers shared by the ext2fs tests: mounting images, walking trees, comparing with manifests.</summary>
internal static class Ext2Fixture
{
    public static readonly Credentials Root = Credentials.Root;

    /// <summary>Mount <paramref name="path"/>; <paramref name="clock"/> is the mount's time (the host's when null).</summary>
    public static Mount MountImage(string path, bool readOnly, string? options = null, IClock? clock = null)
    {
        Errno e = TryMount(path, readOnly, options, out Mount? m, out string? msg, clock);
        Assert.True(e == Errno.OK, $"mount {path}: {e} {msg}");
        return m!;
    }

    public static Errno TryMount(string path, bool readOnly, string? options, out Mount? mount, out string? message, IClock? clock = null)
    {
        AllDrivers.Register();
        mount = null;
        message = null;
        // A child forked elsewhere in the test process may briefly hold the image's lock.
        Errno e = Errno.EBUSY;
        FileBlockDevice? dev = null;
        for (int attempt = 0; attempt < 50 && e == Errno.EBUSY; attempt++)
        {
            e = FileBlockDevice.Open(path, readOnly, out dev, out message);
            if (e == Errno.EBUSY)
            {
                Thread.Sleep(20);
            }
        }
        if (e != Errno.OK)
        {
            return e;
        }
        e = MountOptions.Parse(options, out MountOptions opts, out message);
        if (e != Errno.OK)
        {
            dev!.Dispose();
            return e;
        }
        opts.ReadOnly = readOnly;
        if (clock is not null)
        {
            opts.Clock = clock;
        }
        e = FileSystemRegistry.Mount("ext2fs", dev, opts, out mount, out message);
        if (e != Errno.OK)
        {
            dev!.Dispose();
        }
        return e;
    }

    public static Errno MountDevice(IBlockDevice dev, bool readOnly, out Mount? mount, out string? message)
    {
        AllDrivers.Register();
        var opts = new MountOptions { ReadOnly = readOnly };
        return FileSystemRegistry.Mount("ext2fs", dev, opts, out mount, out message);
    }

    public static Vnode Resolve(Mount m, string path, bool follow = false)
    {
        Errno e = Namei.Resolve(m, "/" + path, follow ? NameiFlags.Follow : NameiFlags.NoFollow, Root, out Vnode? vp);
        Assert.True(e == Errno.OK, $"resolve {path}: {e}");
        return vp!;
    }

    public static byte[] ReadAll(Vnode vp)
    {
        Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
        byte[] data = new byte[va.Size];
        int done = 0;
        while (done < data.Length)
        {
            int chunk = Math.Min(1 << 20, data.Length - done);
            Assert.Equal(Errno.OK, Vop.Read(vp, done, data.AsSpan(done, chunk), out int n));
            Assert.True(n > 0, "short read");
            done += n;
        }
        return data;
    }

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>Every path below the root, with types, as the driver lists them.</summary>
    public static SortedDictionary<string, VType> ListTree(Mount m)
    {
        var result = new SortedDictionary<string, VType>(StringComparer.Ordinal);
        Assert.Equal(Errno.OK, m.Root(out Vnode? root));
        Walk(root!, "", result);
        root!.Release();
        return result;
    }

    private static void Walk(Vnode dir, string prefix, SortedDictionary<string, VType> result)
    {
        var list = new DirEntryList();
        long cookie = 0;
        while (true)
        {
            var page = new DirEntryList(50);
            Assert.Equal(Errno.OK, Vop.ReadDir(dir, cookie, page));
            if (page.Entries.Count == 0)
            {
                break;
            }
            list.Entries.AddRange(page.Entries);
            cookie = page.Entries[^1].NextCookie;
        }
        foreach (DirEntry d in list.Entries)
        {
            if (d.Name is "." or "..")
            {
                continue;
            }
            string path = prefix.Length == 0 ? d.Name : prefix + "/" + d.Name;
            Assert.False(result.ContainsKey(path), $"{path} listed twice");
            result[path] = d.Type;
            if (d.Type == VType.Directory && d.Name != "lost+found")
            {
                Assert.Equal(Errno.OK, Vop.Lookup(dir, d.Name, Root, out Vnode? child));
                Walk(child!, path, result);
                child!.Release();
            }
        }
    }

    /// <summary>Walk everything reachable, reading each file, ignoring errors (damaged images).</summary>
    public static int ListTreeLenient(Mount m)
    {
        if (m.Root(out Vnode? root) != Errno.OK)
        {
            return 0;
        }
        int n = WalkLenient(root!, 0);
        root!.Release();
        return n;
    }

    private static int WalkLenient(Vnode dir, int depth)
    {
        var list = new DirEntryList(4096);
        if (depth > 16 || Vop.ReadDir(dir, 0, list) != Errno.OK)
        {
            return 0;
        }
        int n = 0;
        foreach (DirEntry d in list.Entries)
        {
            if (d.Name is "." or ".." || Vop.Lookup(dir, d.Name, Root, out Vnode? child) != Errno.OK)
            {
                continue;
            }
            n++;
            if (child!.Type == VType.Directory)
            {
                n += WalkLenient(child, depth + 1);
            }
            else if (child.Type == VType.Regular)
            {
                byte[] buf = new byte[65536];
                Vop.Read(child, 0, buf, out _);
            }
            child.Release();
        }
        return n;
    }

    /// <summary>Compare every manifest entry with what the mount shows (type, mode, size, nlink, sha256, target).</summary>
    public static void AssertMatchesManifest(Mount m, string manifestPath)
    {
        var problems = new StringBuilder();
        var entries = Manifest.Read(manifestPath);
        foreach (ManifestEntry me in entries)
        {
            Errno e = Namei.Resolve(m, "/" + me.Path, NameiFlags.NoFollow, Root, out Vnode? vp);
            if (e != Errno.OK)
            {
                problems.AppendLine($"{me.Path}: {e}");
                continue;
            }
            try
            {
                Assert.Equal(Errno.OK, Vop.GetAttr(vp!, out VAttr va));
                char type = va.Type switch
                {
                    VType.Regular => 'f',
                    VType.Directory => 'd',
                    VType.Symlink => 'l',
                    VType.CharDevice => 'c',
                    VType.BlockDevice => 'b',
                    VType.Fifo => 'p',
                    VType.Socket => 's',
                    _ => '?',
                };
                if (type != me.Type)
                {
                    problems.AppendLine($"{me.Path}: type {type}, expected {me.Type}");
                    continue;
                }
                if (va.Mode != me.Mode)
                {
                    problems.AppendLine($"{me.Path}: mode {Convert.ToString(va.Mode, 8)}, expected {Convert.ToString(me.Mode, 8)}");
                }
                if (me.Type != 'd' && va.Size != me.Size)
                {
                    problems.AppendLine($"{me.Path}: size {va.Size}, expected {me.Size}");
                }
                if (va.Nlink != me.Nlink)
                {
                    problems.AppendLine($"{me.Path}: nlink {va.Nlink}, expected {me.Nlink}");
                }
                if (me.Sha256 is not null)
                {
                    string sum = Sha256(ReadAll(vp!));
                    if (sum != me.Sha256)
                    {
                        problems.AppendLine($"{me.Path}: sha256 differs");
                    }
                }
                if (me.Target is not null)
                {
                    Assert.Equal(Errno.OK, Vop.Readlink(vp!, out string target));
                    if (target != me.Target)
                    {
                        problems.AppendLine($"{me.Path}: target {target}, expected {me.Target}");
                    }
                }
            }
            finally
            {
                vp!.Release();
            }
        }
        // Nothing more than the manifest (lost+found aside).
        var listed = ListTree(m);
        foreach (string p in listed.Keys)
        {
            if (p != "lost+found" && !entries.Any(x => x.Path == p))
            {
                problems.AppendLine($"{p}: listed but not in the manifest");
            }
        }
        foreach (ManifestEntry me in entries)
        {
            if (!listed.ContainsKey(me.Path))
            {
                problems.AppendLine($"{me.Path}: not listed by readdir");
            }
        }
        Assert.True(problems.Length == 0, problems.ToString());
    }
}
