using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Quota usage (mke2fs -O quota[,project]): e2fsck 1.47 counts every id's space and inodes
/// and compares them with the quota files. mke2fs -d writes the files before it copies the
/// tree, so its images are already wrong for e2fsck: ours must find the same ids wrong, and
/// after our repair both checkers find the image clean and each quota file holds the bytes
/// e2fsck -fy writes on a copy.
/// </summary>
public sealed class Ext2CheckQuotaUsageTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-quota");

    public void Dispose() => _dir.Dispose();

    /// <summary>Files owned by <paramref name="owners"/> (uid:gid each) under /d, plus a few of root's.</summary>
    private string Image(string features, params string[] owners) => ImageOfBlockSize(features, "1024", owners);

    private string ImageOfBlockSize(string features, string blockSize, params string[] owners)
    {
        string src = _dir.File("src");
        Directory.CreateDirectory(Path.Combine(src, "d"));
        File.WriteAllText(Path.Combine(src, "root.txt"), "root's\n");
        for (int i = 0; i < owners.Length; i++)
        {
            string f = Path.Combine(src, "d", $"f{i}");
            File.WriteAllBytes(f, new byte[1000 * (i + 1)]);
            OracleTool.RunExpect(0, "chown", owners[i], f);
        }
        string img = _dir.File("quota.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", blockSize, "-I", "256", "-t", "ext4", "-O", features, "-d", src, img, "32M");
        return img;
    }

    /// <summary>Our repair and e2fsck -fy on a copy leave the same bytes in each quota file.</summary>
    private void AssertRepairMatchesE2fsck(string img, params uint[] quotaInodes)
    {
        string theirs = CopyBeside(img, "theirs.img");
        RepairRoundTrip(img);
        Assert.Equal(1, OracleTool.Run("e2fsck", "-fy", theirs).ExitCode);
        foreach (uint ino in quotaInodes)
        {
            Assert.Equal(DumpInode(theirs, ino), DumpInode(img, ino));
        }
    }

    [Fact]
    public void Check_EmptyQuotaImage_IsCleanForBoth()
    {
        string img = _dir.File("empty.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-O", "quota,project", "-I", "256", img, "32M");
        AssertBothClean(img);
    }

    /// <summary>The orphan file is charged to no one (e2fsck and mke2fs leave it out), so a fresh image is clean for both.</summary>
    [Theory]
    [InlineData("quota,orphan_file")]
    [InlineData("quota,project,orphan_file")]
    public void Check_QuotaImageWithAnOrphanFile_IsCleanForBoth(string features)
    {
        string img = Image(features, "1000:1000");
        Assert.True(OracleTool.Run("e2fsck", "-fy", img).ExitCode <= 1);
        AssertBothClean(img);
    }

    /// <summary>
    /// e2fsck writes the project quota file into the free blocks it finds: scattered ones give
    /// it an extent tree of depth 1, which is still the quota file for both checkers.
    /// </summary>
    [Fact]
    public void Check_ProjectQuotaFileWithADepthOneTree_IsCleanForBoth()
    {
        string src = _dir.File("depth1");
        Directory.CreateDirectory(src);
        File.WriteAllBytes(Path.Combine(src, "big"), [.. Enumerable.Range(0, 400_000).Select(i => (byte)(1 + (i % 251)))]);
        for (int i = 1; i <= 150; i++)
        {
            File.WriteAllText(Path.Combine(src, $"p{i}"), $"{i}\n");
        }
        string img = _dir.File("depth1.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-I", "256", "-t", "ext4", "-O", "quota,project", "-d", src, img, "32M");
        // Free space only in one-block holes, and 150 project ids to write.
        string script = string.Join('\n', Enumerable.Range(0, 195).Select(k => $"punch /big {1 + (2 * k)} {1 + (2 * k)}")
            .Concat(Enumerable.Range(1, 150).Select(i => $"sif /p{i} projid {(i * 1000) + 7}")));
        OracleTool.Run("debugfs", ["-w", "-f", "-", img], stdin: script);
        Assert.True(OracleTool.Run("e2fsck", "-fy", img).ExitCode <= 1);
        uint projectQuota = uint.Parse(Regex.Match(OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout, @"Project quota inode:\s+(\d+)").Groups[1].Value,
            CultureInfo.InvariantCulture);
        Assert.Contains("(ETB0)", DebugfsRead(img, $"stat <{projectQuota}>"), StringComparison.Ordinal);
        AssertBothClean(img);
    }

    [Fact]
    public void Check_Mke2fsDImage_SameIdsWrongForBoth_RepairWritesE2fsckBytes()
    {
        string img = Image("quota", "1000:1000", "2000:3000");
        ToolResult oracle = E2fsck(img);
        CheckReport ours = AssertBothDamaged(img);
        // e2fsck names the same ids: 0 off by the tree's inodes, 1000, 2000 and 3000 missing.
        Assert.Contains("Missing quota entry ID 2000", oracle.Transcript, StringComparison.Ordinal);
        Assert.Contains(ours.Findings, f => f.Location.StartsWith("user quota file", StringComparison.Ordinal)
            && f.Message.Contains("id 2000: no record", StringComparison.Ordinal));
        Assert.Contains(ours.Findings, f => f.Location.StartsWith("group quota file", StringComparison.Ordinal)
            && f.Message.Contains("id 3000: no record", StringComparison.Ordinal));
        AssertRepairMatchesE2fsck(img, 3, 4);
    }

    [Fact]
    public void Check_ProjectQuota_CountedAndRewrittenAsE2fsckDoes()
    {
        string img = Image("quota,project", "1000:1000");
        Debugfs(img, "set_inode_field /d/f0 projid 77");
        AssertRepairMatchesE2fsck(img, 3, 4, 12);
    }

    /// <summary>Limits set in the file stay; only the usage is rewritten.</summary>
    [Fact]
    public void Check_LimitsInTheFile_KeptByTheRewrite()
    {
        string img = Image("quota", "1000:1000");
        // Id 0's record in the user quota file: data block 5 of the tree, first slot; its
        // inode hard limit is the third field (after id and padding).
        byte[] file = DumpInode(img, 3);
        Assert.Equal(0u, BitConverter.ToUInt32(file, (5 * 1024) + 16));
        Assert.Equal(2UL, BitConverter.ToUInt64(file, (5 * 1024) + 16 + 24)); // the root and lost+found
        long at = (Bmap(img, "<3>", 5) * 1024) + 16 + 8;
        Patch(img, at, BitConverter.GetBytes(4242UL));
        AssertRepairMatchesE2fsck(img, 3, 4);
        Assert.Equal(4242UL, BitConverter.ToUInt64(DumpInode(img, 3), (5 * 1024) + 16 + 8));
    }

    /// <summary>
    /// e2fsck writes a quota file anew (quota_write_inode): its info gets the week's grace
    /// times whatever the old one held, and the old deadlines are not read (its scan copies
    /// only the limits), so an id over a soft limit gets a deadline of now plus the week. Ours
    /// writes the same: the old file here says 60 s and 3600 s and gives id 0, over soft limits
    /// of 1 KiB and 1 inode, a block deadline long past.
    /// </summary>
    [Fact]
    public void Check_Rewrite_GraceTimesAndDeadlinesAsE2fsckWritesThem()
    {
        const int Week = 7 * 24 * 3600;
        const int Id0 = (5 * 1024) + 16; // id 0's record: data block 5 of the tree, first slot
        string img = Image("quota", "1000:1000"); // mke2fs -d: the usage is wrong for both
        Patch(img, (Bmap(img, "<3>", 0) * 1024) + 8, [.. BitConverter.GetBytes(60u), .. BitConverter.GetBytes(3600u)]);
        Assert.Equal(0u, BitConverter.ToUInt32(DumpInode(img, 3), Id0));
        long record = (Bmap(img, "<3>", 5) * 1024) + 16;
        Patch(img, record + 16, BitConverter.GetBytes(1UL)); // dqb_isoftlimit
        Patch(img, record + 40, BitConverter.GetBytes(1UL)); // dqb_bsoftlimit (KiB)
        Patch(img, record + 56, BitConverter.GetBytes(12345UL)); // dqb_btime, 1970
        string theirs = CopyBeside(img, "theirs.img");
        RepairRoundTrip(img);
        Assert.Equal(1, OracleTool.Run("e2fsck", "-fy", theirs).ExitCode);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        byte[] ours = DumpInode(img, 3), e2fsck = DumpInode(theirs, 3);
        foreach (byte[] file in new[] { ours, e2fsck })
        {
            Assert.Equal(Week, BitConverter.ToInt32(file, 8)); // dqi_bgrace
            Assert.Equal(Week, BitConverter.ToInt32(file, 12)); // dqi_igrace
            Assert.InRange(BitConverter.ToInt64(file, Id0 + 56), now + Week - 600, now + Week); // dqb_btime
            Assert.InRange(BitConverter.ToInt64(file, Id0 + 64), now + Week - 600, now + Week); // dqb_itime
            file.AsSpan(Id0 + 56, 16).Clear(); // the seconds each run took may differ
        }
        Assert.Equal(e2fsck, ours);
        Assert.Equal(DumpInode(theirs, 4), DumpInode(img, 4));
    }

    [Fact]
    public void Check_QuotaFileHeaderDamaged_RewrittenFromTheUsage()
    {
        string img = Image("quota", "1000:1000");
        Patch(img, Bmap(img, "<4>", 0) * 1024, 0xde, 0xad, 0xbe, 0xef);
        CheckReport ours = Check(img, repair: false);
        Assert.Contains(ours.Findings, f => f.Message.Contains("cannot be read", StringComparison.Ordinal));
        AssertRepairMatchesE2fsck(img, 3, 4);
    }

    /// <summary>Sixty owners need more tree and data blocks than mke2fs gave the files: they grow.</summary>
    [Fact]
    public void Check_ManyOwners_QuotaFilesGrowAndHoldWhatE2fsckWrites()
    {
        string[] owners = [.. Enumerable.Range(0, 60).Select(i => $"{1000 + (i * 300)}:{500 + (i * 7)}")];
        string img = Image("quota", owners);
        long before = DumpInode(img, 3).Length;
        AssertRepairMatchesE2fsck(img, 3, 4);
        Assert.True(DumpInode(img, 3).Length > before, $"user quota file stayed {before} bytes");
    }

    /// <summary>On 4 KiB blocks the file is sized by its 1 KiB quota blocks, as e2fsck sizes it.</summary>
    [Fact]
    public void Check_FourKibBlocks_QuotaFileSizedAsE2fsckSizesIt()
    {
        string img = ImageOfBlockSize("quota", "4096", "1000:1000", "2000:3000");
        AssertRepairMatchesE2fsck(img, 3, 4);
    }

    /// <summary>An id whose last file went has no record left (e2fsck drops records with no usage and no limits).</summary>
    [Fact]
    public void Check_IdWithNothingLeft_RecordDropped()
    {
        string img = Image("quota", "1000:1000", "31337:31337");
        OracleTool.Run("e2fsck", "-fy", img);
        AssertBothClean(img);
        Debugfs(img, "rm /d/f1");
        AssertRepairMatchesE2fsck(img, 3, 4);
        Assert.DoesNotContain("31337", OracleTool.RunExpect(0, "debugfs", "-R", "lq user", img).Stdout, StringComparison.Ordinal);
    }

    /// <summary>The project quota file (inode 12) with no links is still the quota file, as for e2fsck.</summary>
    [Fact]
    public void Check_ProjectQuotaFileWithoutLinks_StillTheQuotaFile()
    {
        string img = Image("quota,project", "1000:1000");
        OracleTool.Run("e2fsck", "-fy", img);
        Debugfs(img, "sif <12> links_count 0");
        AssertBothClean(img);
    }
}
