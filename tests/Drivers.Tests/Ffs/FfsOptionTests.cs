using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>Mount options (noatime, sync), statvfs's minfree reserve and UFS2 birth times.</summary>
public sealed class FfsOptionTests : IDisposable
{
    private readonly ScratchDir _scratch = new("ffs-options");

    public void Dispose() => _scratch.Dispose();

    private static Vnode MakeFile(Mount mp, string name, ReadOnlySpan<byte> data)
    {
        Assert.Equal(Errno.OK, mp.Root(out Vnode? root));
        Assert.Equal(Errno.OK, Vop.Create(root!, name, 0x1A4, Credentials.Root, out Vnode? vp));
        root!.Release();
        Assert.Equal(Errno.OK, Vop.Write(vp!, 0, data, out _));
        return vp!;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Read_UpdatesAtimeUnlessNoatime(bool noatime)
    {
        string path = Corpus.Get("ffs2-empty-64m").CopyTo(_scratch);
        var clock = new ManualClock(new Timespec(1_600_000_000, 0));
        var opts = new MountOptions { NoAtime = noatime, Clock = clock };
        Mount mp = FfsTestMount.Open(path, readOnly: false, opts);
        Vnode f = MakeFile(mp, "f", "abc"u8);
        clock.Set(new Timespec(1_700_000_000, 42));
        Assert.Equal(Errno.OK, Vop.Read(f, 0, new byte[3], out _));
        Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr va));
        f.Release();
        Assert.Equal(noatime ? new Timespec(1_600_000_000, 0) : new Timespec(1_700_000_000, 42), va.Atime);
        Assert.Equal(new Timespec(1_600_000_000, 0), va.Birthtime);
        Assert.Equal(Errno.OK, mp.Unmount());
        Mount again = FfsTestMount.Open(path);
        Vnode g = FfsTestMount.Resolve(again, "/f");
        Assert.Equal(Errno.OK, Vop.GetAttr(g, out VAttr vb));
        g.Release();
        Assert.Equal(va.Atime, vb.Atime);
        Assert.Equal(va.Birthtime, vb.Birthtime);
        again.Unmount();
    }

    [Fact]
    public void SyncOption_WriteReachesImageWithoutFsync()
    {
        string path = Corpus.Get("ffs1-empty-64m").CopyTo(_scratch);
        Mount mp = FfsTestMount.Open(path, readOnly: false, new MountOptions { Synchronous = true });
        byte[] data = new byte[40_000];
        new Random(1).NextBytes(data);
        Vnode f = MakeFile(mp, "synced", data);
        string copy = _scratch.File("copy.img");
        File.Copy(path, copy);
        f.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
        Mount after = FfsTestMount.Open(copy, readOnly: true);
        Vnode g = FfsTestMount.Resolve(after, "/synced");
        Assert.True(data.AsSpan().SequenceEqual(FfsTestMount.ReadAll(g)));
        g.Release();
        after.Unmount();
    }

    [Fact]
    public void Statvfs_HoldsBackMinfreeFromAvailable()
    {
        Mount mp = FfsTestMount.Open(Corpus.Get("ffs1-empty-64m").ImagePath);
        FfsSuperblock sb = ((FfsMount)mp).Sb;
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs st));
        Assert.Equal(sb.Dsize, st.Blocks);
        Assert.Equal((sb.NbFree * sb.Frag) + sb.NfFree, st.BlocksFree);
        Assert.Equal(st.BlocksFree - (sb.Dsize * sb.MinFree / 100), st.BlocksAvailable);
        Assert.True(sb.MinFree > 0);
        Assert.Equal(sb.NiFree, st.FilesFree);
        IReadOnlyList<KeyValuePair<string, string>> facts = mp.Describe();
        Assert.Contains(facts, kv => kv.Key == "format" && kv.Value == "UFS1");
        mp.Unmount();
    }

    [Fact]
    public void Seek_DataAndHole_FollowTheBlockMap()
    {
        string path = Corpus.Get("ffs2-empty-64m").CopyTo(_scratch);
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        Vnode f = MakeFile(mp, "sparse", "start"u8);
        Assert.Equal(Errno.OK, Vop.Write(f, 10_000_000, "end"u8, out _));
        Assert.Equal(Errno.OK, Vop.Seek(f, 0, SeekWhence.Data, out long d0));
        Assert.Equal(0, d0);
        Assert.Equal(Errno.OK, Vop.Seek(f, 0, SeekWhence.Hole, out long h0));
        Assert.True(h0 > 0 && h0 <= 32768, $"first hole at {h0}");
        Assert.Equal(Errno.OK, Vop.Seek(f, h0, SeekWhence.Data, out long d1));
        Assert.True(d1 <= 10_000_000 && d1 > 9_000_000, $"data again at {d1}");
        Assert.Equal(Errno.OK, Vop.Seek(f, 10_000_001, SeekWhence.Hole, out long h1));
        Assert.Equal(10_000_003, h1);
        Assert.Equal(Errno.ENXIO, Vop.Seek(f, 10_000_003, SeekWhence.Data, out _));
        f.Release();
        mp.Unmount();
    }
}
