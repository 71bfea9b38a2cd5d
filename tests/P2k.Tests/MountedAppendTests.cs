using System.Text;
using RumpFs.P2k.Tests.Support;
using RumpFs.TestSupport;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RumpFs.P2k.Tests;

/// <summary>
/// 4 KiB appends through the disk daemons, the pattern of a log: two O_APPEND descriptors
/// and a third that stats between the writes. Every block lands at the end, the size and
/// times the daemon reports follow, and the file is the same after a remount and clean for
/// the format's checker. Also what the kernel asks the daemon per append on a format
/// without extended attributes.
/// </summary>
public sealed unsafe class MountedAppendTests : IDisposable
{
    private const int Block = 4096;
    private readonly ScratchDir _images = new("p2k-append");

    public static TheoryData<string, string> Formats => new()
    {
        { "rump_ext2fs", "ext4" },
        { "rump_ext2fs", "ext2" },
        { "rump_msdos", "fat32" },
        { "rump_ffs", "ufs2" },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void AppendsFromTwoDescriptors_LandAtTheEnd_SizeAndMtimeFollow_AndSurviveARemount(string tool, string format)
    {
        const int Writes = 24;
        string image = MakeImage(format);
        using (RumpDaemon d = RumpDaemon.Start(tool, [image]))
        {
            string f = d.Path("log");
            int a = Open(f, O_WRONLY | O_CREAT | O_APPEND);
            int b = Open(f, O_WRONLY | O_APPEND);
            int r = Open(f, O_RDONLY);
            try
            {
                Append(a, 0);
                stat before = Fstat(r);
                // The first write's time must be in the past at the format's resolution.
                Thread.Sleep(format switch { "fat32" => 2100, "ext2" => 1100, _ => 20 });
                for (int i = 1; i < Writes - 1; i++)
                {
                    Append(i % 2 == 0 ? a : b, i);
                    Assert.Equal((long)(i + 1) * Block, (long)Fstat(r).st_size);
                }
                // pwrite on an O_APPEND descriptor appends too (Linux ignores the offset).
                byte[] last = Pattern(Writes - 1);
                fixed (byte* p = last)
                {
                    Assert.Equal(Block, (long)pwrite(b, p, Block, 0));
                }
                stat after = Fstat(r);
                Assert.Equal((long)Writes * Block, (long)after.st_size);
                Assert.True(Later(after.st_mtim, before.st_mtim),
                    $"mtime {after.st_mtim.tv_sec}.{after.st_mtim.tv_nsec} not after {before.st_mtim.tv_sec}.{before.st_mtim.tv_nsec}");
                Assert.False(Later(before.st_ctim, after.st_ctim));
            }
            finally
            {
                close(a);
                close(b);
                close(r);
            }
            AssertBlocks(f, Writes);
            Assert.Equal(0, d.UnmountFromOutside());
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, d.Process.ExitCode);
        }
        using (RumpDaemon d = RumpDaemon.Start(tool, ["-o", "ro", image]))
        {
            AssertBlocks(d.Path("log"), Writes);
        }
        switch (format)
        {
            case "ext4" or "ext2":
                OracleTool.RunExpect(0, "e2fsck", "-fn", image);
                break;
            case "fat32":
                OracleTool.RunExpect(0, "fsck.fat", "-n", image);
                break;
        }
    }

