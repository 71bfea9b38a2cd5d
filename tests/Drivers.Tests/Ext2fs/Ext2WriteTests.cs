using System.Security.Cryptography;
using System.Text;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// Write workloads on fresh mke2fs images, checked afterwards by e2fsck -fn and by the
/// kernel's ext4 driver on a read-only loop mount against the expected tree.
/// </summary>
public class Ext2WriteTests
{
    private static readonly Credentials Root = Credentials.Root;

    public static TheoryData<string> Flavours => new()
    {
        "ext2-1k", "ext2-4k", "ext3", "ext4-1k", "ext4-4k", "ext4-nocsum",
    };

    internal static string MakeImage(ScratchDir scratch, string flavour, string size = "64M")
    {
        string path = scratch.File(flavour + ".img");
        string[] args = flavour switch
        {
            "ext2-1k" => ["-t", "ext2", "-b", "1024"],
            "ext2-4k" => ["-t", "ext2", "-b", "4096"],
            "ext3" => ["-t", "ext3", "-b", "1024"],
            "ext4-1k" => ["-t", "ext4", "-b", "1024"],
            "ext4-4k" => ["-t", "ext4", "-b", "4096"],
            "ext4-nocsum" => ["-t", "ext4", "-O", "^metadata_csum,^64bit", "-b", "4096"],
            _ => throw new ArgumentException(flavour),
        };
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F" }, .. args, path, size]);
        return path;
    }

    private sealed class Model
    {
        public SortedDictionary<string, string> Tree { get; } = new(StringComparer.Ordinal);

        public void File(string path, byte[] content) => Tree[path] = "f:" + Convert.ToHexStringLower(SHA256.HashData(content));
    }

    private static Vnode Dir(Mount m, string path) => path.Length == 0 ? RootOf(m) : Ext2Fixture.Resolve(m, path);

    private static Vnode RootOf(Mount m)
    {
        Assert.Equal(Errno.OK, m.Root(out Vnode? r));
        return r!;
    }

    private static void Mkdir(Mount m, Model model, string dir, string name)
    {
        Vnode d = Dir(m, dir);
        Assert.Equal(Errno.OK, Vop.Mkdir(d, name, 0x1ED, Root, out Vnode? vp));
        vp!.Release();
        d.Release();
        model.Tree[dir.Length == 0 ? name : dir + "/" + name] = "d";
    }

    private static void WriteFile(Mount m, Model model, string dir, string name, byte[] content)
    {
        Vnode d = Dir(m, dir);
        Assert.Equal(Errno.OK, Vop.Create(d, name, 0x1A4, Root, out Vnode? vp));
        d.Release();
        int done = 0;
        while (done < content.Length)
        {
            int chunk = Math.Min(128 * 1024, content.Length - done);
            Assert.Equal(Errno.OK, Vop.Write(vp!, done, content.AsSpan(done, chunk), out int n));
            Assert.Equal(chunk, n);
            done += n;
        }
        vp!.Release();
        model.File(dir.Length == 0 ? name : dir + "/" + name, content);
    }

