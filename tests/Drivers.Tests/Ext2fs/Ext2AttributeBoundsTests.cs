using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// The driver's own look at attribute entries before it uses them, as the kernel's
/// check_xattrs: a name that runs into the values, a value that lies over the names, a name
/// with a NUL, a value in an inode of its own and entries without an end are corruption (EIO),
/// never names made of value bytes. The untouched image reads both attributes.
/// </summary>
public sealed partial class Ext2AttributeBoundsTests : IDisposable
{
    private static readonly Credentials Root = Credentials.Root;
    private readonly ScratchDir _dir = new("ext2-xattr-bounds");

    public void Dispose() => _dir.Dispose();

    /// <summary>/f with user.x = "y" and user.two = "2" in an attribute block (128-byte inodes have no room).</summary>
    private string ImageWithBlockAttributes()
    {
        string img = _dir.File("b.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-O", "^metadata_csum", "-b", "1024", "-I", "128", img, "8M");
        string host = _dir.File("h");
        File.WriteAllText(host, "hi\n");
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", $"write {host} f", img);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "ea_set f user.x y", img);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "ea_set f user.two 2", img);
        return img;
    }

    private static long FirstEntry(string img) => (Ext2Oracle.AttributeBlockOf(img, "f") * 1024) + 32;

    [Fact]
    public void Untouched_BothAttributesRead()
    {
        string img = ImageWithBlockAttributes();
        Mount m = Ext2Fixture.MountImage(img, readOnly: true);
        try
        {
            Vnode f = Ext2Fixture.Resolve(m, "f");
            Assert.Equal(Errno.OK, Vop.ListXattr(f, Root, out IReadOnlyList<string> names));
            Assert.Equal(["user.two", "user.x"], names.Order(StringComparer.Ordinal));
            Assert.Equal(Errno.OK, Vop.GetXattr(f, "user.two", Root, out byte[]? v));
            Assert.Equal("2"u8.ToArray(), v);
            f.Release();
        }
        finally
        {
            m.Unmount(force: true);
        }
    }

    public static TheoryData<string, int, byte[]> Faults => new()
    {
        // The first entry is user.x (sorted by name length): 16 + 4 bytes, then user.two.
        { "a name running into the values", 0, [255] },
        { "a value over the names", 2, [40, 0] },
        { "a value inode", 4, [12, 0, 0, 0] },
        { "a NUL in a name", 16, [0] },
        { "entries without an end", 40, [0xff, 0xff, 0xff, 0xff] },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void DamagedEntries_AreCorruption_NotNamesOrValues(string what, int offset, byte[] bytes)
    {
        string img = ImageWithBlockAttributes();
        long entry = FirstEntry(img);
        if (offset == 40)
        {
            // The end-of-entries word after user.two: fill the rest of the block with non-zero.
            Patch(img, entry + 40, [.. Enumerable.Repeat((byte)0xff, 1024 - 32 - 40)]);
        }
        else
        {
            Patch(img, entry + offset, bytes);
        }
        Mount m = Ext2Fixture.MountImage(img, readOnly: true);
        try
        {
            Vnode f = Ext2Fixture.Resolve(m, "f");
            Assert.True(Vop.ListXattr(f, Root, out _) == Errno.EIO, what);
            Assert.True(Vop.GetXattr(f, "user.two", Root, out _) == Errno.EIO, what);
            f.Release();
        }
        finally
        {
            m.Unmount(force: true);
        }
    }
}
