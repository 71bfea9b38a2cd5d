using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests.Fsck;

/// <summary>`ukfs IMAGE newfs -t ext2fs --from DIR`: checked by e2fsck and debugfs, then written by our driver.</summary>
public sealed class NewfsExt2CliTests
{
    [Fact]
    public void Newfs_Ext2FromFolder_KeepsLinksModesTimesAndPassesE2fsck()
    {
        using var dir = new ScratchDir("ukfsext2");
        string src = Path.Combine(dir.Path, "src");
        Directory.CreateDirectory(Path.Combine(src, "sub", "deeper"));
        string a = Path.Combine(src, "a.txt");
        File.WriteAllText(a, "alpha");
        File.SetUnixFileMode(a, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var mtime = new DateTime(2019, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(a, mtime);
        OracleTool.RunExpect(0, "ln", a, Path.Combine(src, "sub", "hard.txt"));
        File.CreateSymbolicLink(Path.Combine(src, "sub", "link"), "../a.txt");
        byte[] big = [.. Enumerable.Range(0, 2_000_000).Select(i => (byte)(i * 13))];
        File.WriteAllBytes(Path.Combine(src, "sub", "deeper", "big.bin"), big);
        string img = dir.File("e.img");

        using var h = CliHarness.OnImages();
        CliResult r = h.Run(img, "newfs", "-t", "ext2fs", "-o", "bsize=1024", "-L", "fromdir", "--from", src, "24M");
        Assert.True(r.Exit == 0 && r.Stderr.Length == 0, r.ToString());
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);

        ToolResult stat = OracleTool.RunExpect(0, "debugfs", "-R", "stat /a.txt", img);
        Assert.Contains("Links: 2", stat.Stdout, StringComparison.Ordinal);
        Assert.Contains("Mode:  0640", stat.Stdout, StringComparison.Ordinal);
        ToolResult link = OracleTool.RunExpect(0, "debugfs", "-R", "stat /sub/link", img);
        Assert.Contains("Fast link dest: \"../a.txt\"", link.Stdout, StringComparison.Ordinal);
        string back = dir.File("big.back");
        OracleTool.RunExpect(0, "debugfs", "-R", $"dump /sub/deeper/big.bin {back}", img);
        Assert.Equal(big, File.ReadAllBytes(back));

        using (UkfsMount m = UkfsMount.Open("ext2fs", img))
        {
            Assert.Equal(new DateTimeOffset(mtime).ToUnixTimeSeconds(), m.Stat("/a.txt").Mtime.Seconds);
            Assert.Equal(m.Stat("/a.txt").Ino, m.Stat("/sub/hard.txt").Ino);
            m.WriteAllBytes("/written.bin", big.AsSpan(0, 100_000));
            m.Unmount();
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
    }
}