    private static byte[] Random(int n, int seed)
    {
        byte[] b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static void RunWorkload(Mount m, Model model)
    {
        Mkdir(m, model, "", "a");
        Mkdir(m, model, "a", "b");
        Mkdir(m, model, "a/b", "c");
        Mkdir(m, model, "", "other");
        WriteFile(m, model, "", "small.txt", Encoding.UTF8.GetBytes("hello ext2\n"));
        WriteFile(m, model, "a/b/c", "deep.bin", Random(5000, 1));
        WriteFile(m, model, "a", "big.bin", Random(3 * 1024 * 1024 + 123, 2));

        // Append in odd-sized pieces.
        byte[] appended = [];
        Vnode root = RootOf(m);
        Assert.Equal(Errno.OK, Vop.Create(root, "append.log", 0x1A4, Root, out Vnode? log));
        for (int i = 0; i < 50; i++)
        {
            byte[] piece = Random(1000 + (i * 37), 100 + i);
            Assert.Equal(Errno.OK, Vop.Write(log!, appended.Length, piece, out int n));
            Assert.Equal(piece.Length, n);
            appended = [.. appended, .. piece];
        }
        log!.Release();
        model.File("append.log", appended);

        // Holes: data at 0 and at 5 MiB + 3.
        Assert.Equal(Errno.OK, Vop.Create(root, "holes.bin", 0x1A4, Root, out Vnode? holes));
        byte[] h = new byte[5 * 1024 * 1024 + 3 + 10];
        Encoding.ASCII.GetBytes("start").CopyTo(h, 0);
        Encoding.ASCII.GetBytes("end-of-it!").CopyTo(h, 5 * 1024 * 1024 + 3);
        Assert.Equal(Errno.OK, Vop.Write(holes!, 0, h.AsSpan(0, 5), out _));
        Assert.Equal(Errno.OK, Vop.Write(holes!, 5 * 1024 * 1024 + 3, h.AsSpan(5 * 1024 * 1024 + 3), out _));
        holes!.Release();
        model.File("holes.bin", h);

        // Truncate down (mid-block) then up: the tail must read as zeros.
        Assert.Equal(Errno.OK, Vop.Create(root, "trunc.bin", 0x1A4, Root, out Vnode? tr));
        byte[] t = Random(100_000, 3);
        Assert.Equal(Errno.OK, Vop.Write(tr!, 0, t, out _));
        VAttr set = VAttr.ForSet(VAttrMask.Size);
        set.Size = 10_001;
        Assert.Equal(Errno.OK, Vop.SetAttr(tr!, set, Root));
        set.Size = 50_000;
        Assert.Equal(Errno.OK, Vop.SetAttr(tr!, set, Root));
        byte[] expect = new byte[50_000];
        t.AsSpan(0, 10_001).CopyTo(expect);
        Assert.Equal(expect, Ext2Fixture.ReadAll(tr!));
        tr!.Release();
        model.File("trunc.bin", expect);

        // Truncate a big file to zero and rewrite a little.
        WriteFile(m, model, "other", "shrink.bin", Random(2 * 1024 * 1024, 4));
        Vnode sh = Ext2Fixture.Resolve(m, "other/shrink.bin");
        set.Size = 0;
        Assert.Equal(Errno.OK, Vop.SetAttr(sh, set, Root));
        Assert.Equal(Errno.OK, Vop.Write(sh, 0, "x"u8, out _));
        sh.Release();
        model.File("other/shrink.bin", "x"u8.ToArray());

        // Links and special files.
        Assert.Equal(Errno.OK, Vop.Symlink(root, "short-link", "small.txt", Root, out Vnode? sl));
        sl!.Release();
        model.Tree["short-link"] = "l:small.txt";
        string longTarget = "a/b/c/" + new string('y', 150);
        Assert.Equal(Errno.OK, Vop.Symlink(root, "long-link", longTarget, Root, out Vnode? ll));
        ll!.Release();
        model.Tree["long-link"] = "l:" + longTarget;
        Vnode small = Ext2Fixture.Resolve(m, "small.txt");
        Vnode other = Ext2Fixture.Resolve(m, "other");
        Assert.Equal(Errno.OK, Vop.Link(small, other, "hard", Root));
        Assert.Equal(Errno.OK, Vop.GetAttr(small, out VAttr sva));
        Assert.Equal(2u, sva.Nlink);
        model.Tree["other/hard"] = model.Tree["small.txt"];

        // Rename across directories: a file, then a directory (its ".." moves).
        Vnode a = Ext2Fixture.Resolve(m, "a");
        Assert.Equal(Errno.OK, Vop.Rename(a, "big.bin", other, "moved.bin", Root));
        model.Tree["other/moved.bin"] = model.Tree["a/big.bin"];
        model.Tree.Remove("a/big.bin");
        Assert.Equal(Errno.OK, Vop.GetAttr(a, out VAttr aBefore));
        Assert.Equal(Errno.OK, Vop.Rename(a, "b", other, "b2", Root));
        foreach (string k in model.Tree.Keys.Where(k => k == "a/b" || k.StartsWith("a/b/", StringComparison.Ordinal)).ToList())
        {
            model.Tree["other/b2" + k[3..]] = model.Tree[k];
            model.Tree.Remove(k);
        }
        Assert.Equal(Errno.OK, Vop.GetAttr(a, out VAttr aAfter));
        Assert.Equal(aBefore.Nlink - 1, aAfter.Nlink);
        Vnode b2 = Ext2Fixture.Resolve(m, "other/b2");
        Assert.Equal(Errno.OK, Vop.Lookup(b2, "..", Root, out Vnode? up));
        Assert.Same(other, up);
        up!.Release();
        b2.Release();

        // Rename over an existing file.
        WriteFile(m, model, "other", "victim", Random(3000, 5));
        Assert.Equal(Errno.OK, Vop.Rename(root, "append.log", other, "victim", Root));
        model.Tree["other/victim"] = model.Tree["append.log"];
        model.Tree.Remove("append.log");

        // Deletes.
        Assert.Equal(Errno.OK, Vop.Remove(root, "small.txt", Root));
        model.Tree.Remove("small.txt");
        Assert.Equal(Errno.OK, Vop.Rmdir(other, "b2", Root) == Errno.ENOTEMPTY ? Errno.OK : Errno.EIO);
        Mkdir(m, model, "", "gone");
        Assert.Equal(Errno.OK, Vop.Rmdir(root, "gone", Root));
        model.Tree.Remove("gone");
        Assert.Equal(Errno.OK, Vop.Lookup(root, "small.txt", Root, out _) == Errno.ENOENT ? Errno.OK : Errno.EIO);

        small.Release();
        other.Release();
        a.Release();
        root.Release();
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Workload_LeavesFsckCleanAndKernelSeesTheTree(string flavour)
    {
        using var scratch = new ScratchDir();
        string image = MakeImage(scratch, flavour);
        var model = new Model();
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            RunWorkload(m, model);
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);

        // Our own read-only view after remount.
        Mount ro = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            SortedDictionary<string, VType> listed = Ext2Fixture.ListTree(ro);
            listed.Remove("lost+found");
            Assert.Equal(model.Tree.Keys, listed.Keys);
        }
        finally
        {
            ro.Unmount();
        }

        SortedDictionary<string, string>? kernel = Ext2Oracle.KernelTree(image);
        if (kernel is not null)
        {
            Assert.Equal(model.Tree, kernel);
        }
    }
}
