using System.Text.Json;
using RumpFs.Kernel.Devices;
using RumpFs.Tools.Ukfs.Json;
using RumpFs.Ukfs;
using RumpFs.Ukfs.Partitions;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>
/// fsck [-n|-y [-D]] [--json]: run the format's checker on the image (or partition) and exit as
/// fsck(8) does: 0 clean, 1 errors corrected, 4 errors left uncorrected, 8 operational error.
/// </summary>
internal static class FsckCommand
{
    public const int OperationalError = 8;

    public static int Run(CommandContext ctx, FsckOptions o)
    {
        if (o.No && o.Yes)
        {
            throw new UsageException("fsck: -n and -y exclude each other");
        }
        if (o.OptimizeDirectories && !o.Yes)
        {
            throw new UsageException("fsck: -D rewrites directories; give -y with it");
        }
        FsDrivers.AllDrivers.Register();
        IBlockDevice device;
        try
        {
            device = DiskImage.Open(ctx.Image, readOnly: !o.Yes);
        }
        catch (UkfsException e)
        {
            ctx.Err.WriteLine("ukfs: fsck: " + e.Message);
            return OperationalError;
        }
        using (device)
        {
            // Last, a file system whose primary superblock (or FAT32 boot sector) is too
            // damaged to recognise but whose backup copy is sound: the checker restores it.
            string? type = ctx.FsType ?? FileSystemRegistry.Detect(device)?.Name ?? FsTypeProbe.Identify(device)?.Driver
                ?? FsTypeProbe.IdentifyByBackup(device)?.Driver;
            if (type is null)
            {
                ctx.Err.WriteLine($"ukfs: fsck: {ctx.Image}: no known file system (give -t TYPE to check one whose superblock copies are all damaged)");
                return OperationalError;
            }
            IFileSystemChecker? checker = FileSystemTools.FindChecker(type);
            if (checker is null)
            {
                ctx.Err.WriteLine($"ukfs: fsck: no checker for {type} file systems yet");
                return OperationalError;
            }
            if (o.OptimizeDirectories && !checker.CanOptimizeDirectories)
            {
                throw new UsageException($"fsck: -D (optimise directories) is for ext2/3/4 file systems, and {ctx.Image} holds {type}");
            }
            CheckReport report = checker.Check(device, new CheckOptions { Repair = o.Yes, OptimizeDirectories = o.OptimizeDirectories });
            Print(ctx, o, type, report);
            return report.ExitCode;
        }
    }

    private static void Print(CommandContext ctx, FsckOptions o, string type, CheckReport report)
    {
        if (o.Json)
        {
            var json = new FsckJson(ctx.Image.ToString(), type, o.Yes, report.ExitCode, report.OperationalError,
                report.ErrorCount, report.RepairedCount,
                [.. report.Findings.Select(f => new FindingJson(f.Phase, f.Location, f.Message,
                    f.Severity == CheckSeverity.Error ? "error" : "note", f.Repaired))]);
            ctx.Out.WriteLine(JsonSerializer.Serialize(json, FsckJsonContext.Default.FsckJson));
            return;
        }
        foreach (CheckFinding f in report.Findings)
        {
            string tag = f.Severity == CheckSeverity.Note ? "note" : f.Repaired ? "FIXED" : "ERROR";
            ctx.Out.WriteLine($"** {f.Phase}: {f.Location}: {f.Message} [{tag}]");
        }
        if (report.OperationalError is not null)
        {
            ctx.Err.WriteLine($"ukfs: fsck: {ctx.Image}: {report.OperationalError}");
        }
        int errors = report.ErrorCount;
        int fixedCount = report.RepairedCount;
        string verdict = report.ExitCode switch
        {
            0 => "clean",
            1 => $"{fixedCount} error(s) corrected",
            4 => $"{errors - fixedCount} error(s) left uncorrected" + (o.Yes ? "" : " (run with -y to repair)"),
            _ => "not checked",
        };
        ctx.Out.WriteLine($"{ctx.Image} ({type}): {verdict}");
    }
}
