using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// The entries inside attribute areas, judged as e2fsck's check_ea_in_inode and
/// check_ext_attr judge them: overlapping entries and values, values past the area, sizes
/// that do not fit, a missing name index, a wrong hash, a value inode, h_blocks. Both
/// checkers find each one; the repair clears the in-inode attributes (the magic word) or the
/// block pointer (the block is freed), and both then find the image clean with the other
/// area's attribute still readable.
/// </summary>
public sealed partial class Ext2CheckXattrAreaTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-xattr");

    public void Dispose() => _dir.Dispose();

    /// <summary>/f with user.a = "hello" in the inode and user.big (300 bytes) in a block.</summary>
    private string ImageWithAttributes(string features)
    {
        string img = _dir.File("x.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext4", "-O", features, "-I", "256", img, "8M");
        string host = _dir.File("content");
        File.WriteAllText(host, "content\n");
        string big = _dir.File("big-value");
        File.WriteAllBytes(big, [.. Enumerable.Range(0, 300).Select(i => (byte)('a' + (i % 26)))]);
        Debugfs(img, $"write {host} f");
        Debugfs(img, "ea_set f user.a hello");
        Debugfs(img, $"ea_set -f {big} f user.big");
        return img;
    }

    /// <summary>Offset in the image of the first in-inode entry of /f (after the magic word).</summary>
    private static long FirstInodeEntry(string img)
    {
        long inode = InodeOffset(img, InodeNumber(img, "/f"));
        return inode + 128 + BinaryPrimitives.ReadUInt16LittleEndian(ReadAt(img, inode + 0x80, 2)) + 4;
    }

    private static long FirstBlockEntry(string img) => (AttributeBlock(img) * 1024) + 32;

    private static long AttributeBlock(string img) =>
        long.Parse(FileAclLine().Match(DebugfsRead(img, "stat /f")).Groups[1].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"File ACL: (\d+)")]
    private static partial Regex FileAclLine();

    private static byte[] U16(int v) => [(byte)v, (byte)(v >> 8)];

    private static byte[] U32(uint v) => [(byte)v, (byte)(v >> 8), (byte)(v >> 16), (byte)(v >> 24)];

    public static TheoryData<string, int, byte[], string> InodeAreaFaults => new()
    {
        { "a wrong hash", 12, U32(0x12345678), "has hash 305419896" },
        { "a value that does not fit", 8, U32(65536), "value of 65536 bytes, which does not fit" },
        { "a value over its own entry", 2, U16(0), "overlaps another entry or value" },
        { "a name past the inode", 0, [200], "runs past the inode or into another entry" },
    };

    [Theory]
    [MemberData(nameof(InodeAreaFaults))]
    public void InodeArea_Damaged_BothFindIt_AttributesInTheInodeCleared(string what, int field, byte[] bytes, string says)
    {
        string img = ImageWithAttributes("^metadata_csum,^64bit");
        Patch(img, FirstInodeEntry(img) + field, bytes);
        CheckReport before = RepairRoundTrip(img);
        Assert.True(before.Findings.Any(f => f.Message.Contains("attributes in the inode are corrupt", StringComparison.Ordinal)
            && f.Message.Contains(says, StringComparison.Ordinal)), what + "\n" + Describe(before));
        string list = DebugfsRead(img, "ea_list /f");
        Assert.DoesNotContain("user.a", list, StringComparison.Ordinal);
        Assert.Contains("user.big", list, StringComparison.Ordinal);
    }

    public static TheoryData<string, int, byte[], string> BlockFaults => new()
    {
        { "h_blocks 2", -24, U32(2), "has h_blocks 2, not 1" },
        { "name index 0", 1, [0], "has no name index" },
        { "a value inode", 4, U32(1), "names value inode 1" },
        { "a value in the header", 2, U16(8), "overlaps another entry or value" },
        { "a value past the block", 2, U16(1000), "past the block" },
        { "a wrong hash", 12, U32(0x0badcafe), "has hash 195939070" },
    };

    [Theory]
    [MemberData(nameof(BlockFaults))]
    public void Block_Damaged_BothFindIt_PointerClearedAndBlockFreed(string what, int field, byte[] bytes, string says)
    {
        string img = ImageWithAttributes("^metadata_csum,^64bit");
        long block = AttributeBlock(img);
        Patch(img, FirstBlockEntry(img) + field, bytes);
        CheckReport before = RepairRoundTrip(img);
        Assert.True(before.Findings.Any(f => f.Message.Contains($"extended attribute block {block}", StringComparison.Ordinal)
            && f.Message.Contains(says, StringComparison.Ordinal)), what + "\n" + Describe(before));
        Assert.Equal(0, AttributeBlock(img));
        Assert.Contains("not in use", DebugfsRead(img, $"testb {block}"), StringComparison.Ordinal);
        string list = DebugfsRead(img, "ea_list /f");
        Assert.Contains("user.a", list, StringComparison.Ordinal);
        Assert.DoesNotContain("user.big", list, StringComparison.Ordinal);
    }

    /// <summary>
    /// With metadata_csum the damage is judged before the checksum, as e2fsck does: the block
    /// is cleared for its contents, not given a fresh checksum that would hide them.
    /// </summary>
    [Fact]
    public void Block_DamagedUnderAChecksum_ClearedNotRechecksummed()
    {
        string img = ImageWithAttributes("metadata_csum");
        long block = AttributeBlock(img);
        Patch(img, FirstBlockEntry(img) - 24, U32(3));
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("has h_blocks 3, not 1", StringComparison.Ordinal));
        Assert.DoesNotContain(before.Findings, f => f.Message.Contains("bad checksum", StringComparison.Ordinal));
        Assert.Equal(0, AttributeBlock(img));
        Assert.NotEqual(0, block);
    }

    /// <summary>
    /// Old kernels hashed names as signed chars; e2fsck accepts either hash, and so must we:
    /// a name with bytes above 0x7f and the signed hash is clean for both.
    /// </summary>
    [Fact]
    public void Block_SignedNameHash_CleanForBoth()
    {
        string img = ImageWithAttributes("^metadata_csum,^64bit");
        Debugfs(img, "ea_rm f user.big");
        string value = _dir.File("v2");
        File.WriteAllText(value, new string('z', 200));
        Debugfs(img, $"ea_set -f {value} f user.\u00e9t\u00e9");
        long entry = FirstBlockEntry(img);
        byte[] name = Encoding.UTF8.GetBytes("\u00e9t\u00e9");
        uint signedHash = Hash(name, Encoding.ASCII.GetBytes(new string('z', 200)), signedChars: true);
        Assert.NotEqual(Hash(name, Encoding.ASCII.GetBytes(new string('z', 200)), signedChars: false), signedHash);
        Patch(img, entry + 12, U32(signedHash));
        AssertBothClean(img);
    }

    /// <summary>ext4_xattr_hash_entry, written out here so the test does not lean on the driver's copy.</summary>
    private static uint Hash(byte[] name, byte[] value, bool signedChars)
    {
        uint h = 0;
        foreach (byte c in name)
        {
            h = (h << 5) ^ (h >> 27) ^ (signedChars ? (uint)(sbyte)c : c);
        }
        byte[] padded = new byte[(value.Length + 3) & ~3];
        value.CopyTo(padded, 0);
        for (int i = 0; i < padded.Length; i += 4)
        {
            h = (h << 16) ^ (h >> 16) ^ BinaryPrimitives.ReadUInt32LittleEndian(padded.AsSpan(i));
        }
        return h;
    }
}
