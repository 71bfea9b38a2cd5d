using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Inodes 3 and 4, the quota slots, judged as e2fsck judges them: without the quota feature
/// (or not named by the superblock) a slot holding a link count, blocks or a block pointer is
/// cleared whatever its mode; a named quota file must be a regular file (reported, not
/// repaired: e2fsck rebuilds the quota files); nothing else about them is an error.
/// </summary>
public sealed class Ext2CheckQuotaInodeTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-quota");

    public void Dispose() => _dir.Dispose();

    private string Image(bool quota)
    {
        string img = _dir.File("quota.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext4", "-O", quota ? "quota" : "^quota", img, "16M");
        return img;
    }

    [Theory]
    [InlineData(3, "links_count 1")]
    [InlineData(4, "block[0] 300")]
    [InlineData(3, "blocks 2")]
    public void UnusedQuotaSlotHoldingData_BothFail_ClearedWhole(int ino, string field)
    {
        string img = Image(quota: false);
        Debugfs(img, $"sif <{ino}> {field}");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Location == $"inode {ino}" && f.Message.Contains("quota inode is not in use, but contains data", StringComparison.Ordinal));
        Assert.Contains("Links: 0", DebugfsRead(img, $"stat <{ino}>"), StringComparison.Ordinal);
    }

    [Fact]
    public void UnusedQuotaSlotWithAModeOnly_IsCleanForBoth()
    {
        string img = Image(quota: false);
        Debugfs(img, "sif <3> mode 0100600");
        AssertBothClean(img);
    }

    /// <summary>
    /// A named quota file that is not a regular file: both checkers fail it; e2fsck -y clears
    /// it and rebuilds the quota files, which this checker cannot write, so -y leaves it
    /// (exit 4) rather than make a regular file with no quota tree.
    /// </summary>
    [Fact]
    public void QuotaFileThatIsNotRegular_ReportedNotRepaired()
    {
        string img = Image(quota: true);
        Debugfs(img, "sif <3> mode 040755");
        CheckReport before = AssertBothDamaged(img);
        Assert.Contains(before.Findings, f => f.Location == "inode 3" && f.Message.Contains("quota inode has invalid mode 040755", StringComparison.Ordinal));
        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 4, Describe(y));
        // Its blocks stay in use, and it is not counted as a directory.
        Assert.DoesNotContain(y.Findings, f => f.Phase == "summary" && f.Severity == CheckSeverity.Error);
        Assert.Contains("Type: directory", DebugfsRead(img, "stat <3>"), StringComparison.Ordinal);
    }

    [Fact]
    public void QuotaFileLinkCount_IsNotChecked_AsInE2fsck()
    {
        string img = Image(quota: true);
        Debugfs(img, "sif <4> links_count 7");
        AssertBothClean(img);
    }
}
