using System.Security.Cryptography;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Integration.Tests;

/// <summary>
/// Crash consistency: SIGKILL the daemon in the middle of a workload. What was fsync'd before
/// the kill must be intact after a remount, and the image must be repairable to clean both by
/// the format's independent checker and by our own (`ukfs fsck -y`), which the independent
/// checker must then find clean too.
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

        string ours = scratch.File("own-repair.img");
        File.Copy(image, ours);
        CheckReport repaired = OwnCheck(t, ours, repair: true);
        Assert.True(repaired.ExitCode is 0 or 1, "our repair failed\n" + Describe(repaired));
        CheckReport recheck = OwnCheck(t, ours, repair: false);
        Assert.True(recheck.ExitCode == 0, "not clean after our repair\n" + Describe(recheck));
        if (t.CheckImage is not null)
        {
            ToolResult independent = t.CheckImage(ours);
            Assert.True(independent.ExitCode == 0, "our repair left damage the independent checker sees\n" + independent.Transcript);
        }

        using (FuseMount again = t.Remount(scratch, image, "force"))
        {
            byte[] back = File.ReadAllBytes(again.Path("keep/durable.bin"));
            Assert.Equal(durable.Length, back.Length);
            Assert.True(durable.AsSpan().SequenceEqual(back), "fsync'd data changed after the crash");
            again.Unmount();
        }
    }

    [Theory, MemberData(nameof(MountedTargets.Persistent), MemberType = typeof(MountedTargets))]
    public void KillAfterASyncDelay_UnsyncedWritesWereWrittenBackPeriodically(string target)
    {
        MountedTarget t = MountedTargets.Get(target);
        using var scratch = new ScratchDir("rumpfs-syncer");
        byte[] data = RandomNumberGenerator.GetBytes(200_000);
        string image;
        using (FuseMount m = t.Mount(scratch, out string? made, "syncdelay=1"))
        {
            image = made!;
            Directory.CreateDirectory(m.Path("late"));
            File.WriteAllBytes(m.Path("late/never-fsynced.bin"), data);
            // Neither fsync nor unmount: only the daemon's periodic write-back can save it.
            Thread.Sleep(3500);
            m.Crash();
        }
        using (FuseMount again = t.Remount(scratch, image, "force"))
        {
            Assert.True(File.Exists(again.Path("late/never-fsynced.bin")), "the write-back did not happen");
            Assert.True(data.AsSpan().SequenceEqual(File.ReadAllBytes(again.Path("late/never-fsynced.bin"))));
            again.Unmount();
        }
    }

    /// <summary>Our own checker for the target's format, as `ukfs IMAGE fsck [-y]` runs it.</summary>
    private static CheckReport OwnCheck(MountedTarget t, string image, bool repair)
    {
        FsDrivers.AllDrivers.Register();
        string fsType = t.Tool switch
        {
            "rump_ffs" => "ffs",
            "rump_ext2fs" => "ext2fs",
            _ => "msdos",
        };
        IFileSystemChecker checker = FileSystemTools.FindChecker(fsType)
            ?? throw new InvalidOperationException($"no checker registered for {fsType}");
        Assert.Equal(0, (int)FileBlockDevice.Open(image, readOnly: !repair, out FileBlockDevice? device, out string? error));
        using (device)
        {
            Assert.True(device is not null, error);
            return checker.Check(device!, repair);
        }
    }

    private static string Describe(CheckReport report) => report.OperationalError
        ?? string.Join('\n', report.Findings.Select(f => $"{f.Phase} {f.Location}: {f.Message}{(f.Repaired ? " (repaired)" : "")}"));

    /// <summary>The format's checker in repair mode (e2fsck -fy, fsck.fat -a).</summary>
    private static ToolResult Repair(MountedTarget t, string image) => t.Tool switch
    {
        "rump_ext2fs" => OracleTool.Run("e2fsck", "-fy", image),
        "rump_msdos" => OracleTool.Run("fsck.fat", "-a", "-w", image),
        _ => t.CheckImage!(image),   // FFS: no repair tool here; sleuthkit must still read it
    };
}
