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
}
