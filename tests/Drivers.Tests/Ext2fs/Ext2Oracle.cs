using System.Security.Cryptography;
using RumpFs.TestSupport;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>The independent checks of images the driver wrote: e2fsck -fn and the kernel's own driver.</summary>
internal static class Ext2Oracle
{
    /// <summary>e2fsck -fn must find nothing (exit 0).</summary>
    public static void AssertFsckClean(string image)
    {
        ToolResult r = OracleTool.Run("e2fsck", "-fn", image);
        Assert.True(r.ExitCode == 0, "e2fsck -fn is not clean\n" + r.Transcript);
    }

    /// <summary>The attribute block (i_file_acl) of <paramref name="path"/> as debugfs reports it; 0 for none.</summary>
    public static long AttributeBlockOf(string image, string path)
    {
        string stat = OracleTool.RunExpect(0, "debugfs", "-R", $"stat {path}", image).Stdout;
        return long.Parse(System.Text.RegularExpressions.Regex.Match(stat, @"File ACL: (\d+)").Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);
    }

    public static bool CanLoopMount =>
        Environment.UserName == "root" && File.Exists("/dev/loop-control") && File.Exists("/proc/filesystems")
        && File.ReadAllText("/proc/filesystems").Contains("ext4", StringComparison.Ordinal);

    /// <summary>
    /// Mount the image read-only through a kernel loop device and return every path below the
    /// root (lost+found excluded) with "d", "l:target" or "f:sha256". Null when loop mounts are
    /// not available here.
    /// </summary>
    public static SortedDictionary<string, string>? KernelTree(string image) =>
        WithKernelMount(image, mnt =>
        {
            var tree = new SortedDictionary<string, string>(StringComparer.Ordinal);
            Walk(mnt, mnt, tree);
            return tree;
        });

    /// <summary>The kernel's statfs of the image (f_blocks, f_bfree, f_bavail), read-only; null without loop mounts.</summary>
    public static (long Blocks, long Free, long Available)? KernelStatfs(string image) =>
        WithKernelMount<(long, long, long)?>(image, mnt =>
        {
            string[] f = OracleTool.RunExpect(0, "stat", "-f", "-c", "%b %f %a", mnt).Stdout.Split(' ', StringSplitOptions.TrimEntries);
            return (long.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture),
                long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture),
                long.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture));
        });

    /// <summary><paramref name="look"/> at the image mounted read-only by the kernel's ext4 driver; default when loop mounts are not available.</summary>
    private static T? WithKernelMount<T>(string image, Func<string, T> look)
    {
        if (!CanLoopMount)
        {
            return default;
        }
        string mnt = Path.Combine(Path.GetTempPath(), $"rumpfs-ext2-kmount-{Guid.NewGuid():N}");
        Directory.CreateDirectory(mnt);
        ToolResult m = OracleTool.Run("mount", "-o", "loop,ro", "-t", "ext4", image, mnt);
        if (m.ExitCode != 0)
        {
            Directory.Delete(mnt);
            if (m.Stderr.Contains("permission denied", StringComparison.OrdinalIgnoreCase)
                || m.Stderr.Contains("failed to setup loop", StringComparison.OrdinalIgnoreCase))
            {
                return default;
            }
            Assert.Fail("kernel mount failed\n" + m.Transcript);
        }
        try
        {
            return look(mnt);
        }
        finally
        {
            ToolResult u = OracleTool.Run("umount", mnt);
            if (u.ExitCode != 0)
            {
                OracleTool.Run("umount", "-l", mnt);
            }
            try
            {
                Directory.Delete(mnt);
            }
            catch (IOException)
            {
            }
        }
    }

    private static void Walk(string root, string dir, SortedDictionary<string, string> tree)
    {
        foreach (string p in Directory.EnumerateFileSystemEntries(dir))
        {
            string rel = Path.GetRelativePath(root, p);
            if (rel == "lost+found")
            {
                continue;
            }
            var fi = new FileInfo(p);
            if (fi.LinkTarget is not null)
            {
                tree[rel] = "l:" + fi.LinkTarget;
            }
            else if (Directory.Exists(p))
            {
                tree[rel] = "d";
                Walk(root, p, tree);
            }
            else if (fi.Exists)
            {
                using FileStream s = File.OpenRead(p);
                tree[rel] = "f:" + Convert.ToHexStringLower(SHA256.HashData(s));
            }
            else
            {
                tree[rel] = "other";
            }
        }
    }
}
