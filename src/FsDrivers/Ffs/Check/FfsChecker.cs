using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>
/// Offers <see cref="FfsCheck"/> (a read-only fsck_ffs) through the VFS checker registry.
/// It repairs nothing: with repair requested the findings stay uncorrected (exit 4) and a
/// note says so. No usable superblock is an operational error (exit 8), as in fsck_ffs.
/// </summary>
public sealed class FfsChecker : IFileSystemChecker
{
    public string FsType => "ffs";

    public CheckReport Check(IBlockDevice device, bool repair)
    {
        ArgumentNullException.ThrowIfNull(device);
        var report = new CheckReport();
        FfsCheckReport ffs = FfsCheck.Run(device);
        if (ffs.Findings.Count == 1 && ffs.Findings[0].Kind == FfsFindingKind.Superblock)
        {
            report.OperationalError = "no usable FFS superblock: " + ffs.Findings[0].Message;
            return report;
        }
        foreach (FfsFinding f in ffs.Findings)
        {
            report.Add(Phase(f.Kind), Location(f), f.Message);
        }
        if (repair && !ffs.IsClean)
        {
            report.Note("repair", "file system", "FFS repair is not implemented; nothing was changed");
        }
        return report;
    }

    private static string Phase(FfsFindingKind kind) => kind switch
    {
        FfsFindingKind.Superblock => "superblock",
        FfsFindingKind.CylinderGroup or FfsFindingKind.Bitmap or FfsFindingKind.Summary => "cylinder groups",
        FfsFindingKind.Inode or FfsFindingKind.BlockMap => "blocks",
        FfsFindingKind.Directory => "directories",
        _ => "link counts",
    };

    private static string Location(FfsFinding f) => f.Kind switch
    {
        FfsFindingKind.Inode or FfsFindingKind.BlockMap or FfsFindingKind.Directory or FfsFindingKind.LinkCount => $"inode {f.Location}",
        FfsFindingKind.CylinderGroup => $"cylinder group {f.Location}",
        FfsFindingKind.Superblock => $"byte {f.Location}",
        _ => $"{f.Kind.ToString().ToLowerInvariant()} {f.Location}",
    };
}
