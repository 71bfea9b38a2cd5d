using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// An extent at the last 32-bit logical block would need a file size past the largest the
/// format holds: the repair removes it instead of setting a size the next check refuses.
/// </summary>
public sealed class Ext2CheckExtentBoundsTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-extent-bounds");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("ext4")]
    [InlineData("ext4-nocsum")]
    public void ExtentAtTheLastLogicalBlock_Removed_OneRepairConverges(string flavour)
    {
        string img = _dir.File(flavour + ".img");
        string[] features = flavour == "ext4" ? [] : ["-O", "^metadata_csum"];
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", "4096", "-t", "ext4" }, .. features, img, "16M"]);
        string src = _dir.File("f");
        File.WriteAllText(src, "data");
        Debugfs(img, $"write {src} f");
        Debugfs(img, "sif /f block[3] 4294967295"); // ee_block of the inode's only extent
        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        Assert.Contains(y.Findings, f => f.Message.Contains("runs past the last block a file can have", StringComparison.Ordinal));
        CheckReport again = Check(img, repair: true);
        Assert.True(again.ExitCode == 0, Describe(again));
        AssertBothClean(img);
    }
}
