using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// fsck for ext2, ext3 and ext4 in the spirit of e2fsck's passes: 1 inodes and their block
/// maps or extent trees, 2 directory blocks, 3 connectivity, 3A rebuilding the directories
/// whose hash-tree index was bad, 4 reference counts, 5 bitmaps and summary counts, with the
/// metadata_csum checksums along the way. Reads the device
/// directly (the image may be too damaged to mount). With repair it fixes what e2fsck -y
/// fixes in the common cases; repairs are kept in memory and written at the end.
/// </summary>
public sealed class Ext2Checker : IFileSystemChecker
{
    public string FsType => "ext2fs";

    public bool CanOptimizeDirectories => true;

    public CheckReport Check(IBlockDevice device, bool repair) => Check(device, new CheckOptions { Repair = repair });

    public CheckReport Check(IBlockDevice device, CheckOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        bool repair = options.Repair;
        var report = new CheckReport();
        if (repair && device.IsReadOnly)
        {
            report.OperationalError = "the device is read-only; cannot repair";
            return report;
        }
        if (options.OptimizeDirectories && !repair)
        {
            report.OperationalError = "optimising directories rewrites them; it needs repair (-y)";
            return report;
        }
        try
        {
            Ext2CheckVolume? v = Ext2CheckVolume.Open(device, out string? error);
            if (v is null)
            {
                report.OperationalError = "not a usable ext2/ext3/ext4 file system: " + error;
                return report;
            }
            if (v.BackupSuperblock != 0)
            {
                report.Add("superblock", "block 0", $"the primary superblock or descriptor table is unusable ({v.PrimaryProblem}); "
                    + $"checked with the backup in block {v.BackupSuperblock}, which replaces it", repaired: repair);
            }
            if (Ext2CheckJournal.NeedsRecovery(v.Sb))
            {
                if (!repair)
                {
                    // e2fsck -n skips the replay with a warning and judges the unreplayed
                    // metadata by the passes alone (a journal to replay is not damage), so we do too.
                    report.Note("journal", "superblock", "the journal needs recovery; skipped in a read-only check (-y or a read-write mount replays it)");
                }
                else
                {
                    Errno e = Ext2CheckJournal.Replay(device, v.Sb, out string? message);
                    if (e != Errno.OK)
                    {
                        report.OperationalError = "the journal needs recovery and replaying it failed: " + message;
                        return report;
                    }
                    report.Add("journal", "superblock", "the journal needed recovery; replayed", repaired: true);
                    v = Ext2CheckVolume.Open(device, out error);
                    if (v is null)
                    {
                        report.OperationalError = "after the journal replay: " + error;
                        return report;
                    }
                }
            }
            new Ext2CheckRun(v, report, repair, options.OptimizeDirectories).Run();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A checker bug on strange input must end as an operational error, never escape.
            KernelLog.Error("ext2fsck", $"check of {device.Name} failed: {ex}");
            report.OperationalError = $"internal error while checking ({ex.GetType().Name}: {ex.Message})";
        }
        return report;
    }
}
