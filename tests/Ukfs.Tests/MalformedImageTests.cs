using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>Damaged images through `ukfs`: one line and exit 1, never a crash or a stack trace.</summary>
public sealed class MalformedImageTests : IDisposable
{
    private readonly CliHarness _cli = CliHarness.OnImages();
    private readonly ScratchDir _dir = new("ukfs-bad");

    public MalformedImageTests() => FsDrivers.AllDrivers.Register();

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    public static TheoryData<string> Images()
    {
        var data = new TheoryData<string>();
        // The first image of each type is enough: the drivers' own malformed-image suites go deeper.
        foreach (CorpusImage i in Corpus.All.GroupBy(i => i.FsType).Select(g => g.First()))
        {
            data.Add(i.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void TruncatedImage_LsGetAndProbe_FailCleanly(string name)
    {
        CorpusImage image = Corpus.Get(name);
        if (RumpFs.Vfs.FileSystemRegistry.Find(image.FsType) is null)
        {
            return;
        }
        foreach (long keep in new long[] { 0, 600, 4096, 70_000, 300_000 })
        {
            string img = _dir.File($"{name}-{keep}.img");
            using (var src = File.OpenRead(image.ImagePath))
            using (var dst = File.Create(img))
            {
                byte[] b = new byte[keep];
                src.ReadExactly(b);
                dst.Write(b);
            }
            CliResult ls = _cli.Run(img, "ls", "-R", "/");
            Assert.True(ls.Exit is 0 or 1, ls.ToString());
            if (ls.Exit == 1)
            {
                Assert.StartsWith("ukfs: ", ls.Stderr, StringComparison.Ordinal);
            }
            string dest = Path.Combine(_dir.Path, $"out-{keep}");
            Directory.CreateDirectory(dest);
            CliResult get = _cli.Run(img, "get", "/", dest);
            Assert.True(get.Exit is 0 or 1, get.ToString());
            Assert.Equal(0, _cli.Run(img, "probe").Exit);
        }
    }

    [Fact]
    public void GarbageAfterAnExtMagic_RefusedWithOneLine()
    {
        var rng = new Random(99);
        for (int i = 0; i < 20; i++)
        {
            byte[] data = new byte[1 << 20];
            rng.NextBytes(data);
            data[1024 + 56] = 0x53;
            data[1024 + 57] = 0xEF;
            string img = _dir.File($"garbage{i}.img");
            File.WriteAllBytes(img, data);
            CliResult r = _cli.Run(img, "ls", "/");
            Assert.True(r.Exit is 0 or 1, r.ToString());
            if (r.Exit == 1)
            {
                Assert.StartsWith("ukfs: ", r.Stderr, StringComparison.Ordinal);
                Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void TimeBeyondTheYear9999_LsAndStatPrintItsSeconds()
    {
        // UFS2 keeps 64-bit seconds; a damaged or far-future inode can hold any of them.
        string tree = _dir.File("tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "f"), "x");
        string img = _dir.File("future.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", "version=2", "-s", "8m", img, tree);
        using (UkfsMount m = UkfsMount.Open("ffs", img))
        {
            m.SetTimes("/f", new Kernel.Timespec(1L << 50, 0), new Kernel.Timespec(1L << 50, 5));
        }
        CliResult ls = _cli.Run(img, "ls", "-l", "/");
        Assert.True(ls.Exit == 0, ls.ToString());
        Assert.Contains("1125899906842624 f", ls.Stdout, StringComparison.Ordinal);
        CliResult stat = _cli.Run(img, "stat", "/f");
        Assert.True(stat.Exit == 0, stat.ToString());
        Assert.Contains("1125899906842624.000000005", stat.Stdout, StringComparison.Ordinal);
        CliResult json = _cli.Run(img, "stat", "--json", "/f");
        Assert.True(json.Exit == 0, json.ToString());
    }

    /// <summary>
    /// A file of terabytes that is almost all hole (or whose size field took damage) copies
    /// in the time its data takes: get reads only the data ranges. One larger than the host
    /// file system can hold is one line, and the rest of the tree is still copied.
    /// </summary>
    [Fact]
    public void Get_SparseFilesOfTerabytes_CopyOnlyTheirData_TooLargeForTheHostIsOneLine()
    {
        string tree = _dir.File("sparse-tree");
        Directory.CreateDirectory(tree);
        string img = _dir.File("sparse.img");
        // 32 KiB blocks: the block map reaches petabytes (8 KiB blocks stop at 8 TiB).
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", "version=2,bsize=32768,fsize=4096", "-s", "8m", img, tree);
        const long Tib = 1L << 40;
        using (UkfsMount m = UkfsMount.Open("ffs", img))
        {
            using (UkfsFileStream f = m.Open("/tera", FileMode.CreateNew, FileAccess.Write))
            {
                f.Position = Tib;
                f.Write("end"u8);
            }
            using (UkfsFileStream f = m.Open("/tera"))
            {
                // The hole spans whole missing indirect blocks; each is skipped at once.
                Assert.Equal(0, f.NextHole(0));
                Assert.Equal(Tib - (Tib % 32768), f.NextData(0));
                Assert.Equal(Tib + 3, f.NextHole(Tib));
                Assert.Equal(-1, f.NextData(Tib + 3));
            }
            m.WriteAllBytes("/huge", "start"u8.ToArray());
            m.Truncate("/huge", 32 * Tib);
            m.WriteAllBytes("/z-after", "after"u8.ToArray());
        }
        string dest = _dir.File("sparse.out");
        CliResult get = _cli.Run(img, "get", "/", dest);
        using (var tera = new FileStream(Path.Combine(dest, "tera"), FileMode.Open, FileAccess.Read))
        {
            Assert.Equal(Tib + 3, tera.Length);
            tera.Position = Tib;
            byte[] end = new byte[3];
            tera.ReadExactly(end);
            Assert.Equal("end"u8.ToArray(), end);
        }
        Assert.Equal("after", File.ReadAllText(Path.Combine(dest, "z-after")));
        if (get.Exit == 0)
        {
            // A host file system that holds 32 TiB files (tmpfs, XFS) takes it as a hole.
            Assert.Equal(32 * Tib, new FileInfo(Path.Combine(dest, "huge")).Length);
        }
        else
        {
            Assert.True(get.Exit == 1, get.ToString());
            Assert.Single(get.Stderr.TrimEnd('\n').Split('\n'));
            Assert.Contains("/huge: the host file system cannot hold a file of 35184372088832 bytes", get.Stderr, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// rm on an ext4 image whose block bitmap fails its checksum: the name goes, but the
    /// file's blocks cannot be freed when its inode is released afterwards. The exit status
    /// says so, with one line pointing at fsck, and fsck sees the leak.
    /// </summary>
    [Fact]
    public void Rm_ReleasingTheInodeFailsOnADamagedBitmap_ExitsOneAndPointsAtFsck()
    {
        string tree = _dir.File("leak-tree");
        Directory.CreateDirectory(tree);
        byte[] data = new byte[20000];
        new Random(5).NextBytes(data); // not zeros: mke2fs -d would leave a hole, with no blocks to free
        File.WriteAllBytes(Path.Combine(tree, "victim"), data);
        File.WriteAllText(Path.Combine(tree, "keep"), "keep");
        string img = _dir.File("leak.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-O", "metadata_csum", "-d", tree, img, "32M");
        byte[] b = File.ReadAllBytes(img);
        // Group 0's descriptor is in block 1; its first field is the block bitmap's block.
        long bitmap = BitConverter.ToUInt32(b, 4096) * 4096L;
        b[bitmap + 900] ^= 0x01; // a free block near the group's end: only the checksum notices
        File.WriteAllBytes(img, b);

        CliResult rm = _cli.Run(img, "rm", "/victim");
        Assert.True(rm.Exit == 1, rm.ToString());
        Assert.Contains($"ukfs: rm: done, but releasing 1 file(s) failed afterwards (see the log above); check the image with 'ukfs {img} fsck'",
            rm.Stderr, StringComparison.Ordinal);
        CliResult ls = _cli.Run(img, "ls", "/");
        Assert.True(ls.Exit == 0, ls.ToString());
        Assert.DoesNotContain("victim", ls.Stdout, StringComparison.Ordinal);
        Assert.Contains("keep", ls.Stdout, StringComparison.Ordinal);
        // A command that releases nothing exits 0 on the same image.
        Assert.Equal(0, _cli.Run(img, "cat", "/keep").Exit);
        ToolResult fsck = OracleTool.Run("e2fsck", "-fn", img);
        Assert.True(fsck.ExitCode == 4, fsck.Transcript);
        Assert.Contains("Inode bitmap differences:  -", fsck.Stdout, StringComparison.Ordinal); // the leaked inode
    }

    /// <summary>
    /// A FAT folder /a/b whose start cluster is /a's own: every walk would go /a/b/b/b...
    /// until the path is too long. Each stops at the first repeat with one line instead, and
    /// rm -r removes nothing.
    /// </summary>
    [Fact]
    public void DirectoryCycle_WalksStopAtTheRepeat_RmRemovesNothing()
    {
        string img = _dir.File("cycle.img");
        OracleTool.RunExpect(0, "mkfs.fat", "-C", "-F", "16", img, "16384");
        OracleTool.RunExpect(0, "mmd", "-i", img, "::/a", "::/a/b");
        byte[] b = File.ReadAllBytes(img);
        int bps = BitConverter.ToUInt16(b, 11), spc = b[13], reserved = BitConverter.ToUInt16(b, 14);
        int fats = b[16], rootEntries = BitConverter.ToUInt16(b, 17), fatSectors = BitConverter.ToUInt16(b, 22);
        int root = (reserved + (fats * fatSectors)) * bps;
        int data = root + (rootEntries * 32);
        int EntryAt(int dir, string name83)
        {
            for (int e = dir; ; e += 32)
            {
                if (System.Text.Encoding.ASCII.GetString(b, e, 11) == name83)
                {
                    return e;
                }
            }
        }
        int aCluster = BitConverter.ToUInt16(b, EntryAt(root, "A          ") + 26);
        int bEntry = EntryAt(data + ((aCluster - 2) * spc * bps), "B          ");
        BitConverter.GetBytes((ushort)aCluster).CopyTo(b, bEntry + 26);
        File.WriteAllBytes(img, b);

        foreach (string[] command in new[] { new[] { "ls", "-R", "/" }, ["tree", "/"], ["find", "/"], ["rm", "-r", "/a"] })
        {
            CliResult r = _cli.Run([img, .. command]);
            Assert.True(r.Exit == 1, string.Join(' ', command) + ": " + r);
            Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
            Assert.Contains("/a/b: directory cycle", r.Stderr, StringComparison.Ordinal);
        }
        Assert.Equal(b, File.ReadAllBytes(img));
        string dest = _dir.File("cycle.out");
        CliResult get = _cli.Run(img, "get", "/", dest);
        Assert.True(get.Exit == 1, get.ToString());
        Assert.Contains("/a/b: directory cycle", get.Stderr, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(dest, "a", "b")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(dest, "a", "b")));
    }

    /// <summary>
    /// One entry of the root names an inode that fails its checksum. As ls, find, tree and
    /// cp -r on a mount do, each command names that one with one error and goes on with the
    /// rest (before, the whole root listed as nothing); ls shows its name, -l with question marks.
    /// </summary>
    [Fact]
    public void OneUnreadableEntry_TheRestIsListedFoundAndCopied()
    {
        string tree = _dir.File("ltree");
        Directory.CreateDirectory(Path.Combine(tree, "b"));
        File.WriteAllText(Path.Combine(tree, "a"), "first");
        File.WriteAllText(Path.Combine(tree, "b", "inner"), "inside");
        File.WriteAllText(Path.Combine(tree, "c"), "last");
        string img = _dir.File("one-bad.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-I", "256", "-d", tree, img, "8M");
        string imap = OracleTool.RunExpect(0, "debugfs", "-R", "imap /b", img).Stdout;
        var m = System.Text.RegularExpressions.Regex.Match(imap, @"located at block (\d+), offset 0x([0-9a-f]+)");
        long inodeAt = (long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 1024) + Convert.ToInt64(m.Groups[2].Value, 16);
        byte[] b = File.ReadAllBytes(img);
        b[inodeAt + 16] ^= 0x55; // i_mtime: only the inode checksum notices
        File.WriteAllBytes(img, b);

        CliResult ls = _cli.Run(img, "ls", "/");
        Assert.Equal((1, "a\nb\nc\nlost+found\n"), (ls.Exit, ls.Stdout));
        Assert.Contains("ukfs: /b: Input/output error", ls.Stderr, StringComparison.Ordinal);
        CliResult longLs = _cli.Run(img, "ls", "-l", "/");
        Assert.Matches(@"^-.* a\n\?{10} +\? +\? +\? +\? +\? b\n-.* c\nd.* lost\+found\n$", longLs.Stdout);
        CliResult find = _cli.Run(img, "find", "/");
        Assert.Equal((1, "/\n/a\n/c\n/lost+found\n"), (find.Exit, find.Stdout));
        CliResult treeOut = _cli.Run(img, "tree", "/");
        Assert.Contains("b\n", treeOut.Stdout, StringComparison.Ordinal);
        Assert.Contains("3 directories, 2 files", treeOut.Stdout, StringComparison.Ordinal);
        string dest = _dir.File("one-bad.out");
        CliResult get = _cli.Run(img, "get", "/", dest);
        Assert.Equal(1, get.Exit);
        Assert.Single(get.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal("first", File.ReadAllText(Path.Combine(dest, "a")));
        Assert.Equal("last", File.ReadAllText(Path.Combine(dest, "c")));
        Assert.False(Path.Exists(Path.Combine(dest, "b")));
        Assert.Equal(b, File.ReadAllBytes(img));
    }

    /// <summary>
    /// A FAT long name whose slot holds a '/' (its checksum still right): no path can name
    /// it, so the file is listed, read and removed under its short name (before, it vanished
    /// from every listing and could not be reached). fsck.fat calls the volume clean either way.
    /// </summary>
    [Fact]
    public void FatLongNameWithASlash_FileReachedByItsShortName()
    {
        string img = _dir.File("slash.img");
        OracleTool.RunExpect(0, "mkfs.fat", "-C", "-F", "12", img, "1440");
        string src = _dir.File("a long file name.txt");
        File.WriteAllText(src, "hello");
        OracleTool.RunExpect(0, "mcopy", "-i", img, src, "::/");
        byte[] b = File.ReadAllBytes(img);
        int root = 512 * (1 + (2 * BitConverter.ToUInt16(b, 22)));
        int shortEntry = root;
        while (System.Text.Encoding.ASCII.GetString(b, shortEntry, 11) != "ALONGF~1TXT")
        {
            shortEntry += 32;
        }
        int slot = shortEntry - 32; // the long name's first 13 characters: "a long file n"
        Assert.Equal((byte)' ', b[slot + 3]);
        b[slot + 3] = (byte)'/';
        File.WriteAllBytes(img, b);

        string listed = _cli.Ok(img, "ls", "/").Stdout.Trim();
        Assert.Equal("ALONGF~1.TXT", listed, ignoreCase: true);
        Assert.Equal("hello"u8.ToArray(), _cli.Ok(img, "cat", "/" + listed).Binary);
        _cli.Ok(img, "rm", "/" + listed);
        Assert.Equal("", _cli.Ok(img, "ls", "/").Stdout);
        OracleTool.RunExpect(0, "fsck.fat", "-n", img);
    }

    [Fact]
    public void Get_BlockMapDamagedPartWayThroughABigFile_OneLineErrorNoHang()
    {
        // The copy reads the next chunk while it writes the current one: a read that fails
        // several chunks in must still end the command with one line and exit 1.
        string tree = _dir.File("tree");
        Directory.CreateDirectory(tree);
        byte[] big = new byte[6 << 20];
        new Random(5).NextBytes(big);
        File.WriteAllBytes(Path.Combine(tree, "big"), big);
        string img = _dir.File("dind.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", "-d", tree, img, "16M");
        // Blocks past 4 MiB + 48 KiB hang off the double indirect block: point it off the device.
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "sif /big block[DIND] 99999999", img);
        string dest = _dir.File("big.out");
        CliResult get = _cli.Run(img, "get", "/big", dest);
        Assert.True(get.Exit == 1, get.ToString());
        Assert.Single(get.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("ukfs: ", get.Stderr, StringComparison.Ordinal);
        Assert.Contains("/big", get.Stderr, StringComparison.Ordinal);
        // What came before the damage was copied intact.
        byte[] got = File.ReadAllBytes(dest);
        Assert.True(got.Length >= 4 << 20, $"only {got.Length} bytes copied");
        Assert.Equal(big.AsSpan(0, 4 << 20).ToArray(), got.AsSpan(0, 4 << 20).ToArray());
    }

    /// <summary>
    /// An ext4 image whose one file has attributes in its inode and in an attribute block;
    /// both areas then take random damage. getfattr and get answer with one line (EIO for a
    /// broken block) or succeed, never crash; the image is not written.
    /// </summary>
    [Fact]
    public void DamagedExtendedAttributes_GetfattrAndGet_FailCleanly()
    {
        string tree = _dir.File("xtree");
        Directory.CreateDirectory(tree);
        string file = Path.Combine(tree, "f");
        File.WriteAllText(file, "data");
        Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(file, "user.small", "s"u8.ToArray()));
        Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(file, "user.big", new byte[700]));
        string clean = _dir.File("x.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-I", "256", "-d", tree, clean, "8M");
        // Where the two areas are: the inode (after its 128 + extra bytes) and the block i_file_acl names.
        string stat = OracleTool.RunExpect(0, "debugfs", "-R", "stat /f", clean).Stdout;
        long aclBlock = long.Parse(System.Text.RegularExpressions.Regex.Match(stat, @"File ACL: (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(aclBlock > 0, stat);
        string imap = OracleTool.RunExpect(0, "debugfs", "-R", "imap /f", clean).Stdout;
        var m = System.Text.RegularExpressions.Regex.Match(imap, @"located at block (\d+), offset 0x([0-9a-f]+)");
        long inodeAt = (long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 1024) + Convert.ToInt64(m.Groups[2].Value, 16);
        (long Start, int Length)[] areas = [(inodeAt + 128, 128), (aclBlock * 1024, 1024)];

        byte[] original = File.ReadAllBytes(clean);
        var random = new Random(8);
        for (int round = 0; round < 60; round++)
        {
            byte[] damaged = (byte[])original.Clone();
            (long start, int length) = areas[round % 2];
            for (int k = 0, n = 1 + random.Next(8); k < n; k++)
            {
                damaged[start + random.Next(length)] = (byte)random.Next(256);
            }
            string img = _dir.File($"x-{round}.img");
            File.WriteAllBytes(img, damaged);
            CliResult show = _cli.Run(img, "getfattr", "-e", "hex", "/f");
            Assert.True(show.Exit is 0 or 1, show.ToString());
            Assert.True(show.Exit == 0 || show.Stderr.StartsWith("ukfs: ", StringComparison.Ordinal), show.ToString());
            string dest = Path.Combine(_dir.Path, $"xout-{round}");
            Directory.CreateDirectory(dest);
            CliResult get = _cli.Run(img, "get", "/f", dest);
            Assert.True(get.Exit is 0 or 1, get.ToString());
            Assert.DoesNotContain("   at ", get.Stderr + show.Stderr, StringComparison.Ordinal);
            Assert.Equal(damaged, File.ReadAllBytes(img));
        }
    }
}
