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

    /// <summary>
    /// A superblock quota field that names an inode which is no quota file of its type (the
    /// lost+found directory, another reserved inode): the kernel would hide that inode, and
    /// e2fsck clears the entries naming it. The field is what took the damage: -y names the
    /// type's own slot again when that holds its quota file, else no file (the project type
    /// has no slot); then e2fsck finds the image clean and lost+found is still there.
    /// </summary>
    [Theory]
    [InlineData("usr_quota_inum 11", "the user quota file is named as inode 11, not a regular file", "User quota inode:         3")]
    [InlineData("grp_quota_inum 7", "the group quota file is named as inode 7, a reserved inode of another role", "Group quota inode:        4")]
    [InlineData("prj_quota_inum 11", "the project quota file is named as inode 11", "")]
    public void QuotaFieldNamingAnotherInode_FieldMended(string field, string finding, string after)
    {
        string img = Image(quota: true);
        Debugfs(img, "ssv " + field);
        Assert.NotEqual(0, E2fsck(img).ExitCode);
        byte[] damaged = File.ReadAllBytes(img);

        CheckReport n = Check(img, repair: false);
        Assert.True(n.ExitCode == 4, Describe(n));
        Assert.Contains(n.Findings, f => f.Message.Contains(finding, StringComparison.Ordinal) && !f.Repaired);
        Assert.True(damaged.AsSpan().SequenceEqual(File.ReadAllBytes(img)), "a check without -y wrote to the image");

        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        AssertBothClean(img);
        string header = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        Assert.Contains(after, header, StringComparison.Ordinal);
        Assert.DoesNotContain("Project quota inode:      11", header, StringComparison.Ordinal);
        Assert.Contains("lost+found", DebugfsRead(img, "ls /"), StringComparison.Ordinal);
    }

    [Fact]
    public void QuotaFieldNamingADirectory_OwnSlotHoldingNoQuotaFile_FieldCleared()
    {
        string img = Image(quota: true);
        // The user slot's quota header is gone too: there is no user quota file to name.
        long block = Bmap(img, "<3>", 0);
        Patch(img, block * 1024, 0, 0, 0, 0);
        Debugfs(img, "ssv usr_quota_inum 11");

        CheckReport y = Check(img, repair: true);

        Assert.Contains(y.Findings, f => f.Message.Contains("cleared (no such quota file is kept)", StringComparison.Ordinal) && f.Repaired);
        AssertBothClean(img);
        string header = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        Assert.DoesNotContain("User quota inode:", header, StringComparison.Ordinal); // dumpe2fs leaves out a field of 0
        Assert.Contains("Group quota inode:        4", header, StringComparison.Ordinal);
        Assert.Contains("lost+found", DebugfsRead(img, "ls /"), StringComparison.Ordinal);
    }

    /// <summary>
    /// mke2fs -O quota,project keeps the project quota file in an ordinary inode (12), which
    /// no directory names: it is no orphan. Before, pass 4 linked it into lost+found, and
    /// e2fsck then rejected that entry.
    /// </summary>
    [Fact]
    public void ProjectQuotaFileInAnOrdinaryInode_IsCleanForBoth_AndNotReconnected()
    {
        string img = _dir.File("project.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext4", "-O", "quota,project", img, "16M");
        Assert.Contains("Project quota inode:      12", OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout, StringComparison.Ordinal);
        AssertBothClean(img);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 0 && fix.Findings.Count == 0, Describe(fix));
        Assert.DoesNotContain("#12", DebugfsRead(img, "ls /lost+found"), StringComparison.Ordinal);
    }

    /// <summary>A directory entry naming the project quota file is removed, as e2fsck removes it ("invalid inode #").</summary>
    [Fact]
    public void EntryNamingTheProjectQuotaFile_Removed()
    {
        string img = _dir.File("project.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext4", "-O", "quota,project", img, "16M");
        Debugfs(img, "link <12> /quota-link");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("entry 'quota-link' has bad inode number 12", StringComparison.Ordinal));
        Assert.DoesNotContain("quota-link", DebugfsRead(img, "ls /"), StringComparison.Ordinal);
    }

    /// <summary>
    /// Quota fields left behind without the quota feature: nothing for the kernel or for us,
    /// but e2fsck takes the inodes for quota files (lost+found here, which it then tears
    /// apart). -n notes them; -y clears them, after which e2fsck finds the image clean.
    /// </summary>
    [Fact]
    public void QuotaFieldWithoutTheFeature_NotedAndClearedByRepair()
    {
        string img = Image(quota: false);
        Debugfs(img, "ssv usr_quota_inum 11");
        Assert.Equal(4, E2fsck(img).ExitCode);
        CheckReport check = Check(img, repair: false);
        Assert.Equal(0, check.ExitCode);
        Assert.Contains(check.Findings, f => f.Severity == CheckSeverity.Note && f.Message.Contains("names inode 11 though the quota feature is off", StringComparison.Ordinal));
        CheckReport fix = Check(img, repair: true);
        Assert.Equal(0, fix.ExitCode);
        AssertBothClean(img);
        Assert.DoesNotMatch(@"User quota inode:\s+11", OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout);
        Assert.Contains("lost+found", DebugfsRead(img, "ls /"), StringComparison.Ordinal);
    }
}
