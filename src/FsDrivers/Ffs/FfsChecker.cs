using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// `ukfs fsck -t ffs`: <see cref="FfsCheck"/> behind the VFS checker interface. It only
/// reports; a repair request is answered with the findings left uncorrected and a note.
/// </summary>
public sealed class FfsChecker : IFileSystemChecker
{
    public string FsType => "ffs";

    public CheckReport Check(IBlockDevice device, bool repair)
    {
        var report = new CheckReport();
        FfsCheckReport r;
        try
        {
            r = FfsCheck.Run(device);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            report.OperationalError = $"ffs check failed: {e.Message}";
            return report;
        }
        if (r.Findings.Count == 1 && r.Findings[0].Kind == FfsFindingKind.Superblock)
        {
            report.OperationalError = "not a valid FFS: " + r.Findings[0].Message;
            return report;
        }
        foreach (FfsFinding f in r.Findings)
        {
            report.Add(f.Kind.ToString(), f.Location.ToString(System.Globalization.CultureInfo.InvariantCulture), f.Message);
        }
        if (repair && !r.IsClean)
        {
            report.Note("repair", "-", "ffs repair is not implemented; findings are left as they are");
        }
        return report;
    }
}
