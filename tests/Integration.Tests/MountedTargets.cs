using RumpFs.TestSupport;

namespace RumpFs.Integration.Tests;

/// <summary>What a mounted file system cannot store (FAT above all), for the kernel-level suite.</summary>
public sealed record KernelDeviations(
    bool HardLinks = true,
    bool Symlinks = true,
    bool SpecialFiles = true,
    bool Ownership = true,
    bool PermissionBits = true,
    bool KeepsData = true);

/// <summary>
/// One file system served through its rump_* daemon: how to make a fresh image, how to
/// mount it, and the independent checker that judges the image afterwards.
/// </summary>
public sealed record MountedTarget(
    string Name,
    string Tool,
    Func<ScratchDir, string?> MakeImage,
    string[] Options,
    Func<string, ToolResult>? CheckImage,
    KernelDeviations Dev)
{
    public override string ToString() => Name;

    /// <summary>Make a fresh image (if the target has one) and mount it; the image path is in <paramref name="image"/>.</summary>
    public FuseMount Mount(ScratchDir scratch, out string? image, params string[] extraOptions)
    {
        image = MakeImage(scratch);
        var args = new List<string>();
        string options = string.Join(',', Options.Concat(extraOptions));
        if (options.Length > 0)
        {
            args.Add("-o");
            args.Add(options);
        }
        if (image is not null)
        {
            args.Add(image);
        }
        return FuseMount.Start(Tool, scratch.File("mnt"), [.. args]);
    }

    /// <summary>Mount an existing image again (after an unmount or a crash).</summary>
    public FuseMount Remount(ScratchDir scratch, string image, params string[] extraOptions)
    {
        string options = string.Join(',', Options.Concat(extraOptions));
        string[] args = options.Length > 0 ? ["-o", options, image] : [image];
        return FuseMount.Start(Tool, scratch.File("mnt"), args);
    }
}

/// <summary>
/// Every file system the kernel-level suite runs on. A disk format joins when its driver
/// writes; its deviations from POSIX are stated here, in one table.
/// </summary>
public static class MountedTargets
{
    public static IReadOnlyList<MountedTarget> All { get; } =
    [
        new("tmpfs", "rump_tmpfs", _ => null, ["size=512M"], null, new KernelDeviations(KeepsData: false)),
        // makefs sizes the inode table from the source tree: -f asks for free inodes.
        // sleuthkit reads little-endian UFS1 only, so it judges that one; the big-endian
        // UFS2 target has no independent checker here.
        new("ffs-ufs1-le", "rump_ffs",
            Image("ufs1.img", "makefs", "-t", "ffs", "-o", "version=1", "-B", "le", "-s", "256m", "-f", "20000", "{image}", EmptyDir()),
            [], SleuthkitCheck, new KernelDeviations()),
        new("ffs-ufs2-be", "rump_ffs",
            Image("ufs2.img", "makefs", "-t", "ffs", "-o", "version=2", "-B", "be", "-s", "256m", "-f", "20000", "{image}", EmptyDir()),
            [], null, new KernelDeviations()),
        new("ext2", "rump_ext2fs", Image("ext2.img", "mke2fs", "-q", "-F", "-t", "ext2", "{image}", "256M"),
            [], E2fsck, new KernelDeviations()),
        new("ext4", "rump_ext2fs", Image("ext4.img", "mke2fs", "-q", "-F", "-t", "ext4", "{image}", "256M"),
            [], E2fsck, new KernelDeviations()),
        new("fat32", "rump_msdos", Image("fat32.img", "mkfs.fat", "-C", "-F", "32", "{image}", "262144"),
            [], FsckFat, new KernelDeviations(HardLinks: false, Symlinks: false, SpecialFiles: false, Ownership: false, PermissionBits: false)),
    ];

    private static string EmptyDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "rumpfs-empty-tree");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static ToolResult E2fsck(string image) => OracleTool.Run("e2fsck", "-fn", image);

    private static ToolResult FsckFat(string image) => OracleTool.Run("fsck.fat", "-n", image);

    /// <summary>sleuthkit must read the superblock and walk the whole tree without complaint.</summary>
    private static ToolResult SleuthkitCheck(string image)
    {
        ToolResult stat = OracleTool.Run("fsstat", image);
        if (stat.ExitCode != 0)
        {
            return stat;
        }
        ToolResult fls = OracleTool.Run("fls", "-r", image);
        return fls.Stderr.Length > 0 ? fls with { ExitCode = 1 } : fls;
    }

    public static TheoryData<string> Names => ToData(All);

    /// <summary>Targets whose data outlives the daemon (crash and remount tests).</summary>
    public static TheoryData<string> Persistent => ToData(All.Where(t => t.Dev.KeepsData));

    public static MountedTarget Get(string name) => All.Single(t => t.Name == name);

    private static TheoryData<string> ToData(IEnumerable<MountedTarget> targets)
    {
        var data = new TheoryData<string>();
        foreach (MountedTarget t in targets)
        {
            data.Add(t.Name);
        }
        return data;
    }

    /// <summary>A fresh image made by a public tool (mke2fs, mkfs.fat, makefs).</summary>
    public static Func<ScratchDir, string?> Image(string file, string tool, params string[] args) => scratch =>
    {
        string path = scratch.File(file);
        OracleTool.RunExpect(0, tool, [.. args.Select(a => a.Replace("{image}", path, StringComparison.Ordinal).Replace("{scratch}", scratch.Path, StringComparison.Ordinal))]);
        return path;
    };
}
