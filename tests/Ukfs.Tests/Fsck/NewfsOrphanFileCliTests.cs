using System.Text.RegularExpressions;
using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests.Fsck;

/// <summary>
/// `ukfs newfs -t ext2fs -o features=orphan_file` against mke2fs -O orphan_file on the same
/// size: the orphan file in inode 12 with the same size, e2fsck (which checks that every
/// orphan block is empty, with its magic and checksum) clean.
/// </summary>
public sealed partial class NewfsOrphanFileCliTests
{
    [GeneratedRegex(@"Size: (\d+)")]
    private static partial Regex SizeField();

    [GeneratedRegex(@"Mode:\s+(\d+)")]
    private static partial Regex ModeField();

    private static (string Size, string Mode, string Dump) OrphanFile(string img)
    {
        string dump = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        Assert.Contains("Orphan file inode:        12\n", dump, StringComparison.Ordinal);
        string stat = OracleTool.RunExpect(0, "debugfs", "-R", "stat <12>", img).Stdout;
        Assert.Contains("Type: regular", stat, StringComparison.Ordinal);
        Assert.Contains("Links: 1", stat, StringComparison.Ordinal);
        return (SizeField().Match(stat).Groups[1].Value, ModeField().Match(stat).Groups[1].Value, dump);
    }

    [Theory]
    // 16 Ki blocks of 1 KiB: 32 blocks; 179,200 blocks of 4 KiB: one in 4096, 43.
    [InlineData("16M", "type=ext4,features=orphan_file", "ext4", "orphan_file")]
    [InlineData("700M", "type=ext4,features=orphan_file+metadata_csum_seed", "ext4", "orphan_file,metadata_csum_seed")]
    [InlineData("64M", "type=ext4,features=orphan_file+^metadata_csum+^64bit", "ext4", "orphan_file,^metadata_csum,^64bit")]
    [InlineData("64M", "type=ext3,features=orphan_file", "ext3", "orphan_file")]
    public void Newfs_OrphanFile_AsMke2fsLaysItOut(string size, string options, string mke2fsType, string mke2fsFeatures)
    {
        using var dir = new ScratchDir("ukfsorphan");
        string ours = dir.File("ours.img");
        string theirs = dir.File("theirs.img");
        using var h = CliHarness.OnImages();
        CliResult r = h.Run(ours, "newfs", "-t", "ext2fs", "-o", options, size);
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Contains("orphan file of", r.Stdout + r.Stderr, StringComparison.Ordinal);
        OracleTool.RunExpect(0, "e2fsck", "-fn", ours);
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", mke2fsType, "-O", mke2fsFeatures + ",^resize_inode", theirs, size);

        (string ourSize, string ourMode, string ourDump) = OrphanFile(ours);
        (string theirSize, string theirMode, string theirDump) = OrphanFile(theirs);
        Assert.Equal(theirSize, ourSize);
        Assert.Equal(theirMode, ourMode);
        Assert.Equal(Features(theirDump), Features(ourDump));

        // Our driver mounts it read-write (checking every orphan block) and e2fsck agrees afterwards.
        using (UkfsMount m = UkfsMount.Open("ext2fs", ours))
        {
            m.WriteAllBytes("/written.bin", new byte[100_000]);
            m.Unmount();
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", ours);
        Assert.DoesNotContain("orphan_present", Features(OracleTool.RunExpect(0, "dumpe2fs", "-h", ours).Stdout), StringComparison.Ordinal);
    }

    private static string Features(string dump) =>
        dump.Split('\n').First(l => l.StartsWith("Filesystem features:", StringComparison.Ordinal));

    [Fact]
    public void Newfs_OrphanFileWithoutJournal_IsRefusedAsByMke2fs()
    {
        using var dir = new ScratchDir("ukfsorphan");
        string img = dir.File("no.img");
        byte[] before = new byte[4 << 20];
        File.WriteAllBytes(img, before);
        using var h = CliHarness.OnImages();
        CliResult r = h.Fails(img, "newfs", "-t", "ext2fs", "-o", "type=ext4,features=orphan_file+^has_journal");
        Assert.Contains("orphan_file needs has_journal", r.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(img));
        Assert.NotEqual(0, OracleTool.Run("mke2fs", "-q", "-F", "-t", "ext4", "-O", "orphan_file,^has_journal", dir.File("m.img"), "16M").ExitCode);
    }
}
