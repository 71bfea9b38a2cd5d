using System.Globalization;
using RumpFs.Drivers.Tests.Ext2fs;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Images our driver wrote (directories big enough for several blocks or a hash tree,
/// indirect and extent-mapped files, hard and symbolic links, renames, removals, truncation,
/// extended attributes, device nodes): e2fsck -fn and our check must both call them clean.
/// </summary>
public sealed class Ext2CheckDriverTests
{
    private static readonly Credentials Root = Credentials.Root;

    public static TheoryData<string> Flavours => new() { "ext2-1k", "ext2-4k", "ext3", "ext4-1k", "ext4-4k", "ext4-nocsum" };

    private static Vnode Make(Vnode dir, string name, bool directory)
    {
        Errno e = directory
            ? Vop.Mkdir(dir, name, 0x1ED, Root, out Vnode? vp)
            : Vop.Create(dir, name, 0x1A4, Root, out vp);
        Assert.Equal(Errno.OK, e);
        return vp!;
    }

    private static void Write(Vnode vp, long offset, int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        int done = 0;
        while (done < length)
        {
            int chunk = Math.Min(256 * 1024, length - done);
            Assert.Equal(Errno.OK, Vop.Write(vp, offset + done, data.AsSpan(done, chunk), out int n));
            done += n;
        }
    }

    private static void Workload(Mount m)
    {
        Assert.Equal(Errno.OK, m.Root(out Vnode? root));
        Vnode big = Make(root!, "bigdir", directory: true);
        for (int i = 0; i < 400; i++)
        {
            Vnode f = Make(big, "entry-with-a-longish-name-" + i.ToString(CultureInfo.InvariantCulture), directory: false);
            if (i % 50 == 0)
            {
                Write(f, 0, 3000 + i, i);
            }
            f.Release();
        }
        for (int i = 0; i < 400; i += 3)
        {
            Assert.Equal(Errno.OK, Vop.Remove(big, "entry-with-a-longish-name-" + i.ToString(CultureInfo.InvariantCulture), Root));
        }
        Vnode a = Make(root!, "a", directory: true);
        Vnode b = Make(a, "b", directory: true);
        Vnode file = Make(b, "large.bin", directory: false);
        Write(file, 0, 2 * 1024 * 1024 + 77, 1);
        Write(file, 9L * 1024 * 1024, 4096, 2);
        VAttr set = VAttr.ForSet(VAttrMask.Size);
        set.Size = 5 * 1024 * 1024 + 3;
        Assert.Equal(Errno.OK, Vop.SetAttr(file, set, Root));
        Assert.Equal(Errno.OK, Vop.Link(file, root!, "hardlink", Root));
        Assert.Equal(Errno.OK, Vop.SetXattr(file, "user.note", "checked"u8, XattrSetMode.Any, Root));
        Assert.Equal(Errno.OK, Vop.SetXattr(file, "user.big", new byte[600], XattrSetMode.Any, Root));
        Assert.Equal(Errno.OK, Vop.Symlink(root!, "short", "a/b/large.bin", Root, out Vnode? s1));
        Assert.Equal(Errno.OK, Vop.Symlink(root!, "long", new string('z', 200), Root, out Vnode? s2));
        Assert.Equal(Errno.OK, Vop.Mknod(root!, "fifo", VType.Fifo, 0x1A4, 0, Root, out Vnode? fifo));
        Assert.Equal(Errno.OK, Vop.Rename(a, "b", big, "moved-b", Root));
        Vnode gone = Make(root!, "gone", directory: true);
        gone.Release();
        Assert.Equal(Errno.OK, Vop.Rmdir(root!, "gone", Root));
        foreach (Vnode v in new[] { s1!, s2!, fifo!, file, b, a, big, root! })
        {
            v.Release();
        }
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_ImageWrittenByDriver_IsCleanForBoth(string flavour)
    {
        using var dir = new ScratchDir("ext2ckdrv");
        string img = Ext2WriteTests.MakeImage(dir, flavour);
        Mount m = Ext2Fixture.MountImage(img, readOnly: false);
        Workload(m);
        Assert.Equal(Errno.OK, m.Unmount());
        AssertBothClean(img);
        byte[] before = File.ReadAllBytes(img);
        CheckReport r = Check(img, repair: true);
        Assert.True(r.ExitCode == 0, Describe(r));
        Assert.Equal(before, File.ReadAllBytes(img));
    }
}
