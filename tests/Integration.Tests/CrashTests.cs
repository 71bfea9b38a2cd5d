using System.Security.Cryptography;
using RumpFs.TestSupport;

namespace RumpFs.Integration.Tests;

/// <summary>
/// Crash consistency: SIGKILL the daemon in the middle of a workload. What was fsync'd before
/// the kill must be intact after a remount, and the image must be repairable to clean by the
/// format's independent checker.
/// </summary>
public class CrashTests
{
    [Theory, MemberData(nameof(MountedTargets.Persistent), MemberType = typeof(MountedTargets))]
    public void KillDuringWrites_FsyncedDataSurvives_AndImageRepairsClean(string target)
    {
        MountedTarget t = MountedTargets.Get(target);
        using var scratch = new ScratchDir("rumpfs-crash");
        byte[] durable = RandomNumberGenerator.GetBytes(3 << 20);
        string image;
        using (FuseMount m = t.Mount(scratch, out string? made))
        {
            image = made!;
            Directory.CreateDirectory(m.Path("keep"));
            using (var fs = new FileStream(m.Path("keep/durable.bin"), FileMode.CreateNew))
            {
                fs.Write(durable);
                fs.Flush(flushToDisk: true);
            }
            Assert.Equal(0, Sys.FsyncPath(m.Path("keep")));
            Assert.Equal(0, Sys.FsyncPath(m.MountPoint));

            // Unsynced churn, then the crash while it may still be in flight.
            Directory.CreateDirectory(m.Path("churn"));
            var writer = new Thread(() =>
            {
                try
                {
                    for (int i = 0; i < 2000; i++)
                    {
                        File.WriteAllBytes(m.Path($"churn/f{i}"), new byte[(i % 7) * 4096 + 100]);
                    }
                }
                catch (IOException)
                {
                    // The mount goes away under the writer: expected.
                }
                catch (UnauthorizedAccessException)
                {
                }
            });
            writer.Start();
            Thread.Sleep(700);
            m.Crash();
            writer.Join(TimeSpan.FromSeconds(60));
        }

        if (t.CheckImage is not null)
        {
            string copy = scratch.File("repaired.img");
            File.Copy(image, copy);
            ToolResult repair = Repair(t, copy);
            Assert.True(repair.ExitCode is 0 or 1, "repair failed\n" + repair.Transcript);
            ToolResult check = t.CheckImage(copy);
            Assert.True(check.ExitCode == 0, "not clean after repair\n" + check.Transcript);
        }

        using (FuseMount again = t.Remount(scratch, image, "force"))
        {
            byte[] back = File.ReadAllBytes(again.Path("keep/durable.bin"));
            Assert.Equal(durable.Length, back.Length);
            Assert.True(durable.AsSpan().SequenceEqual(back), "fsync'd data changed after the crash");
            again.Unmount();
        }
    }

    /// <summary>The format's checker in repair mode (e2fsck -fy, fsck.fat -a).</summary>
    private static ToolResult Repair(MountedTarget t, string image) => t.Tool switch
    {
        "rump_ext2fs" => OracleTool.Run("e2fsck", "-fy", image),
        "rump_msdos" => OracleTool.Run("fsck.fat", "-a", "-w", image),
        _ => t.CheckImage!(image),   // FFS: no repair tool here; sleuthkit must still read it
    };
}
