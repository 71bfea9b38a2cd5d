using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// fallocate mode 0 on ext2 and ext4, on images whose free space holds garbage (0xAA): the
/// range reads as zeros where it was a hole, data already there stays, the size grows to
/// cover it, e2fsck and debugfs agree; a range the volume cannot hold fails with ENOSPC and
/// leaves the file and the free counts as they were.
/// </summary>
public class Ext2FallocateTests
{
    private static readonly Credentials Root = Credentials.Root;

    private static string GarbageImage(ScratchDir scratch, string type, int mib) =>
        Ext2FreshBlockTests.GarbageImage(scratch, type, mib, blockSize: 1024);

    private static Vnode Create(Mount m, string name)
    {
        Assert.Equal(Errno.OK, m.Root(out Vnode? root));
        Assert.Equal(Errno.OK, Vop.Create(root!, name, 0x1A4, Root, out Vnode? vp));
        root!.Release();
        return vp!;
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Allocate_FillsHolesWithZeros_KeepsData_GrowsTheSize(string type)
    {
        using var scratch = new ScratchDir();
        string image = GarbageImage(scratch, type, 32);
        byte[] head = [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 7 + 1))];
        byte[] tail = [9, 8, 7];
        const int TailAt = 700_000;
        byte[] expected = new byte[1_000_000];
        head.CopyTo(expected, 0);
        tail.CopyTo(expected, TailAt);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode f = Create(m, "f");
            Assert.Equal(Errno.OK, Vop.Write(f, 0, head, out _));
            Assert.Equal(Errno.OK, Vop.Write(f, TailAt, tail, out _)); // a hole between the two
            Assert.Equal(Errno.OK, Vop.Allocate(f, 3000, 1_000_000 - 3000));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr va));
            Assert.Equal(1_000_000, va.Size);
            Assert.True(va.BytesUsed >= 1_000_000, $"only {va.BytesUsed} bytes allocated");
            Assert.Equal(expected, Ext2Fixture.ReadAll(f));
            // ext4's new blocks are unwritten extents, which SEEK_HOLE reports as holes (as
            // Linux does): the first starts after the block the head ends in. ext2's are zeroed.
            Assert.Equal(Errno.OK, Vop.Seek(f, 0, SeekWhence.Hole, out long hole));
            Assert.Equal(type == "ext4" ? 5120 : 1_000_000, hole);

            // Inside what exists: nothing changes, the size included.
            Assert.Equal(Errno.OK, Vop.Allocate(f, 10, 20_000));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out va));
            Assert.Equal(1_000_000, va.Size);
            Assert.Equal(expected, Ext2Fixture.ReadAll(f));

            // A write into the preallocated range (ext4: into an unwritten extent) lands, and
            // the rest of the range still reads as zeros.
            byte[] middle = [.. Enumerable.Range(0, 10_000).Select(i => (byte)(i % 253 + 1))];
            Assert.Equal(Errno.OK, Vop.Write(f, 300_123, middle, out _));
            middle.CopyTo(expected, 300_123);
            Assert.Equal(expected, Ext2Fixture.ReadAll(f));
            f.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
        if (type == "ext4")
        {
            // Preallocated, never written: unwritten extents, as the kernel's fallocate leaves them.
            Assert.Contains("Uninit", OracleTool.RunExpect(0, "debugfs", ["-R", "ex /f", image]).Stdout, StringComparison.Ordinal);
        }
        string dump = scratch.File("f.out");
        OracleTool.RunExpect(0, "debugfs", ["-R", $"dump /f {dump}", image]);
        Assert.Equal(expected, File.ReadAllBytes(dump));
        // The kernel's ext4 reads the same bytes (unwritten extents as zeros, not the 0xAA under them).
        SortedDictionary<string, string>? kernel = Ext2Oracle.KernelTree(image);
        if (kernel is not null)
        {
            Assert.Equal("f:" + Ext2Fixture.Sha256(expected), kernel["f"]);
        }
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Allocate_MoreThanTheVolumeHolds_Enospc_FileAndFreeSpaceUnchanged(string type)
    {
        using var scratch = new ScratchDir();
        string image = GarbageImage(scratch, type, 8);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode f = Create(m, "f");
            Assert.Equal(Errno.OK, Vop.Write(f, 0, "keep"u8, out _));
            Assert.Equal(Errno.OK, Vop.Statvfs(m, out StatVfs before));
            Assert.Equal(Errno.ENOSPC, Vop.Allocate(f, 0, 64L << 20));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr va));
            Assert.Equal(4, va.Size);
            Assert.Equal("keep"u8.ToArray(), Ext2Fixture.ReadAll(f));
            Assert.Equal(Errno.OK, Vop.Statvfs(m, out StatVfs after));
            Assert.Equal(before.BlocksFree, after.BlocksFree);
            Assert.Equal(Errno.EFBIG, Vop.Allocate(f, long.MaxValue - 10, 100));
            f.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
    }

    [Fact]
    public void Preallocate_KeepSize_Ext4ReservesPastTheEnd_Ext2RefusesIt()
    {
        using var scratch = new ScratchDir();
        string image = GarbageImage(scratch, "ext4", 32);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode f = Create(m, "f");
            Assert.Equal(Errno.OK, Vop.Write(f, 0, "hi"u8, out _));
            Assert.Equal(Errno.OK, Vop.Preallocate(f, 0, 1 << 20, Root));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr va));
            Assert.Equal(2, va.Size);
            Assert.True(va.BytesUsed >= 1 << 20, $"only {va.BytesUsed} bytes reserved");
            Assert.Equal("hi"u8.ToArray(), Ext2Fixture.ReadAll(f));
            // Writing past the end into the reservation: zeros between, the data after.
            Assert.Equal(Errno.OK, Vop.Write(f, 500_000, "end"u8, out _));
            byte[] all = Ext2Fixture.ReadAll(f);
            Assert.Equal(500_003, all.Length);
            Assert.All(all[2..500_000], b => Assert.Equal(0, b));
            f.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
        Assert.Contains("Uninit", OracleTool.RunExpect(0, "debugfs", ["-R", "ex /f", image]).Stdout, StringComparison.Ordinal);

        string ext2 = GarbageImage(scratch, "ext2", 8);
        Mount m2 = Ext2Fixture.MountImage(ext2, readOnly: false);
        try
        {
            Vnode g = Create(m2, "g");
            Assert.Equal(Errno.EOPNOTSUPP, Vop.Preallocate(g, 0, 4096, Root));
            g.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m2.Unmount());
        }
        Ext2Oracle.AssertFsckClean(ext2);
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void PunchHole_FreesWholeBlocks_ZeroesTheEdges_KeepsTheSize_ThenZeroRangeFills(string type)
    {
        using var scratch = new ScratchDir();
        string image = GarbageImage(scratch, type, 32);
        byte[] expected = new byte[4 << 20];
        new Random(5).NextBytes(expected);
        // 1 KiB blocks: the hole reaches from the direct blocks through the single indirect
        // block into part of the double indirect tree (ext2), or cuts one extent in two (ext4).
        const int HoleAt = 1000, HoleLength = 3_000_000;
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode f = Create(m, "f");
            Assert.Equal(Errno.OK, Vop.Write(f, 0, expected, out _));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr before));
            Assert.Equal(Errno.OK, Vop.PunchHole(f, HoleAt, HoleLength, Root));
            expected.AsSpan(HoleAt, HoleLength).Clear();
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr after));
            Assert.Equal(expected.Length, after.Size);
            long wholeBlocks = ((HoleAt + HoleLength) / 1024) - ((HoleAt + 1023) / 1024);
            Assert.True(before.BytesUsed - after.BytesUsed >= wholeBlocks * 1024, $"{before.BytesUsed} -> {after.BytesUsed} bytes used");
            Assert.Equal(expected, Ext2Fixture.ReadAll(f));
            Assert.Equal(Errno.OK, Vop.Seek(f, 0, SeekWhence.Hole, out long hole));
            Assert.Equal(1024, hole);
            Assert.Equal(Errno.OK, Vop.Seek(f, hole, SeekWhence.Data, out long data));
            Assert.Equal((HoleAt + HoleLength) / 1024 * 1024, data);

            // Past the format's largest file: EFBIG, as vfs_fallocate answers.
            Assert.Equal(Errno.EFBIG, Vop.PunchHole(f, 1L << 48, 4096, Root));

            // Again over the hole and past the end: nothing more to free, the size stays.
            Assert.Equal(Errno.OK, Vop.PunchHole(f, 0, 8 << 20, Root));
            expected.AsSpan().Clear();
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out after));
            Assert.Equal(expected.Length, after.Size);
            Assert.Equal(0, after.BytesUsed);

            // ZERO_RANGE: storage again, zeros, and a size that covers it.
            Assert.Equal(Errno.OK, Vop.ZeroRange(f, 4_000_000, 500_000, keepSize: false, Root));
            Assert.Equal(Errno.OK, Vop.GetAttr(f, out after));
            Assert.Equal(4_500_000, after.Size);
            Assert.True(after.BytesUsed >= 500_000, $"{after.BytesUsed} bytes used");
            Assert.All(Ext2Fixture.ReadAll(f), b => Assert.Equal(0, b));
            f.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void PunchHole_InTheMiddle_DebugfsAndTheKernelReadTheSameBytes(string type)
    {
        using var scratch = new ScratchDir();
        string image = GarbageImage(scratch, type, 32);
        byte[] expected = new byte[1 << 20];
        new Random(6).NextBytes(expected);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode f = Create(m, "f");
            Assert.Equal(Errno.OK, Vop.Write(f, 0, expected, out _));
            Assert.Equal(Errno.OK, Vop.PunchHole(f, 300_001, 200_000, Root));
            Assert.Equal(Errno.OK, Vop.PunchHole(f, 700_000, 10, Root)); // inside one block
            f.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        expected.AsSpan(300_001, 200_000).Clear();
        expected.AsSpan(700_000, 10).Clear();
        Ext2Oracle.AssertFsckClean(image);
        string dumped = scratch.File("dumped");
        OracleTool.RunExpect(0, "debugfs", ["-R", $"dump /f {dumped}", image]);
        Assert.Equal(expected, File.ReadAllBytes(dumped));
        SortedDictionary<string, string>? kernel = Ext2Oracle.KernelTree(image);
        if (kernel is not null)
        {
            Assert.Equal("f:" + Ext2Fixture.Sha256(expected), kernel["f"]);
        }
    }
}