    /// <summary>
    /// After a GETATTR the kernel no longer knows a file to be free of capabilities and asks
    /// for security.capability before the next write. A format without extended attributes
    /// says so once (ENOSYS, kept by the kernel), so an appender that stats after every write
    /// costs two round trips per append instead of three; getxattr still fails with
    /// EOPNOTSUPP and listxattr still lists nothing. A format with them (plain UFS2 can be read
    /// for them) keeps answering.
    /// </summary>
    [Theory]
    [InlineData("rump_msdos", "fat32", false)]
    [InlineData("rump_ffs", "ufs1", false)]
    [InlineData("rump_ffs", "ufs2", true)]
    [InlineData("rump_ext2fs", "ext4", true)]
    public void AppendWithFstat_GetxattrIsAskedOnceWhereTheFormatHasNoXattrs(string tool, string format, bool hasXattrs)
    {
        const int Writes = 40;
        string image = MakeImage(format);
        using RumpDaemon d = RumpDaemon.Start(tool, ["-d", image]);
        string f = d.Path("log");
        int fd = Open(f, O_WRONLY | O_CREAT | O_APPEND);
        try
        {
            for (int i = 0; i < Writes; i++)
            {
                Append(fd, i);
                Assert.Equal((long)(i + 1) * Block, (long)Fstat(fd).st_size);
            }
        }
        finally
        {
            close(fd);
        }
        AssertBlocks(f, Writes);
        if (hasXattrs)
        {
            // The question still reaches the driver, which finds no such attribute.
            Assert.Equal(Sys.ENODATA, Sys.GetXattr(f, "user.k"));
        }
        else
        {
            Assert.Equal(Sys.ENOTSUP, Sys.GetXattr(f, "user.k"));
            Assert.Equal(Sys.ENOTSUP, Sys.SetXattr(f, "user.k", "v"u8, 0));
            Assert.Equal(Sys.ENOTSUP, Sys.GetXattr(f, "user.k"));
            Assert.Empty(Sys.ListXattr(f));
        }
        Assert.Equal(0, d.UnmountFromOutside());
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
        int asked = d.Stderr.Split('\n').Count(l => l.Contains(" GetXattr node=", StringComparison.Ordinal));
        if (hasXattrs)
        {
            Assert.True(asked > 1, $"GETXATTR reached the daemon {asked} times");
        }
        else
        {
            Assert.True(asked <= 1, $"GETXATTR reached the daemon {asked} times for {Writes} appends");
        }
    }

    private string MakeImage(string format)
    {
        string image = _images.File(format + ".img");
        string empty = _images.File("empty");
        Directory.CreateDirectory(empty);
        switch (format)
        {
            case "ext4" or "ext2":
                OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", format, image, "16M");
                break;
            case "fat32":
                OracleTool.RunExpect(0, "mkfs.fat", "-F", "32", "-C", image, "40960");
                break;
            case "ufs1" or "ufs2":
                OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-B", "le", "-o", $"version={format[^1]}", "-s", "16m", image, empty);
                break;
            default:
                throw new ArgumentException(format);
        }
        return image;
    }

    /// <summary>Block i: its number in the first bytes, then a byte that differs from block to block.</summary>
    private static byte[] Pattern(int i)
    {
        var b = new byte[Block];
        b.AsSpan().Fill((byte)(i * 7 + 1));
        Encoding.ASCII.GetBytes($"block {i}\n").CopyTo(b, 0);
        return b;
    }

    private static void AssertBlocks(string path, int count)
    {
        byte[] data = File.ReadAllBytes(path);
        Assert.Equal(count * Block, data.Length);
        for (int i = 0; i < count; i++)
        {
            Assert.True(data.AsSpan(i * Block, Block).SequenceEqual(Pattern(i)),
                $"block {i} holds \"{Encoding.ASCII.GetString(data, i * Block, 9)}...\"");
        }
    }

    private static int Open(string path, int flags)
    {
        byte[] z = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = z)
        {
            int fd = open(p, flags, 0x1A4);
            Assert.True(fd >= 0, $"open {path}: errno {errno}");
            return fd;
        }
    }

    private static void Append(int fd, int i)
    {
        byte[] data = Pattern(i);
        fixed (byte* p = data)
        {
            Assert.Equal(Block, (long)write(fd, p, Block));
        }
    }

    private static stat Fstat(int fd)
    {
        stat st;
        Assert.Equal(0, fstat(fd, &st));
        return st;
    }

    private static bool Later(timespec a, timespec b) =>
        (long)a.tv_sec > (long)b.tv_sec || ((long)a.tv_sec == (long)b.tv_sec && (long)a.tv_nsec > (long)b.tv_nsec);

    public void Dispose() => _images.Dispose();
}
