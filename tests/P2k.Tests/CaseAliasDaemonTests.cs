using System.Text.RegularExpressions;
using RumpFs.P2k.Tests.Support;
using RumpFs.TestSupport;

namespace RumpFs.P2k.Tests;

/// <summary>
/// Names that differ only in case or by trailing dots name one entry on FAT. The kernel
/// caches one dentry per spelling looked up; after a rename, unlink or rmdir under any
/// spelling, none but the current name may still reach the node, as on Linux's vfat, whose
/// dentry hash folds case and trailing dots. Every spelling is looked up (cached) first, and
/// checked at once after the change, well within the entry timeout.
/// </summary>
public sealed partial class CaseAliasDaemonTests : IDisposable
{
    private readonly ScratchDir _images = new("p2k-alias");

    private static readonly string[] DataSpellings = ["Data.TXT", "data.txt", "DATA.TXT", "Data.TXT.", "data.txt.."];

    private string FatImage()
    {
        string image = _images.File("fat.img");
        OracleTool.RunExpect(0, "mkfs.fat", "-C", image, "1440");
        return image;
    }

    /// <summary>Look every spelling up, so the kernel holds a dentry for each.</summary>
    private static void CacheAll(RumpDaemon d, IEnumerable<string> spellings)
    {
        foreach (string s in spellings)
        {
            Assert.True(Path.Exists(d.Path(s)), s);
        }
    }

    private static void AssertGone(RumpDaemon d, IEnumerable<string> spellings, string after)
    {
        foreach (string s in spellings)
        {
            Assert.False(Path.Exists(d.Path(s)), $"{s} still answers after {after}");
        }
    }

    [Fact]
    public void Alias_RenameUnderTheStoredSpelling_OtherSpellingsOpenNothing()
    {
        using RumpDaemon d = RumpDaemon.Start("rump_msdos", [FatImage()]);
        File.WriteAllText(d.Path("Data.TXT"), "original");
        CacheAll(d, DataSpellings);
        File.Move(d.Path("Data.TXT"), d.Path("other.txt"));
        foreach (string alias in DataSpellings)
        {
            // The reproducer's write: open r+ under an old spelling must not reach other.txt.
            Assert.Throws<FileNotFoundException>(() => File.Open(d.Path(alias), FileMode.Open, FileAccess.ReadWrite).Dispose());
        }
        Assert.Equal("original", File.ReadAllText(d.Path("other.txt")));
    }

