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

    // EXT2_IMMUTABLE_FL, EXT2_APPEND_FL; SF_IMMUTABLE, SF_APPEND (chflags schg, sappnd).
    private static readonly FsDeviations Ext2Flags = new() { ProtectionFlags = (0x10, 0x20) };
    private static readonly FsDeviations FfsFlags = new() { ProtectionFlags = (0x20000, 0x40000) };

    public static IReadOnlyList<ConformanceTarget> All { get; } =
    [
        new("tmpfs", (_, clock) => new TmpfsConformanceFs(clock), new FsDeviations()),
        new("ext2", (s, clock) => new Ext2fs.Ext2ConformanceFs(s, clock, "-t", "ext2", "-b", "1024"), Ext2Flags),
        new("ext4", (s, clock) => new Ext2fs.Ext2ConformanceFs(s, clock, "-t", "ext4"), Ext2Flags),
        new("ffs-ufs1-le", (scratch, clock) => new Ffs.FfsConformanceFs(scratch, clock, "ffs1-empty-64m"), FfsFlags),
        new("ffs-ufs2-be", (scratch, clock) => new Ffs.FfsConformanceFs(scratch, clock, "ffs2-empty-64m"), FfsFlags),
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
