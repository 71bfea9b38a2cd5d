using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A wrong d_type on "." or ".." (fuzz round 20 fault 8): fsck_ffs's pass 2 asks BAD TYPE
/// VALUE FOR '.' / '..' and FIX sets DT_DIR. Before, -y reported it and changed nothing,
/// exit 4 on every run.
/// </summary>
public sealed class FfsDotTypeTests
{
    [Theory]
    [InlineData(1, "/", ".", 9)]
    [InlineData(1, "/", "..", 9)]
    [InlineData(1, "/d", ".", 8)]
    [InlineData(2, "/", ".", 8)]
    [InlineData(2, "/d", "..", 9)]
    public void Repair_DotEntryWrongType_SetToDirectoryInOneRun(int version, string path, string name, byte type)
    {
        using var dir = new ScratchDir("ffsdottype");
        FfsDamage img = FfsSmallImages.Damage(dir, FfsSmallImages.Image(version));
        Assert.True(img.Sb.HasDirentTypes);
        ulong ino = img.Ino(path);
        img.WithEntry(ino, name, (b, off, _) => b[off + DirectEntry.Type] = type);

        (CheckReport found, CheckReport y) = FfsOneRunRepair.Run(img);
        Assert.Contains(found.Findings, f => f.Message.Contains($"entry \"{name}\" has d_type {type}", StringComparison.Ordinal));
        Assert.Contains(y.Findings, f => f.Message.Contains($"entry \"{name}\" has d_type {type}", StringComparison.Ordinal) && f.Repaired);

        byte got = 0;
        img.WithEntry(ino, name, (b, off, _) => got = b[off + DirectEntry.Type]);
        Assert.Equal(4, got);
        Dictionary<string, string> tree = FfsRepairTests.Tree(img.Bytes);
        foreach ((string file, string sha) in FfsSmallImages.SourceFiles(version))
        {
            Assert.True(tree.TryGetValue(file, out string? sig), $"{file} lost");
            Assert.Contains("file:" + sha, sig, StringComparison.Ordinal);
        }
        if (version == 1)
        {
            HashSet<string> fls = FfsOneRunRepair.SleuthkitPaths(img.Bytes);
            Assert.Contains("d/x", fls);
            Assert.Contains("fragtail", fls);
        }
    }
}
