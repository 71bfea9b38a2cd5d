using System.Diagnostics;
using System.Globalization;
using RumpFs.P2k.Tests.Support;
using RumpFs.TestSupport;
using RumpFs.Ukfs;

namespace RumpFs.P2k.Tests;

/// <summary>
/// -o writeback_cache: the kernel keeps written pages, size and mtime and writes back later.
/// Many small writes reach the daemon as a few large ones; what they leave on the image
/// (content, size, mtime) is what the writer saw; write-backs are done as the file's opener
/// (a user stops at the root reserve, at fsync); the times the kernel hands over at
/// close are recorded for a writer who does not own the file; append-only files are written
/// uncached, so an overwrite fails in write(2) as on a kernel file system; after a failed
/// write-back the kernel is made to drop the pages it could not write.
/// </summary>
public sealed class WritebackCacheTests : IDisposable
{
    private readonly ScratchDir _images = new("p2k-writeback");

    public void Dispose() => _images.Dispose();

    private string MakeImage(string format, string size = "32M")
    {
        string image = _images.File(format + ".img");
        string empty = _images.File("empty");
        Directory.CreateDirectory(empty);
        switch (format)
        {
            case "ext4":
                OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", image, size);
                break;
            case "fat32":
                OracleTool.RunExpect(0, "mkfs.fat", "-F", "32", "-C", image, "40960");
                break;
            case "ufs2":
                OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-B", "le", "-o", "version=2", "-s", size.ToLowerInvariant(), image, empty);
                break;
            default:
                throw new ArgumentException(format);
        }
        return image;
    }

    private static string Bash(RumpDaemon d, string script) =>
        OracleTool.Run("bash", "-c", script, "bash", d.MountPoint).Stdout;

    private static void StopCleanly(RumpDaemon d)
    {
        Assert.Equal(0, d.UnmountFromOutside());
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Equal(0, d.Process.ExitCode);
    }

    [Theory]
    [InlineData("rump_ext2fs", "ext4")]
    [InlineData("rump_msdos", "fat32")]
    [InlineData("rump_ffs", "ufs2")]
    public void SmallWrites_ReachTheDaemonBatched_ContentSizeAndMtimeAsTheWriterSaw(string tool, string format)
    {
        const int Writes = 3000, Piece = 100;
        string image = MakeImage(format);
        byte[] expected = new byte[Writes * Piece];
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = (byte)((i * 31) + (i / Piece));
        }
        long mtimeSeen;
        string log;
        using (RumpDaemon d = RumpDaemon.Start(tool, ["-d", "-o", "writeback_cache", image]))
        {
            string f = d.Path("f");
            using (var s = new FileStream(f, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                for (int i = 0; i < Writes; i++)
                {
                    s.Write(expected, i * Piece, Piece);
                }
            }
            Assert.Equal(expected.Length, new FileInfo(f).Length);
            mtimeSeen = new DateTimeOffset(File.GetLastWriteTimeUtc(f)).ToUnixTimeMilliseconds();
            StopCleanly(d);
            log = d.Stderr;
        }
        int writeRequests = log.Split('\n').Count(l => l.Contains(" Write node=", StringComparison.Ordinal));
        Assert.InRange(writeRequests, 1, Writes / 20);
        Assert.DoesNotContain("-> E", string.Join('\n', log.Split('\n').Where(l => l.Contains(" Write node=", StringComparison.Ordinal) || l.Contains(" SetAttr node=", StringComparison.Ordinal))), StringComparison.Ordinal);

        using (RumpDaemon d = RumpDaemon.Start(tool, ["-o", "ro", image]))
        {
            string f = d.Path("f");
            Assert.Equal(expected, File.ReadAllBytes(f));
            long mtimeStored = new DateTimeOffset(File.GetLastWriteTimeUtc(f)).ToUnixTimeMilliseconds();
            // FAT keeps mtime in 2-second steps; the others to the nanosecond.
            Assert.InRange(mtimeStored, mtimeSeen - (format == "fat32" ? 2000 : 0), mtimeSeen);
        }
        switch (format)
        {
            case "ext4":
                OracleTool.RunExpect(0, "e2fsck", "-fn", image);
                break;
            case "fat32":
                OracleTool.RunExpect(0, "fsck.fat", "-n", image);
                break;
        }
    }

