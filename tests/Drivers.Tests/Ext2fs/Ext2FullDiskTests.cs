using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// Filling an ext4 file system to the last block: the extent tree blocks a growing file
/// needs are taken with its data, so the write that finds no room is refused (ENOSPC) and
/// everything written before it stays, with the extents that map it. Before, the tree's
/// block was looked for only at write-back, and a full file system lost the file's new
/// extents (size 0 on disk, data blocks leaked).
/// </summary>
public class Ext2FullDiskTests
{
    private static readonly Credentials Root = Credentials.Root;

    [Theory]
    [InlineData("1024")]
    [InlineData("4096")]
    public void WritingUntilFull_KeepsEveryAcceptedByte_AndTheTreeThatMapsIt(string blockSize)
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("full.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", blockSize, image, "48M");
        byte[] chunk = new byte[256 * 1024];
        long accepted = 0;
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Create(root!, "fill", 0x1A4, Root, out Vnode? f));
            Errno e;
            do
            {
                for (int i = 0; i < chunk.Length; i += 8)
                {
                    BitConverter.TryWriteBytes(chunk.AsSpan(i), accepted + i);
                }
                e = Vop.Write(f!, accepted, chunk, Root, out int n);
                accepted += n;
            }
            while (e == Errno.OK);
            Assert.Equal(Errno.ENOSPC, e);
            Assert.True(accepted > 32L << 20, $"only {accepted} bytes accepted");
            Assert.Equal(Errno.OK, Vop.GetAttr(f!, out VAttr va));
            Assert.Equal(accepted, va.Size);
            f!.Release();
            root!.Release();
        }
        finally
        {
            m.Unmount(force: true);
        }
        Ext2Oracle.AssertFsckClean(image);
        string stat = OracleTool.RunExpect(0, "debugfs", "-R", "stat fill", image).Stdout;
        Assert.Contains($"Size: {accepted}", stat, StringComparison.Ordinal);

        Mount ro = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Vnode f = Ext2Fixture.Resolve(ro, "fill");
            byte[] back = Ext2Fixture.ReadAll(f);
            f.Release();
            Assert.Equal(accepted, back.Length);
            for (long off = 0; off + 8 <= accepted; off += 8)
            {
                long expected = off;
                if (BitConverter.ToInt64(back, (int)off) != expected)
                {
                    Assert.Fail($"byte {off}: expected {expected}, read {BitConverter.ToInt64(back, (int)off)}");
                }
            }
        }
        finally
        {
            ro.Unmount();
        }
    }

    /// <summary>
    /// Writes into preallocated space on a full ext4 split its unwritten extent, and the tree
    /// then needs blocks of its own: they come from the reserved pool, as the kernel takes
    /// them (EXT4_GET_BLOCKS_METADATA_NOFAIL), so every such write succeeds, even root's
    /// after the rest of the disk is gone; statfs shows the pool as free but not available.
    /// </summary>
    [Fact]
    public void WritesIntoPreallocatedSpace_OnAFullDisk_TakeTheirTreeBlocksFromThePool()
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("prealloc.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-m", "0", image, "16M");
        const int Blocks = 200;
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Create(root!, "pre", 0x1A4, Root, out Vnode? pre));
            Assert.Equal(Errno.OK, Vop.Allocate(pre!, 0, Blocks * 1024));
            Assert.Equal(Errno.OK, Vop.Create(root!, "fill", 0x1A4, Root, out Vnode? fill));
            long at = 0;
            Errno e;
            do
            {
                e = Vop.Write(fill!, at, new byte[64 * 1024], Root, out int n);
                at += n;
            }
            while (e == Errno.OK);
            Assert.Equal(Errno.ENOSPC, e);
            Assert.Equal(Errno.OK, Vop.Statvfs(m, out StatVfs full));
            Assert.Equal(0, full.BlocksAvailable);
            Assert.True(full.BlocksFree > 0, "the pool should still be free");

            // Every other block: each write cuts the unwritten extent, 100 extents in all,
            // far more than the inode's four.
            for (int b = 0; b < Blocks; b += 2)
            {
                byte[] data = new byte[1024];
                Array.Fill(data, (byte)(b + 1));
                Assert.Equal(Errno.OK, Vop.Write(pre!, b * 1024L, data, Root, out int n));
                Assert.Equal(1024, n);
            }
            pre!.Release();
            fill!.Release();
            root!.Release();
            Assert.Equal(Errno.OK, m.Unmount());
        }
        finally
        {
            if (!m.IsUnmounted)
            {
                m.Unmount(force: true);
            }
        }
        Ext2Oracle.AssertFsckClean(image);
        string dumped = scratch.File("pre.out");
        OracleTool.RunExpect(0, "debugfs", "-R", $"dump pre {dumped}", image);
        byte[] back = File.ReadAllBytes(dumped);
        Assert.Equal(Blocks * 1024, back.Length);
        for (int b = 0; b < Blocks; b++)
        {
            byte want = b % 2 == 0 ? (byte)(b + 1) : (byte)0;
            Assert.True(back.AsSpan(b * 1024, 1024).IndexOfAnyExcept(want) < 0, $"block {b} should hold {want}");
        }
    }
}
