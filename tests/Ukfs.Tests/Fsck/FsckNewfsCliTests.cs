using System.Buffers.Binary;
using System.Text.Json;
using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests.Fsck;

/// <summary>`ukfs IMAGE fsck` and `ukfs IMAGE newfs`, checked with fsck.fat and mtools.</summary>
public sealed class FsckNewfsCliTests
{
    private static CliResult Run(params string[] args)
    {
        using var h = CliHarness.OnImages();
        return h.Run(args);
    }

    /// <summary>A FAT16 image from mkfs.fat with one file; returns the device offset of its root entry.</summary>
    private static long MkfsWithFile(string img, string hostFile)
    {
        using (var f = File.Create(img))
        {
            f.SetLength(24L << 20);
        }
        OracleTool.RunExpect(0, "mkfs.fat", "-F", "16", img);
        OracleTool.RunExpect(0, "mcopy", "-i", img, hostFile, "::/DATA.BIN");
        byte[] boot = new byte[512];
        using (var f = File.OpenRead(img))
        {
            f.ReadExactly(boot);
        }
        int bps = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(11));
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(14));
        int fatSize = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(22));
        long root = (long)(reserved + boot[16] * fatSize) * bps;
        return root; // the only entry: DATA.BIN
    }

    [Fact]
    public void Newfs_MsdosFromFolder_PassesFsckFatAndReadsBack()
    {
        using var dir = new ScratchDir("ukfsnewfs");
        string src = Path.Combine(dir.Path, "src");
        Directory.CreateDirectory(Path.Combine(src, "sub"));
        File.WriteAllText(Path.Combine(src, "a.txt"), "hello newfs");
        byte[] big = [.. Enumerable.Range(0, 300_000).Select(i => (byte)(i % 251))];
        File.WriteAllBytes(Path.Combine(src, "sub", "big.bin"), big);
        var mtime = new DateTime(2020, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(Path.Combine(src, "a.txt"), mtime);
        string img = dir.File("new.img");

        CliResult r = Run(img, "newfs", "-t", "msdos", "-L", "CIVOL", "--from", src, "32M");
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Contains("FAT16", r.Stdout, StringComparison.Ordinal);
        Assert.Equal(32L << 20, new FileInfo(img).Length);
        OracleTool.RunExpect(0, "fsck.fat", "-n", img);
        ToolResult mdir = OracleTool.RunExpect(0, "mdir", "-i", img, "::/");
        Assert.Contains("CIVOL", mdir.Stdout, StringComparison.Ordinal);
        string back = dir.File("big.back");
        OracleTool.RunExpect(0, "mcopy", "-i", img, "::/sub/big.bin", back);
        Assert.Equal(big, File.ReadAllBytes(back));
        Assert.Equal("hello newfs", OracleTool.RunExpect(0, "mtype", "-i", img, "::/a.txt").Stdout);
        using (UkfsMount m = UkfsMount.Open("msdos", img, new UkfsOptions { ReadOnly = true }))
        {
            long seconds = m.Stat("/a.txt").Mtime.Seconds;
            Assert.InRange(seconds - new DateTimeOffset(mtime).ToUnixTimeSeconds(), -2, 2);
        }
        CliResult ck = Run(img, "fsck");
        Assert.True(ck.Exit == 0, ck.ToString());
        Assert.Contains("clean", ck.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Fsck_DamagedImage_ExitFourThenRepairedExitOneThenClean()
    {
        using var dir = new ScratchDir("ukfsfsck");
        string host = dir.File("data.bin");
        File.WriteAllBytes(host, new byte[10_000]);
        string img = dir.File("fat.img");
        long entry = MkfsWithFile(img, host);
        using (var f = new FileStream(img, FileMode.Open, FileAccess.Write))
        {
            f.Position = entry + 28; // file size
            f.Write(BitConverter.GetBytes(5_000_000u));
        }
        Assert.Equal(1, OracleTool.Run("fsck.fat", "-n", img).ExitCode);

        CliResult check = Run(img, "fsck", "-n", "--json");
        Assert.True(check.Exit == 4, check.ToString());
        using (JsonDocument doc = JsonDocument.Parse(check.Stdout))
        {
            Assert.Equal(4, doc.RootElement.GetProperty("exitCode").GetInt32());
            Assert.Equal("msdos", doc.RootElement.GetProperty("fsType").GetString());
            JsonElement finding = Assert.Single(doc.RootElement.GetProperty("findings").EnumerateArray());
            Assert.Equal("/DATA.BIN", finding.GetProperty("location").GetString());
            Assert.Equal("directories", finding.GetProperty("phase").GetString());
            Assert.Equal("error", finding.GetProperty("severity").GetString());
            Assert.False(finding.GetProperty("repaired").GetBoolean());
        }

        CliResult repair = Run(img, "fsck", "-y");
        Assert.True(repair.Exit == 1, repair.ToString());
        Assert.Contains("FIXED", repair.Stdout, StringComparison.Ordinal);
        OracleTool.RunExpect(0, "fsck.fat", "-n", img);
        CliResult again = Run(img, "fsck");
        Assert.True(again.Exit == 0, again.ToString());
    }

    [Fact]
    public void Fsck_NoAndYesTogether_IsUsageError()
    {
        using var dir = new ScratchDir("ukfsfsck");
        string img = dir.File("x.img");
        Assert.Equal(0, Run(img, "newfs", "-t", "msdos", "4M").Exit);
        CliResult r = Run(img, "fsck", "-n", "-y");
        Assert.Equal(1, r.Exit);
        Assert.Contains("exclude", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Fsck_ImageWithoutFileSystem_IsOperationalErrorEight()
    {
        using var dir = new ScratchDir("ukfsfsck");
        string img = dir.File("zero.img");
        File.WriteAllBytes(img, new byte[1 << 20]);
        CliResult r = Run(img, "fsck");
        Assert.Equal(8, r.Exit);
        Assert.Contains("no known file system", r.Stderr, StringComparison.Ordinal);
        Assert.Equal(8, Run(dir.File("missing.img"), "fsck").Exit);
    }

    [Fact]
    public void Fsck_BrokenFatBootSector_IsOperationalErrorEight()
    {
        using var dir = new ScratchDir("ukfsfsck");
        string img = dir.File("x.img");
        Assert.Equal(0, Run(img, "newfs", "-t", "msdos", "4M").Exit);
        using (var f = new FileStream(img, FileMode.Open, FileAccess.Write))
        {
            f.Position = 13; // sectors per cluster: 3 is not a power of two
            f.WriteByte(3);
        }
        CliResult r = Run("-t", "msdos", img, "fsck", "--json");
        Assert.Equal(8, r.Exit);
        Assert.Contains("operationalError", r.Stdout, StringComparison.Ordinal);
    }

    /// <summary>A FAT16 boot sector without 0x55AA is not recognised by other commands; fsck finds it and -y writes the signature.</summary>
    [Fact]
    public void Fsck_FatBootSectorWithoutSignature_FoundAndSigned()
    {
        using var dir = new ScratchDir("ukfsfsck");
        string img = dir.File("fat16.img");
        using (var f = File.Create(img))
        {
            f.SetLength(16L << 20);
        }
        OracleTool.RunExpect(0, "mkfs.fat", "-F", "16", img);
        using (var f = new FileStream(img, FileMode.Open, FileAccess.Write))
        {
            f.Position = 510;
            f.Write([0, 0]);
        }
        Assert.NotEqual(0, Run(img, "ls", "/").Exit);
        CliResult y = Run(img, "fsck", "-y");
        Assert.Equal(1, y.Exit);
        Assert.Contains("lacks the signature 0x55AA", y.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, Run(img, "ls", "/").Exit);
        OracleTool.RunExpect(0, "fsck.fat", "-n", img);
    }

    /// <summary>
    /// An ext4 image whose primary superblock is zeroed: no type is recognised from it, but
    /// fsck finds it by group 1's superblock copy, and -y writes the primary back from it.
    /// </summary>
    [Fact]
    public void Fsck_Ext4PrimarySuperblockZeroed_FoundByItsBackupAndRestored()
    {
        using var dir = new ScratchDir("ukfsfsck");
        string src = dir.File("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "keep.txt"), "kept");
        string img = dir.File("ext4.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-d", src, img, "16M");
        using (var f = new FileStream(img, FileMode.Open, FileAccess.Write))
        {
            f.Position = 1024;
            f.Write(new byte[1024]);
        }
        Assert.NotEqual(0, Run(img, "ls", "/").Exit);
        CliResult n = Run(img, "fsck", "-n");
        Assert.Equal(4, n.Exit);
        Assert.Contains("checked with the backup in block 8193", n.Stdout, StringComparison.Ordinal);

        CliResult y = Run(img, "fsck", "-y");
        Assert.Equal(1, y.Exit);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        Assert.Equal("kept"u8.ToArray(), Run(img, "cat", "/keep.txt").Binary);
    }

    /// <summary>
    /// A FAT32 boot sector with bytes per sector 0: no type is recognised from it, but fsck
    /// finds the volume by its backup boot sector, and -y restores the boot sector from it.
    /// Other commands still do not recognise the image.
    /// </summary>
    [Fact]
    public void Fsck_Fat32BootSectorUnparsable_FoundByItsBackupAndRestored()
    {
        using var dir = new ScratchDir("ukfsfsck");
        string img = dir.File("fat32.img");
        using (var f = File.Create(img))
        {
            f.SetLength(40L << 20);
        }
        OracleTool.RunExpect(0, "mkfs.fat", "-F", "32", img);
        File.WriteAllText(dir.File("keep.txt"), "kept");
        OracleTool.RunExpect(0, "mcopy", "-i", img, dir.File("keep.txt"), "::/KEEP.TXT");
        byte[] boot = File.ReadAllBytes(img)[..512];
        using (var f = new FileStream(img, FileMode.Open, FileAccess.Write))
        {
            f.Position = 11;
            f.Write([0, 0]);
        }
        Assert.NotEqual(0, Run(img, "ls", "/").Exit);
        CliResult n = Run(img, "fsck", "-n");
        Assert.Equal(4, n.Exit);
        Assert.Contains("the backup boot sector in sector 6 is sound", n.Stdout, StringComparison.Ordinal);

        CliResult y = Run(img, "fsck", "-y");
        Assert.Equal(1, y.Exit);
        Assert.Equal(boot, File.ReadAllBytes(img)[..512]);
        OracleTool.RunExpect(0, "fsck.fat", "-n", img);
        Assert.Equal("kept"u8.ToArray(), Run(img, "cat", "/KEEP.TXT").Binary);
    }

    [Fact]
    public void Newfs_UnsupportedTypeOrMissingSize_FailsWithOneLine()
    {
        using var dir = new ScratchDir("ukfsnewfs");
        using var h = CliHarness.OnImages();
        h.Fails(dir.File("a.img"), "newfs", "-t", "nosuchfs", "4M");
        h.Fails(dir.File("b.img"), "newfs", "-t", "msdos");
        h.Fails(dir.File("c.img"), "newfs", "-t", "msdos", "4Q");
        Assert.False(File.Exists(dir.File("b.img")));
    }

    /// <summary>The global -o (mount options) means nothing to newfs, fsck or probe: refused, not dropped, and no image is made.</summary>
    [Theory]
    [InlineData("newfs", "format options go after the command")]
    [InlineData("fsck", "does not use")]
    [InlineData("probe", "does not use")]
    public void GlobalMountOptions_OnACommandThatMountsNothing_RefusedWithOneLine(string verb, string says)
    {
        using var dir = new ScratchDir("ukfsnewfs");
        using var h = CliHarness.OnImages();
        string img = dir.File("g.img");
        string[] rest = verb == "newfs" ? ["-t", "ext2fs", "8M"] : [];
        if (verb != "newfs")
        {
            Assert.Equal(0, Run(img, "newfs", "-t", "msdos", "4M").Exit);
        }
        CliResult r = h.Fails(["-o", "type=ext4", img, verb, .. rest]);
        Assert.Equal(1, r.Exit);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(says, r.Stderr, StringComparison.Ordinal);
        Assert.Equal(verb != "newfs", File.Exists(img));
    }

    [Fact]
    public void Newfs_BadFormatOption_FailsAndSaysWhy()
    {
        using var dir = new ScratchDir("ukfsnewfs");
        CliResult r = Run(dir.File("a.img"), "newfs", "-t", "msdos", "-o", "fat=32", "8M");
        Assert.Equal(1, r.Exit);
        Assert.Contains("FAT32 needs", r.Stderr, StringComparison.Ordinal);
    }
}

/// <summary>Our FAT newfs images, written by our msdosfs driver, stay clean for fsck.fat and our fsck.</summary>
public sealed class NewfsMsdosDriverTests
{
    [Theory]
    [InlineData("12", "3M")]
    [InlineData("16", "24M")]
    [InlineData("32", "40M")]
    public void Newfs_MsdosThenDriverWrites_BothCheckersClean(string fat, string size)
    {
        using var dir = new ScratchDir("ukfsfat");
        string img = dir.File("f.img");
        using var h = CliHarness.OnImages();
        h.Ok(img, "newfs", "-t", "msdos", "-o", $"fat={fat}", size);
        byte[] data = [.. Enumerable.Range(0, 150_000).Select(i => (byte)(i * 5))];
        using (UkfsMount m = UkfsMount.Open("msdos", img))
        {
            m.Mkdir("/dir/sub", parents: true);
            m.WriteAllBytes("/dir/sub/Some Long File Name.bin", data);
            for (int i = 0; i < 40; i++)
            {
                m.WriteAllBytes($"/dir/f{i}.txt", System.Text.Encoding.ASCII.GetBytes(new string('x', i * 100)));
            }
            m.Remove("/dir/f7.txt");
            m.Unmount();
        }
        OracleTool.RunExpect(0, "fsck.fat", "-n", img);
        CliResult ck = h.Run(img, "fsck", "--json");
        Assert.True(ck.Exit == 0, ck.ToString());
        string back = dir.File("back.bin");
        OracleTool.RunExpect(0, "mcopy", "-i", img, "::/dir/sub/Some Long File Name.bin", back);
        Assert.Equal(data, File.ReadAllBytes(back));
    }
}
