using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>Filling the file system, and a directory of 10,000 entries.</summary>
public class Ext2LargeTests
{
    private static readonly Credentials Root = Credentials.Root;

    [Theory]
    [InlineData("ext2-1k")]
    [InlineData("ext4-4k")]
    public void FillToEnospc_ThenFree_RestoresCountsAndFsckIsClean(string flavour)
    {
        using var scratch = new ScratchDir();
        string image = Ext2WriteTests.MakeImage(scratch, flavour, "16M");
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, Vop.Statvfs(m, out StatVfs before));
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            byte[] chunk = new byte[256 * 1024];
            new Random(7).NextBytes(chunk);
            Errno last = Errno.OK;
            long total = 0;
            for (int f = 0; f < 4 && last == Errno.OK; f++)
            {
                Assert.Equal(Errno.OK, Vop.Create(root!, $"fill{f}", 0x1A4, Root, out Vnode? vp));
                long off = 0;
                while (true)
                {
                    last = Vop.Write(vp!, off, chunk, out int n);
                    off += n;
                    total += n;
                    if (last != Errno.OK || n < chunk.Length)
                    {
                        break;
                    }
                    if (off >= 8L << 20)
                    {
                        break;
                    }
                }
                vp!.Release();
            }
            Assert.True(last == Errno.ENOSPC || total > 0);
            Assert.Equal(Errno.OK, Vop.Statvfs(m, out StatVfs full));
            Assert.True(full.BlocksFree < before.BlocksFree / 10, $"free {full.BlocksFree} of {before.BlocksFree}");
            Assert.Equal(Errno.ENOSPC, Vop.Create(root!, "one-more", 0x1A4, Root, out Vnode? extra) == Errno.OK
                ? WriteOne(extra!) : Errno.ENOSPC);
            for (int f = 0; f < 4; f++)
            {
                Vop.Remove(root!, $"fill{f}", Root);
            }
            Vop.Remove(root!, "one-more", Root);
            root!.Release();
            Assert.Equal(Errno.OK, Vop.Statvfs(m, out StatVfs after));
            Assert.Equal(before.BlocksFree, after.BlocksFree);
            Assert.Equal(before.FilesFree, after.FilesFree);
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
    }

    private static Errno WriteOne(Vnode vp)
    {
        byte[] b = new byte[64 * 1024];
        Errno e = Vop.Write(vp, 0, b, out int n);
        vp.Release();
        return e == Errno.OK && n == b.Length ? Errno.OK : Errno.ENOSPC;
    }

    [Theory]
    [InlineData("ext2-4k")]
    [InlineData("ext4-4k")]
    public void TenThousandEntryDirectory_CreatesWithoutScanningAndKernelAgrees(string flavour)
    {
        using var scratch = new ScratchDir();
        string image = Ext2WriteTests.MakeImage(scratch, flavour, "64M");
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        long firstCreates = 0, lastCreates = 0, lookups = 0;
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Mkdir(root!, "big", 0x1ED, Root, out Vnode? dir));
            for (int i = 0; i < 10_000; i++)
            {
                long work = CacheWork.Of(m, () =>
                {
                    Assert.Equal(Errno.OK, Vop.Create(dir!, $"entry-{i:D5}-with-a-longer-name", 0x1A4, Root, out Vnode? f));
                    f!.Release();
                });
                firstCreates += i < 1000 ? work : 0;
                lastCreates += i >= 9000 ? work : 0;
            }
            // Remove every third, then look all up.
            for (int i = 0; i < 10_000; i += 3)
            {
                Assert.Equal(Errno.OK, Vop.Remove(dir!, $"entry-{i:D5}-with-a-longer-name", Root));
            }
            lookups = CacheWork.Of(m, () =>
            {
                for (int i = 0; i < 10_000; i++)
                {
                    Errno e = Vop.Lookup(dir!, $"entry-{i:D5}-with-a-longer-name", Root, out Vnode? f);
                    Assert.Equal(i % 3 == 0 ? Errno.ENOENT : Errno.OK, e);
                    f?.Release();
                }
            });
            dir!.Release();
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        // A scan of the directory's blocks per create or lookup would make the last thousand
        // creates several times the work of the first, and each lookup cost as many cache
        // lookups as the directory has blocks (over a hundred here).
        Assert.True(lastCreates < firstCreates * 2, $"cache lookups: first 1000 creates {firstCreates}, last 1000 {lastCreates}");
        Assert.True(lookups < 4 * 10_000, $"cache lookups for 10,000 name lookups: {lookups}");
        Ext2Oracle.AssertFsckClean(image);
        SortedDictionary<string, string>? kernel = Ext2Oracle.KernelTree(image);
        if (kernel is not null)
        {
            Assert.Equal(6666, kernel.Keys.Count(k => k.StartsWith("big/", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public void IndexedDirectory_FromMke2fs_TakesNewEntriesAndStaysFsckClean()
    {
        using var scratch = new ScratchDir();
        string image = Corpus.Get("ext4-default").CopyTo(scratch);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode many = Ext2Fixture.Resolve(m, "many");
            string Refs() => string.Join(",", m.Vnodes.Snapshot().Where(v => v.IsReferenced).Select(v => v.ToString()));
            Assert.Equal("ext2fs:28(Directory)", Refs());
            Assert.Equal(Errno.OK, Vop.Lookup(many, "f500", Root, out Vnode? f));
            f!.Release();
            Assert.Equal("ext2fs:28(Directory)", Refs());
            Assert.Equal(Errno.OK, Vop.Create(many, "newcomer", 0x1A4, Root, out Vnode? n));
            n!.Release();
            Assert.Equal("ext2fs:28(Directory)", Refs());
            Assert.Equal(Errno.OK, Vop.Remove(many, "f001", Root));
            Assert.Equal("ext2fs:28(Directory)", Refs());
            Assert.Equal(Errno.OK, Vop.Lookup(many, "f999", Root, out f));
            f!.Release();
            many.Release();
            Assert.Empty(Refs());
            Assert.Equal(Errno.OK, m.Unmount());
        }
        catch
        {
            m.Unmount(force: true);
            throw;
        }
        Ext2Oracle.AssertFsckClean(image);
    }

    /// <summary>
    /// A file written past 2 GiB on an image made without large_file: the feature is set, as
    /// the kernel sets it, or e2fsck would find the image damaged.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WritingPastTwoGiB_SetsTheLargeFileFeature(bool byTruncate)
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("no-large-file.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-O", "^large_file", image, "16M");
        Assert.DoesNotContain("large_file", OracleTool.RunExpect(0, "dumpe2fs", "-h", image).Stdout, StringComparison.Ordinal);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Vnode root = Ext2Fixture.Resolve(m, "");
        Assert.Equal(Errno.OK, Vop.Create(root, "big", 0x1A4, Root, out Vnode? f));
        if (byTruncate)
        {
            VAttr grow = VAttr.ForSet(VAttrMask.Size);
            grow.Size = 3L << 30;
            Assert.Equal(Errno.OK, Vop.SetAttr(f!, grow, Root));
        }
        else
        {
            Assert.Equal(Errno.OK, Vop.Write(f!, (2L << 30) + 5, "tail"u8, out _));
        }
        f!.Release();
        root.Release();
        Assert.Equal(Errno.OK, m.Unmount());

        Assert.Contains("large_file", OracleTool.RunExpect(0, "dumpe2fs", "-h", image).Stdout, StringComparison.Ordinal);
        ToolResult fsck = OracleTool.Run("e2fsck", "-fn", image);
        Assert.True(fsck.ExitCode == 0, fsck.Transcript);
    }
}
