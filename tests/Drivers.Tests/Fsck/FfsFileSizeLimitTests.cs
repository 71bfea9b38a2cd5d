using System.Diagnostics;
using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// di_size above fs_maxfilesize (fsck_ffs's checkinode: "bad size", UNKNOWN FILE TYPE,
/// CLEAR), and for a directory above MAXDIRSIZE: -n reports it (exit 4, nothing written),
/// -y clears the inode and removes its entry (exit 1), a second -y changes nothing and -n is
/// clean, every other file keeps its contents. The driver refuses to load such an inode with
/// EIO at once, without writing, instead of streaming zeros for ever.
/// </summary>
public sealed class FfsFileSizeLimitTests
{
    [Theory]
    [InlineData(1, long.MaxValue)]
    [InlineData(2, long.MaxValue)]
    [InlineData(1, -2L)]
    [InlineData(2, -2L)]
    public void Check_SizeAboveMaxFileSize_ClearedInOneRunFilesKept(int version, long size)
    {
        using var dir = new ScratchDir("ffssize");
        FfsDamage img = FfsSmallImages.Damage(dir, FfsSmallImages.Image(version));
        // -2 stands for one byte past the limit, which differs by version.
        size = size == -2 ? img.Sb.MaxFileSize + 1 : size;
        ulong ino = img.Ino("/indir");
        img.SetInode(ino, d => d.Size = size);
        byte[] damaged = (byte[])img.Bytes.Clone();

        FfsCheckReport found = FfsCheck.Run(new MemoryBlockDevice(img.Bytes, readOnly: true));
        Assert.Contains(found.Findings, f => f.Kind == FfsFindingKind.Inode && f.Location == (long)ino
            && f.Message.Contains("above fs_maxfilesize", StringComparison.Ordinal));
        var checker = new FfsChecker();
        CheckReport n = checker.Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false);
        Assert.True(n.ExitCode == 4, FfsRepairTests.Describe(n));
        Assert.True(damaged.AsSpan().SequenceEqual(img.Bytes), "-n changed the image");

