using RumpFs.FsDrivers.Ext2fs.Check;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckHtreeRebuildImages;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Directories rewritten only to optimise them: under repair on a dir_index file system every
/// directory of three blocks or more without an index (lost+found aside) is indexed, as
/// e2fsck indexes it whenever it repairs; with -D every directory is written afresh, as
/// e2fsck -D writes it. Both leave the same directory bytes e2fsck leaves, and exit 0.
/// </summary>
public sealed class Ext2CheckOptimizeTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-optimize");

    public void Dispose() => _dir.Dispose();

    private static readonly string[] Dirs = ["/", "/big", "/small", "/shrunk", "/lost+found"];

    /// <summary>
    /// mke2fs -d (which never indexes): /big of 300 names (unindexed, many blocks), /small
    /// of three, and /shrunk, which had 300 names and keeps its blocks with 5 left.
    /// </summary>
    private string Image(string flavour)
    {
        string src = _dir.File("src");
        foreach ((string dir, int count) in new[] { ("big", 300), ("small", 3), ("shrunk", 300) })
        {
            Directory.CreateDirectory(Path.Combine(src, dir));
            for (int i = 0; i < count; i++)
            {
                File.WriteAllText(Path.Combine(src, dir, Name(i, 24)), dir + i);
            }
        }
        string img = _dir.File("opt.img");
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", "1024", "-E", "hash_seed=" + HashSeed, "-U", Uuid },
            .. Features(flavour), "-d", src, img, "16M"]);
        string cmds = _dir.File("rm.cmds");
        File.WriteAllLines(cmds, Enumerable.Range(5, 295).Select(i => "rm /shrunk/" + Name(i, 24)));
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", cmds, img);
        AssertBothClean(img);
        return img;
    }

    private static CheckReport Run(string img, CheckOptions options, IFileSystemChecker? checker = null)
    {
        Assert.Equal(Errno.OK, FileBlockDevice.Open(img, !options.Repair, out FileBlockDevice? dev, out string? msg));
        using (dev)
        {
            return (checker ?? new Ext2Checker()).Check(dev!, options);
        }
    }

    private void AssertDirectoriesAsE2fsck(string ours, string theirs)
    {
        foreach (string d in Dirs)
        {
            Assert.True(DirectoryBytes(theirs, d, _dir).AsSpan().SequenceEqual(DirectoryBytes(ours, d, _dir)), $"{d} differs from e2fsck's");
        }
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Repair_UnindexedDirectoryOfThreeBlocksOrMore_IndexedAsE2fsckIndexesIt(string flavour)
    {
        string img = Image(flavour);
        Assert.Equal(-1, IndirectLevels(img, "/big"));
        Assert.Equal(-1, IndirectLevels(img, "/shrunk"));
        byte[] lostFound = DirectoryBytes(img, "/lost+found", _dir);
        SortedDictionary<string, uint> big = Names(img, "/big");
        string theirs = _dir.File("theirs.img");
        File.Copy(img, theirs);

        CheckReport check = Check(img, repair: false);
        Assert.True(check.ExitCode == 0 && check.Findings.Count == 0, Describe(check));
        CheckReport fix = Check(img, repair: true);

        Assert.True(fix.ExitCode == 0, Describe(fix));
        Assert.Contains(fix.Findings, f => f.Message == "2 directories of three blocks or more without an index were indexed (as e2fsck does under repair)");
        AssertBothClean(img);
        ToolResult e2 = OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.True(e2.ExitCode == 0, e2.Transcript);
        Assert.Contains("Pass 3A", e2.Transcript, StringComparison.Ordinal);
        AssertDirectoriesAsE2fsck(img, theirs);
        Assert.Equal(0, IndirectLevels(img, "/big"));
        Assert.Equal(-1, IndirectLevels(img, "/shrunk"));
        Assert.Contains("Size: 1024", DebugfsRead(img, "stat /shrunk"), StringComparison.Ordinal);
        Assert.Equal(lostFound, DirectoryBytes(img, "/lost+found", _dir));
        Assert.Equal(big, Names(img, "/big"));
        AssertDriverFindsEach(img, "/big", big);
        Assert.Equal("big299", DebugfsRead(img, "cat /big/" + Name(299, 24)));
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void OptimizeDirectories_EveryDirectoryWrittenAsE2fsckDWritesIt(string flavour)
    {
        string img = Image(flavour);
        string theirs = _dir.File("theirs.img");
        File.Copy(img, theirs);

        CheckReport fix = Run(img, new CheckOptions { Repair = true, OptimizeDirectories = true });

        Assert.True(fix.ExitCode == 0, Describe(fix));
        Assert.Contains(fix.Findings, f => f.Message == "5 directories optimised: each written afresh from its names (as e2fsck -D)");
        AssertBothClean(img);
        ToolResult e2 = OracleTool.Run("e2fsck", "-fyD", theirs);
        Assert.True(e2.ExitCode == 0, e2.Transcript);
        AssertDirectoriesAsE2fsck(img, theirs);
        AssertDriverFindsEach(img, "/big", Names(img, "/big"));
    }

    [Fact]
    public void OptimizeDirectories_WithoutRepair_IsAnOperationalErrorAndWritesNothing()
    {
        string img = Image("ext4");
        byte[] before = File.ReadAllBytes(img);
        CheckReport r = Run(img, new CheckOptions { OptimizeDirectories = true });
        Assert.Equal(8, r.ExitCode);
        Assert.Contains("needs repair", r.OperationalError, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(img));
    }

    [Fact]
    public void OtherCheckers_CannotOptimizeDirectories_AndSayWhy()
    {
        IFileSystemChecker[] others = [new FatChecker(), new FfsChecker()];
        string img = _dir.File("blank.img");
        File.WriteAllBytes(img, new byte[1 << 20]);
        foreach (IFileSystemChecker c in others)
        {
            Assert.False(c.CanOptimizeDirectories);
            CheckReport r = Run(img, new CheckOptions { Repair = true, OptimizeDirectories = true }, c);
            Assert.Equal(8, r.ExitCode);
            Assert.Contains("cannot optimise directories", r.OperationalError, StringComparison.Ordinal);
        }
        Assert.True(new Ext2Checker().CanOptimizeDirectories);
    }
}
