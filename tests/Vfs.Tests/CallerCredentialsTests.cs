using RumpFs.Kernel;

namespace RumpFs.Vfs.Tests;

/// <summary>Vop hands the caller to the driver through <see cref="CallerCredentials"/>.</summary>
public class CallerCredentialsTests
{
    private sealed class OneFileMount() : Mount("onefile", null, new MountOptions())
    {
        public override Errno Root(out Vnode? root) => VGet(1, out root);

        public override Errno VGet(ulong ino, out Vnode? vp) => Vnodes.Get(ino, Load, out vp);

        private Errno Load(ulong ino, out Vnode? vp)
        {
            vp = new RecordingVnode(this, ino);
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

    /// <summary>Records who each operation ran for, as an allocator would see it.</summary>
    private sealed class RecordingVnode(OneFileMount mount, ulong ino) : Vnode(mount, ino, VType.Regular)
    {
        public readonly List<uint> Seen = [];

        public override Errno Write(long offset, ReadOnlySpan<byte> data, out int written)
        {
            Seen.Add(CallerCredentials.Current.Uid);
            written = data.Length;
            return Errno.OK;
        }

        public override Errno Allocate(long offset, long length)
        {
            Seen.Add(CallerCredentials.Current.Uid);
            return Errno.OK;
        }

        public override Errno GetAttr(out VAttr va)
        {
            va = new VAttr { Type = VType.Regular, Mode = 0x1B6, Uid = 1000, Gid = 1000, Nlink = 1 };
            return Errno.OK;
        }

        public override Errno SetAttr(in VAttr va, Credentials cred)
        {
            Seen.Add(CallerCredentials.Current.Uid);
            return Errno.OK;
        }
    }

    [Fact]
    public void WriteAllocateSetAttr_DriverSeesTheCaller_AndRootOutsideAndAfter()
    {
        var m = new OneFileMount();
        Assert.Equal(Errno.OK, m.VGet(2, out Vnode? vp));
        var rec = (RecordingVnode)vp!;
        var user = new Credentials(1000, 1000);
        Assert.Equal(Errno.OK, Vop.Write(vp!, 0, "a"u8, user, out _));
        Assert.Equal(Errno.OK, Vop.Write(vp!, 0, "b"u8, out _));
        Assert.Equal(Errno.OK, Vop.Allocate(vp!, 0, 10, user));
        VAttr size = VAttr.ForSet(VAttrMask.Size);
        size.Size = 5;
        Assert.Equal(Errno.OK, Vop.SetAttr(vp!, size, user));
        Assert.Equal([1000u, 0u, 1000u, 1000u], rec.Seen);
        Assert.True(CallerCredentials.Current.IsRoot);
        vp!.Release();
    }

    [Fact]
    public void Enter_Nested_RestoresTheOuterCaller()
    {
        using (CallerCredentials.Enter(new Credentials(5, 5)))
        {
            using (CallerCredentials.Enter(new Credentials(7, 7)))
            {
                Assert.Equal(7u, CallerCredentials.Current.Uid);
            }
            Assert.Equal(5u, CallerCredentials.Current.Uid);
        }
        Assert.Equal(0u, CallerCredentials.Current.Uid);
    }
}