    /// <summary>
    /// Write-backs are done as the opener: a user who writes more than is free stops at the
    /// root reserve, told at fsync (dd conv=fsync fails), while root still writes into it.
    /// </summary>
    [Fact]
    public void UserPastTheFreeSpace_ToldAtFsync_TheRootReserveStays()
    {
        string image = MakeImage("ext4", "24M");
        const string Script = """
            cd "$1"
            mkdir u && chown 1234:1234 u
            setpriv --reuid=1234 --regid=1234 --clear-groups dd if=/dev/zero of=u/big bs=1M count=40 conv=fsync 2>&1 | grep -o 'No space left on device' | head -1
            echo "avail: $(stat -f -c %a .)"
            echo "free: $(stat -f -c %f .)"
            dd if=/dev/zero of=rootfile bs=64k count=4 conv=fsync 2>/dev/null && echo "root: $(stat -c %s rootfile)"
            """;
        string output;
        using (RumpDaemon d = RumpDaemon.Start("rump_ext2fs", ["-o", "writeback_cache,allow_other", image]))
        {
            output = Bash(d, Script);
            StopCleanly(d);
        }
        Assert.StartsWith("No space left on device\n", output, StringComparison.Ordinal);
        Assert.Contains("avail: 0\n", output, StringComparison.Ordinal);
        long free = long.Parse(output.Split("free: ")[1].Split('\n')[0], CultureInfo.InvariantCulture);
        Assert.True(free > 256, $"only {free} blocks left free: the user's write-back took the root reserve");
        Assert.Contains("root: 262144\n", output, StringComparison.Ordinal);
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
    }

    /// <summary>
    /// The times the kernel hands over at close (mtime and ctime through the open file) are
    /// the writes' own: a writer who may write but does not own the file gets them recorded,
    /// where an explicit utimes of theirs would be EPERM.
    /// </summary>
    [Fact]
    public void NonOwnerWriter_CloseSucceeds_TheWriteTimesAreStored()
    {
        string image = MakeImage("ext4");
        const string Script = """
            cd "$1"
            echo base > shared && chmod 666 shared && touch -d '2001-01-01 00:00:00Z' shared
            setpriv --reuid=1234 --regid=1234 --clear-groups sh -c 'echo more >> shared' && echo "closed: ok"
            setpriv --reuid=1234 --regid=1234 --clear-groups touch -d '2002-02-02 00:00:00Z' shared 2>/dev/null || echo "utimes: refused"
            echo "mtime: $(stat -c %Y shared)"
            """;
        string output;
        long started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string log;
        using (RumpDaemon d = RumpDaemon.Start("rump_ext2fs", ["-d", "-o", "writeback_cache,allow_other", image]))
        {
            output = Bash(d, Script);
            StopCleanly(d);
            log = d.Stderr;
        }
        Assert.Contains("closed: ok\n", output, StringComparison.Ordinal);
        // The kernel's hand-over of the times is not refused as a stranger's utimes (the user's
        // own touch is refused by the kernel, before the daemon).
        Assert.DoesNotContain(log.Split('\n'), l => l.Contains(" SetAttr node=", StringComparison.Ordinal) && l.Contains("-> EPERM", StringComparison.Ordinal));
        Assert.Contains("utimes: refused\n", output, StringComparison.Ordinal);
        long seen = long.Parse(output.Split("mtime: ")[1].Split('\n')[0], CultureInfo.InvariantCulture);
        Assert.InRange(seen, started - 1, started + 120);
        string stat = OracleTool.RunExpect(0, "debugfs", "-R", "stat shared", image).Stdout;
        Assert.Contains($"mtime: 0x{seen:x8}", stat, StringComparison.Ordinal);
        Assert.Equal("base\nmore\n", OracleTool.RunExpect(0, "debugfs", "-R", "cat shared", image).Stdout);
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
    }

