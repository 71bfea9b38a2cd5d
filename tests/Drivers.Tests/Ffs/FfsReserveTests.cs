using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>
/// The minfree reserve (ffs_alloc): a writer that is not root gets ENOSPC once an
/// allocation would dip into fs_minfree percent of the data area; root may fill it.
/// Images are made by makefs with a known minfree.
/// </summary>
public sealed class FfsReserveTests : IDisposable
{
    private const int MinFree = 20;
    private const int Bsize = 8192;
    private const int Fsize = 1024;
    private const int FragsPerBlock = Bsize / Fsize;

    private static readonly Credentials s_user = new(1000, 1000);

    private readonly ScratchDir _scratch = new("ffs-reserve");

    public void Dispose() => _scratch.Dispose();

    private string MakeImage(int version)
    {
        string tree = _scratch.File("tree");
        Directory.CreateDirectory(tree);
        string image = _scratch.File($"ufs{version}.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-B", "le",
            "-o", $"version={version},minfree={MinFree},bsize={Bsize},fsize={Fsize},density=4096", "-s", "4m", image, tree);
        return image;
    }

    private static Vnode Make(Mount mp, string path, Credentials cred, bool directory = false)
    {
        Assert.Equal(Errno.OK, Namei.ResolveParent(mp, path, cred, out Vnode? dvp, out string name, out _));
        Errno e = directory ? Vop.Mkdir(dvp!, name, 0x1FF, cred, out Vnode? vp) : Vop.Create(dvp!, name, 0x1A4, cred, out vp);
        dvp!.Release();
        Assert.True(e == Errno.OK, $"create {path}: {e}");
        return vp!;
    }

    private static Errno TryMake(Mount mp, string path, Credentials cred, bool directory)
    {
        Assert.Equal(Errno.OK, Namei.ResolveParent(mp, path, cred, out Vnode? dvp, out string name, out _));
        Errno e = directory ? Vop.Mkdir(dvp!, name, 0x1FF, cred, out Vnode? vp) : Vop.Create(dvp!, name, 0x1A4, cred, out vp);
        dvp!.Release();
        vp?.Release();
        return e;
    }

    /// <summary>Append <paramref name="chunk"/> until the write fails; returns that errno and the size reached.</summary>
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

