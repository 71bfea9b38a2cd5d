using RumpFs.Kernel;
using RumpFs.Vfs;
using Xunit;

namespace RumpFs.TestSupport;

/// <summary>
/// Path-level helpers over one mount for tests: each call resolves a path with
/// <see cref="Namei"/> and runs one <see cref="Vop"/> with <see cref="Cred"/>, releasing
/// every vnode it took. Methods return the errno; the *Ok variants assert success.
/// </summary>
public sealed class VfsHarness(Mount mount)
{
    public static readonly Credentials User = new(1000, 1000, [1000]);
    public static readonly Credentials OtherUser = new(1001, 1001, [1001]);

    public Mount Mount { get; } = mount;

    public Credentials Cred { get; set; } = Credentials.Root;

    /// <summary>Run <paramref name="action"/> with other credentials.</summary>
    public T As<T>(Credentials cred, Func<VfsHarness, T> action)
    {
        Credentials saved = Cred;
        Cred = cred;
        try
        {
            return action(this);
        }
        finally
        {
            Cred = saved;
        }
    }

    public Errno Resolve(string path, out Vnode? vp, bool follow = true) =>
        Namei.Resolve(Mount, path, follow ? NameiFlags.Follow : NameiFlags.NoFollow, Cred, out vp);

    private Errno WithParent(string path, Func<Vnode, string, Errno> op)
    {
        Errno e = Namei.ResolveParent(Mount, path, Cred, out Vnode? dvp, out string name, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        try
        {
            return op(dvp!, name);
        }
        finally
        {
            dvp!.Release();
        }
    }

    /// <summary>Run <paramref name="op"/> on the vnode of <paramref name="path"/>, released after.</summary>
    public Errno WithVnode(string path, bool follow, Func<Vnode, Errno> op)
    {
        Errno e = Resolve(path, out Vnode? vp, follow);
        if (e != Errno.OK)
        {
            return e;
        }
        try
        {
            return op(vp!);
        }
        finally
        {
            vp!.Release();
        }
    }

    private static Errno ReleaseResult(Errno e, Vnode? vp)
    {
        vp?.Release();
        return e;
    }

    public Errno Create(string path, uint mode = 0x1A4) =>
        WithParent(path, (d, n) => ReleaseResult(Vop.Create(d, n, mode, Cred, out Vnode? vp), vp));

    public Errno Mkdir(string path, uint mode = 0x1ED) =>
        WithParent(path, (d, n) => ReleaseResult(Vop.Mkdir(d, n, mode, Cred, out Vnode? vp), vp));

    public Errno Mknod(string path, VType type, uint mode = 0x1A4, ulong rdev = 0) =>
        WithParent(path, (d, n) => ReleaseResult(Vop.Mknod(d, n, type, mode, rdev, Cred, out Vnode? vp), vp));

    public Errno Symlink(string target, string path) =>
        WithParent(path, (d, n) => ReleaseResult(Vop.Symlink(d, n, target, Cred, out Vnode? vp), vp));

    public Errno Remove(string path) => WithParent(path, (d, n) => Vop.Remove(d, n, Cred));

    public Errno Rmdir(string path) => WithParent(path, (d, n) => Vop.Rmdir(d, n, Cred));

    public Errno Link(string existing, string newPath) =>
        WithVnode(existing, follow: false, vp => WithParent(newPath, (d, n) => Vop.Link(vp, d, n, Cred)));

    public Errno Rename(string from, string to, RenameFlags flags = RenameFlags.None) =>
        WithParent(from, (fd, fn) => WithParent(to, (td, tn) => Vop.Rename(fd, fn, td, tn, Cred, flags)));

    public Errno Stat(string path, out VAttr va, bool follow = true)
    {
        VAttr result = default;
        Errno e = WithVnode(path, follow, vp => Vop.GetAttr(vp, out result));
        va = result;
        return e;
    }

    public VAttr StatOk(string path, bool follow = true)
    {
        Errno e = Stat(path, out VAttr va, follow);
        Assert.True(e == Errno.OK, $"stat {path}: {e}");
        return va;
    }

    public Errno SetAttr(string path, VAttr request, bool follow = true) =>
        WithVnode(path, follow, vp => Vop.SetAttr(vp, request, Cred));

    public Errno Chmod(string path, uint mode)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Mode);
        va.Mode = mode;
        return SetAttr(path, va);
    }

    public Errno Chown(string path, uint uid, uint gid)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Uid | VAttrMask.Gid);
        va.Uid = uid;
        va.Gid = gid;
        return SetAttr(path, va);
    }

    public Errno Truncate(string path, long size)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Size);
        va.Size = size;
        return SetAttr(path, va);
    }

    public Errno Write(string path, long offset, ReadOnlySpan<byte> data)
    {
        byte[] copy = data.ToArray();
        return WithVnode(path, true, vp =>
        {
            Errno e = Vop.Write(vp, offset, copy, out int written);
            return e == Errno.OK && written != copy.Length ? Errno.EIO : e;
        });
    }

    /// <summary>Create (if needed) and write a whole file.</summary>
    public void WriteFileOk(string path, byte[] data)
    {
        Errno e = Create(path);
        Assert.True(e is Errno.OK or Errno.EEXIST, $"create {path}: {e}");
        e = Truncate(path, 0);
        Assert.True(e == Errno.OK, $"truncate {path}: {e}");
        e = Write(path, 0, data);
        Assert.True(e == Errno.OK, $"write {path}: {e}");
    }

    public Errno Read(string path, long offset, int count, out byte[] data)
    {
        byte[] buffer = new byte[count];
        int got = 0;
        Errno e = WithVnode(path, true, vp => Vop.Read(vp, offset, buffer, out got));
        data = buffer[..got];
        return e;
    }

    /// <summary>The whole content of a file, read in chunks.</summary>
    public byte[] ReadAllOk(string path, int chunk = 1 << 20)
    {
        Errno e = Resolve(path, out Vnode? vp);
        Assert.True(e == Errno.OK, $"resolve {path}: {e}");
        try
        {
            using var ms = new MemoryStream();
            byte[] buffer = new byte[chunk];
            long offset = 0;
            while (true)
            {
                e = Vop.Read(vp!, offset, buffer, out int n);
                Assert.True(e == Errno.OK, $"read {path} at {offset}: {e}");
                if (n == 0)
                {
                    break;
                }
                ms.Write(buffer, 0, n);
                offset += n;
            }
            return ms.ToArray();
        }
        finally
        {
            vp!.Release();
        }
    }

    public Errno Readlink(string path, out string target)
    {
        string result = "";
        Errno e = WithVnode(path, false, vp => Vop.Readlink(vp, out result));
        target = result;
        return e;
    }

    /// <summary>Every entry of a directory (with "." and ".."), read in small batches to exercise cookies.</summary>
    public Errno ReadDir(string path, out List<DirEntry> entries, int batch = 7)
    {
        var all = new List<DirEntry>();
        Errno e = WithVnode(path, true, vp =>
        {
            long cookie = 0;
            for (int guard = 0; guard < 10_000_000; guard++)
            {
                var sink = new DirEntryList(batch);
                Errno r = Vop.ReadDir(vp, cookie, sink);
                if (r != Errno.OK)
                {
                    return r;
                }
                if (sink.Entries.Count == 0)
                {
                    return Errno.OK;
                }
                all.AddRange(sink.Entries);
                cookie = sink.Entries[^1].NextCookie;
            }
            return Errno.ELOOP;
        });
        entries = all;
        return e;
    }

    /// <summary>The names in a directory, without "." and "..", sorted.</summary>
    public List<string> ListOk(string path)
    {
        Errno e = ReadDir(path, out List<DirEntry> entries);
        Assert.True(e == Errno.OK, $"readdir {path}: {e}");
        return [.. entries.Select(x => x.Name).Where(n => n is not "." and not "..").Order(StringComparer.Ordinal)];
    }

    public bool Exists(string path) => Stat(path, out _, follow: false) == Errno.OK;
}
