using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.P2k.Tests.Support;
using RumpFs.TestSupport;

namespace RumpFs.P2k.Tests;

/// <summary>
/// Project ids through the kernel: chattr -p, chattr +P and lsattr -p on an ext4 image with
/// project quotas served by rump_ext2fs (FS_IOC_FSGETXATTR/FSSETXATTR), the kernel's mv
/// falling back to a copy when the rename into a project directory gives EXDEV, and the
/// project's usage found by e2fsck and debugfs after unmount.
/// </summary>
public sealed partial class ProjectIdDaemonTests : IDisposable
{
    private readonly ScratchDir _images = new("p2k-projid");

    public void Dispose() => _images.Dispose();

    private static string Serve(string image, string script)
    {
        using RumpDaemon d = RumpDaemon.Start("rump_ext2fs", [image]);
        string output = OracleTool.Run("bash", "-c", script, "bash", d.MountPoint).Stdout;
        Assert.Equal(0, d.UnmountFromOutside());
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Equal(0, d.Process.ExitCode);
        return output;
    }

    [Fact]
    public void ChattrP_SetsProjects_ADirectoryPassesItsOn_MvCopiesAcross_UsageKept()
    {
        string image = _images.File("project.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-I", "256", "-O", "quota,project", image, "16M");
        const string Script = """
            cd "$1"
            echo data > f && chattr -p 42 f && lsattr -p f
            mkdir d && chattr +P d && chattr -p 42 d && lsattr -pd d
            echo made > d/new && lsattr -p d/new
            echo out > outside && before=$(stat -c %i outside)
            mv outside d/moved && lsattr -p d/moved
            [ "$(stat -c %i d/moved)" != "$before" ] && echo copied
            chattr +P f 2>&1
            chattr -p 4294967295 f 2>&1
            """;
        string ours = Serve(image, Script);
        Assert.Equal("""
               42 --------------e------- f
               42 --------------e----P-- d
               42 --------------e------- d/new
               42 --------------e------- d/moved
            copied
            chattr: Operation not supported while setting flags on f
            chattr: Invalid argument while setting project on f

            """, ours);
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
        Match m = Regex.Match(OracleTool.RunExpect(0, "debugfs", "-R", "lq project", image).Stdout,
            @"^\s*42\s+(\d+)\s+\d+\s+\d+\s+(\d+)\s", RegexOptions.Multiline);
        Assert.True(m.Success, "project 42 not listed");
        Assert.Equal(4, int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)); // f, d, d/new, d/moved
        Assert.True(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) >= 4 * 1024);
    }

    [Fact]
    public void ChattrP_WithoutTheProjectFeature_Eopnotsupp()
    {
        string image = _images.File("plain.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-I", "256", image, "8M");
        const string Script = """
            cd "$1"
            echo data > f
            chattr -p 42 f 2>&1
            chattr -p 0 f && lsattr -p f
            """;
        Assert.Equal("""
            chattr: Operation not supported while setting project on f
                0 --------------e------- f

            """, Serve(image, Script));
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
    }
}
