using System.Buffers.Binary;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>Damaged images: every case is a clean refusal or EIO, never an exception or a hang.</summary>
public class Ext2MalformedTests
{
    private static string CopyOf(ScratchDir scratch, string name) => Corpus.Get(name).CopyTo(scratch);

    private static void Patch(string image, long offset, ReadOnlySpan<byte> bytes)
    {
        using FileStream f = File.OpenWrite(image);
        f.Position = offset;
        f.Write(bytes);
    }

    private static byte[] ReadAt(string image, long offset, int count)
    {
        using FileStream f = File.OpenRead(image);
        f.Position = offset;
        byte[] b = new byte[count];
        f.ReadExactly(b);
        return b;
    }

    private static Errno ReadFile(Mount m, string path)
    {
        Errno e = Namei.Resolve(m, "/" + path, NameiFlags.NoFollow, Credentials.Root, out Vnode? vp);
        if (e != Errno.OK)
        {
            return e;
        }
        try
        {
            byte[] buf = new byte[1 << 16];
            return Vop.Read(vp!, 0, buf, out _);
        }
        finally
        {
            vp!.Release();
        }
    }

    [Fact]
    public void TruncatedImage_IsRefused()
    {
        using var scratch = new ScratchDir();
        string image = CopyOf(scratch, "ext4-default");
        using (FileStream f = File.OpenWrite(image))
        {
            f.SetLength(f.Length / 2);
        }
        Errno e = Ext2Fixture.TryMount(image, true, null, out Mount? m, out string? msg);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Null(m);
        Assert.Contains("truncated", msg);
    }

    [Fact]
    public void TinyDevice_IsRefusedAndProbeSaysNo()
    {
        var dev = new MemoryBlockDevice(1024);
        Assert.False(new FsDrivers.Ext2fs.Ext2fsDriver().Probe(dev));
        Assert.Equal(Errno.EINVAL, Ext2Fixture.MountDevice(dev, true, out _, out string? msg));
        Assert.NotNull(msg);
    }

    [Fact]
    public void BadMagic_IsRefused()
    {
        using var scratch = new ScratchDir();
        string image = CopyOf(scratch, "ext2-rev1-1k");
        Patch(image, 1024 + 0x38, [0, 0]);
        Errno e = Ext2Fixture.TryMount(image, true, null, out _, out string? msg);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Contains("magic", msg);
    }

    [Fact]
    public void BadSuperblockChecksum_IsEio()
    {
        using var scratch = new ScratchDir();
        string image = CopyOf(scratch, "ext4-default");
        Patch(image, 1024 + 0x78, "garbage"u8);
        Errno e = Ext2Fixture.TryMount(image, true, null, out _, out string? msg);
        Assert.Equal(Errno.EIO, e);
        Assert.Contains("checksum", msg);
    }

    [Fact]
    public void GroupDescriptorPointingPastTheEnd_IsRefused()
    {
        using var scratch = new ScratchDir();
        string image = CopyOf(scratch, "ext2-rev1-1k");
        // First descriptor (block 2 on 1 KiB file systems): inode table far outside.
        Patch(image, 2048 + 8, BitConverter.GetBytes(0x7FFFFFF0u));
        Errno e = Ext2Fixture.TryMount(image, true, null, out Mount? m, out string? msg);
        Assert.NotEqual(Errno.OK, e);
        Assert.Null(m);
        Assert.NotNull(msg);
    }

    [Fact]
    public void BadGroupDescriptorChecksum_IsEio()
    {
        using var scratch = new ScratchDir();
        string image = CopyOf(scratch, "ext4-default");
        byte[] d = ReadAt(image, 2048 + 0x0C, 2);
        d[0] ^= 0x55;
        Patch(image, 2048 + 0x0C, d);
        Assert.Equal(Errno.EIO, Ext2Fixture.TryMount(image, true, null, out _, out _));
    }

