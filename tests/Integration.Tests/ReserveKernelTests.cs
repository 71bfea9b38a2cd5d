using RumpFs.TestSupport;
using static RumpFs.Integration.Tests.Sys;

namespace RumpFs.Integration.Tests;

/// <summary>
/// The root reserve through the kernel: on an ext2 image made with mke2fs -m 5 and mounted
/// by rump_ext2fs with allow_other, a user's writes stop with ENOSPC while statfs still
/// shows the reserve free, and root's writes then use it up.
/// </summary>
public class ReserveKernelTests
{
    private static readonly MountedTarget s_smallExt2 = new("ext2-reserve", "rump_ext2fs",
        MountedTargets.Image("reserve.img", "mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-m", "5", "{image}", "8M"),
        [], null, new KernelDeviations());

    [Fact]
    public void Ext2_NonRootWriterGetsEnospcAtTheReserve_RootStillWrites()
    {
        using var scratch = new ScratchDir("rumpfs-reserve");
        string? image;
        using (FuseMount m = s_smallExt2.Mount(scratch, out image, "allow_other"))
        {
            Assert.Equal(0, Mkdir(m.Path("shared"), 0x1FF));
            Assert.Equal(0, Chmod(m.Path("shared"), 0x1FF));

            ToolResult user = AsUser(1000, $"dd if=/dev/zero of='{m.Path("shared/users")}' bs=64k");
            Assert.True(user.ExitCode != 0, user.Transcript);
            Assert.Contains("No space left on device", user.Stderr);
            Assert.Equal(0, StatVfs(m.MountPoint, out var full));
            Assert.Equal(0ul, (ulong)full.f_bavail);
            Assert.True(full.f_bfree > 300, $"f_bfree {full.f_bfree} should still hold the reserve");
            Assert.Equal(0, Stat(m.Path("shared/users"), out var us));
            Assert.Equal(1000u, (uint)us.st_uid);
            Assert.True(us.st_size > 4 << 20, $"the user wrote only {us.st_size} bytes");

            ToolResult root = OracleTool.Run("dd", "if=/dev/zero", $"of={m.Path("shared/roots")}", "bs=64k");
            Assert.True(root.ExitCode != 0, root.Transcript);
            Assert.Contains("No space left on device", root.Stderr);
            Assert.Equal(0, Stat(m.Path("shared/roots"), out var rs));
            Assert.True(rs.st_size >= 300 * 1024, $"root wrote only {rs.st_size} bytes into the reserve");
            Assert.Equal(0, StatVfs(m.MountPoint, out var none));
            Assert.Equal(0ul, (ulong)none.f_bfree);
            Assert.Equal(0, m.Unmount());
        }
        ToolResult fsck = OracleTool.Run("e2fsck", "-fn", image!);
        Assert.True(fsck.ExitCode == 0, fsck.Transcript);
    }

    private static ToolResult AsUser(int uid, string command) =>
        OracleTool.Run("setpriv", $"--reuid={uid}", $"--regid={uid}", "--clear-groups", "sh", "-c", command);
}
