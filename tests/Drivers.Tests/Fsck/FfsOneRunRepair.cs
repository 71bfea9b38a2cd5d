using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// The round every FFS repair test makes: -n finds the damage (exit 4, nothing written),
/// one -y repairs it (exit 1), a second -y writes nothing (exit 0), -n is then clean; and
/// sleuthkit's reading of the repaired image, where it reads the format (UFS1).
/// </summary>
internal static class FfsOneRunRepair
{
    /// <summary>Run the round on <paramref name="img"/>; returns the -n and first -y reports.</summary>
    public static (CheckReport Found, CheckReport Fixed) Run(FfsDamage img)
    {
        var checker = new FfsChecker();
        byte[] damaged = (byte[])img.Bytes.Clone();
        CheckReport n = checker.Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false);
        Assert.True(n.ExitCode == 4, FfsRepairTests.Describe(n));
        Assert.True(damaged.AsSpan().SequenceEqual(img.Bytes), "-n changed the image");

        CheckReport y = checker.Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        byte[] repaired = (byte[])img.Bytes.Clone();
        CheckReport y2 = checker.Check(img.Device, repair: true);
        Assert.True(y2.ExitCode == 0, FfsRepairTests.Describe(y2) + "\nafter the first -y:\n" + FfsRepairTests.Describe(y));
        Assert.True(repaired.AsSpan().SequenceEqual(img.Bytes), "a second -y changed the image");
        CheckReport again = checker.Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false);
        Assert.True(again.ExitCode == 0, FfsRepairTests.Describe(again));
        return (n, y);
    }

    /// <summary>sleuthkit's `fls -r -p` of the image: one path per line, without the type and inode columns.</summary>
    public static HashSet<string> SleuthkitPaths(byte[] image)
    {
        using var dir = new ScratchDir("ffsfls");
        string path = dir.File("repaired.img");
        File.WriteAllBytes(path, image);
        OracleTool.RunExpect(0, "fsstat", path);
        ToolResult fls = OracleTool.RunExpect(0, "fls", "-r", "-p", path);
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in fls.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int tab = line.IndexOf('\t', StringComparison.Ordinal);
            paths.Add(tab >= 0 ? line[(tab + 1)..] : line);
        }
        return paths;
    }
}
