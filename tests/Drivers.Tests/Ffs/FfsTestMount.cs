using System.Security.Cryptography;
using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>Mounting images and walking trees for the FFS tests.</summary>
internal static class FfsTestMount
{
    private static readonly List<string> s_log = [];

    static FfsTestMount()
    {
        KernelLog.SetSink((_, line) =>
        {
            lock (s_log)
            {
                s_log.Add(line);
                if (s_log.Count > 50)
                {
                    s_log.RemoveAt(0);
                }
            }
        });
    }

    /// <summary>The latest kernel log lines (for failure messages).</summary>
    public static string[] LastLog
    {
        get
        {
            lock (s_log)
            {
                return [.. s_log];
            }
        }
    }

    public static Mount Open(string image, bool readOnly = true, MountOptions? options = null)
    {
        Errno e = FileBlockDevice.Open(image, readOnly, out FileBlockDevice? dev, out string? err);
        Assert.True(e == Errno.OK, $"open {image}: {err}");
        options ??= new MountOptions();
        options.ReadOnly = readOnly;
        e = new FfsDriver().Mount(dev, options, out Mount? mp, out string? msg);
        if (e != Errno.OK)
        {
            dev!.Dispose();
        }
        Assert.True(e == Errno.OK, $"mount {image}: {e} {msg}");
        return mp!;
    }

    public static Errno TryMount(IBlockDevice dev, bool readOnly, out Mount? mp, out string? msg, MountOptions? options = null)
    {
        options ??= new MountOptions();
        options.ReadOnly = readOnly;
        return new FfsDriver().Mount(dev, options, out mp, out msg);
    }

    public static Vnode Resolve(Mount mp, string path, bool follow = false)
    {
        Errno e = Namei.Resolve(mp, path, follow ? NameiFlags.Follow : NameiFlags.NoFollow, Credentials.Root, out Vnode? vp);
        Assert.True(e == Errno.OK, $"resolve {path}: {e}");
        return vp!;
    }

    public static byte[] ReadAll(Vnode vp)
    {
        Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
        byte[] data = new byte[va.Size];
        int pos = 0;
        while (pos < data.Length)
        {
            int chunk = Math.Min(1 << 20, data.Length - pos);
            Errno e = Vop.Read(vp, pos, data.AsSpan(pos, chunk), out int n);
            Assert.True(e == Errno.OK, $"read {vp} at {pos}: {e}; log: {string.Join(" | ", LastLog)}");
            Assert.True(n > 0, "short read");
            pos += n;
        }
        return data;
    }

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>Every path below the root ("a/b"), with the names ReadDir reports.</summary>
    public static SortedSet<string> Walk(Mount mp)
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        Assert.Equal(Errno.OK, mp.Root(out Vnode? root));
        WalkDir(root!, "", paths, 0);
        root!.Release();
        return paths;
    }

    private static void WalkDir(Vnode dir, string prefix, SortedSet<string> paths, int depth)
    {
        Assert.True(depth < 64, "directory loop");
        var list = new DirEntryList();
        Assert.Equal(Errno.OK, Vop.ReadDir(dir, 0, list));
        foreach (DirEntry d in list.Entries)
        {
            if (d.Name is "." or "..")
            {
                continue;
            }
            string path = prefix + d.Name;
            paths.Add(path);
            if (d.Type == VType.Directory)
            {
                Assert.Equal(Errno.OK, Vop.Lookup(dir, d.Name, Credentials.Root, out Vnode? child));
                WalkDir(child!, path + "/", paths, depth + 1);
                child!.Release();
            }
        }
    }
}
