using CommandLine;

namespace RumpFs.Tools.Ukfs.Commands;

[Verb("fsck", HelpText = "Check the file system's consistency (exit 0 clean, 1 corrected, 4 errors left, 8 could not check).")]
internal sealed class FsckOptions
{
    [Option('n', HelpText = "Check only, change nothing (the default).")] public bool No { get; set; }
    [Option('y', HelpText = "Repair what can be repaired.")] public bool Yes { get; set; }
    [Option('f', HelpText = "Check even when marked clean (always done; accepted for compatibility).")] public bool Force { get; set; }
    [Option('D', HelpText = "With -y, rewrite every directory from its names, indexed when big enough (ext2/3/4, as e2fsck -D).")]
    public bool OptimizeDirectories { get; set; }
    [Option("json", HelpText = "JSON output: every finding with its phase and location.")] public bool Json { get; set; }
}

[Verb("newfs", HelpText = "Write a new, empty file system on IMAGE (created with SIZE when missing), optionally filled from a host folder.")]
internal sealed class NewfsOptions : IValidatedOptions
{
    [Option('t', HelpText = "File-system type: msdos, ext2fs, ffs (or the global -t).")] public string? Type { get; set; }
    [Option('o', HelpText = "Format options, comma separated: fat=32,cluster=4096,label=NAME,sector=512 (msdos).")]
    public string? Options { get; set; }
    [Option('L', HelpText = "Volume label (same as -o label=NAME).")] public string? Label { get; set; }
    [Option("from", HelpText = "Copy this host folder's tree into the new file system (files, folders, links, modes, times).")]
    public string? From { get; set; }
    [Option('T', "timestamp", HelpText = "Build reproducibly: every time the file system records is this one (seconds since 1970, or 2024-01-02T03:04:05Z), copied files' times are clamped to it, and UUIDs and generation numbers follow from the arguments. Default: $SOURCE_DATE_EPOCH when set.")]
    public string? Timestamp { get; set; }

    /// <summary>The time of a reproducible build (-T or SOURCE_DATE_EPOCH), set by <see cref="Validate"/>; null otherwise.</summary>
    public RumpFs.Kernel.Timespec? FixedTime { get; private set; }
    [Value(0, MetaName = "SIZE", HelpText = "Image size (bytes, or with K, M, G suffix); required when IMAGE does not exist.")]
    public string? Size { get; set; }

    public void Validate() => FixedTime = Reproducible.TimeFrom(Timestamp);
}
