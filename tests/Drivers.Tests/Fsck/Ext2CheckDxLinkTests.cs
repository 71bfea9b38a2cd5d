using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckHtreeRebuildImages;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Orphans reconnected into an indexed lost+found whose leaves fill up: the repair splits
/// leaves, splits a full interior node and moves a full root's entries a level down, as
/// libext2fs's ext2fs_link does when e2fsck reconnects the same orphans. The directory e2fsck
/// -fy leaves and ours must hold the same records in the same blocks and the same index
/// entries (the bytes between records may differ: libext2fs leaves what its buffers held).
/// </summary>
public sealed class Ext2CheckDxLinkTests : IDisposable
{
    private const int BlockSize = 1024;

    private readonly ScratchDir _dir = new("ext2ck-dxlink");

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// An ext4 image (metadata_csum, 1 KiB blocks) whose lost+found holds <paramref name="kept"/>
    /// names of <paramref name="nameLength"/> bytes, indexed by e2fsck -D, and
    /// <paramref name="orphans"/> files, each holding its number, unlinked from /o.
    /// </summary>
    private string Image(int kept, int nameLength, int orphans)
    {
        string src = _dir.File("src");
        Directory.CreateDirectory(Path.Combine(src, "lost+found"));
        Directory.CreateDirectory(Path.Combine(src, "o"));
        for (int i = 0; i < kept; i++)
        {
            File.WriteAllText(Path.Combine(src, "lost+found", Name(i, nameLength)), "");
        }
        for (int i = 0; i < orphans; i++)
        {
            File.WriteAllText(Path.Combine(src, "o", "f" + i.ToString(CultureInfo.InvariantCulture)), i.ToString(CultureInfo.InvariantCulture));
        }
        string img = _dir.File("dx.img");
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", "1024", "-N", (kept + orphans + 200).ToString(CultureInfo.InvariantCulture),
            "-E", "hash_seed=" + HashSeed, "-U", Uuid }, .. Features("ext4"), "-d", src, img, "32M"]);
        IndexAll(img);
        string cmds = _dir.File("unlink.cmds");
        File.WriteAllLines(cmds, Enumerable.Range(0, orphans).Select(i => $"unlink /o/f{i}"));
        OracleTool.RunExpect(0, "debugfs", "-w", "-f", cmds, img);
        return img;
    }

    /// <summary>Our -y and e2fsck -fy (on a copy) reconnect every orphan; both checkers then call ours clean; ours is returned.</summary>
    private CheckReport ReconnectBesideE2fsck(string img, int orphans)
    {
        string theirs = _dir.File("theirs.img");
        File.Copy(img, theirs, overwrite: true);
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);
        ToolResult e2 = OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.True(e2.ExitCode == 1, e2.Transcript);
        Assert.Equal(orphans, e2.Transcript.Split("Unattached inode").Length - 1);
        Assert.DoesNotContain(fix.Findings, f => f.Message.Contains("index cleared", StringComparison.Ordinal));
        Assert.Equal(Structure(DirectoryBytes(theirs, "/lost+found", _dir)), Structure(DirectoryBytes(img, "/lost+found", _dir)));
        return fix;
    }

    [Fact]
    public void OrphansFillLeaves_LeavesSplitAsE2fsckSplitsThem()
    {
        string img = Image(400, 30, 300);
        Assert.Equal(0, IndirectLevels(img, "/lost+found"));

        CheckReport fix = ReconnectBesideE2fsck(img, 300);

        Assert.Contains(fix.Findings, f => f.Message.StartsWith("hash-tree leaf full: split into block", StringComparison.Ordinal));
        Assert.Equal(0, IndirectLevels(img, "/lost+found"));
        AssertEveryOrphanFound(img, 300);
    }

    [Fact]
    public void OrphansFillTheRoot_ItsEntriesMoveDown_AndANodeSplits()
    {
        string img = Image(360, 200, 4000);
        Assert.Equal(0, IndirectLevels(img, "/lost+found"));

        CheckReport fix = ReconnectBesideE2fsck(img, 4000);

        Assert.Contains(fix.Findings, f => f.Message.StartsWith("hash-tree root full", StringComparison.Ordinal));
        Assert.Contains(fix.Findings, f => f.Message.StartsWith("hash-tree node full", StringComparison.Ordinal));
        Assert.Equal(1, IndirectLevels(img, "/lost+found"));
        AssertEveryOrphanFound(img, 4000);
    }

    /// <summary>Each orphan is in lost+found as #INODE, holding its number, and our driver finds every name through the index.</summary>
    private static void AssertEveryOrphanFound(string img, int orphans)
    {
        SortedDictionary<string, uint> names = Names(img, "/lost+found");
        List<string> reconnected = [.. names.Keys.Where(n => n.StartsWith('#'))];
        Assert.Equal(orphans, reconnected.Count);
        string first = reconnected.Order(StringComparer.Ordinal).First();
        Assert.Matches("^[0-9]+$", DebugfsRead(img, "cat /lost+found/" + first));
        AssertDriverFindsEach(img, "/lost+found", names);
    }

    /// <summary>
    /// Each block of a directory as text: the root's info and index entries, an interior
    /// node's entries, or a leaf's records (inode, record length, type, name); not the bytes
    /// between records, nor the slack of a node.
    /// </summary>
    private static List<string> Structure(byte[] dir)
    {
        var blocks = new List<string>();
        for (int at = 0; at + BlockSize <= dir.Length; at += BlockSize)
        {
            ReadOnlySpan<byte> b = dir.AsSpan(at, BlockSize);
            bool root = at == 0 && BinaryPrimitives.ReadUInt16LittleEndian(b[16..]) == BlockSize - 12;
            bool node = at != 0 && BinaryPrimitives.ReadUInt32LittleEndian(b) == 0 && BinaryPrimitives.ReadUInt16LittleEndian(b[4..]) == BlockSize;
            blocks.Add(root ? "root " + Convert.ToHexString(b.Slice(0x1C, 4)) + Entries(b, 0x20)
                : node ? "node" + Entries(b, 8)
                : "leaf" + Records(b));
        }
        return blocks;
    }

    private static string Entries(ReadOnlySpan<byte> b, int off)
    {
        int limit = BinaryPrimitives.ReadUInt16LittleEndian(b[off..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(b[(off + 2)..]);
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $" {count}/{limit}:");
        for (int i = 0; i < count && off + (i * 8) + 8 <= b.Length; i++)
        {
            uint hash = i == 0 ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(b[(off + (i * 8))..]);
            s.Append(CultureInfo.InvariantCulture, $" {hash:x8}>{BinaryPrimitives.ReadUInt32LittleEndian(b[(off + (i * 8) + 4)..])}");
        }
        return s.ToString();
    }

    private static string Records(ReadOnlySpan<byte> b)
    {
        var s = new StringBuilder();
        for (int off = 0; off + 8 <= b.Length;)
        {
            uint ino = BinaryPrimitives.ReadUInt32LittleEndian(b[off..]);
            int recLen = BinaryPrimitives.ReadUInt16LittleEndian(b[(off + 4)..]);
            int nameLen = b[off + 6];
            string name = ino == 0 ? "" : Encoding.Latin1.GetString(b.Slice(off + 8, Math.Min(nameLen, b.Length - off - 8)));
            s.Append(CultureInfo.InvariantCulture, $" [{ino} {recLen} {nameLen} {b[off + 7]} {name}]");
            if (recLen < 8)
            {
                break;
            }
            off += recLen;
        }
        return s.ToString();
    }
}
