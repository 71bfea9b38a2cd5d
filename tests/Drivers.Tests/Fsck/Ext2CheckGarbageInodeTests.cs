using System.Text.RegularExpressions;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// An inode-table block in which more than half the inodes fail their checksum or have an
/// impossible extent header or block map is taken as garbage, as e2fsck takes it: each of
/// its inodes with links is cleared before any other check, so random bytes never become
/// block claims. The tests compare what is cleared, the names left and the free counts with
/// e2fsck -fy on a copy.
/// </summary>
public sealed class Ext2CheckGarbageInodeTests : IDisposable
{
    private const uint Victim = 30;
    private readonly ScratchDir _dir = new("ext2ck-garbage");

    public void Dispose() => _dir.Dispose();

    /// <summary>Random bytes: every checksum fails. 0xFF bytes (no checksums): every inode has the extents flag and no extent header.</summary>
    [Theory]
    [InlineData("ext4", 1024, false)]
    [InlineData("ext4", 4096, false)]
    [InlineData("ext4-nocsum", 4096, true)]
    [InlineData("ext2", 1024, true)]
    public void OverwrittenTableBlock_EveryLinkedInodeCleared_AsE2fsck(string flavour, int blockSize, bool ones)
    {
        string img = Image(flavour, blockSize);
        byte[] junk = new byte[blockSize];
        if (ones)
        {
            Array.Fill(junk, (byte)0xFF);
        }
        else
        {
            new Random(11).NextBytes(junk);
        }
        Patch(img, TableBlockOffset(img, Victim, blockSize), junk);

        CheckReport fix = RepairAndCompare(img);
        int inodesPerBlock = blockSize / 256;
        Assert.Equal(inodesPerBlock, fix.Findings.Count(IsGarbage));
    }

    [Fact]
    public void HalfTheBlockFailsItsChecksum_NotGarbage_FilesKept()
    {
        string img = Image("ext4", 1024); // 4 inodes a table block
        uint first = ((Victim - 1) / 4 * 4) + 1;
        BreakChecksum(img, first);
        BreakChecksum(img, first + 1);

        CheckReport fix = RepairAndCompare(img);
        Assert.DoesNotContain(fix.Findings, IsGarbage);
        Assert.Equal(2, fix.Findings.Count(f => f.Message.Contains("checksum does not match", StringComparison.Ordinal)));
        Assert.Contains("f20", DebugfsRead(img, "ls -l /d"), StringComparison.Ordinal);
    }

    [Fact]
    public void MoreThanHalfFailItsChecksum_WholeBlockCleared_GoodChecksumToo()
    {
        string img = Image("ext4", 1024);
        uint first = ((Victim - 1) / 4 * 4) + 1;
        for (uint ino = first; ino < first + 3; ino++)
        {
            BreakChecksum(img, ino);
        }

        CheckReport fix = RepairAndCompare(img);
        Assert.Equal(4, fix.Findings.Count(IsGarbage));
        Assert.Contains(fix.Findings, f => IsGarbage(f) && f.Location == $"inode {first + 3}");
    }

    /// <summary>
    /// The root is lost: its table block is garbage (the rule clears inodes 1 to 4 as e2fsck
    /// does), or it was cleared with debugfs clri. Pass 3 makes a new root, as e2fsck's
    /// "Root inode not allocated. Allocate?", and everything it held reaches a new lost+found:
    /// one run, both clean, the same free counts and the same entries in lost+found.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RootLost_MadeAgain_EverythingInLostAndFound_AsE2fsck(bool garbage)
    {
        string img = Image("ext4", 1024);
        if (garbage)
        {
            byte[] junk = new byte[1024];
            new Random(17).NextBytes(junk);
            Patch(img, TableBlockOffset(img, 2, 1024), junk);
        }
        else
        {
            Debugfs(img, "clri <2>");
        }
        string theirs = CopyBeside(img, "theirs.img");
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        Assert.Contains(fix.Findings, f => f.Message.Contains("the root directory is missing; a new one is made", StringComparison.Ordinal));
        AssertBothClean(img);
        Assert.Equal(0, Check(img, repair: true).ExitCode);
        OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.Equal(FreeCounts(theirs), FreeCounts(img));
        Assert.Equal(LostFound(theirs), LostFound(img));
        Assert.NotEmpty(LostFound(img));
    }

    private static string LostFound(string img) =>
        string.Join(' ', Regex.Matches(DebugfsRead(img, "ls /lost+found"), @"(\d+)\s+\(\d+\)\s+(#\d+)")
            .Where(m => m.Groups[1].Value != "0").Select(m => m.Groups[2].Value).Order(StringComparer.Ordinal));

    private static bool IsGarbage(CheckFinding f) => f.Message.Contains("seems to contain garbage", StringComparison.Ordinal);

    /// <summary>
    /// Our -y on <paramref name="img"/> and e2fsck -fy on a copy: both clean after, one run
    /// enough, the same inodes cleared as garbage, the same names in /d and free counts.
    /// </summary>
    private CheckReport RepairAndCompare(string img)
    {
        string theirs = CopyBeside(img, "theirs.img");
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);
        Assert.Equal(0, Check(img, repair: true).ExitCode);

        string e2 = OracleTool.Run("e2fsck", "-fy", theirs).Stdout;
        Assert.Equal(Regex.Count(e2, "seems to contain garbage"), fix.Findings.Count(IsGarbage));
        Assert.Equal(FreeCounts(theirs), FreeCounts(img));
        Assert.Equal(Names(theirs), Names(img));
        return fix;
    }

    private string Image(string flavour, int blockSize)
    {
        string src = _dir.File("src");
        Directory.CreateDirectory(Path.Combine(src, "d"));
        var rng = new Random(3);
        for (int i = 1; i <= 60; i++)
        {
            byte[] data = new byte[i * 700];
            rng.NextBytes(data);
            File.WriteAllBytes(Path.Combine(src, "d", $"f{i}"), data);
        }
        string img = _dir.File($"{flavour}-{blockSize}.img");
        string fsType = flavour == "ext2" ? "ext2" : "ext4";
        string[] features = flavour == "ext4-nocsum" ? ["-O", "^metadata_csum"] : [];
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", $"{blockSize}", "-I", "256", "-t", fsType }, .. features, "-d", src, img, "32M"]);
        OracleTool.Run("e2fsck", "-fy", img);
        AssertBothClean(img);
        return img;
    }

    private static long TableBlockOffset(string img, uint ino, int blockSize)
    {
        long at = InodeOffset(img, ino, blockSize);
        return at - (at % blockSize);
    }

    /// <summary>Flip the low byte of inode <paramref name="ino"/>'s i_checksum_lo (offset 0x7C).</summary>
    private static void BreakChecksum(string img, uint ino)
    {
        long at = InodeOffset(img, ino, 1024) + 0x7C;
        Patch(img, at, (byte)(ReadAt(img, at, 1)[0] ^ 0x5A));
    }

    /// <summary>The names in /d that name an inode (debugfs ls also lists cleared entries, as inode 0).</summary>
    private static string Names(string img) =>
        string.Join(' ', Regex.Matches(DebugfsRead(img, "ls /d"), @"(\d+)\s+\(\d+\)\s+(f\d+)")
            .Where(m => m.Groups[1].Value != "0").Select(m => m.Groups[2].Value).Order(StringComparer.Ordinal));
}
