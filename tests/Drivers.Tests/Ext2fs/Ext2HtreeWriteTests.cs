using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// Changes to an indexed directory (made by e2fsck -D) keep its hash tree: new names go into
/// the leaf the tree names, full leaves and index nodes split, a full root moves down a
/// level, removals leave the tree alone. e2fsck -fn checks every hash range, debugfs finds
/// names through the index, our lookups and the kernel's listing agree.
/// </summary>
public class Ext2HtreeWriteTests
{
    private static readonly Credentials Root = Credentials.Root;

    /// <summary>An ext4 image whose /big holds file-1..file-N, indexed by e2fsck -D.</summary>
    private static string IndexedImage(ScratchDir scratch, int files, int blockSize, params string[] features)
    {
        string tree = scratch.File("tree");
        Directory.CreateDirectory(Path.Combine(tree, "big"));
        for (int i = 1; i <= files; i++)
        {
            File.WriteAllBytes(Path.Combine(tree, "big", $"file-{i}"), []);
        }
        string image = scratch.File("htree.img");
        OracleTool.RunExpect(0, "mke2fs", ["-q", "-F", "-t", "ext4", "-b", blockSize.ToString(), .. features, "-d", tree, image, "64M"]);
        ToolResult fsck = OracleTool.Run("e2fsck", "-fyD", image);
        Assert.True(fsck.ExitCode is 0 or 1, fsck.Transcript);
        Assert.Contains("Flags: 0x81000", OracleTool.RunExpect(0, "debugfs", "-R", "stat /big", image).Stdout, StringComparison.Ordinal);
        return image;
    }

