using RumpFs.TestSupport;
using Xunit.Abstractions;

namespace RumpFs.Integration.Tests;

/// <summary>
/// fsx through the kernel: random writes, reads and truncates of one file on a mounted
/// rump_* file system, checked against an in-memory model, with fsync and (for disk formats)
/// unmount and remount in between. The seed is in every failure message; RUMPFS_FSX_OPS
/// makes the run long, RUMPFS_FSX_SEED repeats one.
/// </summary>
public class FsxKernelTests(ITestOutputHelper output)
{
    private const int MaxSize = 2 << 20;

    [Theory, MemberData(nameof(MountedTargets.Names), MemberType = typeof(MountedTargets))]
    public void RandomOperationsThroughFuse_MatchTheModel(string target)
    {
        int ops = int.TryParse(Environment.GetEnvironmentVariable("RUMPFS_FSX_OPS"), out int n) ? n : 600;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("RUMPFS_FSX_SEED"), out int s) ? s : Environment.TickCount;
        output.WriteLine($"fsx through FUSE on {target}: seed {seed}, {ops} operations");
        MountedTarget t = MountedTargets.Get(target);
        using var scratch = new ScratchDir("rumpfs-fsx");
        var rng = new Random(seed);
        var model = new byte[MaxSize];
        int size = 0;
        FuseMount m = t.Mount(scratch, out string? image);
        try
        {
            for (int step = 0; step < ops; step++)
            {
                string where = $"seed {seed}, step {step}";
                using (var f = new FileStream(m.Path("fsx.bin"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite, 1))
                {
                    switch (rng.Next(10))
                    {
                        case < 4:
                        {
                            int offset = rng.Next(MaxSize - 1);
                            int length = Math.Min(rng.Next(1, 100_000), MaxSize - offset);
                            byte[] data = new byte[length];
                            rng.NextBytes(data);
                            f.Position = offset;
                            f.Write(data);
                            data.CopyTo(model, offset);
                            size = Math.Max(size, offset + length);
                            break;
                        }
                        case < 7:
                        {
                            int offset = rng.Next(size + 1);
                            byte[] got = new byte[rng.Next(1, 100_000)];
                            f.Position = offset;
                            int read = f.ReadAtLeast(got, got.Length, throwOnEndOfStream: false);
                            Assert.True(read == Math.Min(got.Length, size - offset), $"{where}: read {read} at {offset}, size {size}");
                            Assert.True(got.AsSpan(0, read).SequenceEqual(model.AsSpan(offset, read)), $"{where}: data differs at {offset}");
                            break;
                        }
                        case 7:
                        {
                            int newSize = rng.Next(3) == 0 ? 0 : rng.Next(MaxSize);
                            f.SetLength(newSize);
                            if (newSize < size)
                            {
                                Array.Clear(model, newSize, size - newSize);
                            }
                            size = newSize;
                            break;
                        }
                        case 8:
                            f.Flush(flushToDisk: true);
                            break;
                        default:
                            break;
                    }
                }
                if (rng.Next(60) == 0 && image is not null)
                {
                    Assert.Equal(0, m.Unmount());
                    m.Dispose();
                    m = t.Remount(scratch, image);
                }
            }
            byte[] all = File.ReadAllBytes(m.Path("fsx.bin"));
            Assert.True(all.Length == size, $"seed {seed}: final size {all.Length}, model {size}");
            Assert.True(all.AsSpan().SequenceEqual(model.AsSpan(0, size)), $"seed {seed}: final content differs");
            Assert.Equal(0, m.Unmount());
            if (image is not null && t.CheckImage is not null)
            {
                ToolResult check = t.CheckImage(image);
                Assert.True(check.ExitCode == 0, $"seed {seed}\n{check.Transcript}");
            }
        }
        finally
        {
            m.Dispose();
        }
    }
}
