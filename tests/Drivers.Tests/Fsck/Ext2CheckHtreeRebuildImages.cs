using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.Drivers.Tests.Ext2fs;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Images for the hash-tree rebuild tests: a /big directory made by mke2fs -d and indexed by
/// e2fsck -D, made once per flavour, block size and depth and copied for each test. Also the
/// byte edits that damage an index and the views the tests compare (names with their
/// inodes through debugfs and through our driver, the index depth debugfs reads, the
/// directory's bytes).
/// </summary>
public sealed partial class Ext2CheckHtreeRebuildImages : IDisposable
{
    // Fixed seeds keep every name's hash, and so the trees' shapes, the same from run to run.
    public const string HashSeed = "4f2a9c1e-7b3d-4e8a-9c6f-1a2b3c4d5e6f";
    public const string Uuid = "0c8e7f4a-1b2c-4d3e-8f9a-0b1c2d3e4f5a";

    private readonly ScratchDir _dir = new("ext2ck-rehash-base");
    private readonly Dictionary<string, string> _made = [];
    private readonly Lock _lock = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// mke2fs's arguments for <paramref name="flavour"/>: "ext2" (block map, dir_index) or
    /// "ext4" (extents, metadata_csum).
    /// </summary>
    public static string[] Features(string flavour) => flavour switch
    {
        "ext2" => ["-t", "ext2", "-O", "dir_index"],
        "ext4" => ["-t", "ext4", "-O", "metadata_csum"],
        _ => throw new ArgumentException(flavour),
    };

    /// <summary>
    /// How many names, and how long, give /big a root-only index (<paramref name="levels"/> 1)
    /// or one with a level of interior nodes (2): the root of a 1 KiB block holds 123 or 124
    /// leaves, of a 4 KiB block 507 or 508, and e2fsck -D fills a leaf to four fifths.
    /// </summary>
    public static (int Count, int Length) Shape(int blockSize, int levels) => (blockSize, levels) switch
    {
        (1024, 1) => (300, 20),
        (1024, 2) => (600, 200),
        (4096, 1) => (300, 40),
        (4096, 2) => (6700, 250),
        _ => throw new ArgumentException($"{blockSize}/{levels}"),
    };

    /// <summary>The <paramref name="i"/>th name of a directory of names <paramref name="length"/> bytes long.</summary>
    public static string Name(int i, int length) =>
        i.ToString("D5", CultureInfo.InvariantCulture) + "-" + new string('n', length - 6);

    /// <summary>A fresh copy of the base image for these parameters at <paramref name="path"/>.</summary>
    public void CopyTo(string flavour, int blockSize, int levels, string path)
    {
        string key = $"{flavour}-{blockSize}-{levels}";
        string made;
        lock (_lock)
        {
            if (!_made.TryGetValue(key, out made!))
            {
                made = Make(key, flavour, blockSize, levels);
                _made[key] = made;
            }
        }
        File.Copy(made, path, overwrite: true);
    }