    [Theory]
    [InlineData("data.txt")]
    [InlineData("DATA.TXT")]
    [InlineData("Data.TXT.")]
    [InlineData("Data.TXT")]
    public void Alias_RenameUnderAnySpelling_NoOldSpellingReachesTheFile(string spelling)
    {
        using RumpDaemon d = RumpDaemon.Start("rump_msdos", [FatImage()]);
        File.WriteAllText(d.Path("Data.TXT"), "original");
        CacheAll(d, DataSpellings);
        File.Move(d.Path(spelling), d.Path("moved.txt"));
        AssertGone(d, DataSpellings, "mv " + spelling);
        Assert.Equal("original", File.ReadAllText(d.Path("MOVED.TXT")));
        Assert.Equal(["moved.txt"], Directory.GetFileSystemEntries(d.MountPoint).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("gone.txt")]
    [InlineData("GONE.TXT")]
    [InlineData("Gone.Txt.")]
    [InlineData("Gone.txt")]
    public void Alias_UnlinkUnderAnySpelling_EverySpellingIsGone(string spelling)
    {
        string[] spellings = ["Gone.txt", "gone.txt", "GONE.TXT", "Gone.Txt.", "gone.TXT..."];
        using RumpDaemon d = RumpDaemon.Start("rump_msdos", [FatImage()]);
        for (int round = 0; round < 5; round++)
        {
            File.WriteAllText(d.Path("Gone.txt"), "gone");
            CacheAll(d, spellings);
            File.Delete(d.Path(spelling));
            AssertGone(d, spellings, "rm " + spelling);
        }
    }

    [Theory]
    [InlineData("sub dir")]
    [InlineData("SUB DIR.")]
    [InlineData("Sub Dir")]
    public void Alias_RmdirUnderAnySpelling_EverySpellingIsGone(string spelling)
    {
        string[] spellings = ["Sub Dir", "sub dir", "SUB DIR", "Sub Dir.", "sub DIR.."];
        using RumpDaemon d = RumpDaemon.Start("rump_msdos", [FatImage()]);
        for (int round = 0; round < 5; round++)
        {
            Directory.CreateDirectory(d.Path("Sub Dir"));
            CacheAll(d, spellings);
            Directory.Delete(d.Path(spelling));
            AssertGone(d, spellings, "rmdir " + spelling);
        }
    }

    [Theory]
    [InlineData("OLD.TXT")]
    [InlineData("old.txt.")]
    [InlineData("Old.TXT")]
    public void Alias_RenameOverAnExistingName_EverySpellingReachesTheNewFile(string target)
    {
        string[] spellings = ["Old.TXT", "old.txt", "OLD.TXT", "Old.TXT."];
        using RumpDaemon d = RumpDaemon.Start("rump_msdos", [FatImage()]);
        File.WriteAllText(d.Path("Old.TXT"), "old");
        File.WriteAllText(d.Path("New.txt"), "new");
        CacheAll(d, spellings);
        File.Move(d.Path("New.txt"), d.Path(target), overwrite: true);
        foreach (string s in spellings)
        {
            Assert.Equal("new", File.ReadAllText(d.Path(s)));
        }
        Assert.Single(Directory.GetFileSystemEntries(d.MountPoint));
    }

    [Fact]
    public void Alias_RenamedToADottedSpelling_ThatSpellingGoesWithTheFile()
    {
        // The kernel moves its dentry to "x.txt." while the entry is stored as "x.txt".
        using RumpDaemon d = RumpDaemon.Start("rump_msdos", [FatImage()]);
        Directory.CreateDirectory(d.Path("Sub Dir"));
        File.WriteAllText(d.Path("a.txt"), "a");
        File.Move(d.Path("a.txt"), d.Path("x.txt."));
        CacheAll(d, ["x.txt.", "x.txt", "X.TXT"]);
        File.Move(d.Path("x.txt"), d.Path("Sub Dir/b.txt"));
        AssertGone(d, ["x.txt.", "x.txt", "X.TXT"], "mv x.txt");
        Assert.Throws<FileNotFoundException>(() => File.Open(d.Path("x.txt."), FileMode.Open, FileAccess.ReadWrite).Dispose());
        Assert.Equal("a", File.ReadAllText(d.Path("Sub Dir/b.txt")));
    }

    /// <summary>
    /// What stays cached: the stored spelling keeps its entry timeout on FAT, as every name
    /// does on ext2 (names there are exact: nothing changes); only another spelling on FAT is
    /// looked up again at each use.
    /// </summary>
    [Theory]
    [InlineData("rump_msdos", "Name.txt", 0)]
    [InlineData("rump_msdos", "name.txt", 20)]
    [InlineData("rump_ext2fs", "Name.txt", 0)]
    public void Alias_OnlyOtherSpellingsOnFat_AreLookedUpAtEachUse(string tool, string spelling, int lookups)
    {
        string image = _images.File("img");
        if (tool == "rump_ext2fs")
        {
            OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", image, "8M");
        }
        else
        {
            OracleTool.RunExpect(0, "mkfs.fat", "-C", image, "1440");
        }
        using RumpDaemon d = RumpDaemon.Start(tool, ["-d", "-o", "entry_timeout=60,attr_timeout=60", image]);
        File.WriteAllText(d.Path("Name.txt"), "n");
        Assert.True(File.Exists(d.Path(spelling)));
        int mark = Settle(d);
        for (int i = 0; i < 20; i++)
        {
            Assert.True(File.Exists(d.Path(spelling)));
        }
        int end = Settle(d);
        string log = d.Stderr[mark..end];
        Assert.Equal(lookups, LookupLine().Count(log));
    }

    /// <summary>
    /// statfs, then wait for the daemon's StatFs line and a moment more: every request
    /// before it has been logged (each worker logs after its reply, so a line may trail the
    /// next request's). Returns where the log ends then.
    /// </summary>
    private static int Settle(RumpDaemon d)
    {
        int from = d.Stderr.Length;
        _ = new DriveInfo(d.MountPoint).TotalSize;
        for (int i = 0; i < 200 && d.Stderr.IndexOf(" StatFs ", from, StringComparison.Ordinal) < 0; i++)
        {
            Thread.Sleep(50);
        }
        Thread.Sleep(300);
        Assert.Contains(" StatFs ", d.Stderr[from..], StringComparison.Ordinal);
        return d.Stderr.Length;
    }

    [GeneratedRegex(@"\] unique=\d+ Lookup ")]
    private static partial Regex LookupLine();

    public void Dispose() => _images.Dispose();
}
