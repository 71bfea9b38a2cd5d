using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// The reserved blocks (s_r_blocks_count, mke2fs -m): only root, s_def_resuid and members of
/// s_def_resgid may allocate them (ext4_has_free_clusters); anyone else gets ENOSPC while
/// f_bfree still shows the reserve. Images are made by mke2fs and checked by e2fsck -fn.
/// </summary>
public sealed class Ext2ReserveTests : IDisposable
{
    private static readonly Credentials s_user = new(1000, 1000);

    private readonly ScratchDir _scratch = new("ext2-reserve");

    public void Dispose() => _scratch.Dispose();

    private string MakeImage(string fsType, params string[] tune)
    {
        string image = _scratch.File(fsType + ".img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", fsType, "-b", "1024", "-m", "5", image, "4M");
        if (tune.Length > 0)
        {
            OracleTool.RunExpect(0, "tune2fs", [.. tune, image]);
        }
        return image;
    }

    private static Vnode Make(Mount mp, string path, Credentials cred)
    {
        Assert.Equal(Errno.OK, Namei.ResolveParent(mp, path, cred, out Vnode? dvp, out string name, out _));
        Errno e = Vop.Create(dvp!, name, 0x1A4, cred, out Vnode? vp);
        dvp!.Release();
        Assert.True(e == Errno.OK, $"create {path}: {e}");
        return vp!;
    }

    private static Errno TryMkdir(Mount mp, string path, Credentials cred)
    {
        Assert.Equal(Errno.OK, Namei.ResolveParent(mp, path, cred, out Vnode? dvp, out string name, out _));
        Errno e = Vop.Mkdir(dvp!, name, 0x1FF, cred, out Vnode? vp);
        dvp!.Release();
        vp?.Release();
        return e;
    }

    private static void MakeSharedDir(Mount mp)
    {
        Assert.Equal(Errno.OK, TryMkdir(mp, "/u", Credentials.Root));
        Assert.Equal(Errno.OK, Namei.Resolve(mp, "/u", NameiFlags.NoFollow, Credentials.Root, out Vnode? u));
        VAttr open = VAttr.ForSet(VAttrMask.Mode);
        open.Mode = 0x1FF;
        Assert.Equal(Errno.OK, Vop.SetAttr(u!, open, Credentials.Root));
        u!.Release();
    }

    /// <summary>Append until a write comes up short; returns the final errno.</summary>
    private static Errno FillUntilFailure(Vnode vp, ReadOnlySpan<byte> chunk, Credentials cred, ref long offset)
    {
        while (true)
        {
            Errno e = Vop.Write(vp, offset, chunk, cred, out int n);
            offset += n;
            if (e != Errno.OK || n < chunk.Length)
            {
                return e == Errno.OK ? Errno.ENOSPC : e;
            }
            Assert.True(offset < 64L << 20, "wrote far past the device size");
        }
    }

    /// <summary>
    /// The blocks nobody's writes may take on these 4 MiB images: ext4's reserved pool,
    /// 2 % of the 4096 blocks (ext4_calculate_resv_clusters); none without extents.
    /// </summary>
    private static long PoolOf(string fsType) => fsType == "ext4" ? 4096 / 50 : 0;

    private static StatVfs Stat(Mount mp)
    {
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs st));
        return st;
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void NonRootWriter_StopsAtReservedBlocks_RootFillsThem_FsckClean(string fsType)
    {
        string image = MakeImage(fsType);
        Mount mp = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            StatVfs fresh = Stat(mp);
            long reserve = fresh.BlocksFree - fresh.BlocksAvailable;
            Assert.True(reserve > 100, $"mke2fs -m 5 left a reserve of {reserve} blocks");
            MakeSharedDir(mp);
            Vnode big = Make(mp, "/u/big", s_user);
            byte[] chunk = new byte[48 * 1024];
            new Random(9).NextBytes(chunk);
            long size = 0;
            Assert.Equal(Errno.ENOSPC, FillUntilFailure(big, chunk, s_user, ref size));
            StatVfs full = Stat(mp);
            Assert.Equal(0, full.BlocksAvailable);
            Assert.Equal(reserve, full.BlocksFree);

            // A new directory needs a block: refused to the user, nothing taken.
            Assert.Equal(Errno.ENOSPC, TryMkdir(mp, "/u/d", s_user));
            Assert.Equal(Errno.ENOSPC, Vop.Write(big, size, "x"u8, s_user, out _));
            Assert.Equal(reserve, Stat(mp).BlocksFree);

            // Root may use the reserve, to the last block but ext4's reserved pool.
            Assert.Equal(Errno.OK, TryMkdir(mp, "/u/rootdir", Credentials.Root));
            Assert.Equal(Errno.ENOSPC, FillUntilFailure(big, chunk, Credentials.Root, ref size));
            Assert.Equal(PoolOf(fsType), Stat(mp).BlocksFree);
            Assert.Equal(Errno.OK, Vop.GetAttr(big, out VAttr va));
            Assert.Equal(size, va.Size);
            big.Release();
            Assert.Equal(Errno.OK, mp.Unmount());
        }
        finally
        {
            if (!mp.IsUnmounted)
            {
                mp.Unmount(force: true);
            }
        }
        Ext2Oracle.AssertFsckClean(image);
    }

    [Theory]
    [InlineData("ext2", "-u", "1000")]
    [InlineData("ext4", "-u", "1000")]
    [InlineData("ext2", "-g", "2000")]
    public void ReservedUserOrGroup_MayFillTheReserve(string fsType, string option, string id)
    {
        string image = MakeImage(fsType, option, id);
        var writer = new Credentials(1000, 1000, [2000]);
        Mount mp = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            MakeSharedDir(mp);
            Vnode big = Make(mp, "/u/big", writer);
            byte[] chunk = new byte[48 * 1024];
            long size = 0;
            Assert.Equal(Errno.ENOSPC, FillUntilFailure(big, chunk, writer, ref size));
            Assert.Equal(PoolOf(fsType), Stat(mp).BlocksFree);
            big.Release();
            Assert.Equal(Errno.OK, mp.Unmount());
        }
        finally
        {
            if (!mp.IsUnmounted)
            {
                mp.Unmount(force: true);
            }
        }
        Ext2Oracle.AssertFsckClean(image);
    }

    [Fact]
    public void GroupZeroAsReservedGroup_GrantsNothingToItsMembers()
    {
        string image = MakeImage("ext2");
        var wheel = new Credentials(1000, 0);
        Mount mp = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            MakeSharedDir(mp);
            Vnode big = Make(mp, "/u/big", wheel);
            long size = 0;
            Assert.Equal(Errno.ENOSPC, FillUntilFailure(big, new byte[48 * 1024], wheel, ref size));
            StatVfs st = Stat(mp);
            Assert.Equal(0, st.BlocksAvailable);
            Assert.True(st.BlocksFree > 100, $"f_bfree {st.BlocksFree}");
            big.Release();
            Assert.Equal(Errno.OK, mp.Unmount());
        }
        finally
        {
            if (!mp.IsUnmounted)
            {
                mp.Unmount(force: true);
            }
        }
        Ext2Oracle.AssertFsckClean(image);
    }
}
