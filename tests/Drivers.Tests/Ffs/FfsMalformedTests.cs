using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>Damaged images: refused cleanly at mount, or EIO where the damage is read; never an exception or a write.</summary>
public class FfsMalformedTests
{
    private static byte[] Load(string name) => File.ReadAllBytes(Corpus.Get(name).ImagePath);

    /// <summary>Byte offset of the inode record of <paramref name="path"/>, and the geometry, from a read-only mount.</summary>
    private static (long InodeOffset, FfsSuperblock Sb) Locate(byte[] image, string path)
    {
        var dev = new MemoryBlockDevice(image, readOnly: true);
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(dev, true, out Mount? mp, out string? msg));
        var fm = (FfsMount)mp!;
        Vnode vp = FfsTestMount.Resolve(mp!, path);
        ulong ino = vp.Ino;
        vp.Release();
        mp!.Unmount();
        FfsSuperblock sb = fm.Sb;
        return (sb.FragToBytes(sb.InoToFsba(ino)) + ((long)sb.InoToFsbo(ino) * sb.DinodeSize), sb);
    }

    private static Errno MountMem(byte[] image, bool readOnly, out Mount? mp, out string? msg, out MemoryBlockDevice dev)
    {
        dev = new MemoryBlockDevice(image, readOnly: false);
        return FfsTestMount.TryMount(dev, readOnly, out mp, out msg);
    }

    [Theory]
    [InlineData("ffs1-le-8k-f2")]
    [InlineData("ffs2-be-8k-f2")]
    public void Mount_TruncatedImage_RefusedWithoutWriting(string name)
    {
        byte[] img = Load(name);
        byte[] cut = img.AsSpan(0, img.Length / 2).ToArray();
        Errno e = MountMem(cut, false, out Mount? mp, out string? msg, out MemoryBlockDevice dev);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Null(mp);
        Assert.Contains("larger than the device", msg);
        Assert.Equal(0, dev.WriteCount);
    }

    [Fact]
    public void Mount_BadMagic_RefusedWithMessage()
    {
        byte[] img = Load("ffs1-le-8k-f2");
        img[8192 + SuperblockFields.Magic] ^= 0xFF;
        Errno e = MountMem(img, true, out _, out string? msg, out MemoryBlockDevice dev);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Contains("no FFS superblock", msg);
        Assert.False(new FfsDriver().Probe(dev));
    }

    [Fact]
    public void Mount_GarbageDevice_RefusedAndProbeFalse()
    {
        byte[] junk = new byte[4 << 20];
        new Random(5).NextBytes(junk);
        Errno e = MountMem(junk, false, out _, out _, out MemoryBlockDevice dev);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Equal(0, dev.WriteCount);
        Assert.False(new FfsDriver().Probe(new MemoryBlockDevice(16)));
    }

    [Theory]
    [InlineData(SuperblockFields.Bsize, 3000, "block size")]
    [InlineData(SuperblockFields.Fsize, 3, "fragment size")]
    [InlineData(SuperblockFields.Ncg, 0, "cylinder-group geometry")]
    [InlineData(SuperblockFields.Ipg, 7, "cylinder-group geometry")]
    [InlineData(SuperblockFields.Iblkno, 1 << 30, "layout")]
    [InlineData(SuperblockFields.CsSize, 1, "summary")]
    [InlineData(SuperblockFields.Frag, 16, "fragments per block")]
    public void Mount_InconsistentSuperblock_Refused(int field, int value, string why)
    {
        byte[] img = Load("ffs2-be-8k-f2");
        FfsByteOrder.Big.W32(img.AsSpan(8192), field, value);
        Errno e = MountMem(img, false, out _, out string? msg, out MemoryBlockDevice dev);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Contains(why, msg);
        Assert.Equal(0, dev.WriteCount);
    }

    [Fact]
    public void Mount_CylinderGroupBadMagic_Refused()
    {
        byte[] img = Load("ffs1-le-8k-f2");
        (_, FfsSuperblock sb) = Locate(img, "/");
        img[sb.FragToBytes(sb.CgTod(0)) + CgFields.Magic] ^= 0x55;
        Errno e = MountMem(img, true, out _, out string? msg, out _);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Contains("cylinder group 0", msg);
    }

    [Theory]
    [InlineData("ffs1-le-8k-f2")]
    [InlineData("ffs2-be-8k-f2")]
    public void Read_BlockPointerPastEnd_ReturnsEio(string name)
    {
        byte[] img = Load(name);
        (long off, FfsSuperblock sb) = Locate(img, "/hello.txt");
        if (sb.IsUfs2)
        {
            sb.Order.W64(img.AsSpan((int)off), Ufs2Dinode.Db, sb.Size + 100);
        }
        else
        {
            sb.Order.W32(img.AsSpan((int)off), Ufs1Dinode.Db, (int)sb.Size + 100);
        }
        Assert.Equal(Errno.OK, MountMem(img, true, out Mount? mp, out _, out _));
        Vnode vp = FfsTestMount.Resolve(mp!, "/hello.txt");
        byte[] buf = new byte[64];
        Assert.Equal(Errno.EIO, Vop.Read(vp, 0, buf, out _));
        vp.Release();
        mp!.Unmount();
    }

    [Fact]
    public void Read_BlockPointerIntoInodeTable_ReturnsEio()
    {
        byte[] img = Load("ffs1-le-8k-f2");
        (long off, FfsSuperblock sb) = Locate(img, "/hello.txt");
        sb.Order.W32(img.AsSpan((int)off), Ufs1Dinode.Db, (int)sb.CgIMin(0));
        Assert.Equal(Errno.OK, MountMem(img, true, out Mount? mp, out _, out _));
        Vnode vp = FfsTestMount.Resolve(mp!, "/hello.txt");
        Assert.Equal(Errno.EIO, Vop.Read(vp, 0, new byte[16], out _));
        vp.Release();
        mp!.Unmount();
    }

    [Fact]
    public void DirectoryChunkWithZeroRecLen_PassedOver()
    {
        byte[] img = Load("ffs2-le-8k-f2");
        (long off, FfsSuperblock sb) = Locate(img, "/nested/a");
        long db0 = sb.Order.I64(img, (int)off + Ufs2Dinode.Db);
        long dirStart = sb.FragToBytes(db0);
        // The second entry ("..") gets a record length of 0: a walk would never advance.
        sb.Order.W16(img.AsSpan((int)dirStart), 12 + DirectEntry.RecLen, 0);
        Assert.Equal(Errno.OK, MountMem(img, true, out Mount? mp, out _, out _));
        Vnode dir = FfsTestMount.Resolve(mp!, "/nested/a");
        // The only chunk is bad: its names are passed over (ufs_lookup skips to the next
        // chunk); a write into such a directory is EIO (EntryWhoseNameIsNotTerminated...).
        Assert.Equal(Errno.ENOENT, Vop.Lookup(dir, "file1", Credentials.Root, out _));
        var list = new DirEntryList();
        Assert.Equal(Errno.OK, Vop.ReadDir(dir, 0, list));
        Assert.Empty(list.Entries);
        dir.Release();
        mp!.Unmount();
    }

    [Fact]
    public void Lookup_DotDotPointingToItself_ReturnsItselfWithoutHanging()
    {
        byte[] img = Load("ffs1-le-8k-f2");
        (long off, FfsSuperblock sb) = Locate(img, "/emptydir");
        long db0 = sb.Order.I32(img, (int)off + Ufs1Dinode.Db);
        long dirStart = sb.FragToBytes(db0);
        uint self = sb.Order.U32(img, (int)dirStart);
        sb.Order.WU32(img.AsSpan((int)dirStart), 12 + DirectEntry.Ino, self);
        Assert.Equal(Errno.OK, MountMem(img, true, out Mount? mp, out _, out _));
        Assert.Equal(Errno.OK, Namei.Resolve(mp!, "/emptydir/../../..", NameiFlags.Follow, Credentials.Root, out Vnode? vp));
        Assert.Equal(self, vp!.Ino);
        vp.Release();
        mp!.Unmount();
    }

    [Fact]
    public void Lookup_EntryNamingFreeInode_ReturnsEio()
    {
        byte[] img = Load("ffs1-le-8k-f2");
        (long off, FfsSuperblock sb) = Locate(img, "/emptydir");
        long dirStart = sb.FragToBytes(sb.Order.I32(img, (int)off + Ufs1Dinode.Db));
        // Point ".." of emptydir at the last inode of the last group, which is free.
        sb.Order.WU32(img.AsSpan((int)dirStart), 12 + DirectEntry.Ino, (uint)(sb.TotalInodes - 1));
        Assert.Equal(Errno.OK, MountMem(img, true, out Mount? mp, out _, out _));
        Vnode dir = FfsTestMount.Resolve(mp!, "/emptydir");
        Assert.Equal(Errno.EIO, Vop.Lookup(dir, "..", Credentials.Root, out _));
        dir.Release();
        mp!.Unmount();
    }

    [Fact]
    public void Mount_ReadWriteOnUncleanFs_RefusedUnlessForced()
    {
        byte[] img = Load("ffs1-le-8k-f2");
        img[8192 + SuperblockFields.Clean] = 0;
        Errno e = MountMem(img, false, out _, out string? msg, out MemoryBlockDevice dev);
        Assert.Equal(Errno.EROFS, e);
        Assert.Contains("not clean", msg);
        Assert.Equal(0, dev.WriteCount);
        Assert.Equal(Errno.OK, MountMem(img, true, out Mount? ro, out _, out _));
        ro!.Unmount();
        var opts = new MountOptions { Force = true };
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(new MemoryBlockDevice(img), false, out Mount? rw, out _, opts));
        Assert.Equal(Errno.OK, rw!.Unmount());
        // Forced onto an unclean file system, it stays unclean.
        Assert.Equal(0, img[8192 + SuperblockFields.Clean] & FfsSuperblock.IsClean);
    }

    [Fact]
    public void Mount_WapblFlagWithoutALogLocation_RefusedWithoutWriting_ForceReadsWithoutIt()
    {
        byte[] img = Load("ffs2-le-8k-f2");
        FfsByteOrder.Little.W32(img.AsSpan(8192), SuperblockFields.Flags, FfsSuperblock.FlagWapbl);
        Errno e = MountMem(img, false, out _, out string? msg, out MemoryBlockDevice dev);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Contains("WAPBL log: unknown log version 0", msg);
        Assert.Equal(0, dev.WriteCount);
        Assert.Equal(Errno.EINVAL, MountMem(img, true, out _, out _, out _));
        var force = new MountOptions { Force = true };
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(new MemoryBlockDevice(img, readOnly: true), true, out Mount? ro, out _, force));
        ro!.Unmount();
    }

    /// <summary>
    /// The root inode's bit cleared in its group's map: the allocator offers inode 2 for the
    /// next new name. It is refused with a log line and left in use, and the next free
    /// number is taken, instead of a crash or a root overwritten by the new directory.
    /// </summary>
    [Theory]
    [InlineData("ffs1-le-8k-f2")]
    [InlineData("ffs2-be-8k-f2")]
    public void Create_WhenTheMapSaysALiveInodeIsFree_TakesAnotherAndKeepsIt(string name)
    {
        byte[] img = Load(name);
        FfsSuperblock sb = FfsSuperblockCheck.Find(new MemoryBlockDevice(img, readOnly: true), out _)!;
        int cgAt = (int)sb.FragToBytes(sb.CgTod(0));
        var cg = new CylinderGroup(img.AsSpan(cgAt, sb.CgSize), sb.Order);
        Assert.True(cg.InodeUsed(FfsSuperblock.RootIno));
        cg.SetInodeUsed(FfsSuperblock.RootIno, false);
        cg.SetInodeUsed(3, false);
        // The allocator starts from the group's rotor: point it at the cleared bits.
        cg.Irotor = 0;
        Assert.Equal(Errno.OK, MountMem(img, false, out Mount? mp, out string? msg, out MemoryBlockDevice dev));
        Vnode root = FfsTestMount.Resolve(mp!, "/");
        var before = FfsTestMount.Walk(mp!);
        Assert.Equal(Errno.OK, Vop.Mkdir(root, "x", 0x1ED, Credentials.Root, out Vnode? x));
        Assert.NotEqual((ulong)FfsSuperblock.RootIno, x!.Ino);
        Assert.NotEqual(3UL, x.Ino);
        x.Release();
        Assert.Equal(Errno.OK, Vop.Create(root, "f", 0x1A4, Credentials.Root, out Vnode? f));
        Assert.True(f!.Ino > 3, $"new file got inode {f.Ino}");
        f.Release();
        root.Release();
        before.Add("x");
        before.Add("f");
        Assert.Equal(before, FfsTestMount.Walk(mp!));
        Assert.Equal(Errno.OK, mp!.Unmount());
        Assert.Contains(FfsTestMount.LastLog, l => l.Contains("inode 2 is free in its cylinder group's map but in use", StringComparison.Ordinal));
        // The counts already counted the live inodes: with their bits set again, all agrees.
        FfsCheckReport check = FfsCheck.Run(dev);
        Assert.True(check.IsClean, check.ToString());
    }

    /// <summary>A pointer past the end of file that is also garbage: the checker names both.</summary>
    [Fact]
    public void Check_GarbagePointerPastTheEndOfFile_NamedAsOutsideTheDataArea()
    {
        byte[] img = Load("ffs2-be-8k-f2");
        (long at, FfsSuperblock sb) = Locate(img, "/hello.txt");
        sb.Order.W64(img.AsSpan((int)at), Ufs2Dinode.Db + 8, unchecked((long)0xff00000000000000));
        FfsCheckReport check = FfsCheck.Run(new MemoryBlockDevice(img, readOnly: true));
        Assert.Contains(check.Findings, f => f.Message == $"block 1 past the end of file, at {unchecked((long)0xff00000000000000)}, outside the data area");
    }

    /// <summary>
    /// hello.txt's block map names nested/a/file1's block as its block 3, past its end. Growing
    /// hello.txt over it (truncate, a write there, fallocate) is EIO: it would hand file1's
    /// bytes to hello.txt and then write into file1. Reads up to the end still work.
    /// </summary>
    [Fact]
    public void Grow_OverABlockMappedPastTheEnd_EioAndTheOtherFileIsUntouched()
    {
        byte[] img = Load("ffs2-le-8k-f2");
        (long victimAt, FfsSuperblock sb) = Locate(img, "/nested/a/file1");
        long victimBlock = sb.Order.I64(img, (int)victimAt + Ufs2Dinode.Db);
        (long helloAt, _) = Locate(img, "/hello.txt");
        sb.Order.W64(img.AsSpan((int)helloAt), Ufs2Dinode.Db + (3 * 8), victimBlock);

        Assert.Equal(Errno.OK, MountMem(img, false, out Mount? mp, out _, out _));
        Vnode hello = FfsTestMount.Resolve(mp!, "/hello.txt");
        VAttr grow = VAttr.ForSet(VAttrMask.Size);
        grow.Size = 4L * sb.Bsize;
        Assert.Equal(Errno.EIO, Vop.SetAttr(hello, grow, Credentials.Root));
        Assert.Equal(Errno.EIO, Vop.Write(hello, 3L * sb.Bsize, "over file1"u8, out _));
        Assert.Equal(Errno.EIO, Vop.Write(hello, 12, "appended"u8, out _));
        Assert.Equal("hello, rump\n"u8.ToArray(), FfsTestMount.ReadAll(hello));
        hello.Release();
        Assert.Equal(Errno.OK, mp!.Unmount());
        Assert.Contains(FfsTestMount.LastLog, l => l.Contains("block 3 mapped past the end of file", StringComparison.Ordinal));

        Assert.Equal(Errno.OK, MountMem(img, true, out mp, out _, out _));
        Vnode file1 = FfsTestMount.Resolve(mp!, "/nested/a/file1");
        Assert.Equal("level 1\n"u8.ToArray(), FfsTestMount.ReadAll(file1));
        file1.Release();
        Assert.Equal(Errno.OK, mp!.Unmount());
    }

    /// <summary>
    /// A directory whose di_size took a flipped bit (2^40 + 512): the directory is EIO with a
    /// log line (its size needs more storage than it owns), not an exception out of the name
    /// cache sized by di_size; the rest of the root is still there.
    /// </summary>
    [Fact]
    public void DirectoryWithHugeSize_IsEio()
    {
        var img = new FfsDamage(Corpus.Get("ffs2-le-8k-f2").ImagePath);
        ulong dir = img.Ino("/emptydir");
        img.SetInode(dir, d => d.Size = (1L << 40) + 512);
        Assert.Equal(Errno.OK, MountMem(img.Bytes, false, out Mount? mp, out _, out _));
        // The size needs a whole first block where the directory owns one DIRBLKSIZ's
        // fragments: the inode is refused at load, before any walk could begin.
        Assert.Equal(Errno.OK, mp!.Root(out Vnode? root));
        Assert.Equal(Errno.EIO, Vop.Lookup(root!, "emptydir", Credentials.Root, out _));
        Assert.Equal(Errno.OK, Vop.Lookup(root!, "hello.txt", Credentials.Root, out Vnode? hello));
        hello!.Release();
        root!.Release();
        Assert.Equal(Errno.OK, mp!.Unmount());
    }

    /// <summary>
    /// A file whose di_size (damaged: 2^52 + 8) lies past what an 8 KiB-block UFS1 map
    /// addresses, above fs_maxfilesize: the inode is refused with EIO, as fsck_ffs would
    /// clear it, rather than read as a hole without end. At fs_maxfilesize a small file is
    /// refused too (its tail fragments would be read as a whole block); a file of whole
    /// blocks loads, and reading far past its blocks gives zeros and SEEK_DATA finds no more
    /// data, as holes do, rather than EFBIG, which neither call has.
    /// </summary>
    [Fact]
    public void SizePastTheBlockMap_RefusedAndLargestSizeReadsAsHole()
    {
        var img = new FfsDamage(Corpus.Get("ffs1-le-8k-f2").ImagePath);
        ulong ino = img.Ino("/hello.txt");
        img.SetInode(ino, d => d.Size = (1L << 52) + 8);
        Assert.Equal(Errno.OK, MountMem(img.Bytes, true, out Mount? mp, out _, out _));
        Assert.Equal(Errno.OK, mp!.Root(out Vnode? root));
        Assert.Equal(Errno.EIO, Vop.Lookup(root!, "hello.txt", Credentials.Root, out _));
        root!.Release();
        Assert.Equal(Errno.OK, mp!.Unmount());

        // At fs_maxfilesize the small file's fragments would be read as a whole block: refused.
        img.SetInode(ino, d => d.Size = img.Sb.MaxFileSize);
        Assert.Equal(Errno.OK, MountMem(img.Bytes, true, out mp, out _, out _));
        Assert.Equal(Errno.OK, mp!.Root(out root));
        Assert.Equal(Errno.EIO, Vop.Lookup(root!, "hello.txt", Credentials.Root, out _));
        root!.Release();
        Assert.Equal(Errno.OK, mp!.Unmount());

        // A file of whole blocks (mapped through indirect blocks) raised to fs_maxfilesize loads.
        ulong big = img.Ino("/big/double-indirect.bin");
        long oldSize = img.Inode(big).Size;
        img.SetInode(big, d => d.Size = img.Sb.MaxFileSize);
        Assert.Equal(Errno.OK, MountMem(img.Bytes, true, out mp, out _, out _));
        Vnode vp = FfsTestMount.Resolve(mp!, "/big/double-indirect.bin");
        byte[] buf = new byte[16];
        Assert.Equal(Errno.OK, Vop.Read(vp, img.Sb.MaxFileSize - 16, buf, out int n));
        Assert.Equal(16, n);
        Assert.All(buf, b => Assert.Equal(0, b));
        Assert.Equal(Errno.ENXIO, Vop.Seek(vp, oldSize, SeekWhence.Data, out _));
        Assert.Equal(Errno.OK, Vop.Seek(vp, 0, SeekWhence.Hole, out long hole));
        Assert.Equal(oldSize, hole);
        vp.Release();
        Assert.Equal(Errno.OK, mp!.Unmount());
    }

    /// <summary>
    /// UFS2 cylinder group 0's cg_initediblk (damaged: negative, not on an inode block's
    /// edge, or 0 with inodes in use) would have the allocator zero live inodes, or blocks
    /// outside the inode table, before it hands out a new one. Creating a file is EIO, and
    /// the files already there keep their contents.
    /// </summary>
    [Theory]
    [InlineData(-1)]
    [InlineData(7)]
    [InlineData(0)]
    public void DamagedInitialisedInodeCount_CreateIsEioAndLiveInodesStay(int initedIblk)
    {
        var img = new FfsDamage(Corpus.Get("ffs2-le-8k-f2").ImagePath);
        img.WithGroup(0, g => g.InitedIblk = initedIblk);
        Assert.Equal(Errno.OK, MountMem(img.Bytes, false, out Mount? mp, out _, out _));
        Assert.Equal(Errno.OK, mp!.Root(out Vnode? root));
        Assert.Equal(Errno.EIO, Vop.Create(root!, "new", 0x1A4, Credentials.Root, out _));
        root!.Release();
        Vnode vp = FfsTestMount.Resolve(mp!, "/hello.txt");
        byte[] buf = new byte[12];
        Assert.Equal(Errno.OK, Vop.Read(vp, 0, buf, out int n));
        Assert.Equal("hello, rump\n"u8.ToArray(), buf[..n]);
        vp.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
    }

    /// <summary>
    /// An entry whose d_namlen shrank (9 to 1), so its name is no longer NUL-terminated:
    /// ufs_dirbadentry and fsck_ffs call that a bad entry, and so do the driver and the
    /// checker, so a new entry is never placed in a chunk the checker would then ignore.
    /// </summary>
    [Fact]
    public void EntryWhoseNameIsNotTerminated_IsBadForTheDriverAsForTheChecker()
    {
        var img = new FfsDamage(Corpus.Get("ffs1-le-8k-f2").ImagePath);
        img.WithEntry(FfsSuperblock.RootIno, "hello.txt", (b, off, _) => b[off + DirectEntry.NamLen] = 1);
        Assert.Contains(FfsCheck.Run(img.Device).Findings, f => f.Kind == FfsFindingKind.Directory && f.Message.Contains("bad entry", StringComparison.Ordinal));
        Assert.Equal(Errno.OK, MountMem(img.Bytes, false, out Mount? mp, out _, out _));
        Assert.Equal(Errno.OK, mp!.Root(out Vnode? root));
        Assert.Equal(Errno.ENOENT, Vop.Lookup(root!, "zz", Credentials.Root, out _));
        Assert.Equal(Errno.EIO, Vop.Mkdir(root!, "zz", 0x1ED, Credentials.Root, out _));
        root!.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
    }

    [Fact]
    public void Mount_UnknownOption_Einval()
    {
        var opts = new MountOptions();
        opts.Extra["bogus"] = "1";
        Errno e = new FfsDriver().Mount(new MemoryBlockDevice(Load("ffs1-le-8k-f2")), opts, out _, out string? msg);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Contains("bogus", msg);
    }
}
