using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// An extent index whose node cannot be used: the index entry goes and the file keeps the
/// rest of its tree, its name, size and owner. The unusable block is not claimed, so it
/// stays free as e2fsck leaves it (its pass 1 marks an index node only once walked).
/// </summary>
public sealed partial class Ext2CheckExtentNodeTests : IDisposable
{
    private const int FileBytes = 300_000;
    private readonly ScratchDir _dir = new("ext2ck-extent-node");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("ext4")]
    [InlineData("ext4-nocsum")]
    public void IndexToGarbageBlock_EntryDropped_FileKept_AsE2fsckKeepsIt(string flavour)
    {
        (string img, _) = FragmentedFile(flavour);
        ulong garbage = FreeBlockFrom(img, 12000);
        byte[] noise = new byte[1024];
        new Random(5).NextBytes(noise);
        Patch(img, (long)garbage * 1024, noise);
        Debugfs(img, $"sif /frag block[4] {garbage}"); // the first index entry's leaf
        string theirs = CopyBeside(img, "theirs.img");

        (CheckReport before, CheckReport fix) = ConvergingRepair(img);
        Assert.Contains(before.Findings, f => f.Message.Contains($"extent block {garbage} is corrupt", StringComparison.Ordinal));
        Assert.DoesNotContain(fix.Findings, f => f.Message.Contains("inode cleared", StringComparison.Ordinal));

        OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.Equal(FreeCounts(theirs), FreeCounts(img));
        Assert.Equal(FileState(theirs), FileState(img));
        Assert.Equal(DumpFile(theirs), DumpFile(img));
        Assert.Contains($"Size: {FileBytes}", FileState(img), StringComparison.Ordinal);
        Assert.Contains("not in use", DebugfsRead(img, $"testb {garbage}"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ext4")]
    [InlineData("ext4-nocsum")]
    public void TwoIndexEntriesNamingOneLeaf_SecondNamingDropped_LaterDataKept(string flavour)
    {
        (string img, ulong[] leaves) = FragmentedFile(flavour);
        byte[] original = DumpFile(img);
        long secondStart = FirstLogicalOf(img, leaves[1]);
        Debugfs(img, $"sif /frag block[4] {leaves[1]}"); // the first index entry now names the second leaf

        (CheckReport before, _) = ConvergingRepair(img);
        Assert.Contains(before.Findings, f => f.Message.Contains($"names extent block {leaves[1]} a second time", StringComparison.Ordinal));

        // e2fsck 1.47.0 restarts and deletes the file here; ours keeps what the second
        // leaf maps, and the blocks only the first leaf mapped become holes.
        byte[] after = DumpFile(img);
        Assert.Equal(FileBytes, after.Length);
        long from = secondStart * 1024;
        Assert.True(after.AsSpan((int)from).SequenceEqual(original.AsSpan((int)from)));
        Assert.True(after.AsSpan(0, (int)from).IndexOfAnyExcept((byte)0) < 0);
        Assert.Contains($"Blockcount: {2 * BlocksMappedFrom(img)}", FileState(img), StringComparison.Ordinal);
    }

    /// <summary>
    /// The second root index entry gives a start other than its leaf's first block: past it,
    /// or equal to the first entry's. Both checkers set it to the leaf's first block, and the
    /// file reads as it did (before, the mismatch went unseen, or the good first entry was
    /// dropped as out of order).
    /// </summary>
    [Theory]
    [InlineData(34)]
    [InlineData(null)]
    public void IndexStartOtherThanItsLeafs_SetToTheLeafsFirstBlock_FileUnchanged(int? pastTheLeaf)
    {
        (string img, ulong[] leaves) = FragmentedFile("ext4");
        byte[] original = DumpFile(img);
        long start = FirstLogicalOf(img, leaves[1]);
        Debugfs(img, $"sif /frag block[6] {(pastTheLeaf is int d ? start + d : 0)}"); // the second index entry's ei_block
        string theirs = CopyBeside(img, "theirs.img");

        (CheckReport before, _) = ConvergingRepair(img);
        Assert.Contains(before.Findings, f => f.Message.Contains($"does not match the first block {start} of its node", StringComparison.Ordinal));
        Assert.Equal(original, DumpFile(img));
        OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.Equal(FreeCounts(theirs), FreeCounts(img));
    }

    /// <summary>
    /// A leaf below the root with no entries (the kernel's "invalid eh_entries"): its index
    /// entry goes and its block is freed in one run; the other leaf's data stays.
    /// </summary>
    [Fact]
    public void EmptyLeafBelowTheRoot_EntryDropped_OneRunEnough()
    {
        (string img, ulong[] leaves) = FragmentedFile("ext4-nocsum");
        byte[] original = DumpFile(img);
        long second = FirstLogicalOf(img, leaves[1]);
        Patch(img, ((long)leaves[1] * 1024) + 2, 0, 0); // eh_entries

        (CheckReport before, _) = ConvergingRepair(img);
        Assert.Contains(before.Findings, f => f.Message.Contains($"extent block {leaves[1]} is corrupt", StringComparison.Ordinal));
        byte[] after = DumpFile(img);
        Assert.True(after.AsSpan(0, (int)second * 1024).SequenceEqual(original.AsSpan(0, (int)second * 1024)));
        Assert.Contains("not in use", DebugfsRead(img, $"testb {leaves[1]}"), StringComparison.Ordinal);
    }

    /// <summary>
    /// One file's first index entry names a leaf of the other file, a leaf that maps blocks
    /// past that entry's range. It is taken for the other file's node: the entry goes,
    /// unclaimed, and the leaf is left as it is, so the other file's data stays whole (before,
    /// the first walk trimmed the other file's leaf to its own range). The node is known for
    /// another's by its checksum (metadata_csum), or without checksums by having been claimed
    /// already, when its owner is the lower inode. A lower inode naming a higher one's node on
    /// a file system without checksums is not caught (docs/fsck-newfs.md).
    /// </summary>
    [Theory]
    [InlineData("ext4", false)]
    [InlineData("ext4", true)]
    [InlineData("ext4-nocsum", true)]
    public void IndexNamingAnotherFilesLeaf_ThatFileKeepsItsData(string flavour, bool higherNamesLower)
    {
        (string img, ulong[] fragLeaves) = FragmentedFile(flavour);
        string src = _dir.File("other.src");
        byte[] data = new byte[FileBytes];
        new Random(9).NextBytes(data);
        File.WriteAllBytes(src, data);
        string cmds = _dir.File("other.cmds");
        File.WriteAllLines(cmds, [$"write {src} other", .. Enumerable.Range(0, 140).Select(i => $"punch /other {1 + (2 * i)} {1 + (2 * i)}")]);
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", cmds, img);
        AssertBothClean(img);
        ulong[] otherLeaves = [.. LeafLine().Matches(DebugfsRead(img, "stat /other")).Select(m => ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];
        // The victim's leaf that starts past the culprit's first range, so it cannot fit there.
        (string culprit, string victim, ulong leaf) = higherNamesLower ? ("/other", "/frag", fragLeaves[^1]) : ("/frag", "/other", otherLeaves[^1]);
        byte[] kept = DumpFile(img, victim);
        Debugfs(img, $"sif {culprit} block[4] {leaf}");

        (_, CheckReport fix) = ConvergingRepair(img);
        Assert.Contains(fix.Findings, f => f.Message.Contains($"extent block {leaf} maps blocks past this file's range", StringComparison.Ordinal));
        Assert.Equal(kept, DumpFile(img, victim));
    }

    /// <summary>
    /// A directory whose only extent leaf is garbage has no block left: it is cleared as
    /// e2fsck clears a zero-length directory, its name goes and its files reach lost+found,
    /// in one run (before, it stayed a directory without "." and ".." on every run).
    /// </summary>
    [Fact]
    public void DirectoryWhoseOnlyLeafIsGarbage_ClearedAsZeroLength_FilesInLostAndFound()
    {
        string img = _dir.File("dir.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext4", img, "16M");
        string one = _dir.File("one");
        File.WriteAllText(one, "x");
        string cmds = _dir.File("dir.cmds");
        File.WriteAllLines(cmds, ["mkdir /bd", .. Enumerable.Range(1, 300).Select(i => $"write {one} /bd/entry_with_a_long_name_{i}")]);
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", cmds, img);
        OracleTool.Run("e2fsck", "-fy", img);
        AssertBothClean(img);
        ulong leaf = ulong.Parse(LeafLine().Match(DebugfsRead(img, "stat /bd")).Groups[1].Value, CultureInfo.InvariantCulture);
        byte[] noise = new byte[1024];
        new Random(13).NextBytes(noise);
        Patch(img, (long)leaf * 1024, noise);
        string theirs = CopyBeside(img, "theirs.img");

        (_, CheckReport fix) = ConvergingRepair(img);
        Assert.Contains(fix.Findings, f => f.Message.Contains("zero length", StringComparison.Ordinal));
        OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.Equal(FreeCounts(theirs), FreeCounts(img));
        Assert.Equal(300, Regex.Count(DebugfsRead(img, "ls /lost+found"), @"#\d+"));
    }

    /// <summary>
    /// A leaf whose eh_max is far below what its block holds (84 entries at 1 KiB): the kernel
    /// reads it, e2fsck calls its header invalid (it wants 82 to 84) and would delete the
    /// subtree. Ours reports it too and gives the leaf its full room: the file keeps every
    /// block, and under metadata_csum the checksum moves to the new tail.
    /// </summary>
    [Theory]
    [InlineData("ext4")]
    [InlineData("ext4-nocsum")]
    public void LeafWithTooLittleRoom_RoomRaised_FileKept(string flavour)
    {
        (string img, ulong[] leaves) = FragmentedFile(flavour);
        byte[] original = DumpFile(img);
        ushort entries = BitConverter.ToUInt16(ReadAt(img, ((long)leaves[1] * 1024) + 2, 2));
        ushort room = (ushort)(entries + 2);
        if (flavour == "ext4")
        {
            // The kernel finds the checksum after eh_max entries: put it there, so that
            // only the room is wrong.
            Patch(img, ((long)leaves[1] * 1024) + 12 + (room * 12), ReadAt(img, ((long)leaves[1] * 1024) + 12 + (84 * 12), 4));
        }
        Patch(img, ((long)leaves[1] * 1024) + 4, BitConverter.GetBytes(room));

        (CheckReport before, _) = ConvergingRepair(img);
        Assert.Contains(before.Findings, f => f.Message.Contains($"extent block {leaves[1]} has room for {room} entries where its space holds 84", StringComparison.Ordinal));
        Assert.Equal(84, BitConverter.ToUInt16(ReadAt(img, ((long)leaves[1] * 1024) + 4, 2)));
        Assert.Equal(original, DumpFile(img));
    }

    /// <summary>
    /// The root in the inode with eh_max 1 (its 60 bytes hold 4): e2fsck clears the inode for
    /// it, ours raises it to 4 and the small file keeps its data.
    /// </summary>
    [Fact]
    public void RootWithTooLittleRoom_RoomRaised_FileKept()
    {
        string img = _dir.File("root.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext4", img, "16M");
        string src = _dir.File("small");
        byte[] data = new byte[10_000];
        new Random(11).NextBytes(data);
        File.WriteAllBytes(src, data);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", $"write {src} frag", img);
        Debugfs(img, "sif /frag block[1] 1"); // eh_max 1, eh_depth 0 (one extent)

        (CheckReport before, _) = ConvergingRepair(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("the extent tree root in the inode has room for 1 entries where its space holds 4", StringComparison.Ordinal));
        Assert.Equal(data, DumpFile(img));
    }

    /// <summary>
    /// A 1 KiB-block ext4 image with /frag, 300,000 bytes with every other block of its first
    /// 280 punched out: a depth-1 extent tree with at least two leaves, listed in order.
    /// </summary>
    private (string Img, ulong[] Leaves) FragmentedFile(string flavour)
    {
        string img = _dir.File(flavour + ".img");
        string[] features = flavour == "ext4" ? [] : ["-O", "^metadata_csum"];
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", "1024", "-t", "ext4" }, .. features, img, "16M"]);
        string src = _dir.File("frag.src");
        byte[] data = new byte[FileBytes];
        new Random(7).NextBytes(data);
        File.WriteAllBytes(src, data);
        string cmds = _dir.File("frag.cmds");
        File.WriteAllLines(cmds, [$"write {src} frag", .. Enumerable.Range(0, 140).Select(i => $"punch /frag {1 + (2 * i)} {1 + (2 * i)}")]);
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", cmds, img);
        OracleTool.RunExpect(0, "e2fsck", "-fy", img);
        ulong[] leaves = [.. LeafLine().Matches(DebugfsRead(img, "stat /frag")).Select(m => ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];
        Assert.True(leaves.Length >= 2, "the file's tree has fewer than two leaves");
        return (img, leaves);
    }

    [GeneratedRegex(@"\(ETB0\):(\d+)")]
    private static partial Regex LeafLine();

    private static ulong FreeBlockFrom(string img, int start)
    {
        Match m = Regex.Match(DebugfsRead(img, $"ffb 1 {start}"), @"Free blocks found: (\d+)");
        Assert.True(m.Success);
        return ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The first logical block the leaf at <paramref name="leaf"/> maps (its first extent's ee_block).</summary>
    private static long FirstLogicalOf(string img, ulong leaf) =>
        BitConverter.ToUInt32(ReadAt(img, ((long)leaf * 1024) + 12, 4));

    /// <summary>Blocks /frag holds now, tree nodes included (debugfs blocks).</summary>
    private static int BlocksMappedFrom(string img) =>
        Regex.Count(DebugfsRead(img, "blocks /frag"), @"\d+");

    private static string FileState(string img)
    {
        string stat = DebugfsRead(img, "stat /frag");
        return Regex.Match(stat, @"Size: \d+").Value + " " + Regex.Match(stat, @"Blockcount: \d+").Value + " "
            + Regex.Match(stat, @"EXTENTS:\s*\n.*").Value;
    }

    private byte[] DumpFile(string img, string file = "/frag")
    {
        string to = _dir.File($"dump-{Guid.NewGuid():N}");
        OracleTool.RunExpect(0, "debugfs", "-R", $"dump {file} {to}", img);
        return File.ReadAllBytes(to);
    }
}