    /// <summary>The number of leaves below the root, as debugfs's htree_dump reads it.</summary>
    private static int RootCount(string image)
    {
        string dump = OracleTool.RunExpect(0, "debugfs", "-R", "htree_dump /big", image).Stdout;
        return int.Parse(dump.Split("Number of entries (count): ")[1].Split('\n')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Change(string image, Action<Vnode> work)
    {
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode dir = Ext2Fixture.Resolve(m, "/big");
            try
            {
                work(dir);
            }
            finally
            {
                dir.Release();
            }
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
    }

    private static void Add(Vnode dir, string name)
    {
        Assert.Equal(Errno.OK, Vop.Create(dir, name, 0x1A4, Root, out Vnode? vp));
        vp!.Release();
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(1024)]
    public void AddingAndRemoving_KeepsTheIndex_E2fsckAndDebugfsAgree(int blockSize)
    {
        using var scratch = new ScratchDir();
        string image = IndexedImage(scratch, 2000, blockSize);
        int leavesBefore = RootCount(image);
        Change(image, dir =>
        {
            for (int i = 1; i <= 1500; i++)
            {
                Add(dir, $"added-name-{i:D5}");
            }
            for (int i = 1; i <= 2000; i += 3)
            {
                Assert.Equal(Errno.OK, Vop.Remove(dir, $"file-{i}", Root));
            }
        });
        Fsck.Ext2CheckImages.AssertBothClean(image);
        Assert.Contains("Flags: 0x81000", OracleTool.RunExpect(0, "debugfs", "-R", "stat /big", image).Stdout, StringComparison.Ordinal);
        Assert.True(RootCount(image) > leavesBefore, $"no leaf was split ({leavesBefore} leaves before)");
        // debugfs looks names up through the index.
        foreach (string name in new[] { "added-name-00001", "added-name-01500", "file-2", "file-2000" })
        {
            Assert.Contains("Inode:", OracleTool.RunExpect(0, "debugfs", "-R", $"stat /big/{name}", image).Stdout, StringComparison.Ordinal);
        }
        Assert.Contains("not found", OracleTool.Run("debugfs", "-R", "stat /big/file-1", image).Stderr, StringComparison.Ordinal);

        // Our own lookups after a remount go through the index too.
        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Vnode dir = Ext2Fixture.Resolve(m, "/big");
            for (int i = 1; i <= 1500; i += 7)
            {
                Assert.Equal(Errno.OK, Vop.Lookup(dir, $"added-name-{i:D5}", Root, out Vnode? vp));
                vp!.Release();
            }
            Assert.Equal(Errno.ENOENT, Vop.Lookup(dir, "file-4", Root, out _));
            dir.Release();
            Assert.Equal(2000 - 667 + 1500, Ext2Fixture.ListTree(m).Count(kv => kv.Key.StartsWith("big/", StringComparison.Ordinal)));
        }
        finally
        {
            m.Unmount(force: true);
        }
        if (Ext2Oracle.KernelTree(image) is { } kernel)
        {
            Assert.Equal(2000 - 667 + 1500, kernel.Keys.Count(k => k.StartsWith("big/", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public void WithMetadataChecksums_SplitLeavesNewNodesAndTheRootCarryValidChecksums()
    {
        using var scratch = new ScratchDir();
        string image = IndexedImage(scratch, 1500, 1024, "-O", "metadata_csum", "-N", "40000");
        Change(image, dir =>
        {
            for (int i = 1; i <= 12000; i++)
            {
                Add(dir, $"with-checksums-{i:D6}");
            }
        });
        Fsck.Ext2CheckImages.AssertBothClean(image);
        Assert.Contains("Flags: 0x81000", OracleTool.RunExpect(0, "debugfs", "-R", "stat /big", image).Stdout, StringComparison.Ordinal);
        Assert.Contains("Indirect levels: 1", OracleTool.RunExpect(0, "debugfs", "-R", "htree_dump /big", image).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void DotDotOfAnIndexedDirectory_IsFound_SoAFolderMovesIntoIt()
    {
        using var scratch = new ScratchDir();
        string image = IndexedImage(scratch, 500, 1024);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Vnode big = Ext2Fixture.Resolve(m, "/big");
            // ".." is the second record of block 0, which the hash tree does not cover.
            Assert.Equal(Errno.OK, Vop.Lookup(big, "..", Root, out Vnode? up));
            Assert.Same(root, up);
            up!.Release();
            Assert.Equal(Errno.OK, Vop.Mkdir(root!, "mover", 0x1ED, Root, out Vnode? mover));
            mover!.Release();
            Assert.Equal(Errno.OK, Vop.Rename(root!, "mover", big, "moved-in", Root));
            big.Release();
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Fsck.Ext2CheckImages.AssertBothClean(image);
        Assert.Contains("Type: directory", OracleTool.RunExpect(0, "debugfs", "-R", "stat /big/moved-in", image).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void ADamagedIndex_StillFindsEveryName_ButTakesNoNewOne()
    {
        using var scratch = new ScratchDir();
        string image = IndexedImage(scratch, 500, 1024);
        // Block 0 of /big is the root; its limit (u16 at 0x20) becomes impossible.
        long[] blocks = [.. OracleTool.RunExpect(0, "debugfs", "-R", "blocks /big", image).Stdout
            .Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(b => long.Parse(b, System.Globalization.CultureInfo.InvariantCulture))];
        long rootBlock = blocks[0];
        using (FileStream f = File.OpenWrite(image))
        {
            f.Position = (rootBlock * 1024) + 0x20;
            f.Write([0xFF, 0x7F]);
        }
        byte[] before = File.ReadAllBytes(image);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode dir = Ext2Fixture.Resolve(m, "/big");
            Assert.Equal(Errno.OK, Vop.Lookup(dir, "file-321", Root, out Vnode? vp));
            vp!.Release();
            Assert.Equal(Errno.EIO, Vop.Create(dir, "new-name", 0x1A4, Root, out _));
            dir.Release();
        }
        finally
        {
            m.Unmount(force: true);
        }
        // The directory's blocks are as they were: nothing was rewritten from the damaged tree.
        byte[] after = File.ReadAllBytes(image);
        foreach (long blk in blocks)
        {
            Assert.True(before.AsSpan((int)(blk * 1024), 1024).SequenceEqual(after.AsSpan((int)(blk * 1024), 1024)), $"block {blk} changed");
        }
    }

    [Theory]
    [InlineData("ext4", "1024")]
    [InlineData("ext4", "4096")]
    [InlineData("ext2", "1024")]
    public void AOneBlockDirectoryThatFills_BecomesIndexed_AsTheKernelMakesIt(string type, string blockSize)
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("grow.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", type, "-b", blockSize, image, "32M");
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Mkdir(root!, "big", 0x1ED, Root, out Vnode? dir));
            root!.Release();
            for (int i = 1; i <= 800; i++)
            {
                Add(dir!, $"grown-{i}");
            }
            dir!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Fsck.Ext2CheckImages.AssertBothClean(image);
        Assert.Matches(@"Flags: 0x[0-9a-f]*1000\n", OracleTool.RunExpect(0, "debugfs", "-R", "stat /big", image).Stdout);
        Assert.True(RootCount(image) >= 2, "the first leaf split as it filled");
        Assert.Contains("Inode:", OracleTool.RunExpect(0, "debugfs", "-R", "stat /big/grown-777", image).Stdout, StringComparison.Ordinal);
        if (type == "ext4" && Ext2Oracle.KernelTree(image) is { } kernel)
        {
            Assert.Equal(800, kernel.Keys.Count(k => k.StartsWith("big/", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public void AFullRootMovesDownALevel_AndFullNodesSplit_E2fsckAndTheKernelAgree()
    {
        using var scratch = new ScratchDir();
        string image = IndexedImage(scratch, 3000, 1024, "-N", "40000");
        Change(image, dir =>
        {
            for (int i = 1; i <= 15000; i++)
            {
                Add(dir, $"many-more-names-{i:D6}");
            }
        });
        Fsck.Ext2CheckImages.AssertBothClean(image);
        string dump = OracleTool.RunExpect(0, "debugfs", "-R", "htree_dump /big", image).Stdout;
        // The root of a 1 KiB-block tree holds 123 leaves; 18,000 names need more. Its
        // entries moved into one node, which filled and split: the root now has several.
        Assert.Contains("Indirect levels: 1", dump, StringComparison.Ordinal);
        Assert.True(RootCount(image) >= 2, dump[..Math.Min(dump.Length, 400)]);
        Assert.Contains("Inode:", OracleTool.RunExpect(0, "debugfs", "-R", "stat /big/many-more-names-014999", image).Stdout, StringComparison.Ordinal);
        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Vnode dir = Ext2Fixture.Resolve(m, "/big");
            for (int i = 1; i <= 15000; i += 97)
            {
                Assert.Equal(Errno.OK, Vop.Lookup(dir, $"many-more-names-{i:D6}", Root, out Vnode? vp));
                vp!.Release();
            }
            dir.Release();
            Assert.Equal(18000, Ext2Fixture.ListTree(m).Count(kv => kv.Key.StartsWith("big/", StringComparison.Ordinal)));
        }
        finally
        {
            m.Unmount(force: true);
        }
        if (Ext2Oracle.KernelTree(image) is { } kernel)
        {
            Assert.Equal(18000, kernel.Keys.Count(k => k.StartsWith("big/", StringComparison.Ordinal)));
        }
    }
}
