using RumpFs.Kernel;

namespace RumpFs.Vfs.Tests;

public class VnodeCacheTests
{
    private sealed class CountingMount() : Mount("counting", null, new MountOptions())
    {
        public int Loads;
        public readonly HashSet<ulong> Unlinked = [];

        public override Errno Root(out Vnode? root) => VGet(1, out root);

        public override Errno VGet(ulong ino, out Vnode? vp) => Vnodes.Get(ino, Load, out vp);

        private Errno Load(ulong ino, out Vnode? vp)
        {
            Interlocked.Increment(ref Loads);
            Thread.Sleep(20);
            vp = new CountingVnode(this, ino);
            return Errno.OK;
        }

        public override Errno Statvfs(out StatVfs st)
        {
            st = default;
            return Errno.OK;
        }

        public override Errno Sync() => Errno.OK;

        protected override Errno UnmountCore(bool force) => Errno.OK;
    }

    private sealed class CountingVnode(CountingMount mount, ulong ino) : Vnode(mount, ino, VType.Regular)
    {
        public int Inactivated;
        public int Reclaimed;

        public override Errno Inactive(out bool recycle)
        {
            Assert.True(Lock.IsHeldByCurrentThread, "Inactive must be called with the vnode locked");
            Inactivated++;
            recycle = mount.Unlinked.Contains(Ino);
            return Errno.OK;
        }

        public override void Reclaim() => Reclaimed++;
    }

    [Fact]
    public void Get_SameInodeTwice_ReturnsSameVnode_LoadedOnce()
    {
        var m = new CountingMount();
        m.VGet(5, out Vnode? a);
        m.VGet(5, out Vnode? b);
        Assert.Same(a, b);
        Assert.Equal(1, m.Loads);
        a!.Release();
        b!.Release();
    }

    [Fact]
    public void ConcurrentGets_LoadTheInodeOnce()
    {
        var m = new CountingMount();
        var got = new Vnode?[8];
        var threads = Enumerable.Range(0, 8).Select(i => new Thread(() => m.VGet(9, out got[i]))).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(10))));
        Assert.All(got, v => Assert.Same(got[0], v));
        Assert.Equal(1, m.Loads);
        Assert.True(got[0]!.IsReferenced);
        foreach (Vnode? v in got)
        {
            v!.Release();
        }
        Assert.False(got[0]!.IsReferenced);
    }

    [Fact]
    public void LastRelease_CallsInactive_AndKeepsVnodeCachedUnlessRecycled()
    {
        var m = new CountingMount();
        m.VGet(3, out Vnode? vp);
        var v = (CountingVnode)vp!;
        v.Ref();
        v.Release();
        Assert.Equal(0, v.Inactivated);
        v.Release();
        Assert.Equal(1, v.Inactivated);
        Assert.Equal(0, v.Reclaimed);
        m.VGet(3, out Vnode? again);
        Assert.Same(v, again);
        m.Unlinked.Add(3);
        again!.Release();
        Assert.Equal(1, v.Reclaimed);
        m.VGet(3, out Vnode? fresh);
        Assert.NotSame(v, fresh);
        fresh!.Release();
    }

    [Fact]
    public void UnreferencedVnodesBeyondTheBound_AreReclaimedOldestFirst()
    {
        var m = new CountingMount();
        m.Vnodes.MaxUnreferenced = 4;
        var all = new List<CountingVnode>();
        for (ulong i = 10; i < 20; i++)
        {
            m.VGet(i, out Vnode? vp);
            all.Add((CountingVnode)vp!);
            vp!.Release();
        }
        Assert.Equal(4, m.Vnodes.Count);
        Assert.All(all.Take(6), v => Assert.Equal(1, v.Reclaimed));
        Assert.All(all.Skip(6), v => Assert.Equal(0, v.Reclaimed));
    }

    [Fact]
    public void Unmount_WithReferencedVnode_IsBusyUnlessForced()
    {
        var m = new CountingMount();
        m.VGet(1, out Vnode? held);
        Assert.Equal(Errno.EBUSY, m.Unmount());
        held!.Release();
        Assert.Equal(Errno.OK, m.Unmount());
        Assert.Equal(1, ((CountingVnode)held).Reclaimed);
    }

    [Fact]
    public void ReleaseOfUnreferencedVnode_Throws()
    {
        var m = new CountingMount();
        m.VGet(2, out Vnode? vp);
        vp!.Release();
        Assert.Throws<InvalidOperationException>(() => vp.Release());
    }
}
