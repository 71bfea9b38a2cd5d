using System.Text.RegularExpressions;
using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// `ukfs lsattr -p` and `ukfs chattr -p N` (with +P), as e2fsprogs spells them, on ext4 with
/// project quotas; what they write is read back by debugfs and found clean by e2fsck.
/// </summary>
public sealed class CliProjectIdTests : IDisposable
{
    private readonly CliHarness _cli = CliHarness.OnImages();
    private readonly ScratchDir _dir = new("ukfs-projid");

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    private string Image(string features)
    {
        string tree = _dir.File("tree-" + features.Replace(',', '-'));
        Directory.CreateDirectory(Path.Combine(tree, "d", "sub"));
        File.WriteAllText(Path.Combine(tree, "f"), new string('f', 5000));
        File.WriteAllText(Path.Combine(tree, "d", "inner"), "inner\n");
        string img = _dir.File(features.Replace(',', '-') + ".img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-I", "256", "-O", features, "-d", tree, img, "8M");
        OracleTool.RunExpect(1, "e2fsck", "-fy", img); // mke2fs 1.47.0 -d leaves the files it adds out of the quota usage
        return img;
    }

    private static string Stat(string img, string path) => OracleTool.RunExpect(0, "debugfs", "-R", $"stat {path}", img).Stdout;

    [Fact]
    public void ChattrP_SetsTheProject_LsattrPShowsIt_DebugfsAndE2fsckAgree()
    {
        string img = Image("quota,project");
        _cli.Ok(img, "chattr", "-p", "42", "/f");
        _cli.Ok(img, "chattr", "+P", "-p", "0x2b", "/d"); // 43, read as strtol reads it
        _cli.Ok(img, "chattr", "-R", "-p", "050", "/d/sub"); // 40 (octal)
        Assert.Equal("   42 --------------e------- /f\n", _cli.Ok(img, "lsattr", "-p", "/f").Stdout);
        Assert.Equal("   43 --------------e----P-- /d\n", _cli.Ok(img, "lsattr", "-p", "-d", "/d").Stdout);
        Assert.Equal("    0 --------------e------- /d/inner\n   40 --------------e------- /d/sub\n",
            _cli.Ok(img, "lsattr", "-p", "/d").Stdout);
        _cli.Ok(img, "mkdir", "/d/new"); // made in a +P directory: project 43
        Assert.Equal("   43 --------------e----P-- /d/new\n", _cli.Ok(img, "lsattr", "-p", "-d", "/d/new").Stdout);
        Assert.Contains("Operation not supported", _cli.Fails(img, "chattr", "+P", "/f").Stderr, StringComparison.Ordinal);

        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        Assert.Contains("Project:    42", Stat(img, "/f"), StringComparison.Ordinal);
        Assert.Contains("Flags: 0x20080000", Stat(img, "/d"), StringComparison.Ordinal);
        string lq = OracleTool.RunExpect(0, "debugfs", "-R", "lq project", img).Stdout;
        Assert.Matches(new Regex(@"^\s*42\s+\d+\s+\d+\s+\d+\s+1\s", RegexOptions.Multiline), lq);
        Assert.Matches(new Regex(@"^\s*43\s+\d+\s+\d+\s+\d+\s+2\s", RegexOptions.Multiline), lq); // /d and /d/new
    }

    [Fact]
    public void ChattrP_WithoutTheProjectFeature_AndBadArguments_Fail()
    {
        string img = Image("quota");
        Assert.Contains("Operation not supported", _cli.Fails(img, "chattr", "-p", "42", "/f").Stderr, StringComparison.Ordinal);
        _cli.Ok(img, "chattr", "-p", "0", "/f"); // project 0 is every file's there
        Assert.Equal("    0 --------------e------- /f\n", _cli.Ok(img, "lsattr", "-p", "/f").Stdout);
        Assert.Contains("bad project - 4x", _cli.Fails(img, "chattr", "-p", "4x", "/f").Stderr, StringComparison.Ordinal);
        Assert.Contains("bad project - 4294967296", _cli.Fails(img, "chattr", "-p", "4294967296", "/f").Stderr, StringComparison.Ordinal);
        Assert.Contains("-p needs a project id", _cli.Fails(img, "chattr", "-p").Stderr, StringComparison.Ordinal);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
    }

    /// <summary>ukfs -o passes the quota options to the driver: prjquota without the project feature is refused in ext4's words.</summary>
    [Fact]
    public void QuotaMountOptions_ReachTheDriver()
    {
        string img = Image("quota");
        Assert.Contains("Project quota feature not enabled", _cli.Fails("-o", "prjquota", img, "ls", "/").Stderr, StringComparison.Ordinal);
        _cli.Ok("-o", "usrquota,grpquota", img, "mkdir", "/made");
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
    }
}
