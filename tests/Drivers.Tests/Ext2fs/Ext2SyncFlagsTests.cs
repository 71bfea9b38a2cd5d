using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// chattr +S on a file and +D on a directory: their changes are on the image when the call
/// returns, without fsync or unmount, as another reader of the image (debugfs) sees; the
/// same changes to unflagged nodes are still only in the buffer cache at that moment.
/// </summary>
public class Ext2SyncFlagsTests
{
    private static readonly Credentials Root = Credentials.Root;

    private static string Debugfs(string image, string request) =>
        OracleTool.Run("debugfs", "-R", request, image).Stdout;

    [Fact]
    public void SyncFile_WritesReachTheImageAtOnce_UnflaggedOnesWait()
    {
        using var scratch = new ScratchDir();
        string tree = scratch.File("tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "s"), "");
        File.WriteAllText(Path.Combine(tree, "n"), "");
        string image = scratch.File("sync.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, image, "8M");

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode s = Ext2Fixture.Resolve(m, "/s");
            Vnode n = Ext2Fixture.Resolve(m, "/n");
            Assert.Equal(Errno.OK, Vop.GetFileFlags(s, out FileFlags flags));
            Assert.Equal(Errno.OK, Vop.SetFileFlags(s, flags | FileFlags.Sync, Root));
            Assert.Equal(Errno.OK, Vop.Write(n, 0, "unflagged\n"u8, out _));
            Assert.Equal(Errno.OK, Vop.Write(s, 0, "synced\n"u8, out _));

            Assert.Equal("synced\n", Debugfs(image, "cat /s"));
            Assert.Contains("Flags: 0x80008\n", Debugfs(image, "stat /s"), StringComparison.Ordinal);
            // The test can fail: the same write to an unflagged file is not there yet.
            Assert.Equal("", Debugfs(image, "cat /n"));

            // A size change on the flagged file is written through as well.
            VAttr shrink = VAttr.ForSet(VAttrMask.Size);
            shrink.Size = 3;
            Assert.Equal(Errno.OK, Vop.SetAttr(s, shrink, Root));
            Assert.Equal("syn", Debugfs(image, "cat /s"));
            s.Release();
            n.Release();
        }
        finally
        {
            m.Unmount(force: false);
        }
        Ext2Oracle.AssertFsckClean(image);
        Assert.Equal("unflagged\n", Debugfs(image, "cat /n"));
    }

    [Theory]
    [InlineData(FileFlags.DirSync)]
    [InlineData(FileFlags.Sync)]
    public void DirSyncDirectory_EntriesReachTheImageAtOnce_UnflaggedOnesWait(FileFlags flag)
    {
        using var scratch = new ScratchDir();
        string tree = scratch.File("tree");
        Directory.CreateDirectory(Path.Combine(tree, "d"));
        Directory.CreateDirectory(Path.Combine(tree, "c"));
        File.WriteAllText(Path.Combine(tree, "d", "old"), "old\n");
        string image = scratch.File("dirsync.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, image, "8M");

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Vnode d = Ext2Fixture.Resolve(m, "/d");
            Vnode c = Ext2Fixture.Resolve(m, "/c");
            Assert.Equal(Errno.OK, Vop.GetFileFlags(d, out FileFlags flags));
            Assert.Equal(Errno.OK, Vop.SetFileFlags(d, flags | flag, Root));
            Assert.Equal(Errno.OK, Vop.Mkdir(d, "sub", 0x1ED, Root, out Vnode? sub));
            sub!.Release();
            Assert.Equal(Errno.OK, Vop.Remove(d, "old", Root));
            Assert.Contains("sub", Debugfs(image, "ls /d"), StringComparison.Ordinal);
            Assert.DoesNotContain("old", Debugfs(image, "ls /d"), StringComparison.Ordinal);

            Assert.Equal(Errno.OK, Vop.Mkdir(c, "later", 0x1ED, Root, out Vnode? later));
            later!.Release();
            Assert.DoesNotContain("later", Debugfs(image, "ls /c"), StringComparison.Ordinal);

            // A rename into the flagged directory is written through too.
            Assert.Equal(Errno.OK, Vop.Rename(c, "later", d, "moved", Root));
            Assert.Contains("moved", Debugfs(image, "ls /d"), StringComparison.Ordinal);
            d.Release();
            c.Release();
        }
        finally
        {
            m.Unmount(force: false);
        }
        Ext2Oracle.AssertFsckClean(image);
    }
}
