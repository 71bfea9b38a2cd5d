using System.Buffers.Binary;
using System.Globalization;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Damaged "." and ".." records of mke2fs images (1 KiB blocks, no checksums): e2fsck -fn
/// finds each, our repair makes ".." again, and then both checkers find the image clean,
/// after one repair, with one lost+found.
/// </summary>
public sealed class Ext2CheckDotEntryTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-dots");

    public void Dispose() => _dir.Dispose();

    private string Image()
    {
        string src = _dir.File("src");
        Directory.CreateDirectory(Path.Combine(src, "dir1", "sub"));
        File.WriteAllText(Path.Combine(src, "dir1", "a.txt"), "in dir1\n");
        File.WriteAllText(Path.Combine(src, "top.txt"), "at the top\n");
        string img = _dir.File("dots.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-b", "1024", "-t", "ext2", "-d", src, img, "8M");
        return img;
    }

    private static long FirstBlock(string img, string dir) =>
        long.Parse(DebugfsRead(img, $"blocks {dir}").Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);

    private static void PatchU16(string img, long offset, ushort value) => Patch(img, offset, BitConverter.GetBytes(value));

    private static void Patch(string img, long offset, byte[] bytes)
    {
        using var f = new FileStream(img, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(bytes);
    }

    private static uint DotDotOf(string img, string dir)
    {
        byte[] b = new byte[12];
        using (var f = new FileStream(img, FileMode.Open, FileAccess.Read))
        {
            f.Position = (FirstBlock(img, dir) * 1024) + 12;
            f.ReadExactly(b);
        }
        Assert.Equal(".."u8.ToArray(), b.AsSpan(8, 2).ToArray());
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    private static int LostFoundEntries(string img) =>
        DebugfsRead(img, "ls /").Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Count(w => w == "lost+found");

    /// <summary>e2fsck checks only the byte right after the name: byte 9 of '.', byte 10 of '..'.</summary>
    [Theory]
    [InlineData(9, ".")]
    [InlineData(12 + 10, "..")]
    public void ByteAfterTheDotName_MustBeNul_IsCleared(int offset, string name)
    {
        string img = Image();
        long at = (FirstBlock(img, "/dir1") * 1024) + offset;
        Patch(img, at, "X"u8.ToArray());
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains($"'{name}' entry is not NUL-terminated", StringComparison.Ordinal));
        Assert.Equal(0, ReadAt(img, at, 1)[0]);
        Assert.Equal("in dir1\n", DebugfsRead(img, "cat /dir1/a.txt"));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(12 + 11)]
    public void LaterPaddingBytes_AreNotChecked_AsInE2fsck(int offset)
    {
        string img = Image();
        Patch(img, (FirstBlock(img, "/dir1") * 1024) + offset, "X"u8.ToArray());
        AssertBothClean(img);
    }

    [Fact]
    public void DotSpanningTheWholeBlock_IsSplit_AndDotDotMade()
    {
        string img = Image();
        PatchU16(img, (FirstBlock(img, "/dir1") * 1024) + 4, 1024);
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("'.' entry is too big", StringComparison.Ordinal));
        Assert.Equal(2u, DotDotOf(img, "/dir1"));
        Assert.Equal(1, LostFoundEntries(img));
    }

    [Fact]
    public void DotDotNamingNoInode_IsMadeAgain_WithTheParent()
    {
        string img = Image();
        Patch(img, (FirstBlock(img, "/dir1/sub") * 1024) + 12, [0, 0, 0, 0]);
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("missing '..' entry; made", StringComparison.Ordinal));
        uint dir1 = uint.Parse(DebugfsRead(img, "stat /dir1").Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        Assert.Equal(dir1, DotDotOf(img, "/dir1/sub"));
    }

    [Fact]
    public void DotNamingNoInode_IsMadeAgain()
    {
        string img = Image();
        Patch(img, FirstBlock(img, "/dir1") * 1024, [0, 0, 0, 0]);
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("missing '.' entry; made", StringComparison.Ordinal));
        Assert.Equal("in dir1\n", DebugfsRead(img, "cat /dir1/a.txt"));
    }

    [Fact]
    public void IndexedDirectoryDotNameDamaged_MadeInPlace_IndexKept()
    {
        string img = MakeIndexed(_dir, "ext2");
        Patch(img, (FirstBlock(img, "/big") * 1024) + 8, "z"u8.ToArray());
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("missing '.' entry; made", StringComparison.Ordinal));
        Assert.Contains("Indirect levels", DebugfsRead(img, "htree /big"), StringComparison.Ordinal);
    }

    /// <summary>The ".." of a hash-tree directory holds the index root after its name: made again in place, the index intact.</summary>
    [Fact]
    public void IndexedDirectoryDotDotNameDamaged_MadeInPlace_IndexKept()
    {
        string img = MakeIndexed(_dir, "ext2");
        Patch(img, (FirstBlock(img, "/big") * 1024) + 12 + 8, "x."u8.ToArray());
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("missing '..' entry; made", StringComparison.Ordinal));
        Assert.Equal(2u, DotDotOf(img, "/big"));
        Assert.Contains("Indirect levels", DebugfsRead(img, "htree /big"), StringComparison.Ordinal);
    }

    [Fact]
    public void RootDotRecordLengthDamaged_OneRepairConverges_WithOneLostFound()
    {
        string img = Image();
        PatchU16(img, (FirstBlock(img, "/") * 1024) + 4, 16);
        RepairRoundTrip(img);
        Assert.Equal(2u, DotDotOf(img, "/"));
        Assert.Equal(1, LostFoundEntries(img));
        // The root's other entries were in the dropped rest of its block: their inodes are in lost+found.
        Assert.Contains("at the top", string.Concat(DebugfsRead(img, "ls /lost+found").Split('\n')
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(w => w.StartsWith('#'))
            .Select(w => DebugfsRead(img, $"cat /lost+found/{w}"))), StringComparison.Ordinal);
    }
}
