using RumpFs.Drivers.Tests.Conformance;
using RumpFs.Kernel;
using RumpFs.Vfs;
using Xunit.Abstractions;

namespace RumpFs.Drivers.Tests.Integrity;

/// <summary>
/// Data integrity in the spirit of fsx: a long random sequence of writes at random offsets
/// and sizes, truncates up and down, and reads, each checked against an in-memory model of
/// the file, with fsync and (where the driver keeps data) remounts in between. Reproducible
/// from the seed in the failure message. RUMPFS_FSX_OPS sets the number of operations
/// (short by default in CI, long when set), RUMPFS_FSX_SEED a fixed seed.
/// </summary>
public class FsxTests(ITestOutputHelper output)
{
    private const int DefaultOps = 1500;
    private const long MaxFileSize = 3L << 20;

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void RandomOperations_MatchTheModel(string target)
    {
        int ops = int.TryParse(Environment.GetEnvironmentVariable("RUMPFS_FSX_OPS"), out int n) ? n : DefaultOps;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("RUMPFS_FSX_SEED"), out int s) ? s : Environment.TickCount;
        output.WriteLine($"fsx {target}: seed {seed}, {ops} operations");
        using var c = new ConformanceContext(target);
        var rng = new Random(seed);
        var model = new List<byte>();
        const string Path = "/fsx.bin";
        Assert.True(c.Fs.Create(Path) == Errno.OK, $"seed {seed}: create");
        for (int step = 0; step < ops; step++)
        {
            string where = $"seed {seed}, step {step}";
            switch (rng.Next(10))
            {
                case < 4:
                    Write(c, rng, model, Path, where);
                    break;
                case < 7:
                    Read(c, rng, model, Path, where);
                    break;
                case 7:
                    Truncate(c, rng, model, Path, where);
                    break;
                case 8:
                    Fsync(c, Path, where);
                    break;
                default:
                    if (rng.Next(8) == 0 && c.TryRemount())
                    {
                        Compare(c, model, Path, where + " after remount");
                    }
                    break;
            }
        }
        Compare(c, model, Path, $"seed {seed}, end");
    }

    private static void Write(ConformanceContext c, Random rng, List<byte> model, string path, string where)
    {
        long offset = rng.Next((int)MaxFileSize);
        int length = rng.Next(1, rng.Next(2) == 0 ? 512 : 200_000);
        length = (int)Math.Min(length, MaxFileSize - offset);
        byte[] data = new byte[length];
        rng.NextBytes(data);
        Errno e = c.Fs.Write(path, offset, data);
        Assert.True(e == Errno.OK, $"{where}: write {length} at {offset}: {e}");
        while (model.Count < offset + length)
        {
            model.Add(0);
        }
        for (int i = 0; i < length; i++)
        {
            model[(int)offset + i] = data[i];
        }
    }

    private static void Read(ConformanceContext c, Random rng, List<byte> model, string path, string where)
    {
        long offset = model.Count == 0 ? 0 : rng.Next(model.Count + 100);
        int length = rng.Next(1, 150_000);
        Errno e = c.Fs.Read(path, offset, length, out byte[] got);
        Assert.True(e == Errno.OK, $"{where}: read {length} at {offset}: {e}");
        int expectedLength = (int)Math.Max(0, Math.Min(length, model.Count - offset));
        Assert.True(got.Length == expectedLength, $"{where}: read {length} at {offset} returned {got.Length} bytes, model has {expectedLength}");
        for (int i = 0; i < got.Length; i++)
        {
            if (got[i] != model[(int)offset + i])
            {
                Assert.Fail($"{where}: byte {offset + i} is {got[i]:x2}, model says {model[(int)offset + i]:x2}");
            }
        }
    }

    private static void Truncate(ConformanceContext c, Random rng, List<byte> model, string path, string where)
    {
        long size = rng.Next(3) == 0 ? 0 : rng.Next((int)MaxFileSize);
        Errno e = c.Fs.Truncate(path, size);
        Assert.True(e == Errno.OK, $"{where}: truncate to {size}: {e}");
        if (size < model.Count)
        {
            model.RemoveRange((int)size, model.Count - (int)size);
        }
        while (model.Count < size)
        {
            model.Add(0);
        }
        Assert.True(c.Fs.StatOk(path).Size == size, $"{where}: size after truncate");
    }

    private static void Fsync(ConformanceContext c, string path, string where)
    {
        Assert.True(c.Fs.Resolve(path, out Vnode? vp) == Errno.OK, $"{where}: resolve");
        try
        {
            Errno e = Vop.Fsync(vp!, dataOnly: false);
            Assert.True(e == Errno.OK, $"{where}: fsync: {e}");
        }
        finally
        {
            vp!.Release();
        }
    }

    private static void Compare(ConformanceContext c, List<byte> model, string path, string where)
    {
        Assert.True(c.Fs.StatOk(path).Size == model.Count, $"{where}: size {c.Fs.StatOk(path).Size}, model {model.Count}");
        byte[] all = c.Fs.ReadAllOk(path);
        for (int i = 0; i < all.Length; i++)
        {
            if (all[i] != model[i])
            {
                Assert.Fail($"{where}: byte {i} is {all[i]:x2}, model says {model[i]:x2}");
            }
        }
    }
}