    /// <summary>
    /// A write-back that fails (the image is full, told at fsync) leaves the kernel holding
    /// pages the image never got; the daemon has it drop them (FUSE_NOTIFY_INVAL_INODE), so
    /// reading the file through the mount gives the image's bytes, and zeros past the image's
    /// end, not the lost data. The size is the kernel's own under the writeback cache: stat
    /// shows what the writer wrote while the kernel holds the inode, and the image's size once
    /// it lets the inode go.
    /// </summary>
    [Fact]
    public void FailedWriteBack_TheKernelDropsTheLostPages_ReadsGiveTheImagesBytes()
    {
        string image = MakeImage("ext4", "8M");
        // Twice what the image holds; no zero byte, so a page read back as zeros is told from a kept one.
        byte[] written = new byte[16 << 20];
        for (int i = 0; i < written.Length; i++)
        {
            written[i] = (byte)(1 + (((i * 31) + (i >> 12)) % 255));
        }
        string source = _images.File("pattern");
        File.WriteAllBytes(source, written);
        byte[] seen;
        long sizeWhileHeld, sizeAfterForget;
        using (RumpDaemon d = RumpDaemon.Start("rump_ext2fs", ["-d", "-o", "writeback_cache", image]))
        {
            string f = d.Path("f");
            ToolResult dd = OracleTool.Run("dd", $"if={source}", $"of={f}", "bs=1M", "conv=fsync");
            Assert.NotEqual(0, dd.ExitCode);
            Assert.Contains("No space left on device", dd.Stderr, StringComparison.Ordinal);
            // The notification follows the failed WRITE's answer from the daemon's own thread;
            // its debug line says it has been written (without it the wait runs out and the
            // comparisons below fail).
            var sw = Stopwatch.StartNew();
            while (!d.Stderr.Contains("notify inval_inode", StringComparison.Ordinal) && sw.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(50);
            }
            sizeWhileHeld = new FileInfo(f).Length;
            seen = File.ReadAllBytes(f);
            // Nothing holds the file now: dropping the dentries lets the kernel forget the inode.
            File.WriteAllText("/proc/sys/vm/drop_caches", "2");
            sizeAfterForget = new FileInfo(f).Length;
            StopCleanly(d);
        }
        byte[] stored;
        using (UkfsMount m = UkfsMount.Open("ext2fs", image, new UkfsOptions { ReadOnly = true }))
        {
            stored = m.ReadAllBytes("/f");
        }
        Assert.InRange(stored.Length, 1, written.Length - (1 << 20));
        Assert.Equal(written.Length, sizeWhileHeld);
        Assert.Equal(written.Length, seen.Length);
        Assert.True(stored.AsSpan().SequenceEqual(seen.AsSpan(0, stored.Length)), "the mount showed bytes the image does not hold");
        Assert.True(seen.AsSpan(stored.Length).IndexOfAnyExcept((byte)0) < 0, "the mount showed data past the image's end that was never stored");
        Assert.Equal(stored.Length, sizeAfterForget);
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
    }

    /// <summary>An append-only file takes appends; a write below its end fails at once with EPERM, and the image keeps the appends only.</summary>
    [Fact]
    public void AppendOnlyFile_AppendsLand_AnOverwriteFailsInWrite()
    {
        string image = MakeImage("ext4");
        const string Script = """
            cd "$1"
            touch log && chattr +a log
            echo one >> log && echo two >> log && echo "appended: $(stat -c %s log)"
            printf X | dd of=log bs=1 count=1 conv=notrunc 2>&1 | grep -o 'Operation not permitted' | head -1
            python3 -c 'import os; fd = os.open("log", os.O_WRONLY | os.O_APPEND); os.write(fd, b"three\n"); os.pwrite(fd, b"four\n", 0); os.close(fd)' && echo "pwrite on O_APPEND: appended"
            cat log
            chattr -a log
            """;
        string output;
        using (RumpDaemon d = RumpDaemon.Start("rump_ext2fs", ["-o", "writeback_cache", image]))
        {
            output = Bash(d, Script);
            StopCleanly(d);
        }
        Assert.Equal("appended: 8\nOperation not permitted\npwrite on O_APPEND: appended\none\ntwo\nthree\nfour\n", output);
        Assert.Equal("one\ntwo\nthree\nfour\n", OracleTool.RunExpect(0, "debugfs", "-R", "cat log", image).Stdout);
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
    }
}
