using RumpFs.P2k.Tests.Support;
using RumpFs.TestSupport;

namespace RumpFs.P2k.Tests;

/// <summary>
/// POSIX.1e ACLs on FFSv2ea through rump_ffs, as the ext2 case in
/// <see cref="DiskImageDaemonTests"/> does them through rump_ext2fs: an image made by ukfs
/// newfs (ACLs on in the superblock, or turned on by the mount option), the host's setfacl and
/// getfacl, the kernel enforcing the ACL for another user (FUSE_POSIX_ACL), a default ACL
/// inherited, chmod rewriting the mask, removal; ukfs getfacl then reads the same entries
/// from the image. FFS without ACLs on refuses setfacl with EOPNOTSUPP.
/// </summary>
public sealed class FfsAclDaemonTests : IDisposable
{
    private const string User = "1234";

    private readonly ScratchDir _images = new("p2k-ffs-acl");

    public void Dispose() => _images.Dispose();

    private static ToolResult Ukfs(params string[] args) =>
        OracleTool.Run("dotnet", [RumpDaemon.ToolDll("ukfs"), .. args]);

    private string NewImage(string name, string newfsOptions)
    {
        string image = _images.File(name);
        ToolResult r = Ukfs(image, "newfs", "-t", "ffs", "-o", newfsOptions, "32M");
        Assert.True(r.ExitCode == 0, r.Transcript);
        return image;
    }

    /// <summary>Run <paramref name="command"/> as uid and gid 1234, with no other group.</summary>
    private static ToolResult AsUser(params string[] command) =>
        OracleTool.Run("setpriv", [$"--reuid={User}", $"--regid={User}", "--clear-groups", "--", .. command]);

    private static string GetFacl(string path) => OracleTool.RunExpect(0, "getfacl", "-cn", path).Stdout;

    /// <param name="newfsOptions">How ukfs newfs makes the image.</param>
    /// <param name="mountOption">What turns ACLs on for the daemon and for ukfs, if the superblock does not.</param>
    [Theory]
    [InlineData("version=3,posix1eacls", null)]
    [InlineData("version=3", "posix1eacls")]
    public void RumpFfs_SetfaclGetfacl_EnforcedInheritedRemoved_AndUkfsReadsTheSame(string newfsOptions, string? mountOption)
    {
        string image = NewImage("acl.img", newfsOptions);
        string daemonOptions = mountOption is null ? "allow_other" : $"allow_other,{mountOption}";
        string[] ukfsOptions = mountOption is null ? [] : ["-o", mountOption];
        var seen = new Dictionary<string, string>();
        using (RumpDaemon d = RumpDaemon.Start("rump_ffs", ["-o", daemonOptions, image]))
        {
            // An access ACL with a named user: read and write for 1234, nothing for the group or others.
            File.WriteAllText(d.Path("secret"), "for 1234\n");
            File.WriteAllText(d.Path("closed"), "not for 1234\n");
            OracleTool.RunExpect(0, "chmod", "600", d.Path("secret"), d.Path("closed"));
            OracleTool.RunExpect(0, "setfacl", "-m", $"u:{User}:rw", d.Path("secret"));
            Assert.Equal($"user::rw-\nuser:{User}:rw-\ngroup::---\nmask::rw-\nother::---\n\n", GetFacl(d.Path("secret")));
            Assert.Equal("-rw-rw----+", OracleTool.RunExpect(0, "ls", "-l", d.Path("secret")).Stdout[..11]);
            ToolResult read = AsUser("cat", d.Path("secret"));
            Assert.Equal((0, "for 1234\n"), (read.ExitCode, read.Stdout));
            Assert.Equal(0, AsUser("sh", "-c", $"echo by 1234 >> {d.Path("secret")}").ExitCode);
            Assert.Contains("Permission denied", AsUser("cat", d.Path("closed")).Stderr, StringComparison.Ordinal);

            // chmod sets the mask: group read leaves 1234 reading, and its write is masked away.
            OracleTool.RunExpect(0, "chmod", "640", d.Path("secret"));
            Assert.Equal($"user::rw-\nuser:{User}:rw-\t#effective:r--\ngroup::---\nmask::r--\nother::---\n\n", GetFacl(d.Path("secret")));
            Assert.Equal(0, AsUser("cat", d.Path("secret")).ExitCode);
            Assert.Contains("Permission denied", AsUser("sh", "-c", $"echo again >> {d.Path("secret")}").Stderr, StringComparison.Ordinal);
            seen["/secret"] = GetFacl(d.Path("secret"));

            // A default ACL is inherited by what is made in the directory, the umask set aside.
            Directory.CreateDirectory(d.Path("shared"));
            OracleTool.RunExpect(0, "setfacl", "-d", "-m", $"u:{User}:rwx", d.Path("shared"));
            OracleTool.RunExpect(0, "sh", "-c", $"umask 077 && echo new > {d.Path("shared/new")} && mkdir {d.Path("shared/sub")} && echo p > {d.Path("private")}");
            Assert.Equal("664 775 600", OracleTool.RunExpect(0, "stat", "-c", "%a", d.Path("shared/new"), d.Path("shared/sub"), d.Path("private")).Stdout.Replace('\n', ' ').Trim());
            Assert.Equal($"user::rw-\nuser:{User}:rwx\t#effective:rw-\ngroup::r-x\t#effective:r--\nmask::rw-\nother::r--\n\n", GetFacl(d.Path("shared/new")));
            string inherited = $"user::rwx\nuser:{User}:rwx\ngroup::r-x\nmask::rwx\nother::r-x\n"
                + $"default:user::rwx\ndefault:user:{User}:rwx\ndefault:group::r-x\ndefault:mask::rwx\ndefault:other::r-x\n\n";
            Assert.Equal(inherited, GetFacl(d.Path("shared/sub")));
            Assert.Equal(0, AsUser("sh", "-c", $"echo more >> {d.Path("shared/new")}").ExitCode);
            foreach (string name in new[] { "/shared", "/shared/new", "/shared/sub", "/private" })
            {
                seen[name] = GetFacl(d.Path(name[1..]));
            }

            // Removing: -b leaves the mode's three entries and no attribute; -k drops a default ACL.
            File.WriteAllText(d.Path("gone"), "x\n");
            OracleTool.RunExpect(0, "setfacl", "-m", $"u:{User}:rwx", d.Path("gone"));
            OracleTool.RunExpect(0, "setfacl", "-b", d.Path("gone"));
            Assert.Equal("user::rw-\ngroup::r--\nother::r--\n\n", GetFacl(d.Path("gone")));
            Assert.Equal("", OracleTool.RunExpect(0, "getfattr", "-m", "-", d.Path("gone")).Stdout);
            Directory.CreateDirectory(d.Path("undefaulted"));
            OracleTool.RunExpect(0, "setfacl", "-d", "-m", $"u:{User}:r", d.Path("undefaulted"));
            OracleTool.RunExpect(0, "setfacl", "-k", d.Path("undefaulted"));
            Assert.Equal("user::rwx\ngroup::r-x\nother::r-x\n\n", GetFacl(d.Path("undefaulted")));
            seen["/gone"] = GetFacl(d.Path("gone"));
            seen["/undefaulted"] = GetFacl(d.Path("undefaulted"));

            Assert.Equal(0, d.UnmountFromOutside());
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, d.Process.ExitCode);
        }

