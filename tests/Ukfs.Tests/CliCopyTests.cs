using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Tools.Ukfs.Commands;
using RumpFs.Vfs;

namespace RumpFs.Ukfs.Tests;

/// <summary>get and put through the command, on tmpfs: round trips and the safety of get.</summary>
public sealed class CliCopyTests : IDisposable
{
    private const string Img = "mem.img";
    private readonly CliHarness _cli = CliHarness.OnTmpfs();
    private readonly ScratchDir _host = new("ukfs-copy");

    public void Dispose()
    {
        _cli.Dispose();
        _host.Dispose();
    }

    /// <summary>A new folder on the host, below the test's scratch folder.</summary>
    private string HostDir(string name)
    {
        string path = Path.Combine(_host.Path, name);
        Directory.CreateDirectory(path);
        return path;
    }

    private string MakeHostTree()
    {
        string src = Path.Combine(_host.Path, "src");
        Directory.CreateDirectory(Path.Combine(src, "d", "e"));
        File.WriteAllText(Path.Combine(src, "a.txt"), "alpha\n");
        byte[] big = new byte[3 << 20];
        new Random(7).NextBytes(big);
        File.WriteAllBytes(Path.Combine(src, "d", "big.bin"), big);
        File.WriteAllText(Path.Combine(src, "d", "e", "x"), "");
        File.SetUnixFileMode(Path.Combine(src, "a.txt"), (UnixFileMode)0x1ED);
        File.CreateSymbolicLink(Path.Combine(src, "link"), "a.txt");
        File.SetLastWriteTimeUtc(Path.Combine(src, "a.txt"), new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc));
        File.SetUnixFileMode(Path.Combine(src, "d", "e"), (UnixFileMode)0x1C0);
        Directory.SetLastWriteTimeUtc(Path.Combine(src, "d"), new DateTime(2010, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        return src;
    }

    [Fact]
    public void Put_Tree_KeepsContentModesTimesAndLinks()
    {
        string src = MakeHostTree();
        _cli.Ok(Img, "put", src, "/");
        UkfsMount fs = _cli.Tmpfs;
        Assert.Equal("alpha\n"u8.ToArray(), fs.ReadAllBytes("/src/a.txt"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(src, "d", "big.bin")), fs.ReadAllBytes("/src/d/big.bin"));
        Assert.Equal(0x1EDu, fs.Stat("/src/a.txt").Mode);
        Assert.Equal(0x1C0u, fs.Stat("/src/d/e").Mode);
        Assert.Equal(new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero), fs.Stat("/src/a.txt").Mtime.ToDateTimeOffset());
        Assert.Equal(new DateTimeOffset(2010, 1, 1, 0, 0, 0, TimeSpan.Zero), fs.Stat("/src/d").Mtime.ToDateTimeOffset());
        Assert.Equal("a.txt", fs.ReadLink("/src/link"));
        Assert.Equal(0, fs.Stat("/src/d/e/x").Size);
    }