    [Fact]
    public void BadInodeChecksum_ReadsAsEio()
    {
        using var scratch = new ScratchDir();
        string image = CopyOf(scratch, "ext4-default");
        // Corrupt hello.txt's size behind debugfs' back: find the inode's location with imap.
        ToolResult r = OracleTool.RunExpect(0, "debugfs", "-R", "imap hello.txt", image);
        (long block, int offset) = ParseImap(r.Stdout);
        Patch(image, (block * 1024) + offset + 4, [0x99]);
        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Assert.Equal(Errno.EIO, ReadFile(m, "hello.txt"));
            Assert.Equal(Errno.OK, ReadFile(m, "nested/a/file1"));
        }
        finally
        {
            m.Unmount();
        }
    }

    private static (long Block, int Offset) ParseImap(string text)
    {
        // "Inode 12 is part of block group 0\n\tlocated at block 1234, offset 0x0100"
        string line = text.Split('\n').First(l => l.Contains("located at block", StringComparison.Ordinal));
        string[] parts = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long block = long.Parse(parts[3].TrimEnd(','));
        int offset = Convert.ToInt32(parts[5], 16);
        return (block, offset);
    }

    [Fact]
    public void ExtentOutsideTheFileSystem_ReadsAsEio()
    {
        using var scratch = new ScratchDir();
        string image = CopyOf(scratch, "ext4-default");
        // debugfs keeps the inode checksum right: only the extent is wrong.
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "sif hello.txt block[5] 0x7ffffff0", image);
        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Assert.Equal(Errno.EIO, ReadFile(m, "hello.txt"));
        }
        finally
        {
            m.Unmount();
        }
    }

    [Fact]
    public void ExtentTreeLoop_ReadsAsEio()
    {
        using var scratch = new ScratchDir();
        string image = CopyOf(scratch, "ext4-nocsum");
        const int bs = 1024;
        long blocks = new FileInfo(image).Length / bs;
        uint x = (uint)(blocks - 2);
        // Block x: an index node of depth 1 whose only child is x itself.
        byte[] node = new byte[bs];
        BinaryPrimitives.WriteUInt16LittleEndian(node, 0xF30A);
        BinaryPrimitives.WriteUInt16LittleEndian(node.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(node.AsSpan(4), 84);
        BinaryPrimitives.WriteUInt16LittleEndian(node.AsSpan(6), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(node.AsSpan(16), x);
        Patch(image, (long)x * bs, node);
        // The root: depth 2, one index entry to x.
        string cmds = $"sif hello.txt block[1] 0x00020004\nsif hello.txt block[3] 0\nsif hello.txt block[4] {x}\nsif hello.txt block[5] 0\n";
        ToolResult r = OracleTool.Run("debugfs", ["-w", "-f", "-", image], stdin: cmds);
        Assert.True(r.ExitCode == 0, r.Transcript);
        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Assert.Equal(Errno.EIO, ReadFile(m, "hello.txt"));
        }
        finally
        {
            m.Unmount();
        }
    }

    [Fact]
    public void DirectoryRecordWithZeroLength_IsEioNotAHang()
    {
        using var scratch = new ScratchDir();
        string image = CopyOf(scratch, "ext2-rev1-1k");
        ToolResult r = OracleTool.RunExpect(0, "debugfs", "-R", "bmap nested 0", image);
        long blk = long.Parse(r.Stdout.Trim());
        // The second record ("..") at offset 12: rec_len 0.
        Patch(image, (blk * 1024) + 12 + 4, [0, 0]);
        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Errno e = Namei.Resolve(m, "/nested/a", NameiFlags.NoFollow, Credentials.Root, out Vnode? vp);
            Assert.Equal(Errno.EIO, e);
            Assert.Null(vp);
            Assert.Equal(Errno.OK, Namei.Resolve(m, "/hello.txt", NameiFlags.NoFollow, Credentials.Root, out vp));
            vp!.Release();
        }
        finally
        {
            m.Unmount();
        }
    }

    [Fact]
    public void CorruptDirectoryChecksum_IsEio()
    {
        using var scratch = new ScratchDir();
        string image = CopyOf(scratch, "ext4-default");
        ToolResult r = OracleTool.RunExpect(0, "debugfs", "-R", "bmap nested/a 0", image);
        long blk = long.Parse(r.Stdout.Trim());
        byte[] b = ReadAt(image, (blk * 1024) + 30, 1);
        b[0] ^= 0xFF;
        Patch(image, (blk * 1024) + 30, b);
        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Assert.Equal(Errno.EIO, Namei.Resolve(m, "/nested/a/file1", NameiFlags.NoFollow, Credentials.Root, out _));
        }
        finally
        {
            m.Unmount();
        }
    }

    [Fact]
    public void RandomSuperblockAndDescriptorDamage_NeverThrows()
    {
        using var scratch = new ScratchDir();
        string clean = CopyOf(scratch, "ext2-rev1-1k");
        byte[] original = File.ReadAllBytes(clean);
        var rng = new Random(1234);
        for (int round = 0; round < 60; round++)
        {
            byte[] img = (byte[])original.Clone();
            for (int k = 0; k < 8; k++)
            {
                int at = 1024 + rng.Next(2048);
                img[at] = (byte)rng.Next(256);
            }
            var dev = new MemoryBlockDevice(img, readOnly: true);
            Errno e = Ext2Fixture.MountDevice(dev, true, out Mount? m, out _);
            if (e == Errno.OK)
            {
                _ = Ext2Fixture.ListTreeLenient(m!);
                m!.Unmount(force: true);
            }
        }
    }
    /// <summary>
    /// A live file's bit cleared in the inode bitmap: the allocator offers its number for the
    /// next new name. It is refused with a log line and left in use (ext4: "doubly
    /// allocated?"), and the next free number is taken, instead of a crash.
    /// </summary>
    [Fact]
    public void Create_WhenTheBitmapSaysALiveInodeIsFree_TakesAnotherAndKeepsIt()
    {
        using var scratch = new ScratchDir("ext2-bad");
        string src = scratch.File("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "a"), "a\n");
        string image = scratch.File("dup.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", src, image, "8M");
        uint ino = uint.Parse(System.Text.RegularExpressions.Regex.Match(
            OracleTool.RunExpect(0, "debugfs", "-R", "stat /a", image).Stdout, @"Inode: (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", $"freei <{ino}>", image);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Vnode a = Ext2Fixture.Resolve(m, "/a");
        Vnode root = Ext2Fixture.Resolve(m, "/");
        Assert.Equal(Errno.OK, Vop.Create(root, "new", 0x1A4, Credentials.Root, out Vnode? created));
        Assert.NotEqual(ino, created!.Ino);
        created.Release();
        root.Release();
        Assert.Equal("a\n", System.Text.Encoding.ASCII.GetString(Ext2Fixture.ReadAll(a)));
        a.Release();
        Assert.Equal(Errno.OK, m.Unmount());
        // The bit is set again: the inode is in use, as e2fsck agrees.
        ToolResult fsck = OracleTool.Run("e2fsck", "-fn", image);
        Assert.True(fsck.ExitCode == 0, fsck.Transcript);
    }

    /// <summary>The byte offset of a file's inode, from debugfs's imap.</summary>
    private static long InodeOffset(string image, string path, int blockSize)
    {
        ToolResult imap = OracleTool.RunExpect(0, "debugfs", "-R", "imap " + path, image);
        System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(imap.Stdout, @"located at block (\d+), offset 0x([0-9a-f]+)");
        Assert.True(m.Success, imap.Transcript);
        return (long.Parse(m.Groups[1].Value) * blockSize) + Convert.ToInt64(m.Groups[2].Value, 16);
    }

    /// <summary>
    /// /hello's block map names /victim's block as its block 3, past its end (ext2, block
    /// mapped). Growing /hello over it (truncate, a write there, fallocate) is EIO: it would
    /// show victim's bytes in hello and then write into victim. e2fsck sees the damage too.
    /// </summary>
    [Fact]
    public void Grow_OverABlockMappedPastTheEnd_EioAndTheOtherFileIsUntouched()
    {
        using var scratch = new ScratchDir();
        string tree = scratch.File("tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "hello"), "hello\n");
        File.WriteAllText(Path.Combine(tree, "victim"), "victim's data\n");
        string image = scratch.File("past-end.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-d", tree, image, "4M");
        uint victimBlock = uint.Parse(OracleTool.RunExpect(0, "debugfs", "-R", "blocks /victim", image).Stdout.Trim());
        long hello = InodeOffset(image, "/hello", 1024);
        byte[] pointer = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(pointer, victimBlock);
        Patch(image, hello + 0x28 + (3 * 4), pointer);
        Assert.Equal(4, OracleTool.Run("e2fsck", "-fn", image).ExitCode);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Vnode vp = Ext2Fixture.Resolve(m, "hello");
        VAttr grow = VAttr.ForSet(VAttrMask.Size);
        grow.Size = 4096;
        Assert.Equal(Errno.EIO, Vop.SetAttr(vp, grow, Credentials.Root));
        Assert.Equal(Errno.EIO, Vop.Write(vp, 3072, "over the victim"u8, out _));
        Assert.Equal(Errno.EIO, Vop.Allocate(vp, 0, 8192, Credentials.Root));
        Assert.Equal("hello\n"u8.ToArray(), Ext2Fixture.ReadAll(vp));
        vp.Release();
        Assert.Equal(Errno.OK, m.Unmount());

        m = Ext2Fixture.MountImage(image, readOnly: true);
        Vnode victim = Ext2Fixture.Resolve(m, "victim");
        Assert.Equal("victim's data\n"u8.ToArray(), Ext2Fixture.ReadAll(victim));
        victim.Release();
        Assert.Equal(Errno.OK, m.Unmount());
    }

    /// <summary>
    /// A write whose data cannot reach the disk leaves no block mapped past the end: the
    /// blocks it allocated are given back, so the next write that extends the file works.
    /// </summary>
    [Fact]
    public void WriteFailingAtTheDevice_GivesBackTheBlocksItAllocated()
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("fail.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", image, "4M");
        var faulty = new FaultInjectingBlockDevice(new MemoryBlockDevice(File.ReadAllBytes(image)));
        Assert.Equal(Errno.OK, Ext2Fixture.MountDevice(faulty, readOnly: false, out Mount? m, out _));
        Assert.Equal(Errno.OK, m!.Root(out Vnode? root));
        Assert.Equal(Errno.OK, Vop.Create(root!, "f", 0x1A4, Credentials.Root, out Vnode? f));
        Assert.Equal(Errno.OK, Vop.Write(f!, 0, new byte[100], out _)); // bitmaps and descriptors now cached
        Assert.Equal(Errno.OK, Vop.GetAttr(f!, out VAttr before));

        faulty.Reset();
        faulty.FailWriteNumber = 1; // the data write: the allocation itself stays in the cache
        Assert.Equal(Errno.EIO, Vop.Write(f!, 5000, new byte[3000], out int written));
        Assert.Equal(0, written);
        Assert.Equal(Errno.OK, Vop.GetAttr(f!, out VAttr after));
        Assert.Equal(before.BytesUsed, after.BytesUsed);
        Assert.Equal(Errno.OK, Vop.Write(f!, 5000, new byte[3000], out written));
        Assert.Equal(3000, written);
        f!.Release();
        root!.Release();
        Assert.Equal(Errno.OK, m.Unmount());
    }

    /// <summary>Run <paramref name="op"/> with a deadline: a damaged size must not turn it into a walk over terabytes of holes.</summary>
    private static T Within<T>(Func<T> op)
    {
        Task<T> t = Task.Run(op);
        Assert.True(t.Wait(TimeSpan.FromSeconds(20)), "the operation did not finish within 20 s");
        return t.Result;
    }

    /// <summary>
    /// A directory's i_size_high without large_dir (one flipped bit: 8 TiB) is not part of its
    /// size, as in Linux: listing, a lookup that misses and a create answer at once.
    /// </summary>
    [Fact]
    public void DirectoryWithSizeHighWithoutLargeDir_ScansStayWithinItsBlocks()
    {
        using var scratch = new ScratchDir();
        string tree = scratch.File("tree");
        Directory.CreateDirectory(Path.Combine(tree, "emptydir"));
        string image = scratch.File("dir-size-high.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext3", "-b", "1024", "-d", tree, image, "8M");
        Patch(image, InodeOffset(image, "/emptydir", 1024) + 0x6C + 1, [0x08]);
        Assert.Contains("8796093023232", OracleTool.RunExpect(0, "debugfs", "-R", "stat /emptydir", image).Stdout, StringComparison.Ordinal);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Vnode dir = Ext2Fixture.Resolve(m, "emptydir");
        Assert.Equal(Errno.OK, Vop.GetAttr(dir, out VAttr va));
        Assert.Equal(1024, va.Size);
        Assert.Equal(Errno.ENOENT, Within(() => Vop.Lookup(dir, "missing", Credentials.Root, out _)));
        Assert.Equal(Errno.OK, Within(() =>
        {
            Errno e = Vop.Create(dir, "new", 0x1A4, Credentials.Root, out Vnode? f);
            f?.Release();
            return e;
        }));
        dir.Release();
        Assert.Equal(Errno.OK, m.Unmount());
    }

    /// <summary>
    /// With large_dir a directory's i_size_high is part of its size, so a damaged one (2^48
    /// bytes) stands. Its holes are skipped by the length the map gives them, as Linux's
    /// readdir does: listing, lookups and a create answer at once, for extent maps and for
    /// block maps (whose unallocated indirect subtrees and range past the triple indirect
    /// block are one hole each).
    /// </summary>
    [Theory]
    [InlineData("ext3", 1024)]
    [InlineData("ext4", 4096)]
    public void LargeDirDirectoryWithDamagedSize_ScansSkipItsHoles(string type, int blockSize)
    {
        using var scratch = new ScratchDir();
        string tree = scratch.File("tree");
        Directory.CreateDirectory(Path.Combine(tree, "d"));
        File.WriteAllText(Path.Combine(tree, "d", "a"), "a\n");
        File.WriteAllText(Path.Combine(tree, "d", "b"), "b\n");
        string image = scratch.File("large-dir-size.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", type, "-O", "large_dir,^metadata_csum", "-b", blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "-d", tree, image, "8M");
        Patch(image, InodeOffset(image, "/d", blockSize) + 0x6C + 2, [0x01]);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Vnode dir = Ext2Fixture.Resolve(m, "d");
        Assert.Equal(Errno.OK, Vop.GetAttr(dir, out VAttr va));
        Assert.Equal((1L << 48) + blockSize, va.Size);
        SortedDictionary<string, VType> listed = Within(() => Ext2Fixture.ListTree(m));
        Assert.Contains("d/a", listed.Keys);
        Assert.Contains("d/b", listed.Keys);
        Assert.Equal(Errno.ENOENT, Within(() => Vop.Lookup(dir, "missing", Credentials.Root, out _)));
        Assert.Equal(Errno.OK, Within(() =>
        {
            Errno e = Vop.Lookup(dir, "b", Credentials.Root, out Vnode? b);
            b?.Release();
            return e;
        }));
        Assert.Equal(Errno.OK, Within(() =>
        {
            Errno e = Vop.Create(dir, "new", 0x1A4, Credentials.Root, out Vnode? f);
            f?.Release();
            return e;
        }));
        Assert.Equal(Errno.OK, Within(() => Vop.Remove(dir, "a", Credentials.Root)));
        dir.Release();
        Assert.Equal(Errno.OK, m.Unmount());
    }

    /// <summary>
    /// SEEK_DATA on a block-mapped file whose size (a flipped top bit: 2^56 bytes) lies far
    /// past what its map addresses: everything past the map is hole, found at once.
    /// </summary>
    [Fact]
    public void SeekOnAFileSizedPastItsMap_AnswersAtOnce()
    {
        using var scratch = new ScratchDir();
        string tree = scratch.File("tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "file2"), "level 2\n");
        string image = scratch.File("seek-size.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-d", tree, image, "8M");
        Patch(image, InodeOffset(image, "/file2", 1024) + 0x6C + 3, [0x01]);

        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        Vnode f = Ext2Fixture.Resolve(m, "file2");
        Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr va));
        Assert.Equal((1L << 56) + 8, va.Size);
        Assert.Equal(Errno.OK, Vop.Seek(f, 0, SeekWhence.Data, out long at));
        Assert.Equal(0, at);
        Assert.Equal(Errno.ENXIO, Within(() => Vop.Seek(f, 1024, SeekWhence.Data, out _)));
        Assert.Equal(Errno.OK, Vop.Seek(f, 0, SeekWhence.Hole, out at));
        Assert.Equal(1024, at);
        f.Release();
        Assert.Equal(Errno.OK, m.Unmount());
    }

    /// <summary>
    /// Group 0's block bitmap shows the superblock, descriptors, bitmaps and inode table
    /// free. New directories and file data must still go elsewhere: the allocator puts those
    /// bits back (logged) before it allocates, and e2fsck then finds the image consistent.
    /// </summary>
    [Fact]
    public void BlockBitmapShowingMetadataFree_NewBlocksNeverLandOnIt()
    {
        using var scratch = new ScratchDir();
        string tree = scratch.File("tree");
        Directory.CreateDirectory(Path.Combine(tree, "d"));
        File.WriteAllText(Path.Combine(tree, "a"), "kept\n");
        string image = scratch.File("zeroed-meta.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", "-d", tree, image, "12M");
        string dump = OracleTool.RunExpect(0, "dumpe2fs", image).Stdout;
        long bitmap = long.Parse(System.Text.RegularExpressions.Regex.Match(dump, @"Block bitmap at (\d+)").Groups[1].Value);
        long tableEnd = long.Parse(System.Text.RegularExpressions.Regex.Match(dump, @"Inode table at \d+-(\d+)").Groups[1].Value);
        byte[] bits = ReadAt(image, bitmap * 4096, 4096);
        for (long b = 0; b <= tableEnd; b++)
        {
            bits[b / 8] &= (byte)~(1 << (int)(b % 8));
        }
        Patch(image, bitmap * 4096, bits);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Vnode root = Ext2Fixture.Resolve(m, "");
        Assert.Equal(Errno.OK, Vop.Mkdir(root, "x", 0x1ED, Credentials.Root, out Vnode? x));
        Assert.Equal(Errno.OK, Vop.Create(x!, "h", 0x1A4, Credentials.Root, out Vnode? h));
        Assert.Equal(Errno.OK, Vop.Write(h!, 0, new byte[20000], out _));
        h!.Release();
        x!.Release();
        root.Release();
        Assert.Equal(Errno.OK, m.Unmount());

        foreach (string path in new[] { "/x", "/x/h" })
        {
            string blocks = OracleTool.RunExpect(0, "debugfs", "-R", "blocks " + path, image).Stdout;
            Assert.All(blocks.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries), b => Assert.True(long.Parse(b) > tableEnd, $"{path} got block {b}"));
        }
        ToolResult fsck = OracleTool.Run("e2fsck", "-fn", image);
        Assert.True(fsck.ExitCode == 0, fsck.Transcript);
        m = Ext2Fixture.MountImage(image, readOnly: true, "force");
        Vnode a = Ext2Fixture.Resolve(m, "a");
        Assert.Equal("kept\n"u8.ToArray(), Ext2Fixture.ReadAll(a));
        a.Release();
        Assert.Equal(Errno.OK, m.Unmount());
    }

    /// <summary>
    /// The block bitmap shows the internal journal's blocks free. A new file's data must not
    /// land in the journal (the next kernel to write the journal would overwrite it, and a
    /// replay would write journal contents over the file): the allocator puts those bits
    /// back before it allocates, and e2fsck then finds the image consistent.
    /// </summary>
    [Theory]
    [InlineData("ext3")] // journal mapped by an indirect block
    [InlineData("ext4")] // journal mapped by extents (no metadata_csum: the bitmap edit would fail its checksum)
    public void BlockBitmapShowingJournalFree_NewBlocksNeverLandInIt(string type)
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("zeroed-journal.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", type, "-O", "^metadata_csum", "-b", "4096", "-J", "size=4", image, "16M");
        string dump = OracleTool.RunExpect(0, "dumpe2fs", image).Stdout;
        long bitmap = long.Parse(System.Text.RegularExpressions.Regex.Match(dump, @"Block bitmap at (\d+)").Groups[1].Value);
        var journal = new HashSet<long>(OracleTool.RunExpect(0, "debugfs", "-R", "blocks <8>", image).Stdout
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(long.Parse));
        Assert.True(journal.Count >= 1024, $"journal has {journal.Count} blocks");
        byte[] bits = ReadAt(image, bitmap * 4096, 4096);
        foreach (long b in journal)
        {
            bits[b / 8] &= (byte)~(1 << (int)(b % 8));
        }
        Patch(image, bitmap * 4096, bits);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Vnode root = Ext2Fixture.Resolve(m, "");
        Assert.Equal(Errno.OK, Vop.Create(root, "f", 0x1A4, Credentials.Root, out Vnode? f));
        Assert.Equal(Errno.OK, Vop.Write(f!, 0, new byte[3 << 20], out _));
        f!.Release();
        root.Release();
        Assert.Equal(Errno.OK, m.Unmount());

        string blocks = OracleTool.RunExpect(0, "debugfs", "-R", "blocks /f", image).Stdout;
        long[] got = blocks.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
        Assert.InRange(got.Length, 768, 770); // the data, and on ext3 one indirect block
        Assert.DoesNotContain(got, journal.Contains);
        ToolResult fsck = OracleTool.Run("e2fsck", "-fn", image);
        Assert.True(fsck.ExitCode == 0, fsck.Transcript);
    }

    /// <summary>
    /// The block bitmap shows a file's blocks free while the descriptor still counts them in
    /// use (a damaged bitmap). As in the kernel's mballoc, the group whose bits disagree with
    /// its count gives out no block: a new file lands in the other group, and the old file's
    /// bytes stay as they were.
    /// </summary>
    [Fact]
    public void BlockBitmapDisagreeingWithItsFreeCount_GroupGivesOutNothing()
    {
        using var scratch = new ScratchDir();
        string tree = scratch.File("tree");
        Directory.CreateDirectory(tree);
        byte[] victim = new byte[40 * 1024];
        new Random(3).NextBytes(victim);
        File.WriteAllBytes(Path.Combine(tree, "victim"), victim);
        string image = scratch.File("bitmap-free-count.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-d", tree, image, "16M");
        string dump = OracleTool.RunExpect(0, "dumpe2fs", image).Stdout;
        long bitmap = long.Parse(System.Text.RegularExpressions.Regex.Match(dump, @"Block bitmap at (\d+)").Groups[1].Value);
        long[] victimBlocks = OracleTool.RunExpect(0, "debugfs", "-R", "blocks /victim", image).Stdout
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
        Assert.All(victimBlocks, b => Assert.True(b < 8193, $"block {b} is not in group 0"));
        byte[] bits = ReadAt(image, bitmap * 1024, 1024);
        foreach (long b in victimBlocks)
        {
            long bit = b - 1; // group 0 starts at block 1 with 1 KiB blocks
            bits[bit / 8] &= (byte)~(1 << (int)(bit % 8));
        }
        Patch(image, bitmap * 1024, bits);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Vnode root = Ext2Fixture.Resolve(m, "");
        Assert.Equal(Errno.OK, Vop.Create(root, "new", 0x1A4, Credentials.Root, out Vnode? f));
        Assert.Equal(Errno.OK, Vop.Write(f!, 0, new byte[64 * 1024], out _));
        f!.Release();
        root.Release();
        Assert.Equal(Errno.OK, m.Unmount());

        long[] got = OracleTool.RunExpect(0, "debugfs", "-R", "blocks /new", image).Stdout
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
        Assert.NotEmpty(got);
        Assert.All(got, b => Assert.True(b >= 8193, $"block {b} came from the damaged group"));
        string dumped = scratch.File("victim.out");
        OracleTool.RunExpect(0, "debugfs", "-R", $"dump /victim {dumped}", image);
        Assert.Equal(victim, File.ReadAllBytes(dumped));
    }

    /// <summary>
    /// The inode bitmap shows the live lost+found (inode 11) free. A new file must not take
    /// its number: the inode table, initialised there, shows it live, so its bit is set
    /// again (logged) and the next free number is taken; e2fsck then finds the image clean.
    /// </summary>
    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void InodeBitmapShowingALiveInodeFree_NewFileTakesAnotherNumber(string type)
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("freed-live-inode.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", type, image, "16M");
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "freei <11>", image);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Vnode root = Ext2Fixture.Resolve(m, "");
        Assert.Equal(Errno.OK, Vop.Create(root, "new", 0x1A4, Credentials.Root, out Vnode? f));
        Assert.Equal(Errno.OK, Vop.GetAttr(f!, out VAttr va));
        Assert.NotEqual(11UL, va.Ino);
        f!.Release();
        Vnode lost = Ext2Fixture.Resolve(m, "lost+found");
        Assert.Equal(VType.Directory, lost.Type);
        lost.Release();
        root.Release();
        Assert.Equal(Errno.OK, m.Unmount());

        Assert.Contains("Type: directory", OracleTool.RunExpect(0, "debugfs", "-R", "stat <11>", image).Stdout, StringComparison.Ordinal);
        ToolResult fsck = OracleTool.Run("e2fsck", "-fn", image);
        Assert.True(fsck.ExitCode == 0, fsck.Transcript);
    }

    /// <summary>
    /// A file's map names the superblock's block and a group-descriptor block (damage).
    /// Removing the file frees its own blocks but never those: they stay in use (logged),
    /// and e2fsck then finds the image consistent.
    /// </summary>
    [Fact]
    public void RemovingAFileWhoseMapNamesMetadata_LeavesTheMetadataInUse()
    {
        using var scratch = new ScratchDir();
        string tree = scratch.File("tree");
        Directory.CreateDirectory(tree);
        File.WriteAllBytes(Path.Combine(tree, "f"), new byte[3000]);
        string image = scratch.File("map-names-metadata.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext3", "-b", "1024", "-d", tree, image, "16M");
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "sif /f block[1] 1", image);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "sif /f block[2] 2", image);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Vnode root = Ext2Fixture.Resolve(m, "");
        Assert.Equal(Errno.OK, Vop.Remove(root, "f", Credentials.Root));
        root.Release();
        Assert.Equal(Errno.OK, m.Unmount());

        string dump = OracleTool.RunExpect(0, "debugfs", "-R", "testb 1 2", image).Stdout;
        Assert.Contains("Block 1 marked in use", dump, StringComparison.Ordinal);
        Assert.Contains("Block 2 marked in use", dump, StringComparison.Ordinal);
        ToolResult fsck = OracleTool.Run("e2fsck", "-fn", image);
        Assert.True(fsck.ExitCode == 0, fsck.Transcript);
    }

    /// <summary>
    /// A live root entry (lost+found) whose name length took damage (0): lookups and listings
    /// skip it. A new directory must not be placed in its spare room, which would cut it to a
    /// record shorter than any valid one and leave the root unreadable.
    /// </summary>
    [Fact]
    public void EntryWithAnEmptyName_IsNotSplitForANewEntry()
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("empty-name.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", image, "8M");
        long rootBlock = long.Parse(OracleTool.RunExpect(0, "debugfs", "-R", "blocks /", image).Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("lost+found"u8.ToArray(), ReadAt(image, (rootBlock * 1024) + 24 + 8, 10));
        Patch(image, (rootBlock * 1024) + 24 + 6, [0]);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Vnode root = Ext2Fixture.Resolve(m, "");
        Assert.Equal(Errno.OK, Vop.Mkdir(root, "a", 0x1ED, Credentials.Root, out Vnode? a));
        a!.Release();
        root.Release();
        Assert.Equal(Errno.OK, m.Unmount());

        m = Ext2Fixture.MountImage(image, readOnly: true);
        Assert.Contains("a", Ext2Fixture.ListTree(m).Keys);
        Assert.Equal(Errno.OK, m.Unmount());
        string e2fsck = OracleTool.Run("e2fsck", "-fn", image).Stdout;
        Assert.DoesNotContain("rec_len", e2fsck, StringComparison.Ordinal);
        Assert.DoesNotContain("'a'", e2fsck, StringComparison.Ordinal);
    }
}