    private string Make(string key, string flavour, int blockSize, int levels)
    {
        (int count, int length) = Shape(blockSize, levels);
        string src = _dir.File("src-" + key);
        Directory.CreateDirectory(Path.Combine(src, "big"));
        // mke2fs -d adds names to a directory one by one, each a search of the whole
        // directory: 6700 long names take it most of a minute. It makes the first few
        // hundred; our driver, whose inserts go through the index, adds the rest, and
        // e2fsck -D then lays the directory out afresh.
        int direct = Math.Min(count, 600);
        for (int i = 0; i < direct; i++)
        {
            File.WriteAllBytes(Path.Combine(src, "big", Name(i, length)), []);
        }
        string img = _dir.File(key + ".img");
        string size = blockSize == 4096 && levels == 2 ? "48M" : "16M";
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", blockSize.ToString(CultureInfo.InvariantCulture),
            "-N", (count + 200).ToString(CultureInfo.InvariantCulture), "-E", "hash_seed=" + HashSeed, "-U", Uuid },
            .. Features(flavour), "-d", src, img, size]);
        IndexAll(img);
        if (count > direct)
        {
            Mount m = Ext2Fixture.MountImage(img, readOnly: false);
            Vnode big = Ext2Fixture.Resolve(m, "big");
            for (int i = direct; i < count; i++)
            {
                Assert.Equal(Errno.OK, Vop.Create(big, Name(i, length), 0x1A4, Credentials.Root, out Vnode? f));
                f!.Release();
            }
            big.Release();
            Assert.Equal(Errno.OK, m.Unmount());
            AssertBothClean(img);
            IndexAll(img);
        }
        Assert.Equal(levels - 1, IndirectLevels(img, "/big"));
        AssertBothClean(img);
        return img;
    }

    /// <summary>e2fsck -fyD: every directory of two blocks or more gets an index laid out by e2fsck.</summary>
    public static void IndexAll(string img)
    {
        ToolResult r = OracleTool.Run("e2fsck", "-fyD", img);
        Assert.True(r.ExitCode <= 1, r.Transcript);
    }

    [GeneratedRegex(@"Indirect levels: (\d+)")]
    private static partial Regex IndirectLine();

    /// <summary>debugfs's "Indirect levels" of <paramref name="dir"/>'s index; -1 when it has none.</summary>
    public static int IndirectLevels(string img, string dir)
    {
        Match m = IndirectLine().Match(DebugfsRead(img, "htree " + dir));
        return m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
    }

    /// <summary>Every name of <paramref name="dir"/> ('.' and '..' aside) with its inode, as debugfs lists it.</summary>
    public static SortedDictionary<string, uint> Names(string img, string dir)
    {
        var names = new SortedDictionary<string, uint>(StringComparer.Ordinal);
        foreach (string line in DebugfsRead(img, "ls -p " + dir).Split('\n'))
        {
            string[] p = line.Split('/');
            if (p.Length > 5 && p[5] is not ("." or "..") && uint.Parse(p[1], CultureInfo.InvariantCulture) is uint ino and not 0)
            {
                Assert.True(names.TryAdd(p[5], ino), $"{p[5]} is listed twice");
            }
        }
        return names;
    }

    /// <summary>Each name looked up through our driver (which searches the hash tree) finds its inode.</summary>
    public static void AssertDriverFindsEach(string img, string dir, SortedDictionary<string, uint> names)
    {
        Mount m = Ext2Fixture.MountImage(img, readOnly: true);
        Vnode d = Ext2Fixture.Resolve(m, dir.TrimStart('/'));
        try
        {
            foreach ((string name, uint ino) in names)
            {
                Errno e = Vop.Lookup(d, name, Credentials.Root, out Vnode? vp);
                Assert.True(e == Errno.OK, $"lookup {name}: {e}");
                Assert.Equal(Errno.OK, Vop.GetAttr(vp!, out VAttr va));
                vp!.Release();
                Assert.True(va.Ino == ino, $"{name}: inode {va.Ino}, listed as {ino}");
            }
        }
        finally
        {
            d.Release();
            Assert.Equal(Errno.OK, m.Unmount());
        }
    }

    /// <summary>The bytes of <paramref name="dir"/>, block after block (debugfs dump).</summary>
    public static byte[] DirectoryBytes(string img, string dir, ScratchDir scratch)
    {
        string to = scratch.File("dump-" + Guid.NewGuid().ToString("N"));
        OracleTool.RunExpect(0, "debugfs", "-R", $"dump {dir} {to}", img);
        byte[] data = File.ReadAllBytes(to);
        File.Delete(to);
        return data;
    }

    /// <summary>Where an edit lands: the root block of /big, or the first interior node.</summary>
    public enum Target
    {
        Root,
        Node,
    }

    /// <summary>The byte edits that make an index bad, as e2fsck's pass 2 names them.</summary>
    public enum Damage
    {
        /// <summary>dx_countlimit.limit no longer what the block holds (e2fsck: "has invalid limit").</summary>
        Limit,

        /// <summary>The hashes of entries 1 and 2 swapped ("has an unordered hash table").</summary>
        HashOrder,

        /// <summary>Entry 1 names entry 2's block ("not referenced", "referenced twice").</summary>
        Pointer,

        /// <summary>dx_root_info says 5 levels of interior nodes ("root node is invalid").</summary>
        RootInfo,

        /// <summary>An interior node's empty record gets a name length: e2fsck reads the block as a leaf.</summary>
        NodeNameLength,

        /// <summary>An interior node's empty record gets a file type: libext2fs no longer finds its dx_tail (metadata_csum).</summary>
        NodeFileType,
    }

    /// <summary>Apply <paramref name="damage"/> to the index of <paramref name="dir"/> at <paramref name="target"/>.</summary>
    public static void Apply(string img, string dir, int blockSize, Target target, Damage damage)
    {
        long rootAt = Bmap(img, dir, 0) * blockSize;
        long at = rootAt;
        int entries = 0x20;
        if (target == Target.Node)
        {
            uint first = BinaryPrimitives.ReadUInt32LittleEndian(ReadAt(img, rootAt + 0x20 + 4, 4)) & 0x0FFFFFFF;
            at = Bmap(img, dir, (int)first) * blockSize;
            entries = 8;
        }
        byte[] head = ReadAt(img, at + entries, 24);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(2));
        switch (damage)
        {
            case Damage.Limit:
                Patch(img, at + entries, 7, 0);
                break;
            case Damage.HashOrder:
                Assert.True(count >= 3, $"only {count} index entries");
                Patch(img, at + entries + 8, head.AsSpan(16, 4).ToArray());
                Patch(img, at + entries + 16, head.AsSpan(8, 4).ToArray());
                break;
            case Damage.Pointer:
                Assert.True(count >= 3, $"only {count} index entries");
                Patch(img, at + entries + 12, head.AsSpan(20, 4).ToArray());
                break;
            case Damage.RootInfo:
                Assert.Equal(Target.Root, target);
                Patch(img, rootAt + 0x1E, 5);
                break;
            case Damage.NodeNameLength:
                Assert.Equal(Target.Node, target);
                Patch(img, at + 6, 1);
                break;
            case Damage.NodeFileType:
                Assert.Equal(Target.Node, target);
                Patch(img, at + 7, 1);
                break;
        }
    }
}
