using System.Text;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>Extended attributes: user.* written to the attribute block, read back, checked by e2fsck and debugfs.</summary>
public class Ext2XattrTests
{
    private static readonly Credentials Root = Credentials.Root;

    /// <summary>
    /// As ext4_xattr_set_handle places them: an attribute that fits the inode's spare space
    /// goes there and costs no block; one that does not goes to the block; with 128-byte
    /// inodes there is no spare space. debugfs and e2fsck read both places.
    /// </summary>
    [Theory]
    [InlineData("256", true)]
    [InlineData("128", false)]
    public void SmallAttributesGoInTheInode_LargeOnesToTheBlock(string inodeSize, bool roomInInode)
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("place.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-I", inodeSize, image, "8M");
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Create(root!, "f", 0x1A4, Root, out Vnode? f));
            Assert.Equal(Errno.OK, Vop.Statvfs(m, out StatVfs before));
            Assert.Equal(Errno.OK, Vop.SetXattr(f!, "user.small", "fits"u8, XattrSetMode.Any, Root));
            Assert.Equal(Errno.OK, Vop.Statvfs(m, out StatVfs afterSmall));
            Assert.Equal(roomInInode ? before.BlocksFree : before.BlocksFree - 1, afterSmall.BlocksFree);
            Assert.Equal(Errno.OK, Vop.SetXattr(f!, "user.large", new byte[300], XattrSetMode.Any, Root));
            Assert.Equal(Errno.OK, Vop.SetXattr(f!, "user.small", "still fits"u8, XattrSetMode.Replace, Root));
            Assert.Equal(Errno.OK, Vop.GetXattr(f!, "user.small", Root, out byte[]? small));
            Assert.Equal("still fits"u8.ToArray(), small);
            f!.Release();
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
        string stat = OracleTool.RunExpect(0, "debugfs", "-R", "stat f", image).Stdout;
        Assert.DoesNotContain("File ACL: 0", stat, StringComparison.Ordinal); // the large one needs the block
        Assert.Contains("user.small (10) = \"still fits\"", stat, StringComparison.Ordinal);
        Assert.Contains("user.large (300)", stat, StringComparison.Ordinal);
        // The block holds only what did not fit the inode.
        long block = Ext2Oracle.AttributeBlockOf(image, "f");
        byte[] blockBytes = File.ReadAllBytes(image).AsSpan((int)(block * 1024), 1024).ToArray(); // 8M ext4: 1 KiB blocks
        Assert.Equal(!roomInInode, blockBytes.AsSpan().IndexOf("small"u8) >= 0);
        Assert.True(blockBytes.AsSpan().IndexOf("large"u8) >= 0);
    }

    [Theory]
    [InlineData("ext2-1k")]
    [InlineData("ext4-4k")]
    public void UserXattrs_SetGetRemove_AreFsckCleanAndDebugfsReadsThem(string flavour)
    {
        using var scratch = new ScratchDir();
        string image = Ext2WriteTests.MakeImage(scratch, flavour, "16M");
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Create(root!, "tagged", 0x1A4, Root, out Vnode? f));
            Assert.Equal(Errno.OK, Vop.SetXattr(f!, "user.colour", "blue"u8, XattrSetMode.Any, Root));
            Assert.Equal(Errno.OK, Vop.SetXattr(f!, "user.big", new byte[700], XattrSetMode.Create, Root));
            Assert.Equal(Errno.EEXIST, Vop.SetXattr(f!, "user.big", "x"u8, XattrSetMode.Create, Root));
            Assert.Equal(Errno.ENODATA, Vop.SetXattr(f!, "user.none", "x"u8, XattrSetMode.Replace, Root));
            Assert.Equal(Errno.OK, Vop.SetXattr(f!, "user.colour", "green"u8, XattrSetMode.Replace, Root));
            Assert.Equal(Errno.OK, Vop.SetXattr(f!, "user.gone", "soon"u8, XattrSetMode.Any, Root));
            Assert.Equal(Errno.OK, Vop.RemoveXattr(f!, "user.gone", Root));
            Assert.Equal(Errno.ENODATA, Vop.GetXattr(f!, "user.gone", Root, out _));
            Assert.Equal(Errno.OK, Vop.GetXattr(f!, "user.colour", Root, out byte[]? v));
            Assert.Equal("green", Encoding.ASCII.GetString(v!));
            Assert.Equal(Errno.OK, Vop.ListXattr(f!, Credentials.Root, out IReadOnlyList<string> names));
            Assert.Equal(["user.big", "user.colour"], names.Order().ToArray());
            Assert.Equal(Errno.EOPNOTSUPP, Vop.SetXattr(f!, "system.x", "1"u8, XattrSetMode.Any, Root));
            f!.Release();

            // A file whose attributes all go away gives its block back.
            Assert.Equal(Errno.OK, Vop.Statvfs(m, out StatVfs before));
            Assert.Equal(Errno.OK, Vop.Create(root!, "brief", 0x1A4, Root, out Vnode? g));
            Assert.Equal(Errno.OK, Vop.SetXattr(g!, "user.a", "1"u8, XattrSetMode.Any, Root));
            Assert.Equal(Errno.OK, Vop.RemoveXattr(g!, "user.a", Root));
            g!.Release();
            Assert.Equal(Errno.OK, Vop.Statvfs(m, out StatVfs after));
            Assert.Equal(before.BlocksFree, after.BlocksFree);
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
        ToolResult r = OracleTool.RunExpect(0, "debugfs", "-R", "ea_get tagged user.colour", image);
        Assert.Contains("green", r.Stdout, StringComparison.Ordinal);

        Mount ro = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Vnode f = Ext2Fixture.Resolve(ro, "tagged");
            Assert.Equal(Errno.OK, Vop.GetXattr(f, "user.big", Root, out byte[]? big));
            Assert.Equal(700, big!.Length);
            f.Release();
        }
        finally
        {
            ro.Unmount();
        }
    }
}

/// <summary>Attributes written by debugfs (in the inode and in a block) read through the driver.</summary>
public class Ext2XattrReadTests
{
    [Fact]
    public void XattrsFromDebugfs_InInodeAndInBlock_ReadBack()
    {
        using var scratch = new ScratchDir();
        string image = Corpus.Get("ext4-default").CopyTo(scratch);
        string bigFile = scratch.File("big.val");
        File.WriteAllText(bigFile, new string('z', 600));
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "ea_set hello.txt user.small tiny", image);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", $"ea_set -f {bigFile} hello.txt user.large", image);
        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Vnode f = Ext2Fixture.Resolve(m, "hello.txt");
            Assert.Equal(Errno.OK, Vop.GetXattr(f, "user.small", Credentials.Root, out byte[]? small));
            Assert.Equal("tiny", Encoding.ASCII.GetString(small!));
            Assert.Equal(Errno.OK, Vop.GetXattr(f, "user.large", Credentials.Root, out byte[]? large));
            Assert.Equal(new string('z', 600), Encoding.ASCII.GetString(large!));
            Assert.Equal(Errno.OK, Vop.ListXattr(f, Credentials.Root, out IReadOnlyList<string> names));
            Assert.Contains("user.small", names);
            Assert.Contains("user.large", names);
            f.Release();
        }
        finally
        {
            m.Unmount();
        }
    }
}