        // The image holds what the mount showed.
        foreach ((string path, string facl) in seen)
        {
            ToolResult r = Ukfs([.. ukfsOptions, image, "getfacl", "-c", path]);
            Assert.True(r.ExitCode == 0, r.Transcript);
            Assert.Equal(facl, r.Stdout);
        }
        ToolResult fsck = Ukfs(image, "fsck", "-n");
        Assert.True(fsck.ExitCode == 0, fsck.Transcript);
    }

    /// <summary>
    /// Where FFS parts from ext4: a stored ACL is one struct oldacl of 32 entries, so 28 named
    /// ones besides the mode's four fit and one more is ENOSPC, the stored ACL left as it was.
    /// </summary>
    [Fact]
    public void RumpFfs_MoreEntriesThanStructOldaclHolds_IsEnospc()
    {
        string image = NewImage("crowded.img", "version=3,posix1eacls");
        static string Named(int count) => string.Join(',', Enumerable.Range(3000, count).Select(id => $"u:{id}:r"));
        using RumpDaemon d = RumpDaemon.Start("rump_ffs", [image]);
        File.WriteAllText(d.Path("f"), "x\n");
        OracleTool.RunExpect(0, "setfacl", "-m", Named(28), d.Path("f"));
        ToolResult r = OracleTool.Run("setfacl", "-m", Named(29), d.Path("f"));
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("No space left on device", r.Stderr, StringComparison.Ordinal);
        string facl = GetFacl(d.Path("f"));
        Assert.Equal(32, facl.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain("user:3028:", facl, StringComparison.Ordinal);
    }

    /// <summary>UFS2 and FFSv2ea without ACLs on keep none: setfacl is EOPNOTSUPP, getfacl shows the mode.</summary>
    [Theory]
    [InlineData("version=2")]
    [InlineData("version=3")]
    public void RumpFfs_WithoutAcls_SetfaclIsNotSupported(string newfsOptions)
    {
        string image = NewImage("plain.img", newfsOptions);
        using RumpDaemon d = RumpDaemon.Start("rump_ffs", [image]);
        File.WriteAllText(d.Path("f"), "x\n");
        ToolResult r = OracleTool.Run("setfacl", "-m", $"u:{User}:r", d.Path("f"));
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("Operation not supported", r.Stderr, StringComparison.Ordinal);
        Assert.Equal("user::rw-\ngroup::r--\nother::r--\n\n", GetFacl(d.Path("f")));
    }
}
