using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>
/// Offers <see cref="FfsCheck"/> (fsck_ffs's checks) and <see cref="FfsRepair"/> (its -y)
/// through the VFS checker registry. With repair the check runs again afterwards: a first
/// finding counts as corrected when the second run no longer reports it, anything the
/// second run still finds is left uncorrected (exit 4), and only a clean second run marks
/// the file system clean. No usable superblock is an operational error (exit 8), as in
/// fsck_ffs.
/// </summary>
public sealed class FfsChecker : IFileSystemChecker
{
    public string FsType => "ffs";

    public CheckReport Check(IBlockDevice device, bool repair)
    {
        ArgumentNullException.ThrowIfNull(device);
        var report = new CheckReport();
        device = FfsCheckLog.Replay(device, repair, report);
        if (report.OperationalError is not null)
        {
            return report;
        }
        FfsCheckReport first = FfsCheck.Run(device);
        if (first.Unusable is not null)
        {
            report.OperationalError = "no usable FFS superblock: " + first.Unusable;
            return report;
        }
        if (!repair)
        {
            foreach (FfsFinding f in first.Findings)
            {
                report.Add(Phase(f.Kind), Location(f), f.Message);
            }
            if (first.IsClean && !IsMarkedClean(device))
            {
                // Consistent, but not unmounted cleanly (or still mounted): -y would mark it.
                report.Note("superblock", "superblock", "consistent but not marked clean");
            }
            return report;
        }
        if (device.IsReadOnly)
        {
            report.OperationalError = "the device is read-only; cannot repair";
            return report;
        }
        FfsCheckReport after = first;
        if (!first.IsClean)
        {
            FfsRepairResult fix = FfsRepair.Run(device, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            foreach (string a in fix.Actions)
            {
                report.Note("repair", "file system", a);
            }
            foreach (string l in fix.Left)
            {
                report.Note("repair", "file system", "not repaired: " + l);
            }
            if (fix.IoError != Errno.OK)
            {
                report.OperationalError = $"repair stopped: device error {fix.IoError}";
            }
            after = FfsCheck.Run(device);
        }
        var remaining = new HashSet<FfsFinding>(after.Findings);
        foreach (FfsFinding f in first.Findings)
        {
            report.Add(Phase(f.Kind), Location(f), f.Message, repaired: !remaining.Contains(f));
        }
        var seen = new HashSet<FfsFinding>(first.Findings);
        foreach (FfsFinding f in after.Findings)
        {
            if (!seen.Contains(f))
            {
                report.Add(Phase(f.Kind), Location(f), "after repair: " + f.Message);
            }
        }
        if (after.IsClean && report.OperationalError is null && (!first.IsClean || !IsMarkedClean(device)))
        {
            Errno e = FfsRepair.MarkClean(device);
            if (e != Errno.OK)
            {
                report.OperationalError = $"could not mark the file system clean: {e}";
            }
            else if (first.IsClean)
            {
                report.Note("repair", "superblock", "consistent; marked clean");
            }
        }
        return report;
    }

    private static bool IsMarkedClean(IBlockDevice device)
    {
        FfsSuperblock? sb = FfsSuperblockCheck.Find(device, out _);
        return sb is not null && (sb.Clean & FfsSuperblock.IsClean) != 0
            && (sb.Flags & (FfsSuperblock.FlagUnclean | FfsSuperblock.FlagNeedsFsck)) == 0;
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
        FfsFindingKind.Summary when f.Location < 0 => "superblock totals", // the totals, not one group's summary
        FfsFindingKind.Summary => $"summary of cylinder group {f.Location}",
        _ => $"{f.Kind.ToString().ToLowerInvariant()} {f.Location}",
    };
}
