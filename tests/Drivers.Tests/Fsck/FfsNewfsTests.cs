using System.Globalization;
using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Our FFS newfs over UFS1/UFS2, both byte orders, every block/fragment pair from 4096/512 to
/// 65536/8192 and three sizes (4 MiB, 64 MiB, an odd 37 MiB + 512): the fresh image is
/// clean; the driver mounts it read-write, writes a tree, and after a remount reads the
/// same tree back; it is still clean; sleuthkit (fsstat, fls, tsk_recover) agrees, in both byte
/// orders and for UFS2 too, since its superblock is at 65536 where sleuthkit looks.
/// </summary>
public sealed class FfsNewfsTests : IDisposable
{
    private const long Mib = 1L << 20;

    private readonly ScratchDir _scratch = new("ffs-newfs");

    public void Dispose() => _scratch.Dispose();

    public static TheoryData<int, string, int, int, long> Matrix
    {
        get
        {
            var data = new TheoryData<int, string, int, int, long>();
            foreach (int version in new[] { 1, 2 })
            {
                foreach (string endian in new[] { "little", "big" })
                {
                    foreach ((int bsize, int fsize) in new[] { (4096, 512), (8192, 1024), (16384, 2048), (32768, 4096), (65536, 8192) })
                    {
                        foreach (long size in new[] { 4 * Mib, 64 * Mib, (37 * Mib) + 512 })
                        {
                            data.Add(version, endian, bsize, fsize, size);
                        }
                    }
                }
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Newfs_WriteRemountCheck_AllAgree(int version, string endian, int bsize, int fsize, long size)
    {
        string img = FfsNewfsTree.Newfs(_scratch.File("n.img"), size,
            ("version", version.ToString(CultureInfo.InvariantCulture)), ("endian", endian),
            ("bsize", bsize.ToString(CultureInfo.InvariantCulture)), ("fsize", fsize.ToString(CultureInfo.InvariantCulture)));

        FfsSuperblock sb = FfsNewfsTree.ReadSuperblock(img);
        Assert.Equal(version == 2, sb.IsUfs2);
        Assert.Equal(endian == "big", sb.Order.IsBigEndian);
        Assert.Equal((bsize, fsize), (sb.Bsize, sb.Fsize));
        Assert.Equal(version == 2 ? 65536 : 8192, sb.Location);
        Assert.Equal(FfsSuperblock.IsClean, sb.Clean);
        Assert.True(sb.Size * fsize <= size && sb.Size * fsize > size - (2L * bsize) - (sb.Fpg * (long)fsize),
            $"fs_size {sb.Size} fragments for a {size}-byte device");
        Assert.True(sb.Size % sb.Frag == 0, "the file system ends on a block boundary");
        FfsNewfsTree.AssertClean(img, inodes: 1, dirs: 1);

        var tree = new FfsNewfsTree();
        Mount mp = FfsTestMount.Open(img, readOnly: false);
        tree.Write(mp, bsize, fsize);
        tree.Verify(mp);
        Assert.Equal(Errno.OK, mp.Unmount());
        FfsNewfsTree.AssertClean(img, tree.InodeCount, tree.Dirs.Count + 1);

        Mount again = FfsTestMount.Open(img, readOnly: true);
        tree.Verify(again);
        Assert.Equal(Errno.OK, again.Unmount());

        tree.SleuthkitAgrees(img, _scratch);
    }
}
