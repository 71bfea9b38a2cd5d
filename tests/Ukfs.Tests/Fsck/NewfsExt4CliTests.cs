using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests.Fsck;

/// <summary>
/// `ukfs IMAGE newfs -t ext2fs -o type=…,features=… --from DIR` for every feature set: the
/// corpus's POSIX fixture copied in, then e2fsck, the kernel's own ext4 driver (a read-only
/// loop mount) listing exactly the fixture, and our driver writing to it.
/// </summary>
public sealed class NewfsExt4CliTests
{
    public static TheoryData<string, string> Sets => new()
    {
        { "rev=0", "(none)" },
        { "type=ext2,bsize=1024", "ext_attr filetype sparse_super large_file" },
        { "type=ext2,bsize=2048", "ext_attr filetype sparse_super large_file" },
        { "type=ext2,bsize=4096", "ext_attr filetype sparse_super large_file" },
        { "type=ext3", "has_journal ext_attr dir_index filetype sparse_super large_file" },
        { "type=ext4", "has_journal ext_attr dir_index filetype extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum" },
        { "type=ext4,features=^metadata_csum", "has_journal ext_attr dir_index filetype extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize" },
        { "type=ext4,features=^64bit", "has_journal ext_attr dir_index filetype extent flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum" },
        { "type=ext4,features=orphan_file+metadata_csum_seed",
            "has_journal ext_attr dir_index orphan_file filetype extent 64bit flex_bg metadata_csum_seed sparse_super large_file huge_file dir_nlink extra_isize metadata_csum" },
        { "type=ext3,features=orphan_file", "has_journal ext_attr dir_index orphan_file filetype sparse_super large_file" },
    };

    [Theory]
    [MemberData(nameof(Sets))]
    public void Newfs_FromFixture_KernelSeesExactlyTheTreeAndOurDriverWritesIt(string options, string features)
    {
        string fixture = Path.Combine(Corpus.Directory, "fixture-posix");
        // Everything is copied, device nodes and the fifo included.
        string[] want = [.. File.ReadAllLines(fixture + ".manifest").Where(l => l.Length > 0)];
        using var dir = new ScratchDir("ukfsext4");
        string img = dir.File("e.img");

        using var h = CliHarness.OnImages();
        CliResult r = h.Run(img, "newfs", "-t", "ext2fs", "-o", options, "--from", fixture, "96M");
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Equal("", r.Stderr);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        Assert.Contains("Device major/minor number: 01:03", OracleTool.RunExpect(0, "debugfs", "-R", "stat /dev/null", img).Stdout, StringComparison.Ordinal);
        Assert.Contains("Device major/minor number: 07:00", OracleTool.RunExpect(0, "debugfs", "-R", "stat /dev/loop0", img).Stdout, StringComparison.Ordinal);
        string dump = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        Assert.Contains($"Filesystem features:      {features}\n", dump, StringComparison.Ordinal);

        Assert.Equal(want.Select(Comparable), KernelManifest(dir, img).Select(Comparable));

        byte[] data = [.. Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7 + 3))];
        using (UkfsMount m = UkfsMount.Open("ext2fs", img))
        {
            m.Mkdir("/newdir");
            m.WriteAllBytes("/newdir/written.bin", data);
            m.Rename("/hello.txt", "/newdir/hello-moved.txt");
            m.Remove("/links/hardlink");
            m.RemoveTree("/many");
            m.Unmount();
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        string back = dir.File("written.back");
        OracleTool.RunExpect(0, "debugfs", "-R", $"dump /newdir/written.bin {back}", img);
        Assert.Equal(data, File.ReadAllBytes(back));
        string root = OracleTool.RunExpect(0, "debugfs", "-R", "ls -p /", img).Stdout;
        Assert.DoesNotContain("/many/", root, StringComparison.Ordinal);
        Assert.DoesNotContain("/hello.txt/", root, StringComparison.Ordinal);
        string moved = OracleTool.RunExpect(0, "debugfs", "-R", "ls -p /newdir", img).Stdout;
        Assert.Contains("/hello-moved.txt/", moved, StringComparison.Ordinal);
        Assert.Contains("Links: 2", OracleTool.RunExpect(0, "debugfs", "-R", "stat /links/original", img).Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("type=ext4,features=inline_data", "inline_data")]
    [InlineData("type=ext4,features=^metadata_csum+nosuch", "nosuch")]
    [InlineData("type=ext4,bsize=3000", "bsize")]
    [InlineData("rev=0,features=extent", "rev=0")]
    [InlineData("type=ext4,features=^metadata_csum,^64bit", "separate the items of features= with '+'")]
    public void Newfs_RefusedOption_FailsNamingItAndLeavesTheImageAsItWas(string options, string named)
    {
        using var dir = new ScratchDir("ukfsext4bad");
        string img = dir.File("keep.img");
        byte[] before = [.. Enumerable.Range(0, 4 << 20).Select(i => (byte)(i * 31 + 7))];
        File.WriteAllBytes(img, before);
        using var h = CliHarness.OnImages();
        CliResult r = h.Fails(img, "newfs", "-t", "ext2fs", "-o", options);
        Assert.Contains(named, r.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(img));
    }

    /// <summary>The manifest of the image as the kernel's driver sees it (read-only loop mount), without lost+found.</summary>
    private static string[] KernelManifest(ScratchDir dir, string img)
    {
        string mnt = Path.Combine(dir.Path, "mnt");
        Directory.CreateDirectory(mnt);
        OracleTool.RunExpect(0, "mount", "-o", "ro,loop", "-t", "ext4", img, mnt);
        try
        {
            return [.. Manifest.OfTree(mnt).Where(l => !l.StartsWith("lost+found", StringComparison.Ordinal))];
        }
        finally
        {
            if (OracleTool.Run("umount", mnt).ExitCode != 0)
            {
                OracleTool.Run("umount", "-l", mnt);
            }
        }
    }

    /// <summary>A manifest line without directory sizes, which depend on the format.</summary>
    private static string Comparable(string line)
    {
        string[] f = line.Split('\t');
        if (f[1] == "d")
        {
            f[3] = "-";
        }
        return string.Join('\t', f);
    }
}
