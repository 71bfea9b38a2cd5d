using RumpFs.Drivers.Tests.Fsck;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// Files whose attributes come out identical share one attribute block with a reference per
/// file, as ext4's mbcache makes them share: one block, not one per file, on file systems
/// whose inodes have no spare space. e2fsck checks each block's reference count against the
/// files naming it and each file's i_blocks; debugfs shows which block each file names.
/// </summary>
public class Ext2XattrSharingTests
{
    private static readonly Credentials Root = Credentials.Root;

    private static readonly byte[] Big = [.. Enumerable.Range(0, 300).Select(i => (byte)i)];

    private static long FreeBlocks(Mount m)
    {
        Assert.Equal(Errno.OK, Vop.Statvfs(m, out StatVfs s));
        return s.BlocksFree;
    }

    [Theory]
    [InlineData("ext4")]
    [InlineData("ext2")]
    public void IdenticalAttributes_ShareOneBlock_CopiedOnChange_FreedWithTheLast(string type)
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("share.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", type, "-I", "128", image, "8M");
        const int Files = 12;
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            var files = new Vnode[Files];
            for (int i = 0; i < Files; i++)
            {
                Assert.Equal(Errno.OK, Vop.Create(root!, $"f{i}", 0x1A4, Root, out Vnode? f));
                files[i] = f!;
            }
            long before = FreeBlocks(m);
            foreach (Vnode f in files)
            {
                Assert.Equal(Errno.OK, Vop.SetXattr(f, "user.big", Big, XattrSetMode.Any, Root));
                Assert.Equal(Errno.OK, Vop.SetXattr(f, "user.tag", "same"u8, XattrSetMode.Any, Root));
            }
            Assert.Equal(before - 1, FreeBlocks(m));
            foreach (Vnode f in files)
            {
                Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr va));
                Assert.Equal(1024L, va.BytesUsed); // each file is charged the block it names
            }

            // A change gives that file a copy; setting it back shares again.
            Assert.Equal(Errno.OK, Vop.SetXattr(files[3], "user.tag", "other"u8, XattrSetMode.Replace, Root));
            Assert.Equal(before - 2, FreeBlocks(m));
            Assert.Equal(Errno.OK, Vop.GetXattr(files[4], "user.tag", Root, out byte[]? tag));
            Assert.Equal("same"u8.ToArray(), tag);
            Assert.Equal(Errno.OK, Vop.SetXattr(files[3], "user.tag", "same"u8, XattrSetMode.Replace, Root));
            Assert.Equal(before - 1, FreeBlocks(m));
            Assert.Equal(Errno.OK, Vop.SetXattr(files[5], "user.tag", "own"u8, XattrSetMode.Replace, Root));
            foreach (Vnode f in files)
            {
                f.Release();
            }
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2CheckImages.AssertBothClean(image);
        long shared = Ext2Oracle.AttributeBlockOf(image, "f0");
        Assert.NotEqual(0, shared);
        for (int i = 1; i < Files; i++)
        {
            Assert.Equal(i == 5, Ext2Oracle.AttributeBlockOf(image, $"f{i}") != shared);
        }
        Assert.Contains("user.tag (3) = \"own\"", OracleTool.RunExpect(0, "debugfs", "-R", "stat f5", image).Stdout, StringComparison.Ordinal);

        // Removing the files drops one reference each; the last frees the block.
        m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            long full = FreeBlocks(m);
            for (int i = 0; i < Files; i++)
            {
                Assert.Equal(Errno.OK, Vop.Remove(root!, $"f{i}", Root));
                if (i == 0)
                {
                    Assert.Equal(full, FreeBlocks(m));
                }
            }
            Assert.Equal(full + 2, FreeBlocks(m));
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
    }

    /// <summary>A block that mke2fs -d wrote is shared too, once the driver has read it.</summary>
    [Fact]
    public void ABlockMke2fsWrote_IsSharedByANewFileWithTheSameAttributes()
    {
        using var scratch = new ScratchDir();
        string tree = scratch.File("tree");
        Directory.CreateDirectory(tree);
        string host = Path.Combine(tree, "a");
        File.WriteAllText(host, "a\n");
        OracleTool.RunExpect(0, "setfattr", "-n", "user.big", "-v", "0x" + Convert.ToHexStringLower(Big), host);
        string image = scratch.File("mke2fs.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-I", "128", "-d", tree, image, "8M");
        long block = Ext2Oracle.AttributeBlockOf(image, "a");
        Assert.NotEqual(0, block);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode a = Ext2Fixture.Resolve(m, "a");
            Assert.Equal(Errno.OK, Vop.GetXattr(a, "user.big", Root, out byte[]? value));
            Assert.Equal(Big, value);
            a.Release();
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Create(root!, "b", 0x1A4, Root, out Vnode? b));
            Assert.Equal(Errno.OK, Vop.SetXattr(b!, "user.big", Big, XattrSetMode.Any, Root));
            b!.Release();
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
        Assert.Equal(block, Ext2Oracle.AttributeBlockOf(image, "b"));
    }

    /// <summary>Files made under a directory with a default ACL inherit identical ACLs: with 128-byte inodes they share one block.</summary>
    [Fact]
    public void InheritedAcls_OnSmallInodes_ShareOneBlock()
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("acl.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-I", "128", image, "8M");
        byte[] inherited = new PosixAcl([
            new AclEntry(AclTag.UserObj, 7, PosixAcl.UndefinedId), new AclEntry(AclTag.User, 6, 1234),
            new AclEntry(AclTag.GroupObj, 5, PosixAcl.UndefinedId), new AclEntry(AclTag.Mask, 7, PosixAcl.UndefinedId),
            new AclEntry(AclTag.Other, 0, PosixAcl.UndefinedId)]).ToXattr();
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Mkdir(root!, "d", 0x1ED, Root, out Vnode? d));
            Assert.Equal(Errno.OK, Vop.SetXattr(d!, PosixAcl.DefaultName, inherited, XattrSetMode.Any, Root));
            long before = FreeBlocks(m);
            for (int i = 0; i < 20; i++)
            {
                Assert.Equal(Errno.OK, Vop.Create(d!, $"f{i}", 0x1A4, Root, out Vnode? f));
                Assert.Equal(Errno.OK, Vop.GetXattr(f!, PosixAcl.AccessName, Root, out byte[]? acl));
                Assert.NotNull(acl);
                f!.Release();
            }
            Assert.Equal(before - 1, FreeBlocks(m));
            d!.Release();
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2CheckImages.AssertBothClean(image);
        Assert.Equal(Ext2Oracle.AttributeBlockOf(image, "d/f0"), Ext2Oracle.AttributeBlockOf(image, "d/f19"));
    }
}
