using System.Security.Cryptography;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// Journal recovery: an image copied while the kernel had it mounted (after a sync, so the
/// journal holds committed transactions not yet checkpointed) is replayed at mount, and the
/// result matches what e2fsck's own recovery produces.
/// </summary>
public class Ext2JournalTests
{
    /// <summary>Our view of a mount: path to "d", "l:target" or "f:sha256".</summary>
    internal static SortedDictionary<string, string> OurTree(Mount m)
    {
        var tree = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach ((string path, VType type) in Ext2Fixture.ListTree(m))
        {
            if (path == "lost+found" || path.StartsWith("lost+found/", StringComparison.Ordinal))
            {
                continue;
            }
            Vnode vp = Ext2Fixture.Resolve(m, path);
            try
            {
                tree[path] = type switch
                {
                    VType.Directory => "d",
                    VType.Symlink => "l:" + (Vop.Readlink(vp, out string t) == Errno.OK ? t : "?"),
                    VType.Regular => "f:" + Ext2Fixture.Sha256(Ext2Fixture.ReadAll(vp)),
                    _ => "other",
                };
            }
            finally
            {
                vp.Release();
            }
        }
        return tree;
    }

    /// <summary>Write a tree through the kernel and copy the image before unmounting; null when loop mounts are unavailable.</summary>
    private static string? MakeCrashedImage(ScratchDir scratch, string type)
    {
        if (!Ext2Oracle.CanLoopMount)
        {
            return null;
        }
        string image = scratch.File("live.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", type, image, "32M");
        string mnt = scratch.File("mnt");
        Directory.CreateDirectory(mnt);
        ToolResult r = OracleTool.Run("mount", "-o", "loop,commit=600", "-t", type, image, mnt);
        if (r.ExitCode != 0)
        {
            return null;
        }
        string crashed = scratch.File("crashed.img");
        try
        {
            Directory.CreateDirectory(Path.Combine(mnt, "dir/sub"));
            var rng = new Random(42);
            for (int i = 0; i < 40; i++)
            {
                byte[] data = new byte[rng.Next(1, 20000)];
                rng.NextBytes(data);
                File.WriteAllBytes(Path.Combine(mnt, i % 2 == 0 ? "dir" : "dir/sub", $"file{i}"), data);
            }
            File.CreateSymbolicLink(Path.Combine(mnt, "link"), "dir/file0");
            File.Delete(Path.Combine(mnt, "dir/file2"));
            OracleTool.RunExpect(0, "sync", "-f", mnt);
            File.Copy(image, crashed);
        }
        finally
        {
            OracleTool.Run("umount", mnt);
        }
        ToolResult h = OracleTool.RunExpect(0, "dumpe2fs", "-h", crashed);
        Assert.True(h.Stdout.Contains("needs_recovery", StringComparison.Ordinal), "copy does not need recovery\n" + h.Transcript);
        return crashed;
    }

    private static string Copy(ScratchDir scratch, string from, string name)
    {
        string to = scratch.File(name);
        File.Copy(from, to);
        return to;
    }

    private static string Sha(string file)
    {
        using FileStream s = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    [Theory]
    [InlineData("ext4")]
    [InlineData("ext3")]
    public void JournalNeedingRecovery_IsReplayed_LikeE2fsck(string type)
    {
        using var scratch = new ScratchDir();
        string? crashed = MakeCrashedImage(scratch, type);
        if (crashed is null)
        {
            return;
        }

        // e2fsck's recovery is the reference.
        string reference = Copy(scratch, crashed, "reference.img");
        ToolResult fsck = OracleTool.Run("e2fsck", "-fy", reference);
        Assert.True(fsck.ExitCode is 0 or 1, fsck.Transcript);
        Mount refMount = Ext2Fixture.MountImage(reference, readOnly: true);
        SortedDictionary<string, string> expected = OurTree(refMount);
        refMount.Unmount();
        Assert.Contains("dir/sub/file1", expected.Keys);
        Assert.DoesNotContain("dir/file2", expected.Keys);
        SortedDictionary<string, string>? kernel = Ext2Oracle.KernelTree(reference);
        if (kernel is not null)
        {
            Assert.Equal(expected, kernel);
        }

        // Read-only: replayed in memory, the image is not touched.
        string ro = Copy(scratch, crashed, "ro.img");
        string before = Sha(ro);
        Mount roMount = Ext2Fixture.MountImage(ro, readOnly: true);
        try
        {
            Assert.Equal(expected, OurTree(roMount));
        }
        finally
        {
            roMount.Unmount();
        }
        Assert.Equal(before, Sha(ro));

        // Read-write: the replay is written, the flag cleared, e2fsck agrees.
        string rw = Copy(scratch, crashed, "rw.img");
        Mount rwMount = Ext2Fixture.MountImage(rw, readOnly: false);
        try
        {
            Assert.Equal(expected, OurTree(rwMount));
        }
        finally
        {
            Assert.Equal(Errno.OK, rwMount.Unmount());
        }
        ToolResult h = OracleTool.RunExpect(0, "dumpe2fs", "-h", rw);
        Assert.DoesNotContain("needs_recovery", h.Stdout, StringComparison.Ordinal);
        Ext2Oracle.AssertFsckClean(rw);
    }
}
