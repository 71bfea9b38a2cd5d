using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Reconnecting into directories that are indexed or full. mke2fs -d builds the trees,
/// e2fsck -D indexes them, debugfs unlinks the names that make files unattached; our repair
/// must then leave an image both checkers call clean, with every file's bytes reachable.
/// </summary>
public sealed partial class Ext2CheckReconnectTests : IDisposable
{
    // Fixed seeds keep every name's hash, and so the trees' shapes, the same from run to run.
    private const string HashSeed = "4f2a9c1e-7b3d-4e8a-9c6f-1a2b3c4d5e6f";
    private const string Uuid = "0c8e7f4a-1b2c-4d3e-8f9a-0b1c2d3e4f5a";

    private readonly ScratchDir _dir = new("ext2ck-reconnect");

    public void Dispose() => _dir.Dispose();

    private static bool Indexed(string img, string path) =>
        DebugfsRead(img, $"htree {path}").Contains("Indirect levels", StringComparison.Ordinal);

    /// <summary>
    /// A directory loop cut off from the root (a holds b, b holds an entry naming a): the
    /// loop's top goes to lost+found and the entry naming it from inside the loop is removed
    /// in the same run, so no directory keeps two names (before, a second -y was needed).
    /// e2fsck -y only fixes a '..' here and leaves the loop unreachable; ours keeps both.
    /// </summary>
    [Fact]
    public void DirectoryLoopCutOffFromTheRoot_TopReconnected_LoopEntryRemoved()
    {
        string img = Make(_dir, "ext4");
        foreach (string d in new[] { "/t", "/t/a", "/t/a/b" })
        {
            Debugfs(img, "mkdir " + d);
        }
        uint a = InodeNumber(img, "/t/a");
        uint b = InodeNumber(img, "/t/a/b");
        Debugfs(img, $"link <{a}> /t/a/b/loopa");
        Debugfs(img, "unlink /t/a");
        (CheckReport before, CheckReport fix) = ConvergingRepair(img);
        Assert.Contains(fix.Findings, f => f.Repaired && f.Message.Contains("a loop); that entry removed", StringComparison.Ordinal));
        Assert.Contains(b, LostFoundEntries(img));
        Assert.Equal(a, InodeNumber(img, $"/lost+found/#{b}/loopa"));
        string[] inA = [.. DebugfsRead(img, $"ls -p <{a}>").Split('\n').Select(l => l.Split('/')).Where(p => p.Length > 5).Select(p => p[5])];
        Assert.Contains("..", inA);
        Assert.DoesNotContain("b", inA);
        Assert.Equal(b, DotDot(img, $"<{a}>"));
        Assert.NotNull(before);
    }

    /// <summary>An inline_data ext4 image (4 KiB blocks) of <paramref name="tree"/>, where debugfs's mkdir makes inline directories.</summary>
    private string InlineImage(string tree)
    {
        string img = _dir.File("inline.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-O", "inline_data", "-d", tree, img, "32M");
        return img;
    }

    private const uint InlineDataFlag = 0x10000000;

