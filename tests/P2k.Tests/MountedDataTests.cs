using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using System.Security.Cryptography;
using RumpFs.P2k.Tests.Support;
using Tmds.Linux;

namespace RumpFs.P2k.Tests;

/// <summary>File data through the kernel: large files, mmap, many files, statfs, concurrent processes.</summary>
public sealed class MountedDataTests(TmpfsMountFixture mount) : IClassFixture<TmpfsMountFixture>
{
    /// <summary>Drop this file's pages from the kernel's cache so the next read asks the daemon.</summary>
    private static unsafe void DropCache(string path)
    {
        using var h = File.OpenHandle(path);
        LibC.posix_fadvise((int)h.DangerousGetHandle(), 0, 0, LibC.POSIX_FADV_DONTNEED);
    }

    [Fact]
    public void Write200MiBSequentially_ReadsBackWithTheSameHash()
    {
        string f = Path.Combine(mount.NewDir(), "big");
        var rng = new Random(4);
        var chunk = new byte[1 << 20];
        using var writeHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var s = new FileStream(f, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
        {
            for (int i = 0; i < 200; i++)
            {
                rng.NextBytes(chunk);
                writeHash.AppendData(chunk);
                s.Write(chunk);
            }
        }
        byte[] expected = writeHash.GetHashAndReset();
        Assert.Equal(200L << 20, new FileInfo(f).Length);
        DropCache(f);
        using var readHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 1))
        {
            int n;
            while ((n = s.Read(chunk)) > 0)
            {
                readHash.AppendData(chunk, 0, n);
            }
        }
        Assert.Equal(expected, readHash.GetHashAndReset());
        File.Delete(f);
    }

    [Fact]
    public void Mmap_ReadsFileContent()
    {
        string f = Path.Combine(mount.NewDir(), "mapped");
        byte[] data = new byte[3 * 4096 + 123];
        new Random(7).NextBytes(data);
        File.WriteAllBytes(f, data);
        DropCache(f);
        using var map = MemoryMappedFile.CreateFromFile(f, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, data.Length, MemoryMappedFileAccess.Read);
        var read = new byte[data.Length];
        view.ReadArray(0, read, 0, read.Length);
        Assert.Equal(data, read);
    }

    [Fact]
    public void ThousandFiles_AreListedOnceEach_WithTheirSizes()
    {
        string d = mount.NewDir();
        for (int i = 0; i < 1000; i++)
        {
            File.WriteAllText(Path.Combine(d, $"file{i:D4}"), new string('x', i % 17));
        }
        string[] names = [.. Directory.GetFiles(d).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal(1000, names.Length);
        Assert.Equal(1000, names.Distinct().Count());
        Assert.Equal("file0000", names[0]);
        Assert.Equal("file0999", names[^1]);
        // ls -l goes through READDIRPLUS and the attributes it carries.
        (int rc, string ls) = RumpDaemon.Run("ls", "-l", d);
        Assert.Equal(0, rc);
        Assert.Contains(" 16 ", ls.Split('\n').Single(l => l.EndsWith("file0016", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public void Statfs_ReportsSizeOption_AndFreeSpaceFollowsWrites()
    {
        string d = mount.NewDir();
        Assert.Equal(0, Sys.StatVfs(d, out statvfs before));
        ulong frsize = (ulong)before.f_frsize;
        Assert.Equal(1UL << 30, (ulong)before.f_blocks * frsize);
        Assert.Equal(255UL, (ulong)before.f_namemax);
        string f = Path.Combine(d, "eight-mib");
        File.WriteAllBytes(f, new byte[8 << 20]);
        Assert.Equal(0, Sys.StatVfs(d, out statvfs during));
        long used = (long)((ulong)before.f_bfree - (ulong)during.f_bfree) * (long)frsize;
        Assert.InRange(used, 8L << 20, 9L << 20);
        File.Delete(f);
        // The space is back when unlink returns (P2kFileSystem.Reclaim.cs), not only once the
        // kernel's FORGET of the inode, which follows the UNLINK reply, has been served.
        Assert.Equal(0, Sys.StatVfs(d, out statvfs after));
        Assert.InRange((long)(ulong)after.f_bfree, (long)(ulong)before.f_bfree - 16, (long)(ulong)before.f_bfree + 16);
    }

    [Fact]
    public void ConcurrentWritersAndReaders_InSeparateProcesses_SeeConsistentData()
    {
        string d = mount.NewDir();
        string source = Path.Combine(RumpDaemon.NewScratch(), "source");
        try
        {
            byte[] data = new byte[24 << 20];
            new Random(11).NextBytes(data);
            File.WriteAllBytes(source, data);
            string expected = Convert.ToHexStringLower(SHA256.HashData(data));
            File.WriteAllBytes(Path.Combine(d, "shared"), data);

            var procs = new List<Process>();
            for (int i = 0; i < 4; i++)
            {
                procs.Add(Start("cp", source, Path.Combine(d, $"copy{i}")));
                procs.Add(Start("sha256sum", Path.Combine(d, "shared")));
            }
            foreach (Process p in procs)
            {
                string output = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                Assert.Equal(0, p.ExitCode);
                if (p.StartInfo.FileName == "sha256sum")
                {
                    Assert.StartsWith(expected, output, StringComparison.Ordinal);
                }
                p.Dispose();
            }
            for (int i = 0; i < 4; i++)
            {
                string copy = Path.Combine(d, $"copy{i}");
                DropCache(copy);
                Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(copy))));
            }
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(source)!, recursive: true);
        }
    }

    private static Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return Process.Start(psi)!;
    }

    [Fact]
    public unsafe void SeekData_SeekHole_FindTheWrittenRange_FallocateExtends_PunchHoleMakesAHole()
    {
        string f = Path.Combine(mount.NewDir(), "sparse");
        using (var s = new FileStream(f, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            s.Seek(1 << 20, SeekOrigin.Begin);
            s.Write([1, 2, 3]);
        }
        using (SafeFileHandleHolder h = new(f))
        {
            const int SEEK_DATA = 3, SEEK_HOLE = 4;
            Assert.Equal(1L << 20, (long)LibC.lseek(h.Fd, 0, SEEK_DATA));
            Assert.Equal((1L << 20) + 3, (long)LibC.lseek(h.Fd, 1 << 20, SEEK_HOLE));
            Assert.Equal(-1L, (long)LibC.lseek(h.Fd, (1 << 20) + 3, SEEK_DATA));
            Assert.Equal(6, LibC.errno); // ENXIO past the end
            Assert.Equal(0, LibC.fallocate(h.Fd, 0, 0, 4 << 20));
            // Every page exists now; punching the one with the data leaves the only hole.
            Assert.Equal(0L, (long)LibC.lseek(h.Fd, 0, SEEK_DATA));
            Assert.Equal(0, LibC.fallocate(h.Fd, LibC.FALLOC_FL_KEEP_SIZE | LibC.FALLOC_FL_PUNCH_HOLE, 1 << 20, 4096));
            Assert.Equal(1L << 20, (long)LibC.lseek(h.Fd, 0, SEEK_HOLE));
        }
        Assert.Equal(4L << 20, new FileInfo(f).Length);
        Assert.All(File.ReadAllBytes(f), b => Assert.Equal(0, b));
    }

    private sealed class SafeFileHandleHolder(string path) : IDisposable
    {
        private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _h = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);

        public int Fd => (int)_h.DangerousGetHandle();

        public void Dispose() => _h.Dispose();
    }
}
