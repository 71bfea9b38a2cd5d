using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// statfs as the kernel's ext4 driver answers it on the same image: f_blocks leaves out the
/// file system's own structures and an internal journal (ext4_calculate_overhead), f_bavail
/// leaves out the root reserve and, with extents, the reserved pool (2 % of the blocks, at
/// most 4096). Read-only and read-write mounts answer alike.
/// </summary>
public sealed class Ext2StatfsTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2-statfs");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("ext4", "64M", "")]
    [InlineData("ext4", "1G", "")]
    [InlineData("ext4", "300M", "^has_journal")]
    [InlineData("ext3", "64M", "")]
    [InlineData("ext2", "32M", "")]
    public void Statvfs_IsTheKernels(string type, string size, string features)
    {
        string img = _dir.File($"{type}-{size}.img");
        string[] opts = features.Length > 0 ? ["-O", features] : [];
        OracleTool.RunExpect(0, "mke2fs", ["-q", "-F", "-t", type, .. opts, img, size]);
        (long Blocks, long Free, long Available)? kernel = Ext2Oracle.KernelStatfs(img);
        if (kernel is null)
        {
            return;
        }
        foreach (bool readOnly in new[] { true, false })
        {
            Mount m = Ext2Fixture.MountImage(img, readOnly);
            try
            {
                Assert.Equal(Errno.OK, Vop.Statvfs(m, out StatVfs st));
                Assert.Equal(kernel.Value, (st.Blocks, st.BlocksFree, st.BlocksAvailable));
            }
            finally
            {
                m.Unmount(force: true);
            }
        }
    }
}
