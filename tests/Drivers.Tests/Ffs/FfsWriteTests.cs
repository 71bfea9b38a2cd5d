using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>Write workloads on copies of empty images, checked after unmount by FfsCheck and a remount.</summary>
public sealed class FfsWriteTests : IDisposable
{
    private readonly ScratchDir _scratch = new("ffs-write");

    public void Dispose() => _scratch.Dispose();

    public static TheoryData<string> Empties => new() { "ffs1-empty-64m", "ffs2-empty-64m" };

    private string Fresh(string image) => Corpus.Get(image).CopyTo(_scratch);

    private static void AssertClean(string image, string when)
    {
        FfsCheckReport r = FfsCheckTests.CheckImage(image);
        Assert.True(r.IsClean, when + ": " + r);
    }

    private static Vnode Create(Mount mp, string path)
    {
        Assert.Equal(Errno.OK, Namei.ResolveParent(mp, path, Credentials.Root, out Vnode? dvp, out string name, out _));
        Errno e = Vop.Create(dvp!, name, 0x1A4, Credentials.Root, out Vnode? vp);
        dvp!.Release();
        Assert.True(e == Errno.OK, $"create {path}: {e}");
        return vp!;
    }

    private static void Truncate(Vnode vp, long size)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Size);
        va.Size = size;
        Assert.Equal(Errno.OK, Vop.SetAttr(vp, va, Credentials.Root));
    }

    [Theory]
    [MemberData(nameof(Empties))]
    public void TruncateDownThenUp_EachStep_LeavesConsistentImage(string image)
    {
        string path = Fresh(image);
        byte[] data = Enumerable.Repeat((byte)0xAB, 10_000).ToArray();
        foreach (int step in new[] { 0, 1, 2 })
        {
            Mount mp = FfsTestMount.Open(path, readOnly: false);
            Vnode vp = step == 0 ? Create(mp, "/t") : FfsTestMount.Resolve(mp, "/t");
            switch (step)
            {
                case 0:
                    Assert.Equal(Errno.OK, Vop.Write(vp, 0, data, out _));
                    break;
                case 1:
                    Truncate(vp, 3_000);
                    break;
                default:
                    Truncate(vp, 200_000);
                    break;
            }
            vp.Release();
            Assert.Equal(Errno.OK, mp.Unmount());
            AssertClean(path, $"after step {step}");
        }
    }
}