        CheckReport y = checker.Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        Assert.Equal(0, img.Inode(ino).Mode);
        byte[] repaired = (byte[])img.Bytes.Clone();
        CheckReport y2 = checker.Check(img.Device, repair: true);
        Assert.True(y2.ExitCode == 0, FfsRepairTests.Describe(y2));
        Assert.True(repaired.AsSpan().SequenceEqual(img.Bytes), "a second -y changed the image");
        CheckReport again = checker.Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false);
        Assert.True(again.ExitCode == 0, FfsRepairTests.Describe(again));

        Dictionary<string, string> tree = FfsRepairTests.Tree(img.Bytes);
        Assert.DoesNotContain("indir", tree.Keys);
        foreach ((string path, string sha) in FfsSmallImages.SourceFiles(version).Where(p => p.Key != "indir"))
        {
            Assert.True(tree.TryGetValue(path, out string? sig), $"{path} lost");
            Assert.Contains("file:" + sha, sig, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Driver_SizeAboveMaxFileSize_EioAtOnceOneLogLineNothingWritten(int version)
    {
        using var dir = new ScratchDir("ffssize");
        FfsDamage img = FfsSmallImages.Damage(dir, FfsSmallImages.Image(version));
        ulong ino = img.Ino("/indir");
        img.SetInode(ino, d => d.Size = long.MaxValue);
        byte[] damaged = (byte[])img.Bytes.Clone();

        // A read-only mount, as `ukfs cat` makes, on a device that would take writes.
        var dev = new MemoryBlockDevice(img.Bytes);
        Errno rc = FfsTestMount.TryMount(dev, true, out Mount? mp, out string? msg);
        Assert.True(rc == Errno.OK, $"mount: {rc} {msg}");
        var clock = Stopwatch.StartNew();
        Vnode root = FfsTestMount.Resolve(mp!, "/");
        Errno e = Vop.Lookup(root, "indir", Credentials.Root, out Vnode? vp);
        root.Release();
        Assert.Equal(Errno.EIO, e);
        Assert.Null(vp);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Contains(FfsTestMount.LastLog, l => l.Contains($"inode {ino} has size {long.MaxValue}", StringComparison.Ordinal));
        Vnode small = FfsTestMount.Resolve(mp!, "/small");
        Assert.Equal(6, FfsTestMount.ReadAll(small).Length);
        small.Release();
        Assert.Equal(Errno.OK, mp!.Unmount());
        Assert.True(damaged.AsSpan().SequenceEqual(img.Bytes), "the driver wrote the image");
    }

    /// <summary>
    /// A negative di_size or di_blocks: EIO, and the log line names the field that is wrong
    /// (a negative block count is not called a negative size). UFS1's di_blocks is an
    /// int32_t as UFS2's is an int64_t: both can be negative.
    /// </summary>
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    public void Driver_NegativeSizeOrBlocks_LogSaysWhich(int version, bool blocks)
    {
        using var dir = new ScratchDir("ffsneg");
        FfsDamage img = FfsSmallImages.Damage(dir, FfsSmallImages.Image(version));
        ulong ino = img.Ino("/f");
        img.SetInode(ino, d =>
        {
            if (blocks)
            {
                d.Blocks = -16 * version;
            }
            else
            {
                d.Size = -5 * version;
            }
        });
        Errno rc = FfsTestMount.TryMount(new MemoryBlockDevice(img.Bytes, readOnly: true), true, out Mount? mp, out string? msg);
        Assert.True(rc == Errno.OK, $"mount: {rc} {msg}");
        Vnode root = FfsTestMount.Resolve(mp!, "/");
        Errno e = Vop.Lookup(root, "f", Credentials.Root, out Vnode? vp);
        root.Release();
        Assert.Equal(Errno.EIO, e);
        Assert.Null(vp);
        // The values differ by version: the log reports each (subsystem, place, text) once per run.
        string want = blocks ? $"inode {ino} has a negative block count (di_blocks {-16 * version})" : $"inode {ino} has negative size {-5 * version}";
        string[] log = FfsTestMount.LastLog;
        Assert.True(log.Any(l => l.Contains(want, StringComparison.Ordinal)), string.Join(" | ", log));
        if (blocks)
        {
            // The size cases log their own negative sizes; a block count taken for a size
            // would print the file's real size, which is not negative.
            Assert.False(log.Any(l => l.Contains($"inode {ino} has negative size ", StringComparison.Ordinal)
                && !l.Contains($"inode {ino} has negative size -", StringComparison.Ordinal)), string.Join(" | ", log));
        }
        Assert.Equal(Errno.OK, mp!.Unmount());
    }

    /// <summary>A clean image reads back whole through a read-only mount: the bound refuses no real file.</summary>
    [Theory]
    [InlineData(1, 4096, 512)]
    [InlineData(2, 4096, 512)]
    [InlineData(1, 65536, 8192)]
    [InlineData(2, 32768, 4096)]
    public void Driver_CleanImage_EveryFileReadsBack(int version, int bsize, int fsize)
    {
        byte[] img = FfsSmallImages.Image(version, bsize, fsize);
        Dictionary<string, string> tree = FfsRepairTests.Tree(img);
        foreach ((string path, string sha) in FfsSmallImages.SourceFiles(version, bsize, fsize))
        {
            Assert.Contains("file:" + sha, tree[path], StringComparison.Ordinal);
        }
        Assert.Equal(0, new FfsChecker().Check(new MemoryBlockDevice(img, readOnly: true), repair: false).ExitCode);
    }

    /// <summary>fs_maxfilesize as fsck_ffs computes it; on UFS1 capped by the kernel's 2^31 blocks.</summary>
    [Theory]
    [InlineData(1, 4096, 512, (4096L * (12 + 1024 + (1024L * 1024) + (1024L * 1024 * 1024))) - 1)]
    [InlineData(2, 4096, 512, (4096L * (12 + 512 + (512L * 512) + (512L * 512 * 512))) - 1)]
    [InlineData(1, 65536, 8192, (0x80000000L * 65536) - 1)]
    public void MaxFileSize_FollowsTheBlockSize(int version, int bsize, int fsize, long want)
    {
        FfsSuperblock sb = FfsSmallImages.Superblock(FfsSmallImages.Image(version, bsize, fsize));
        Assert.Equal(want, sb.MaxFileSize);
        var d = new FfsDinode { Mode = 0x81a4, Size = want };
        Assert.Null(FfsCheck.InodeProblem(d, sb));
        d.Size = want + 1;
        Assert.NotNull(FfsCheck.InodeProblem(d, sb));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Check_DirectoryAboveMaxDirSize_ClearedAndConverges(int version)
    {
        using var dir = new ScratchDir("ffssize");
        FfsDamage img = FfsSmallImages.Damage(dir, FfsSmallImages.Image(version));
        ulong ino = img.Ino("/d");
        img.SetInode(ino, d => d.Size = FfsCheck.MaxDirSize + 1);
        Assert.True(FfsCheck.MaxDirSize + 1 <= img.Sb.MaxFileSize);

        FfsCheckReport found = FfsCheck.Run(new MemoryBlockDevice(img.Bytes, readOnly: true));
        Assert.Contains(found.Findings, f => f.Location == (long)ino && f.Message.Contains("MAXDIRSIZE", StringComparison.Ordinal));
        var checker = new FfsChecker();
        CheckReport y = checker.Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        CheckReport again = checker.Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false);
        Assert.True(again.ExitCode == 0, FfsRepairTests.Describe(again));
        Dictionary<string, string> tree = FfsRepairTests.Tree(img.Bytes);
        Assert.DoesNotContain("d", tree.Keys);
        Assert.Contains("file:" + FfsSmallImages.SourceFiles(version)["indir"], tree["indir"], StringComparison.Ordinal);
    }
}