    private static StatVfs Stat(Mount mp)
    {
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs st));
        return st;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void NonRootWriter_StopsAtMinfree_RootFillsTheReserve_ImageChecksClean(int version)
    {
        string image = MakeImage(version);
        Mount mp = FfsTestMount.Open(image, readOnly: false);
        try
        {
            long reserve = Stat(mp).Blocks * MinFree / 100;
            Make(mp, "/u", Credentials.Root, directory: true).Release();
            VAttr open = VAttr.ForSet(VAttrMask.Mode);
            open.Mode = 0x1FF;
            Vnode u = FfsTestMount.Resolve(mp, "/u");
            Assert.Equal(Errno.OK, Vop.SetAttr(u, open, Credentials.Root));
            u.Release();

            // A one-fragment file whose last fragment will later want to grow.
            Vnode small = Make(mp, "/u/small", s_user);
            Assert.Equal(Errno.OK, Vop.Write(small, 0, new byte[Fsize], s_user, out _));

            // Whole blocks first, then single fragments, as the non-root user.
            Vnode big = Make(mp, "/u/big", s_user);
            byte[] chunk = new byte[64 * 1024];
            new Random(5).NextBytes(chunk);
            long bigSize = 0;
            Assert.Equal(Errno.ENOSPC, FillUntilFailure(big, chunk, s_user, ref bigSize));
            StatVfs afterBlocks = Stat(mp);
            Assert.InRange(afterBlocks.BlocksAvailable, 0, FragsPerBlock - 1);
            Assert.Equal(reserve, afterBlocks.BlocksFree - afterBlocks.BlocksAvailable);
            int pieces = 0;
            while (Stat(mp).BlocksAvailable > 0)
            {
                Vnode piece = Make(mp, $"/u/p{pieces++}", s_user);
                Assert.Equal(Errno.OK, Vop.Write(piece, 0, new byte[Fsize], s_user, out _));
                piece.Release();
            }
            StatVfs full = Stat(mp);
            Assert.Equal(0, full.BlocksAvailable);
            Assert.Equal(reserve, full.BlocksFree);

            // Nothing more for the user: a new file's first fragment, a growing last
            // fragment, a block past the end, a new directory's first block.
            Vnode more = Make(mp, "/u/more", s_user);
            Assert.Equal(Errno.ENOSPC, Vop.Write(more, 0, "x"u8, s_user, out int none));
            Assert.Equal(0, none);
            more.Release();
            Assert.Equal(Errno.ENOSPC, Vop.Write(small, Fsize, new byte[Fsize], s_user, out _));
            Assert.Equal(Errno.ENOSPC, Vop.Write(big, bigSize, chunk.AsSpan(0, Bsize), s_user, out _));
            Assert.Equal(Errno.ENOSPC, TryMake(mp, "/u/dir", s_user, directory: true));
            Assert.Equal(Errno.ENOSPC, Vop.Allocate(small, 0, 4 * Bsize, s_user));
            Assert.Equal(reserve, Stat(mp).BlocksFree);

            // Root may: grow the same fragment, make a directory, then fill the reserve.
            Assert.Equal(Errno.OK, Vop.Write(small, Fsize, new byte[Fsize], Credentials.Root, out int grown));
            Assert.Equal(Fsize, grown);
            Make(mp, "/u/rootdir", Credentials.Root, directory: true).Release();
            Assert.Equal(Errno.ENOSPC, FillUntilFailure(big, chunk, Credentials.Root, ref bigSize));
            for (int i = 0; Stat(mp).BlocksFree > 0; i++)
            {
                // The directory may take the last fragment itself; then the write finds none.
                Vnode piece = Make(mp, $"/u/r{i}", Credentials.Root);
                Errno we = Vop.Write(piece, 0, new byte[Fsize], Credentials.Root, out _);
                piece.Release();
                Assert.True(we == Errno.OK || (we == Errno.ENOSPC && Stat(mp).BlocksFree == 0), $"root piece {i}: {we}");
            }
            Assert.Equal(0, Stat(mp).BlocksFree);
            Assert.Equal(Errno.ENOSPC, Vop.Write(small, 2 * Fsize, new byte[Fsize], Credentials.Root, out _));

            Assert.Equal(Errno.OK, GetSize(big, out long size));
            Assert.Equal(bigSize, size);
            small.Release();
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
        FfsCheckReport r = FfsCheckTests.CheckImage(image);
        Assert.True(r.IsClean, r.ToString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void NonRootFragmentGrowth_AtTheReserveBoundary_TakesExactlyWhatIsLeft(int version)
    {
        string image = MakeImage(version);
        Mount mp = FfsTestMount.Open(image, readOnly: false);
        try
        {
            long reserve = Stat(mp).Blocks * MinFree / 100;
            Vnode tail = Make(mp, "/tail", Credentials.Root);
            Assert.Equal(Errno.OK, Vop.Write(tail, 0, new byte[Fsize], s_user, out _));
            // Root fills until exactly two fragments are left to non-root writers.
            Vnode fill = Make(mp, "/fill", Credentials.Root);
            long off = 0;
            while (Stat(mp).BlocksAvailable >= 4 * FragsPerBlock)
            {
                Assert.Equal(Errno.OK, Vop.Write(fill, off, new byte[Bsize], Credentials.Root, out _));
                off += Bsize;
            }
            for (int i = 0; Stat(mp).BlocksAvailable > 2; i++)
            {
                Vnode piece = Make(mp, $"/p{i}", Credentials.Root);
                Assert.Equal(Errno.OK, Vop.Write(piece, 0, new byte[Fsize], Credentials.Root, out _));
                piece.Release();
            }
            Assert.Equal(2, Stat(mp).BlocksAvailable);

            // Growing the one-fragment tail to four needs three more: refused, nothing taken.
            Assert.Equal(Errno.ENOSPC, Vop.Write(tail, Fsize, new byte[3 * Fsize], s_user, out int none));
            Assert.Equal(0, none);
            Assert.Equal(2, Stat(mp).BlocksAvailable);
            // To three needs two: allowed, and f_bavail reaches zero.
            Assert.Equal(Errno.OK, Vop.Write(tail, Fsize, new byte[2 * Fsize], s_user, out int n));
            Assert.Equal(2 * Fsize, n);
            StatVfs st = Stat(mp);
            Assert.Equal(0, st.BlocksAvailable);
            Assert.Equal(reserve, st.BlocksFree);
            tail.Release();
            fill.Release();
            Assert.Equal(Errno.OK, mp.Unmount());
        }
        finally
        {
            if (!mp.IsUnmounted)
            {
                mp.Unmount(force: true);
            }
        }
        FfsCheckReport r = FfsCheckTests.CheckImage(image);
        Assert.True(r.IsClean, r.ToString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void FailedTailGrowth_OnAFullFileSystem_LeavesOtherFilesFragmentsAlone(int version)
    {
        string image = MakeImage(version);
        Mount mp = FfsTestMount.Open(image, readOnly: false);
        byte[] mine = new byte[Fsize];
        new Random(11).NextBytes(mine);
        try
        {
            Vnode tail = Make(mp, "/tail", Credentials.Root);
            Assert.Equal(Errno.OK, Vop.Write(tail, 0, new byte[Fsize], Credentials.Root, out _));
            Vnode next = Make(mp, "/next", Credentials.Root);
            Assert.Equal(Errno.OK, Vop.Write(next, 0, mine, Credentials.Root, out _));
            Vnode fill = Make(mp, "/fill", Credentials.Root);
            long off = 0;
            Assert.Equal(Errno.ENOSPC, FillUntilFailure(fill, new byte[64 * 1024], Credentials.Root, ref off));
            for (int i = 0; Stat(mp).BlocksFree > 0; i++)
            {
                Vnode piece = Make(mp, $"/p{i}", Credentials.Root);
                Errno we = Vop.Write(piece, 0, new byte[Fsize], Credentials.Root, out _);
                piece.Release();
                Assert.True(we == Errno.OK || Stat(mp).BlocksFree == 0, $"piece {i}: {we}");
            }

            // The tail cannot grow: the write fails whole and frees nobody's fragments.
            Assert.Equal(Errno.ENOSPC, Vop.Write(tail, Fsize, new byte[3 * Fsize], Credentials.Root, out int n));
            Assert.Equal(0, n);
            Assert.Equal(0, Stat(mp).BlocksFree);
            Assert.Equal(Errno.ENOSPC, Vop.Allocate(tail, 0, 4 * Fsize, Credentials.Root));
            Assert.Equal(0, Stat(mp).BlocksFree);
            Assert.Equal(Errno.OK, GetSize(tail, out long tailSize));
            Assert.Equal(Fsize, tailSize);
            byte[] back = new byte[Fsize];
            Assert.Equal(Errno.OK, Vop.Read(next, 0, back, out int got));
            Assert.Equal(Fsize, got);
            Assert.Equal(mine, back);
            tail.Release();
            next.Release();
            fill.Release();
            Assert.Equal(Errno.OK, mp.Unmount());
        }
        finally
        {
            if (!mp.IsUnmounted)
            {
                mp.Unmount(force: true);
            }
        }
        FfsCheckReport r = FfsCheckTests.CheckImage(image);
        Assert.True(r.IsClean, r.ToString());
    }

    private static Errno GetSize(Vnode vp, out long size)
    {
        Errno e = Vop.GetAttr(vp, out VAttr va);
        size = va.Size;
        return e;
    }
}
