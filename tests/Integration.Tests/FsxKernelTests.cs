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
    [Theory, MemberData(nameof(MountedTargets.Names), MemberType = typeof(MountedTargets))]
    public void RandomOperationsThroughFuse_MatchTheModel(string target) => Run(target);

    /// <summary>
    /// The same under the kernel's writeback cache (-o writeback_cache): writes reach the
    /// daemon as the kernel flushes its pages, sizes and times are the kernel's to hand over.
    /// </summary>
    [Theory, MemberData(nameof(MountedTargets.Persistent), MemberType = typeof(MountedTargets))]
    public void RandomOperationsThroughFuse_UnderTheWritebackCache_MatchTheModel(string target) =>
        Run(target, "writeback_cache");

    private void Run(string target, params string[] options)
    {
        var fsx = new StreamFsx();
        output.WriteLine($"fsx through FUSE on {target} {string.Join(',', options)}: seed {fsx.Seed}, {fsx.Operations} operations");
        MountedTarget t = MountedTargets.Get(target);
        using var scratch = new ScratchDir("rumpfs-fsx");
        FuseMount m = t.Mount(scratch, out string? image, options);
        try
        {
            for (int step = 0; step < fsx.Operations; step++)
            {
                using (var f = new FileStream(m.Path("fsx.bin"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite, 1))
                {
                    fsx.Step(f, s => ((FileStream)s).Flush(flushToDisk: true), step);
                }
                if (fsx.Rng.Next(60) == 0 && image is not null)
                {
                    Assert.Equal(0, m.Unmount());
                    m.Dispose();
                    m = t.Remount(scratch, image, options);
                }
            }
            fsx.VerifyWhole(File.ReadAllBytes(m.Path("fsx.bin")));
            Assert.Equal(0, m.Unmount());
            if (image is not null && t.CheckImage is not null)
            {
                ToolResult check = t.CheckImage(image);
                Assert.True(check.ExitCode == 0, $"seed {fsx.Seed}\n{check.Transcript}");
            }
        }
        finally
        {
            m.Dispose();
        }
    }
}