    private static uint Flags(string img, string path) =>
        uint.Parse(Regex.Match(DebugfsRead(img, "stat " + path), @"Flags: 0x([0-9a-f]+)").Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>
    /// An inline lost+found cannot grow to take reconnected files (before, the new block went
    /// into the inline area and every name was lost): it is unlinked and a block directory
    /// made, as e2fsck's "/lost+found has inline data", and the old one goes into the new.
    /// </summary>
    [Fact]
    public void InlineLostFound_ReplacedByABlockDirectory_EveryFileReconnected()
    {
        string tree = _dir.File("tree-lf");
        Directory.CreateDirectory(Path.Combine(tree, "many"));
        for (int i = 1; i <= 20; i++)
        {
            File.WriteAllText(Path.Combine(tree, "many", $"m{i}"), new string((char)('a' + i), i * 37));
        }
        string img = InlineImage(tree);
        Debugfs(img, "rmdir /lost+found");
        Debugfs(img, "mkdir /lost+found");
        uint old = InodeNumber(img, "/lost+found");
        Assert.NotEqual(0u, Flags(img, "/lost+found") & InlineDataFlag);
        uint m7 = InodeNumber(img, "/many/m7");
        for (int i = 1; i <= 20; i++)
        {
            Debugfs(img, $"unlink /many/m{i}");
        }
        (_, CheckReport fix) = ConvergingRepair(img);
        Assert.Contains(fix.Findings, f => f.Repaired && f.Message.Contains("/lost+found has inline data", StringComparison.Ordinal));
        Assert.Equal(0u, Flags(img, "/lost+found") & InlineDataFlag);
        HashSet<uint> found = LostFoundEntries(img);
        Assert.Equal(21, found.Count);
        Assert.Contains(old, found);
        Assert.Equal(new string('h', 7 * 37), DebugfsRead(img, $"cat /lost+found/#{m7}"));
    }

    /// <summary>
    /// An inline directory whose i_block was zeroed (size 0 too): the inline area is salvaged
    /// as an empty directory of 60 bytes, '..' set again, and its files reconnected (before,
    /// the error was unfixable and every -y exited 4).
    /// </summary>
    [Fact]
    public void InlineDirectoryZeroed_SalvagedAsEmpty_FilesReconnected()
    {
        string tree = _dir.File("tree-q");
        Directory.CreateDirectory(Path.Combine(tree, "t", "p", "q"));
        for (int i = 1; i <= 3; i++)
        {
            File.WriteAllText(Path.Combine(tree, "t", "p", "q", $"f{i}"), $"q {i}\n");
        }
        string img = InlineImage(tree);
        Assert.NotEqual(0u, Flags(img, "/t/p/q") & InlineDataFlag);
        uint f2 = InodeNumber(img, "/t/p/q/f2");
        for (int i = 0; i < 15; i++)
        {
            Debugfs(img, $"sif /t/p/q block[{i}] 0");
        }
        Debugfs(img, "sif /t/p/q size 0");
        (_, CheckReport fix) = ConvergingRepair(img);
        Assert.Contains(fix.Findings, f => f.Repaired && f.Message.Contains("inline area made an empty record", StringComparison.Ordinal));
        Assert.Contains("Size: 60", DebugfsRead(img, "stat /t/p/q"), StringComparison.Ordinal);
        Assert.Equal(InodeNumber(img, "/t/p"), DotDot(img, "/t/p/q"));
        Assert.Equal(3, LostFoundEntries(img).Count);
        // debugfs prints an inline file with its whole inline area (NULs after the data).
        Assert.Equal("q 2\n", DebugfsRead(img, $"cat /lost+found/#{f2}").TrimEnd('\0'));
    }

    /// <summary>The inode numbers of the "#INODE" entries of /lost+found.</summary>
    private static HashSet<uint> LostFoundEntries(string img) =>
        DebugfsRead(img, "ls -p /lost+found").Split('\n')
            .Select(l => l.Split('/'))
            .Where(p => p.Length > 5 && p[5].StartsWith('#'))
            .Select(p => uint.Parse(p[1], CultureInfo.InvariantCulture))
            .ToHashSet();

    /// <summary>The inode the ".." entry of <paramref name="dir"/> names.</summary>
    private static uint DotDot(string img, string dir) =>
        DebugfsRead(img, $"ls -p {dir}").Split('\n')
            .Select(l => l.Split('/'))
            .Where(p => p.Length > 5 && p[5] == "..")
            .Select(p => uint.Parse(p[1], CultureInfo.InvariantCulture))
            .Single();

    /// <summary>An image of <paramref name="files"/> (relative path, content), made with mke2fs -d.</summary>
    private string Image(string type, string size, IEnumerable<(string Path, string Content)> files, params string[] extra)
    {
        string src = _dir.File("src");
        foreach ((string path, string content) in files)
        {
            string full = Path.Combine(src, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }
        string img = _dir.File("img");
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", "1024", "-t", type, "-N", "4096",
            "-E", "hash_seed=" + HashSeed, "-U", Uuid }, .. extra, "-d", src, img, size]);
        return img;
    }

    private static void IndexDirectories(string img)
    {
        ToolResult r = OracleTool.Run("e2fsck", "-fyD", img);
        Assert.True(r.ExitCode <= 1, r.Transcript);
    }

    /// <summary>Unlink every name in <paramref name="paths"/> with one debugfs run; returns their inodes.</summary>
    private List<uint> Unlink(string img, IReadOnlyList<string> paths)
    {
        List<uint> inodes = [.. paths.Select(p => InodeNumber(img, p))];
        string cmds = _dir.File("unlink.cmds");
        File.WriteAllLines(cmds, paths.Select(p => "unlink " + p));
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", cmds, img);
        return inodes;
    }

    private static IEnumerable<(string, string)> Files(string dir, string stem, int count) =>
        Enumerable.Range(0, count).Select(i => ($"{dir}/{stem}{i}", $"{stem}{i}\n"));

    [Fact]
    public void IndexedDirectory_MovedToLostFound_KeepsItsIndexAndRootChecksum()
    {
        string img = MakeIndexed(_dir, "ext4");
        uint big = InodeNumber(img, "/big");
        Debugfs(img, "unlink /big");

        CheckReport before = RepairRoundTrip(img);

        Assert.Contains(before.Findings, f => f.Location == $"inode {big}" && f.Message.Contains("unconnected directory", StringComparison.Ordinal));
        Assert.Contains(big, LostFoundEntries(img));
        Assert.True(Indexed(img, $"/lost+found/#{big}"));
        Assert.Equal("7", DebugfsRead(img, $"cat /lost+found/#{big}/name-number-7"));
        Assert.Equal(InodeNumber(img, "/lost+found"), DotDot(img, $"/lost+found/#{big}"));
    }

    /// <summary>
    /// Unattached inodes without blocks: a device, a fifo and an empty file carrying
    /// attributes in the inode still say something and are reconnected, as e2fsck's
    /// disconnect_inode reconnects them; an empty plain file goes. Before, every inode of size
    /// 0 and no blocks was cleared.
    /// </summary>
    [Fact]
    public void UnattachedDeviceFifoAndAttributeCarrier_Reconnected_EmptyFileCleared()
    {
        string img = _dir.File("unattached.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext4", img, "8M");
        string cmds = _dir.File("unattached.cmds");
        File.WriteAllLines(cmds, ["mknod cdev c 1 3", "mknod fifo p", "write /dev/null ea", "ea_set /ea user.keep kept", "write /dev/null empty"]);
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", cmds, img);
        uint[] kept = [InodeNumber(img, "/cdev"), InodeNumber(img, "/fifo"), InodeNumber(img, "/ea")];
        uint empty = InodeNumber(img, "/empty");
        string unlink = _dir.File("unlink.cmds");
        File.WriteAllLines(unlink, ["unlink /cdev", "unlink /fifo", "unlink /ea", "unlink /empty"]);
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", unlink, img);
        string theirs = CopyBeside(img, "theirs.img");

        RepairRoundTrip(img);
        OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.Equal(LostFoundEntries(theirs), LostFoundEntries(img));
        Assert.Equal(kept.ToHashSet(), LostFoundEntries(img));
        Assert.Contains("not in use", DebugfsRead(img, $"testi <{empty}>"), StringComparison.Ordinal);
        Assert.Contains("user.keep", DebugfsRead(img, $"ea_list <{kept[2]}>"), StringComparison.Ordinal);
        Assert.Equal(FreeCounts(theirs), FreeCounts(img));
    }

    /// <summary>
    /// /lost+found names a regular file: its entry goes before a new lost+found is made, as
    /// e2fsck unlinks it, and the file is reconnected there (before, the root ended with two
    /// entries named lost+found). Without anything to reconnect, -y makes the missing
    /// lost+found all the same, as e2fsck -y does at the end of its pass 3.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LostFoundThatIsNoDirectory_UnlinkedAndMadeAgain_AsE2fsck(bool somethingToReconnect)
    {
        string img = _dir.File("lf.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext4", "-O", "^metadata_csum", img, "8M");
        string cmds = _dir.File("lf.cmds");
        File.WriteAllLines(cmds, ["write /dev/null a", "write /dev/null b", "sif <11> mode 0100644", .. somethingToReconnect ? ["unlink /b"] : Array.Empty<string>()]);
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", cmds, img);
        string theirs = CopyBeside(img, "theirs.img");

        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);
        Assert.Equal(0, Check(img, repair: true).ExitCode);
        OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.Single(Regex.Matches(DebugfsRead(img, "ls /"), @"\blost\+found\b"));
        Assert.Equal(InodeNumber(theirs, "/lost+found"), InodeNumber(img, "/lost+found"));
        Assert.Equal(LostFoundEntries(theirs), LostFoundEntries(img));
        Assert.Contains(11u, LostFoundEntries(img));
        Assert.Equal(FreeCounts(theirs), FreeCounts(img));
    }

    [Fact]
    public void IndexedRoot_NewLostFoundGoesIntoTheLeafItsHashSelects()
    {
        string img = Image("ext4", "16M", [.. Files(".", "root-entry-with-a-long-name-", 300), ("sub/orphan", "orphan bytes\n")]);
        IndexDirectories(img);
        Assert.True(Indexed(img, "/"));
        Debugfs(img, "rmdir /lost+found");
        uint orphan = Unlink(img, ["/sub/orphan"])[0];

        CheckReport before = RepairRoundTrip(img);

        Assert.Contains(before.Findings, f => f.Location == $"inode {orphan}" && f.Message.Contains("unattached", StringComparison.Ordinal));
        Assert.True(Indexed(img, "/"), "the root keeps its index");
        Assert.Equal("orphan bytes\n", DebugfsRead(img, $"cat /lost+found/#{orphan}"));
        Assert.Equal("root-entry-with-a-long-name-150\n", DebugfsRead(img, "cat /root-entry-with-a-long-name-150"));
    }

    [Fact]
    public void FullIndexedLostFound_LeavesSplitAndItGrows_EveryOrphanIsReconnected()
    {
        string img = Image("ext4", "16M", [.. Files("lost+found", "previously-recovered-file-", 400), .. Files("o", "f", 900)]);
        IndexDirectories(img);
        Assert.True(Indexed(img, "/lost+found"));
        long sizeBefore = LostFoundSize(img);
        List<uint> orphans = Unlink(img, [.. Enumerable.Range(0, 900).Select(i => $"/o/f{i}")]);

        CheckReport before = AssertBothDamaged(img);
        CheckReport fix = Check(img, repair: true);
        Assert.Equal(1, fix.ExitCode);
        AssertBothClean(img);

        // 200 are listed per pass; the rest are counted.
        Assert.Equal(200, before.Findings.Count(f => f.Message.Contains("unattached", StringComparison.Ordinal)));
        Assert.Contains(before.Findings, f => f.Message == "700 more findings of this pass not listed");
        Assert.Equal(fix.ErrorCount, fix.RepairedCount);
        Assert.True(fix.RepairedCount >= 900, $"{fix.RepairedCount} repaired");
        Assert.DoesNotContain(fix.Findings, f => f.Message.Contains("hash-tree index cleared", StringComparison.Ordinal));
        Assert.Contains(fix.Findings, f => f.Message.StartsWith("hash-tree leaf full: split", StringComparison.Ordinal));
        Assert.True(Indexed(img, "/lost+found"));
        Assert.True(LostFoundSize(img) > sizeBefore);
        Assert.Superset(orphans.ToHashSet(), LostFoundEntries(img));
        Assert.Equal("f0\n", DebugfsRead(img, $"cat /lost+found/#{orphans[0]}"));
        Assert.Equal("f899\n", DebugfsRead(img, $"cat /lost+found/#{orphans[899]}"));
        Assert.Equal("previously-recovered-file-399\n", DebugfsRead(img, "cat /lost+found/previously-recovered-file-399"));
    }

    [Fact]
    public void FullBlockMappedLostFound_GrowsThroughItsIndirectBlock()
    {
        string img = Image("ext2", "16M", Files("o", "f", 1300));
        Assert.Equal(12 * 1024, LostFoundSize(img));
        List<uint> orphans = Unlink(img, [.. Enumerable.Range(0, 1300).Select(i => $"/o/f{i}")]);

        AssertBothDamaged(img);
        CheckReport fix = Check(img, repair: true);
        Assert.Equal(1, fix.ExitCode);
        AssertBothClean(img);

        Assert.True(LostFoundSize(img) > 12 * 1024);
        Assert.Contains("(IND)", DebugfsRead(img, "stat /lost+found"), StringComparison.Ordinal);
        Assert.Equal(orphans.ToHashSet(), LostFoundEntries(img));
        Assert.Equal("f1299\n", DebugfsRead(img, $"cat /lost+found/#{orphans[1299]}"));
    }

    /// <summary>
    /// lost+found mapped by four extents, the inode's whole room (debugfs expand_dir between
    /// file writes leaves each new block apart), with the block after its last one taken: the
    /// orphans need more blocks, so the extents move into an extent block the inode then
    /// names, as the kernel grows a tree, and every orphan is reconnected. Before, growth
    /// stopped there and the rest stayed unattached (exit 4).
    /// </summary>
    [Fact]
    public void LostFoundWithItsFourExtentsUsed_GrowsAnExtentBlock_EveryOrphanIsReconnected()
    {
        string img = Image("ext4", "32M", Files("o", "f", 1500));
        string blob = _dir.File("blob");
        File.WriteAllBytes(blob, [.. Enumerable.Repeat((byte)0x5A, 5000)]);
        string cmds = _dir.File("expand.cmds");
        File.WriteAllLines(cmds, [.. Enumerable.Range(1, 3).SelectMany(k => new[] { $"write {blob} /blob{k}", "expand_dir /lost+found" }),
            $"write {blob} /blob9"]);
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", cmds, img);
        string extents = DebugfsRead(img, "stat /lost+found").Split("EXTENTS:")[1];
        Assert.Equal(4, extents.Split(',').Length);
        Assert.DoesNotContain("ETB", extents, StringComparison.Ordinal);
        List<uint> orphans = Unlink(img, [.. Enumerable.Range(0, 1500).Select(i => $"/o/f{i}")]);

        AssertBothDamaged(img);
        CheckReport fix = Check(img, repair: true);
        Assert.Equal(1, fix.ExitCode);
        AssertBothClean(img);

        Assert.Contains(fix.Findings, f => f.Message.StartsWith("the inode's extents are full: moved into extent block", StringComparison.Ordinal));
        Assert.Contains("(ETB0)", DebugfsRead(img, "stat /lost+found"), StringComparison.Ordinal);
        Assert.Equal(orphans.ToHashSet(), LostFoundEntries(img));
        Assert.Equal("f1499\n", DebugfsRead(img, $"cat /lost+found/#{orphans[1499]}"));
    }

    private static long LostFoundSize(string img) =>
        long.Parse(Regex.Match(DebugfsRead(img, "stat /lost+found"), @"Size: (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
}
