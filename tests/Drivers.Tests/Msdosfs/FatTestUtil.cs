using System.Security.Cryptography;
using RumpFs.FsDrivers;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Msdosfs;

/// <summary>Mounting FAT images and moving files in and out through Vop and Namei.</summary>
internal static class FatTestUtil
{
    public static Credentials Root => Credentials.Root;

    public static Errno TryMount(string image, bool readOnly, out Mount? mount, out string? message, string? options = null)
    {
        AllDrivers.Register();
        mount = null;
        Errno e = MountOptions.Parse(options, out MountOptions mo, out message);
        if (e != Errno.OK)
        {
            return e;
        }
        mo.ReadOnly = readOnly;
        e = FileBlockDevice.Open(image, readOnly, out FileBlockDevice? dev, out message);
        if (e != Errno.OK)
        {
            return e;
        }
        e = FileSystemRegistry.Mount("msdos", dev, mo, out mount, out message);
        if (e != Errno.OK)
        {
            dev!.Dispose();
        }
        return e;
    }

    public static Mount MountImage(string image, bool readOnly = false, string? options = null)
    {
        Errno e = TryMount(image, readOnly, out Mount? m, out string? msg, options);
        Assert.True(e == Errno.OK, $"mount {image}: {e} {msg}");
        return m!;
    }

    /// <summary>A fresh image made by mkfs.fat in <paramref name="scratch"/>.</summary>
    public static string NewImage(ScratchDir scratch, string name, int kib, params string[] mkfsArgs)
    {
        string img = scratch.File(name + ".img");
        OracleTool.RunExpect(0, "mkfs.fat", ["-C", .. mkfsArgs, img, kib.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        return img;
    }

    public static void FsckClean(string image)
    {
        ToolResult r = OracleTool.Run("fsck.fat", "-n", image);
        Assert.True(r.ExitCode == 0 && !r.Stdout.Contains("Dirty", StringComparison.Ordinal), r.Transcript);
    }

    public static Vnode Resolve(Mount m, string path)
    {
        Errno e = Namei.Resolve(m, path, NameiFlags.Follow, Root, out Vnode? vp);
        Assert.True(e == Errno.OK, $"resolve {path}: {e}");
        return vp!;
    }

    public static Errno TryResolve(Mount m, string path, out Vnode? vp) =>
        Namei.Resolve(m, path, NameiFlags.Follow, Root, out vp);

    public static byte[] ReadAll(Mount m, string path)
    {
        Vnode vp = Resolve(m, path);
        try
        {
            Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
            byte[] data = new byte[va.Size];
            int done = 0;
            while (done < data.Length)
            {
                Errno e = Vop.Read(vp, done, data.AsSpan(done, Math.Min(1 << 20, data.Length - done)), out int n);
                Assert.Equal(Errno.OK, e);
                Assert.True(n > 0, $"short read of {path} at {done}");
                done += n;
            }
            return data;
        }
        finally
        {
            vp.Release();
        }
    }

    public static Errno Create(Mount m, string path, out Vnode? vp, uint mode = 0x1A4)
    {
        vp = null;
        Errno e = Namei.ResolveParent(m, path, Root, out Vnode? dvp, out string name, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        try
        {
            return Vop.Create(dvp!, name, mode, Root, out vp);
        }
        finally
        {
            dvp!.Release();
        }
    }

    public static Errno Mkdir(Mount m, string path)
    {
        Errno e = Namei.ResolveParent(m, path, Root, out Vnode? dvp, out string name, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        try
        {
            e = Vop.Mkdir(dvp!, name, 0x1ED, Root, out Vnode? vp);
            vp?.Release();
            return e;
        }
        finally
        {
            dvp!.Release();
        }
    }

    public static Errno WriteFile(Mount m, string path, byte[] data)
    {
        Errno e = Create(m, path, out Vnode? vp);
        if (e != Errno.OK)
        {
            return e;
        }
        try
        {
            e = Vop.Write(vp!, 0, data, out int n);
            if (e == Errno.OK && n != data.Length)
            {
                return Errno.ENOSPC;
            }
            return e;
        }
        finally
        {
            vp!.Release();
        }
    }

    public static Errno Remove(Mount m, string path, bool dir = false)
    {
        Errno e = Namei.ResolveParent(m, path, Root, out Vnode? dvp, out string name, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        try
        {
            return dir ? Vop.Rmdir(dvp!, name, Root) : Vop.Remove(dvp!, name, Root);
        }
        finally
        {
            dvp!.Release();
        }
    }

    public static Errno Rename(Mount m, string from, string to)
    {
        Errno e = Namei.ResolveParent(m, from, Root, out Vnode? fdvp, out string fname, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        e = Namei.ResolveParent(m, to, Root, out Vnode? tdvp, out string tname, out _);
        if (e != Errno.OK)
        {
            fdvp!.Release();
            return e;
        }
        try
        {
            return Vop.Rename(fdvp!, fname, tdvp!, tname, Root);
        }
        finally
        {
            fdvp!.Release();
            tdvp!.Release();
        }
    }

    public static List<DirEntry> List(Mount m, string path)
    {
        Vnode vp = Resolve(m, path);
        try
        {
            var all = new List<DirEntry>();
            long cookie = 0;
            while (true)
            {
                var sink = new DirEntryList(37);
                Assert.Equal(Errno.OK, Vop.ReadDir(vp, cookie, sink));
                if (sink.Entries.Count == 0)
                {
                    return all;
                }
                all.AddRange(sink.Entries);
                cookie = sink.Entries[^1].NextCookie;
            }
        }
        finally
        {
            vp.Release();
        }
    }

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>Bytes of a file in an image, as mtools reads them.</summary>
    public static byte[] Mcopy(string image, string path)
    {
        using var scratch = new ScratchDir("mcopy");
        string dest = scratch.File("out");
        OracleTool.RunExpect(0, "mcopy", "-n", "-i", image, "::" + path, dest);
        return File.ReadAllBytes(dest);
    }
}
