using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using RumpFs.FsDrivers.Ext2fs.Check;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Two entries of one directory under the same name, made by rewriting a name's bytes in a
/// directory block of a mke2fs image (1 KiB blocks, no checksums to refresh). e2fsck -fn
/// finds them; our repair keeps the first and renames the later one as e2fsck names it
/// (name~N within its record), and then both checkers find the image clean.
/// </summary>
public sealed class Ext2CheckDupNameTests : IDisposable
{
    private const int BlockSize = 1024;

    private readonly ScratchDir _dir = new("ext2ck-dupnames");

    public void Dispose() => _dir.Dispose();

    /// <summary>An ext2 image whose root holds <paramref name="names"/> in that order, each file holding its own name.</summary>
    private string ImageWith(params string[] names)
    {
        string img = _dir.File("dup.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext2", "-O", "^dir_index", img, "8M");
        foreach (string name in names)
        {
            string src = _dir.File("src-" + name);
            File.WriteAllText(src, name);
            Debugfs(img, $"write {src} {name}");
        }
        return img;
    }

    /// <summary>Overwrite the name bytes of the entry <paramref name="from"/> in <paramref name="dirPath"/> with <paramref name="to"/> (same length).</summary>
    private static void RenameInPlace(string img, string dirPath, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        byte[] want = Encoding.ASCII.GetBytes(from);
        string[] blocks = DebugfsRead(img, $"blocks {dirPath}").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        using var f = new FileStream(img, FileMode.Open, FileAccess.ReadWrite);
        byte[] b = new byte[BlockSize];
        foreach (string blk in blocks)
        {
            long at = long.Parse(blk, CultureInfo.InvariantCulture) * BlockSize;
            f.Position = at;
            f.ReadExactly(b);
            for (int off = 0; off + 8 <= BlockSize;)
            {
                int recLen = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(off + 4));
                int nameLen = b[off + 6];
                if (recLen < 8 || off + recLen > BlockSize)
                {
                    break;
                }
                if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(off)) != 0 && b.AsSpan(off + 8, nameLen).SequenceEqual(want))
                {
                    f.Position = at + off + 8;
                    f.Write(Encoding.ASCII.GetBytes(to));
                    return;
                }
                off += recLen;
            }
        }
        Assert.Fail($"no entry {from} in {dirPath}");
    }

    private static string Cat(string img, string path) => DebugfsRead(img, $"cat {path}");

    /// <summary>
    /// Our -y beside e2fsck -fy on a copy: the same names for the same inodes in the root
    /// (e2fsck rebuilds the directory and renames the entry of the lower inode; so do we).
    /// </summary>
    private CheckReport RepairBesideE2fsck(string img)
    {
        string theirs = _dir.File("theirs.img");
        File.Copy(img, theirs, overwrite: true);
        CheckReport before = RepairRoundTrip(img);
        ToolResult e2 = OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.True(e2.ExitCode == 1, e2.Transcript);
        Assert.Equal(DebugfsRead(theirs, "ls /"), DebugfsRead(img, "ls /"));
        return before;
    }

    [Fact]
    public void SameBlock_TheLowerInodesEntryIsRenamed_AsE2fsckRenamesIt()
    {
        string img = ImageWith("file-a", "file-b", "last");
        RenameInPlace(img, "/", "file-b", "file-a");
        CheckReport before = RepairBesideE2fsck(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("duplicate entry 'file-a'", StringComparison.Ordinal));
        Assert.Equal("file-b", Cat(img, "/file-a"));
        Assert.Equal("file-a", Cat(img, "/file-a~0"));
    }

    [Fact]
    public void TheFirstFreeSuffix_IsTaken_EvenWhenALaterEntryHoldsTheFirst()
    {
        // "aaaaa~0" already stands, so the lower inode's "aaaaa" becomes "aaaaa~1".
        string img = ImageWith("aaaaa", "aaaab", "aaaaa~0", "last");
        RenameInPlace(img, "/", "aaaab", "aaaaa");
        RepairBesideE2fsck(img);
        Assert.Equal("aaaab", Cat(img, "/aaaaa"));
        Assert.Equal("aaaaa~0", Cat(img, "/aaaaa~0"));
        Assert.Equal("aaaaa", Cat(img, "/aaaaa~1"));
    }

    [Fact]
    public void RecordWithNoSlack_TheSuffixGoesOverTheNameEnd_AsE2fsckRenames()
    {
        // Four-byte names fill 12-byte records exactly: "wxyz" becomes "wx~0", the name
        // e2fsck's mutate_name gives it, and the file stays in the directory.
        string img = ImageWith("wxyz", "wxyq", "last");
        RenameInPlace(img, "/", "wxyq", "wxyz");
        RepairBesideE2fsck(img);
        Assert.Equal("wxyq", Cat(img, "/wxyz"));
        Assert.Equal("wxyz", Cat(img, "/wx~0"));
        Assert.Equal(0, DebugfsRead(img, "ls /lost+found").Split(' ', StringSplitOptions.RemoveEmptyEntries).Count(w => w.StartsWith('#')));
    }

    [Fact]
    public void SameNameForTheSameInodeTwice_TheSecondEntryGoes()
    {
        string img = ImageWith("file-a", "last");
        Debugfs(img, "link /file-a /file-b");
        Debugfs(img, "sif /file-a links_count 2");
        RenameInPlace(img, "/", "file-b", "file-a");
        CheckReport before = RepairBesideE2fsck(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("names the same inode again; removed", StringComparison.Ordinal));
        Assert.Contains("Links: 1", DebugfsRead(img, "stat /file-a"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("file-a", "file-a~0")]
    [InlineData("wxyz", "wx~0")]
    [InlineData("a", "a~0")]
    [InlineData("abcde", "abcde~0")]
    [InlineData("abcdefg", "abcdef~0")]
    [InlineData("name~0", "name~1")]
    [InlineData("nam~19", "nam~20")]
    [InlineData("name~9", "nam~10")]
    [InlineData("a~9", "b~0")]
    [InlineData("z~9", "A~0")]
    [InlineData("Z~9", "~00")]
    [InlineData("~99", "a00")]
    [InlineData("disk7", "disk7~0")]
    public void MutateName_GivesE2fsckNextName(string name, string next) =>
        Assert.Equal(next, Encoding.ASCII.GetString(Ext2CheckRun.MutateName(Encoding.ASCII.GetBytes(name))));

    [Fact]
    public void MutateName_AFullLengthName_KeepsItsLength()
    {
        byte[] next = Ext2CheckRun.MutateName(Encoding.ASCII.GetBytes(new string('L', 255)));
        Assert.Equal(new string('L', 253) + "~0", Encoding.ASCII.GetString(next));
    }

    [Fact]
    public void HashTreeDirectory_DuplicateAcrossBlocks_RenamedAndTheIndexRebuilt()
    {
        string img = MakeIndexed(_dir, "ext2");
        RenameInPlace(img, "/big", "name-number-17", "name-number-18");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("duplicate entry 'name-number-18'", StringComparison.Ordinal));
        // Which of the two comes first in the directory depends on the hashes; both files stay.
        string[] got = [Cat(img, "/big/name-number-18"), Cat(img, "/big/name-number-18~0")];
        Assert.Equal(["17", "18"], got.Order(StringComparer.Ordinal));
        // The changed name hashes outside its leaf's range: the index is bad, and rebuilt.
        Assert.Contains("Indirect levels", DebugfsRead(img, "htree /big"), StringComparison.Ordinal);
    }
}
