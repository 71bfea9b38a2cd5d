using RumpFs.FsDrivers;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>
/// Every driver configuration the conformance suite runs on, with its deviations from
/// POSIX in one table. A driver adds itself here when it lands.
/// </summary>
public static class ConformanceTargets
{
    static ConformanceTargets() => AllDrivers.Register();

    public static IReadOnlyList<ConformanceTarget> All { get; } =
    [
        new("tmpfs", (_, clock) => new TmpfsConformanceFs(clock), new FsDeviations()),
        new("ext2", (s, clock) => new Ext2fs.Ext2ConformanceFs(s, clock, "-t", "ext2", "-b", "1024"), new FsDeviations()),
        new("ext4", (s, clock) => new Ext2fs.Ext2ConformanceFs(s, clock, "-t", "ext4"), new FsDeviations()),
        new("ffs-ufs1-le", (scratch, clock) => new Ffs.FfsConformanceFs(scratch, clock, "ffs1-empty-64m"), new FsDeviations()),
        new("ffs-ufs2-be", (scratch, clock) => new Ffs.FfsConformanceFs(scratch, clock, "ffs2-empty-64m"), new FsDeviations()),
        new("ffs-ufs2ea-acls", (scratch, clock) => Ffs.FfsConformanceFs.Newfs(scratch, clock, "version=3,posix1eacls"), new FsDeviations()),
        new("msdos-fat12", (s, clock) => new Msdosfs.MsdosConformanceFs(s, clock, 12), Msdosfs.MsdosConformanceFs.Deviations),
        new("msdos-fat16", (s, clock) => new Msdosfs.MsdosConformanceFs(s, clock, 16), Msdosfs.MsdosConformanceFs.Deviations),
        new("msdos-fat32", (s, clock) => new Msdosfs.MsdosConformanceFs(s, clock, 32), Msdosfs.MsdosConformanceFs.Deviations),
    ];

    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (ConformanceTarget t in All)
            {
                data.Add(t.Name);
            }
            return data;
        }
    }

    public static ConformanceTarget Get(string name) => All.Single(t => t.Name == name);

    /// <summary>Mount <paramref name="fsType"/> or fail the test with the driver's message.</summary>
    public static Mount MountOrFail(string fsType, Kernel.Devices.IBlockDevice? device, MountOptions options)
    {
        Errno e = FileSystemRegistry.Mount(fsType, device, options, out Mount? mount, out string? message);
        Assert.True(e == Errno.OK, $"mount {fsType}: {e} {message}");
        return mount!;
    }

    private sealed class TmpfsConformanceFs : IConformanceFs
    {
        public TmpfsConformanceFs(IClock clock)
        {
            MountOptions.Parse("size=64M", out MountOptions options, out _);
            options.Clock = clock;
            Mount = MountOrFail("tmpfs", null, options);
        }

        public Mount Mount { get; }

        public Mount? Remount() => null;

        public void Dispose() => Mount.Unmount(force: true);
    }
}
