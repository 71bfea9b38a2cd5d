using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>Superblock state, mount count and the errors= behaviour, as dumpe2fs sees them.</summary>
public class Ext2SuperblockStateTests
{
    private static string Field(string image, string name)
    {
        ToolResult r = OracleTool.RunExpect(0, "dumpe2fs", "-h", image);
        string line = r.Stdout.Split('\n').First(l => l.StartsWith(name + ":", StringComparison.Ordinal));
        return line[(name.Length + 1)..].Trim();
    }

    [Fact]
    public void ReadWriteMount_CountsTheMount_MarksInUse_AndCleanAfterUnmount()
    {
        using var scratch = new ScratchDir();
        string image = Ext2WriteTests.MakeImage(scratch, "ext4-4k", "16M");
        int count = int.Parse(Field(image, "Mount count"));
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Assert.Equal("not clean", Field(image, "Filesystem state"));
        // A second read-write mount of an in-use file system is refused unless forced.
        Errno e = Ext2Fixture.TryMount(scratch.File("ext4-4k.img"), readOnly: false, null, out _, out _);
        Assert.NotEqual(Errno.OK, e);
        Assert.Equal(Errno.OK, m.Unmount());
        Assert.Equal("clean", Field(image, "Filesystem state"));
        Assert.Equal(count + 1, int.Parse(Field(image, "Mount count")));
        Ext2Oracle.AssertFsckClean(image);
    }

    [Fact]
    public void UncleanImage_ReadWriteRefused_ForceAllowed()
    {
        using var scratch = new ScratchDir();
        string image = Ext2WriteTests.MakeImage(scratch, "ext2-1k", "16M");
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "ssv state 0", image);
        Assert.Equal(Errno.EUCLEAN, Ext2Fixture.TryMount(image, readOnly: false, null, out _, out string? msg));
        Assert.Contains("not clean", msg);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false, "force");
        Assert.Equal(Errno.OK, m.Unmount());
    }

    [Fact]
    public void ErrorsRemountRo_CorruptionFound_MountBecomesReadOnly()
    {
        using var scratch = new ScratchDir();
        string image = Corpus.Get("ext4-default").CopyTo(scratch);
        OracleTool.RunExpect(0, "tune2fs", "-e", "remount-ro", image);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "sif hello.txt block[5] 0x7ffffff0", image);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode f = Ext2Fixture.Resolve(m, "hello.txt");
            byte[] buf = new byte[64];
            Assert.Equal(Errno.EIO, Vop.Read(f, 0, buf, out _));
            f.Release();
            Assert.True(m.IsReadOnly);
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.EROFS, Vop.Create(root!, "new", 0x1A4, Credentials.Root, out _));
            root!.Release();
        }
        finally
        {
            m.Unmount();
        }
        Assert.Contains("with errors", Field(image, "Filesystem state"), StringComparison.Ordinal);
    }
}
