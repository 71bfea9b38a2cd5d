using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// Immutable and append-only flags set by another tool (debugfs, as chattr +i/+a leaves
/// them) are honoured by the driver, and clearing them leaves ext4's EXTENTS_FL alone.
/// </summary>
public class Ext2ProtectionFlagsTests
{
    private static readonly Credentials Root = Credentials.Root;

    [Fact]
    public void FlagsSetByDebugfs_RefuseChanges_AndClearingThemKeepsTheExtentsFlag()
    {
        using var scratch = new ScratchDir();
        string tree = scratch.File("tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "frozen"), "frozen\n");
        File.WriteAllText(Path.Combine(tree, "log"), "one\n");
        string image = scratch.File("flags.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, image, "8M");
        // EXTENTS_FL (0x80000) with IMMUTABLE_FL (0x10) or APPEND_FL (0x20).
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "set_inode_field /frozen flags 0x80010", image);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "set_inode_field /log flags 0x80020", image);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Vnode frozen = Ext2Fixture.Resolve(m, "/frozen");
            Vnode log = Ext2Fixture.Resolve(m, "/log");
            Assert.Equal(Errno.OK, Vop.GetAttr(frozen, out VAttr fva));
            Assert.Equal(NodeProtection.Immutable, fva.Protection);
            Assert.Equal(Errno.EPERM, Vop.Write(frozen, 0, "x"u8, out _));
            Assert.Equal(Errno.EPERM, Vop.Remove(root!, "frozen", Root));
            Assert.Equal(Errno.EPERM, Vop.Write(log, 0, "x"u8, out _));
            Assert.Equal(Errno.OK, Vop.Write(log, 4, "two\n"u8, out _));
            Assert.Equal(Errno.EPERM, Vop.Remove(root!, "log", Root));

            // chattr -i as a caller that names no other flag: the extent map's flag stays.
            VAttr clear = VAttr.ForSet(VAttrMask.Flags);
            Assert.Equal(Errno.OK, Vop.SetAttr(frozen, clear, Root));
            Assert.Equal(Errno.OK, Vop.Write(frozen, 0, "F"u8, out _));
            frozen.Release();
            log.Release();
            root!.Release();
        }
        finally
        {
            m.Unmount(force: false);
        }
        Ext2Oracle.AssertFsckClean(image);
        Assert.Contains("Flags: 0x80000\n", OracleTool.RunExpect(0, "debugfs", "-R", "stat /frozen", image).Stdout, StringComparison.Ordinal);
        Assert.Contains("Flags: 0x80020\n", OracleTool.RunExpect(0, "debugfs", "-R", "stat /log", image).Stdout, StringComparison.Ordinal);
        Assert.Equal("Frozen\n", OracleTool.RunExpect(0, "debugfs", "-R", "cat /frozen", image).Stdout);
        Assert.Equal("one\ntwo\n", OracleTool.RunExpect(0, "debugfs", "-R", "cat /log", image).Stdout);
    }
}