    [Fact]
    public void PutThenGet_RoundTrip_IdenticalTree()
    {
        string src = MakeHostTree();
        _cli.Ok(Img, "put", src, "/copy");
        string back = HostDir("back");
        _cli.Ok(Img, "get", "/copy", back);
        string got = Path.Combine(back, "copy");
        foreach (string f in Directory.EnumerateFileSystemEntries(src, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(src, f);
            string g = Path.Combine(got, rel);
            var fi = new FileInfo(f);
            if (fi.LinkTarget is not null)
            {
                Assert.Equal(fi.LinkTarget, new FileInfo(g).LinkTarget);
                continue;
            }
            Assert.Equal(File.GetUnixFileMode(f), File.GetUnixFileMode(g));
            Assert.Equal(File.GetLastWriteTimeUtc(f), File.GetLastWriteTimeUtc(g));
            if (File.Exists(f))
            {
                Assert.Equal(File.ReadAllBytes(f), File.ReadAllBytes(g));
            }
        }
        Assert.Equal(
            Directory.EnumerateFileSystemEntries(src, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(src, p)).Order(),
            Directory.EnumerateFileSystemEntries(got, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(got, p)).Order());
    }

    [Fact]
    public void Get_HardLinksStayHardLinks_SparseStaysSparse()
    {
        UkfsMount fs = _cli.Tmpfs;
        fs.WriteAllBytes("/one", "same"u8);
        fs.Link("/one", "/two");
        using (UkfsFileStream s = fs.Open("/sparse", FileMode.Create, FileAccess.Write))
        {
            s.Write("start"u8);
            s.Seek(16 << 20, SeekOrigin.Begin);
            s.Write("end"u8);
        }
        string dest = HostDir("out");
        _cli.Ok(Img, "get", "/", dest);
        Assert.Equal(2, (int)HostNlink(Path.Combine(dest, "two")));
        var info = new FileInfo(Path.Combine(dest, "sparse"));
        Assert.Equal((16 << 20) + 3, info.Length);
        byte[] content = File.ReadAllBytes(info.FullName);
        Assert.Equal("end"u8.ToArray(), content[^3..]);
        ToolResult du = OracleTool.Run("du", "-k", info.FullName);
        long kib = long.Parse(du.Stdout.Split('\t')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(kib < 8 << 10, $"sparse file took {kib} KiB on the host");
    }

    private static ulong HostNlink(string path)
    {
        ToolResult r = OracleTool.Run("stat", "-c", "%h", path);
        return ulong.Parse(r.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Get_HostSymlinkInTheWay_RefusedAndOutsideUntouched()
    {
        UkfsMount fs = _cli.Tmpfs;
        fs.Mkdir("/tree");
        fs.WriteAllBytes("/tree/victim", "from image"u8);
        string outside = Path.Combine(_host.Path, "outside.txt");
        File.WriteAllText(outside, "precious");
        string dest = Path.Combine(_host.Path, "dest");
        Directory.CreateDirectory(Path.Combine(dest, "tree"));
        File.CreateSymbolicLink(Path.Combine(dest, "tree", "victim"), outside);
        CliResult r = _cli.Run(Img, "get", "/tree", dest);
        Assert.Equal(1, r.Exit);
        Assert.Contains("refusing to write through it", r.Stderr, StringComparison.Ordinal);
        Assert.Equal("precious", File.ReadAllText(outside));
    }

    [Fact]
    public void Get_SymlinkToOutside_IsCreatedAsALinkNotFollowed()
    {
        UkfsMount fs = _cli.Tmpfs;
        fs.Mkdir("/t");
        fs.Symlink("/etc", "/t/etc");
        fs.Symlink("../../..", "/t/up");
        string dest = HostDir("d");
        _cli.Ok(Img, "get", "/t", dest);
        Assert.Equal("/etc", new FileInfo(Path.Combine(dest, "t", "etc")).LinkTarget);
        Assert.Equal("../../..", new FileInfo(Path.Combine(dest, "t", "up")).LinkTarget);
        Assert.Equal(["etc", "up"], Directory.EnumerateFileSystemEntries(Path.Combine(dest, "t")).Select(Path.GetFileName).Order());
    }

    [Theory]
    [InlineData("..", false)]
    [InlineData(".", false)]
    [InlineData("", false)]
    [InlineData("a/b", false)]
    [InlineData("a\0b", false)]
    [InlineData("..a", true)]
    [InlineData("ok name", true)]
    public void SafeName_RejectsNamesThatLeaveTheFolder(string name, bool safe) =>
        Assert.Equal(safe, CopyOut.SafeName(name));

    [Fact]
    public void Put_MissingHostSource_OneLineError()
    {
        Assert.Contains("no such file", _cli.Fails(Img, "put", Path.Combine(_host.Path, "nope")).Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_SingleFileToNewName()
    {
        _cli.Tmpfs.WriteAllBytes("/f", "data"u8);
        _cli.Tmpfs.Chmod("/f", 0x100);
        string dest = Path.Combine(_host.Path, "renamed");
        _cli.Ok(Img, "get", "/f", dest);
        Assert.Equal("data", File.ReadAllText(dest));
        Assert.Equal((UnixFileMode)0x100, File.GetUnixFileMode(dest));
        Assert.Equal(VType.Regular, _cli.Tmpfs.Stat("/f").Type);
    }

    [Fact]
    public void Get_OverALongerHostFile_ReplacesItsWholeContent()
    {
        _cli.Tmpfs.WriteAllBytes("/f", "new"u8);
        string dest = Path.Combine(_host.Path, "existing");
        File.WriteAllBytes(dest, new byte[3 << 20]);
        File.AppendAllText(dest, "old tail");
        _cli.Ok(Img, "get", "/f", dest);
        Assert.Equal("new", File.ReadAllText(dest));
    }

    [Fact]
    public void Get_FullyAllocatedFileWithZeroChunks_KeepsTheZeros()
    {
        byte[] data = new byte[3 << 20];
        data[^1] = 7;
        _cli.Tmpfs.WriteAllBytes("/zeros", data);
        string dest = Path.Combine(_host.Path, "zeros");
        _cli.Ok(Img, "get", "/zeros", dest);
        Assert.Equal(data, File.ReadAllBytes(dest));
    }

    [Fact]
    public void Get_LargeFile_HostStorageReservedOnlyWhenItHasNoHoles()
    {
        byte[] data = new byte[3 << 20];
        new Random(3).NextBytes(data);
        _cli.Tmpfs.WriteAllBytes("/full", data);
        _cli.Tmpfs.WriteAllBytes("/small", data.AsSpan(0, 4096));
        using (UkfsFileStream s = _cli.Tmpfs.Open("/holey", FileMode.Create, FileAccess.Write))
        {
            s.Seek(3 << 20, SeekOrigin.Begin);
            s.Write("end"u8);
        }
        Assert.Equal(data.Length, CopyOut.PreallocationFor(_cli.Tmpfs.Stat("/full")));
        Assert.Equal(0, CopyOut.PreallocationFor(_cli.Tmpfs.Stat("/small")));
        Assert.Equal(0, CopyOut.PreallocationFor(_cli.Tmpfs.Stat("/holey")));

        // The reservation leaves the size to the writes: the copy is exact, not padded.
        string dest = Path.Combine(_host.Path, "full");
        _cli.Ok(Img, "get", "/full", dest);
        Assert.Equal(data.Length, new FileInfo(dest).Length);
        Assert.Equal(data, File.ReadAllBytes(dest));
    }

    [Fact]
    public void Get_OntoAFullHostDisk_OneLineErrorBeforeWriting()
    {
        // A 1 MiB host tmpfs cannot take a 3 MiB file: the up-front reservation fails, so
        // the copy stops with one line and exit status 1, before writing anything.
        byte[] data = new byte[3 << 20];
        new Random(5).NextBytes(data);
        _cli.Tmpfs.WriteAllBytes("/big", data);
        string small = HostDir("small");
        OracleTool.RunExpect(0, "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small);
        try
        {
            CliResult r = _cli.Fails(Img, "get", "/big", Path.Combine(small, "big"));
            Assert.Single(r.Stderr.Trim().Split('\n'));
            Assert.Contains("full", r.Stderr, StringComparison.OrdinalIgnoreCase);
            Assert.False(File.Exists(Path.Combine(small, "big")) && new FileInfo(Path.Combine(small, "big")).Length > 0);
        }
        finally
        {
            if (OracleTool.Run("umount", small).ExitCode != 0)
            {
                OracleTool.Run("umount", "-l", small);
            }
        }
    }

    [Fact]
    public void Get_IntoADeviceNamedAsDest_WritesIntoItAndLeavesItAlone()
    {
        // A node like /dev/null, made here: the data goes into it; its mode and times stay.
        _cli.Tmpfs.WriteAllBytes("/f", new byte[3 << 20]);
        _cli.Tmpfs.Chmod("/f", 0x180);
        string node = Path.Combine(_host.Path, "null");
        OracleTool.RunExpect(0, "mknod", "-m", "666", node, "c", "1", "3");
        OracleTool.RunExpect(0, "touch", "-d", "2001-02-03 04:05:06Z", node);
        DateTime before = File.GetLastWriteTimeUtc(node);

        _cli.Ok(Img, "get", "/f", node);

        Assert.Equal("c", OracleTool.Run("stat", "-c", "%F", node).Stdout.Trim()[..1]);
        Assert.Equal((UnixFileMode)0x1B6, File.GetUnixFileMode(node));
        Assert.Equal(before, File.GetLastWriteTimeUtc(node));
    }

    [Fact]
    public async Task Get_FifoInTheWayInsideACopy_IsReplacedNotOpened()
    {
        // Opening a fifo for writing waits for a reader: get replaces it instead.
        _cli.Tmpfs.WriteAllBytes("/f", "data"u8);
        string dest = HostDir("out");
        string fifo = Path.Combine(dest, "f");
        OracleTool.RunExpect(0, "mkfifo", fifo);
        Task<CliResult> get = Task.Run(() => _cli.Run(Img, "get", "/", dest));
        bool done = await Task.WhenAny(get, Task.Delay(TimeSpan.FromSeconds(30))) == get;
        if (!done)
        {
            // Let the stuck open go, so the test run can end.
            await using var reader = new FileStream(fifo, FileMode.Open, FileAccess.Read);
        }
        Assert.True(done, "get blocked on the fifo in its way");
        Assert.Equal(0, (await get).Exit);
        Assert.Equal("data", File.ReadAllText(fifo));
        Assert.Equal(VType.Regular, RumpFs.Tools.Ukfs.HostNodes.Lstat(fifo)?.Type); // a regular file now
    }

    /// <summary>A host tree with three names of one file, a fifo, a socket, two device nodes, and times to the nanosecond.</summary>
    private string MakeSpecialTree()
    {
        string src = Path.Combine(_host.Path, "special");
        Directory.CreateDirectory(Path.Combine(src, "sub"));
        File.WriteAllText(Path.Combine(src, "one"), "shared\n");
        OracleTool.RunExpect(0, "ln", Path.Combine(src, "one"), Path.Combine(src, "two"));
        OracleTool.RunExpect(0, "ln", Path.Combine(src, "one"), Path.Combine(src, "sub", "three"));
        OracleTool.RunExpect(0, "mkfifo", "-m", "640", Path.Combine(src, "fifo"));
        OracleTool.RunExpect(0, "mknod", "-m", "620", Path.Combine(src, "tty9"), "c", "4", "9");
        OracleTool.RunExpect(0, "mknod", "-m", "600", Path.Combine(src, "disk"), "b", "259", "300000");
        Assert.Null(RumpFs.Tools.Ukfs.HostNodes.Mknod(Path.Combine(src, "sock"), VType.Socket, 0x1ED, 0));
        File.CreateSymbolicLink(Path.Combine(src, "link"), "one");
        foreach (string name in new[] { "one", "fifo", "tty9", "link" })
        {
            OracleTool.RunExpect(0, "touch", "-h", "-d", "2001-02-03 04:05:06.123456789Z", Path.Combine(src, name));
        }
        return src;
    }

    private static readonly Timespec s_nanoTime = new(981173106, 123456789);

    [Fact]
    public void Put_HardLinksSpecialFilesAndNanosecondTimes_KeptAsSuch()
    {
        string src = MakeSpecialTree();
        _cli.Ok(Img, "put", src, "/");
        UkfsMount fs = _cli.Tmpfs;
        VAttr one = fs.Lstat("/special/one");
        Assert.Equal(3u, one.Nlink);
        Assert.Equal(one.Ino, fs.Lstat("/special/two").Ino);
        Assert.Equal(one.Ino, fs.Lstat("/special/sub/three").Ino);
        Assert.Equal("shared\n"u8.ToArray(), fs.ReadAllBytes("/special/sub/three"));
        Assert.Equal((VType.Fifo, 0x1A0u), (fs.Lstat("/special/fifo").Type, fs.Lstat("/special/fifo").Mode));
        Assert.Equal(VType.Socket, fs.Lstat("/special/sock").Type);
        VAttr tty = fs.Lstat("/special/tty9");
        Assert.Equal((VType.CharDevice, 0x190u, (4UL << 8) | 9), (tty.Type, tty.Mode, tty.Rdev));
        VAttr disk = fs.Lstat("/special/disk");
        Assert.Equal(VType.BlockDevice, disk.Type);
        Assert.Equal(OracleTool.RunExpect(0, "stat", "-c", "%t:%T", Path.Combine(src, "disk")).Stdout.Trim(),
            $"{((disk.Rdev >> 8) & 0xFFF) | ((disk.Rdev >> 32) & ~0xFFFUL):x}:{(disk.Rdev & 0xFF) | ((disk.Rdev >> 12) & ~0xFFUL):x}");
        Assert.Equal(s_nanoTime, one.Mtime);
        Assert.Equal(s_nanoTime, fs.Lstat("/special/fifo").Mtime);
        Assert.Equal(s_nanoTime, fs.Lstat("/special/link").Mtime);
    }

    [Fact]
    public void PutThenGet_SpecialTree_SameNodesLinksAndTimes()
    {
        string src = MakeSpecialTree();
        _cli.Ok(Img, "put", src, "/");
        string back = HostDir("back");
        _cli.Ok(Img, "get", "/special", back);
        foreach (string rel in new[] { "one", "two", "sub/three", "fifo", "sock", "tty9", "disk", "link" })
        {
            string a = Path.Combine(src, rel), b = Path.Combine(back, "special", rel);
            // type, mode, device number, link count, mtime to the nanosecond (of the node itself)
            Assert.Equal(
                OracleTool.RunExpect(0, "stat", "-c", "%F %a %t:%T %h %.9Y", a).Stdout,
                OracleTool.RunExpect(0, "stat", "-c", "%F %a %t:%T %h %.9Y", b).Stdout);
        }
        Assert.Equal(
            OracleTool.RunExpect(0, "stat", "-c", "%i", Path.Combine(back, "special", "one")).Stdout,
            OracleTool.RunExpect(0, "stat", "-c", "%i", Path.Combine(back, "special", "sub", "three")).Stdout);
    }

    [Fact]
    public void PutAndGet_AsRoot_KeepOwnersOfFilesAndLinks()
    {
        Assert.True(RumpFs.Tools.Ukfs.HostNodes.IsRoot, "these tests run as root");
        string src = HostDir("owned");
        File.WriteAllText(Path.Combine(src, "f"), "x");
        File.CreateSymbolicLink(Path.Combine(src, "l"), "f");
        OracleTool.RunExpect(0, "chown", "1234:567", Path.Combine(src, "f"), src);
        OracleTool.RunExpect(0, "chown", "-h", "4321:765", Path.Combine(src, "l"));
        OracleTool.RunExpect(0, "chmod", "4755", Path.Combine(src, "f"));

        _cli.Ok(Img, "put", src, "/");
        UkfsMount fs = _cli.Tmpfs;
        Assert.Equal((1234u, 567u, 0x9EDu), (fs.Stat("/owned/f").Uid, fs.Stat("/owned/f").Gid, fs.Stat("/owned/f").Mode));
        Assert.Equal((4321u, 765u), (fs.Lstat("/owned/l").Uid, fs.Lstat("/owned/l").Gid));
        Assert.Equal(1234u, fs.Stat("/owned").Uid);

        fs.Chown("/owned/f", 2000, 3000);
        fs.Chmod("/owned/f", 0xDED); // 6755: set-id bits survive the change of owner
        string back = HostDir("back");
        _cli.Ok(Img, "get", "/owned", back);
        Assert.Equal("2000:3000:6755", OracleTool.RunExpect(0, "stat", "-c", "%u:%g:%a", Path.Combine(back, "owned", "f")).Stdout.Trim());
        Assert.Equal("4321:765", OracleTool.RunExpect(0, "stat", "-c", "%u:%g", Path.Combine(back, "owned", "l")).Stdout.Trim());
        Assert.Equal("1234:567", OracleTool.RunExpect(0, "stat", "-c", "%u:%g", Path.Combine(back, "owned")).Stdout.Trim());
    }

    [Fact]
    public void Put_SpecialTreeOntoFat_LinksBecomeCopiesTheRestIsNamedAndSkipped()
    {
        string src = MakeSpecialTree();
        string img = Path.Combine(_host.Path, "fat.img");
        OracleTool.RunExpect(0, "mkfs.fat", "-C", img, "8192");
        using var images = CliHarness.OnImages();
        CliResult r = images.Run(img, "put", src, "/");
        Assert.True(r.Exit == 0, r.ToString());
        string[] warnings = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(warnings, w => w.Contains("hard links copied as separate files", StringComparison.Ordinal));
        foreach (string what in new[] { "fifo", "socket", "char-device", "block-device", "symbolic link" })
        {
            Assert.Single(warnings, w => w.Contains($"{what} not copied: the file system cannot store it", StringComparison.Ordinal));
        }
        Assert.Equal(6, warnings.Length);
        OracleTool.RunExpect(0, "fsck.fat", "-n", img);
        ToolResult dir = OracleTool.RunExpect(0, "mdir", "-i", img, "-/", "::/special");
        foreach (string name in new[] { "one", "two", "sub/three" })
        {
            Assert.Equal("shared\n", OracleTool.RunExpect(0, "mtype", "-i", img, "::/special/" + name).Stdout);
        }
        Assert.DoesNotContain("fifo", dir.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void PutThenGet_ExtendedAttributes_GoBothWays()
    {
        string src = HostDir("xa");
        string file = Path.Combine(src, "f");
        File.WriteAllText(file, "x");
        Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(file, "user.comment", "from the host"u8.ToArray()));
        Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(src, "user.dir", [0, 1, 2]));
        File.SetUnixFileMode(file, (UnixFileMode)0x124); // read-only: get must set the attribute before the mode

        _cli.Ok(Img, "put", src, "/");
        UkfsMount fs = _cli.Tmpfs;
        Assert.Equal("from the host"u8.ToArray(), fs.GetXattr("/xa/f", "user.comment"));
        Assert.Equal(new byte[] { 0, 1, 2 }, fs.GetXattr("/xa", "user.dir"));

        fs.SetXattr("/xa/f", "user.added", "in the image"u8.ToArray());
        string back = HostDir("back");
        _cli.Ok(Img, "get", "/xa", back);
        string got = Path.Combine(back, "xa", "f");
        Assert.Equal(["user.added", "user.comment"], RumpFs.Tools.Ukfs.HostXattrs.List(got).Order(StringComparer.Ordinal));
        Assert.Equal("in the image"u8.ToArray(), RumpFs.Tools.Ukfs.HostXattrs.Get(got, "user.added"));
        Assert.Equal(new byte[] { 0, 1, 2 }, RumpFs.Tools.Ukfs.HostXattrs.Get(Path.Combine(back, "xa"), "user.dir"));
    }

    [Fact]
    public void Put_ExtendedAttributesIntoExt2_DebugfsReadsThem_TrustedAndSecurityToo()
    {
        string src = HostDir("xa");
        for (int i = 0; i < 3; i++)
        {
            string f = Path.Combine(src, $"f{i}");
            File.WriteAllText(f, "x");
            Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(f, "user.n", [(byte)('0' + i)]));
            // Root-only name spaces on the host, kept because the tests run as root.
            Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(f, "trusted.t", [(byte)('a' + i)]));
            Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(f, "security.s", [(byte)('A' + i)]));
        }
        string img = Path.Combine(_host.Path, "e.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", img, "8M");
        using var images = CliHarness.OnImages();
        CliResult r = images.Run(img, "put", src, "/");
        Assert.True(r.Exit == 0 && r.Stderr.Length == 0, r.ToString());
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        for (int i = 0; i < 3; i++)
        {
            string list = OracleTool.RunExpect(0, "debugfs", "-R", $"ea_list /xa/f{i}", img).Stdout;
            Assert.Contains($"user.n ({1}) = \"{i}\"", list, StringComparison.Ordinal);
            Assert.Contains($"trusted.t ({1}) = \"{(char)('a' + i)}\"", list, StringComparison.Ordinal);
            Assert.Contains($"security.s ({1}) = \"{(char)('A' + i)}\"", list, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Put_ExtendedAttributesOntoFat_NamedOnceAndTheFilesCopied()
    {
        string src = HostDir("xa");
        foreach (string name in new[] { "a", "b" })
        {
            File.WriteAllText(Path.Combine(src, name), name);
            Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(Path.Combine(src, name), "user.x", [1]));
        }
        string img = Path.Combine(_host.Path, "fat.img");
        OracleTool.RunExpect(0, "mkfs.fat", "-C", img, "8192");
        using var images = CliHarness.OnImages();
        CliResult r = images.Run(img, "put", src, "/");
        Assert.True(r.Exit == 0, r.ToString());
        string warning = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("extended attribute user.x not kept", warning, StringComparison.Ordinal);
        Assert.Equal("b", OracleTool.RunExpect(0, "mtype", "-i", img, "::/xa/b").Stdout);
        OracleTool.RunExpect(0, "fsck.fat", "-n", img);
    }

    [Fact]
    public void Get_FromAnImageMke2fsWrote_ExtendedAttributesReachTheHost()
    {
        string src = HostDir("tree");
        string file = Path.Combine(src, "f");
        File.WriteAllText(file, "x");
        byte[] big = [.. Enumerable.Range(0, 700).Select(i => (byte)i)]; // too big for the inode: in an attribute block
        Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(file, "user.small", "s"u8.ToArray()));
        Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(file, "user.big", big));
        string img = Path.Combine(_host.Path, "e.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", src, img, "8M");

        string back = HostDir("back");
        using var images = CliHarness.OnImages();
        images.Ok(img, "get", "/f", back);
        string got = Path.Combine(back, "f");
        Assert.Equal("s"u8.ToArray(), RumpFs.Tools.Ukfs.HostXattrs.Get(got, "user.small"));
        Assert.Equal(big, RumpFs.Tools.Ukfs.HostXattrs.Get(got, "user.big"));
    }

    [Fact]
    public void PutFromStdin_WritesTheFile_KeepsAnExistingMode_RefusesAFolder()
    {
        byte[] data = new byte[3 << 20];
        new Random(5).NextBytes(data);
        CliResult r = _cli.RunWithInput(data, Img, "put", "-", "/in.bin");
        Assert.True(r.Exit == 0 && r.Stderr.Length == 0, r.ToString());
        UkfsMount fs = _cli.Tmpfs;
        Assert.Equal(data, fs.ReadAllBytes("/in.bin"));
        Assert.Equal(UkfsMount.DefaultFileMode, fs.Stat("/in.bin").Mode);

        fs.Chmod("/in.bin", 0x180);
        Assert.Equal(0, _cli.RunWithInput("short\n"u8.ToArray(), Img, "put", "-", "/in.bin").Exit);
        Assert.Equal("short\n"u8.ToArray(), fs.ReadAllBytes("/in.bin"));
        Assert.Equal(0x180u, fs.Stat("/in.bin").Mode);

        fs.Mkdir("/dir");
        Assert.Contains("give the file to write as DEST", _cli.Fails(Img, "put", "-", "/dir").Stderr, StringComparison.Ordinal);
        Assert.Contains("give the file to write as DEST", _cli.Fails(Img, "put", "-").Stderr, StringComparison.Ordinal);
        Assert.Empty(fs.ReadDirectory("/dir"));
    }
}
