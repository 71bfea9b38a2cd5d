using System.Text.Json;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using Xunit.Abstractions;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// `ukfs` on every corpus image whose driver is registered: listings and extraction compared
/// with the manifest of the tree the image was made from, writes checked by the format's
/// own checker. An image whose driver is not built in yet is reported in the output and
/// not tested.
/// </summary>
public sealed class CorpusTests : IDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly CliHarness _cli = CliHarness.OnImages();
    private readonly ScratchDir _dir = new("ukfs-corpus");

    public CorpusTests(ITestOutputHelper output)
    {
        _output = output;
        FsDrivers.AllDrivers.Register();
    }

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    public static TheoryData<string> Images()
    {
        var data = new TheoryData<string>();
        foreach (CorpusImage i in Corpus.All)
        {
            data.Add(i.Name);
        }
        return data;
    }

    /// <summary>The image, or null (with a line in the test output) when its driver is not registered.</summary>
    private CorpusImage? Usable(string name)
    {
        CorpusImage image = Corpus.Get(name);
        if (FileSystemRegistry.Find(image.FsType) is null)
        {
            _output.WriteLine($"not tested: the {image.FsType} driver is not registered in this build");
            return null;
        }
        return image;
    }

    /// <summary>FAT keeps no modes, owners, links or special files: compare only what it stores.</summary>
    private static bool IsFat(CorpusImage i) => i.FsType == "msdos";

    [Theory]
    [MemberData(nameof(Images))]
    public void LsJson_ListsExactlyTheManifest(string name)
    {
        if (Usable(name) is not CorpusImage image)
        {
            return;
        }
        using JsonDocument doc = JsonDocument.Parse(_cli.Ok(image.ImagePath, "ls", "-R", "--json", "/").Stdout);
        var listed = doc.RootElement.EnumerateArray()
            .Where(e => !e.GetProperty("path").GetString()!.StartsWith("/lost+found", StringComparison.Ordinal))
            .ToDictionary(e => e.GetProperty("path").GetString()!.TrimStart('/'), StringComparer.Ordinal);
        IReadOnlyList<ManifestEntry> manifest = Manifest.Read(image.ManifestPath);
        Assert.Equal(manifest.Select(m => m.Path).Order(StringComparer.Ordinal), listed.Keys.Order(StringComparer.Ordinal));
        foreach (ManifestEntry m in manifest)
        {
            JsonElement e = listed[m.Path];
            Assert.Equal(TypeName(m.Type), e.GetProperty("type").GetString());
            if (m.Type == 'f')
            {
                Assert.Equal(m.Size, e.GetProperty("size").GetInt64());
            }
            if (!IsFat(image))
            {
                Assert.Equal("0" + Convert.ToString(m.Mode & 0xFFF, 8).PadLeft(3, '0'), e.GetProperty("mode").GetString());
                Assert.Equal(m.Nlink, e.GetProperty("nlink").GetInt32());
                if (m.Type == 'l')
                {
                    Assert.Equal(m.Target, e.GetProperty("target").GetString());
                }
            }
        }
    }

    private static string TypeName(char t) => t switch
    {
        'f' => "file",
        'd' => "directory",
        'l' => "symlink",
        'c' => "char-device",
        'b' => "block-device",
        'p' => "fifo",
        _ => "socket",
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void Get_WholeImage_MatchesTheManifest(string name)
    {
        if (Usable(name) is not CorpusImage image)
        {
            return;
        }
        string dest = Path.Combine(_dir.Path, "out");
        Directory.CreateDirectory(dest);
        _cli.Ok(image.ImagePath, "get", "/", dest);
        string lostFound = Path.Combine(dest, "lost+found");
        if (Directory.Exists(lostFound))
        {
            Directory.Delete(lostFound);
        }
        string[] got = Manifest.OfTree(dest);
        string[] want = File.ReadAllLines(image.ManifestPath).Where(l => l.Length > 0).ToArray();
        Assert.Equal(want.Select(l => Comparable(l, IsFat(image))), got.Select(l => Comparable(l, IsFat(image))));
    }

    /// <summary>A manifest line without what the comparison cannot hold: directory sizes; on FAT also mode and links.</summary>
    private static string Comparable(string line, bool fat)
    {
        string[] f = line.Split('\t');
        if (f[1] == "d")
        {
            f[3] = "-";
        }
        if (fat)
        {
            f[2] = "-";
            f[4] = "-";
        }
        return string.Join('\t', f);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void ReadCommands_BothOutputForms(string name)
    {
        if (Usable(name) is not CorpusImage image)
        {
            return;
        }
        ManifestEntry? file = Manifest.Read(image.ManifestPath).FirstOrDefault(m => m.Type == 'f' && m.Size > 0);
        string img = image.ImagePath;
        if (file is not null)
        {
            string path = "/" + file.Path;
            Assert.Equal(file.Size, _cli.Ok(img, "cat", path).Binary.LongLength);
            Assert.Equal(file.Sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(_cli.Ok(img, "cat", path).Binary)));
            Assert.Contains($"Size: {file.Size}", _cli.Ok(img, "stat", path).Stdout, StringComparison.Ordinal);
            using JsonDocument st = JsonDocument.Parse(_cli.Ok(img, "stat", "--json", path).Stdout);
            Assert.Equal(file.Size, st.RootElement[0].GetProperty("size").GetInt64());
            string leaf = Path.GetFileName(file.Path);
            Assert.Contains(path, _cli.Ok(img, "find", "/", "--name", leaf).Stdout.Split('\n'));
        }
        using (JsonDocument root = JsonDocument.Parse(_cli.Ok(img, "stat", "--json", "/").Stdout))
        {
            Assert.Equal("directory", root.RootElement[0].GetProperty("type").GetString());
        }
        _cli.Ok(img, "ls", "-l", "/");
        Assert.Contains(image.FsType, _cli.Ok(img, "df").Stdout, StringComparison.Ordinal);
        using (JsonDocument df = JsonDocument.Parse(_cli.Ok(img, "df", "--json").Stdout))
        {
            Assert.True(df.RootElement.GetProperty("blocks").GetInt64() > df.RootElement.GetProperty("blocksFree").GetInt64());
        }
        Assert.Contains("type:", _cli.Ok(img, "info").Stdout, StringComparison.Ordinal);
        using (JsonDocument info = JsonDocument.Parse(_cli.Ok(img, "info", "--json").Stdout))
        {
            Assert.Equal(image.FsType, info.RootElement.GetProperty("fsType").GetString());
        }
        using (JsonDocument probe = JsonDocument.Parse(_cli.Ok(img, "probe", "--json").Stdout))
        {
            Assert.Equal(image.FsType, probe.RootElement.GetProperty("fileSystem").GetProperty("driver").GetString());
        }
        Assert.Contains("files", _cli.Ok(img, "tree").Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void WriteCommands_ThenTheFormatsCheckerIsClean(string name)
    {
        if (Usable(name) is not CorpusImage image)
        {
            return;
        }
        string img = image.CopyTo(_dir);
        long available;
        using (JsonDocument df = JsonDocument.Parse(_cli.Ok(img, "df", "--json").Stdout))
        {
            available = df.RootElement.GetProperty("bytesAvailable").GetInt64();
        }
        int bigSize = (int)Math.Min(5 << 20, available / 4);
        if (bigSize < 64 << 10)
        {
            _output.WriteLine($"not tested: {available} bytes free is too little room");
            return;
        }
        string tree = Path.Combine(_dir.Path, "add");
        Directory.CreateDirectory(Path.Combine(tree, "sub"));
        byte[] big = new byte[bigSize];
        new Random(3).NextBytes(big);
        File.WriteAllBytes(Path.Combine(tree, "sub", "BIG.BIN"), big);
        File.WriteAllText(Path.Combine(tree, "SMALL.TXT"), "small\n");
        bool sleuthkitReads = image.FsType != "ffs" || OracleTool.Run("fsstat", img).ExitCode == 0;
        // Work below a directory of the image when its root is full (a FAT12/16 root has a fixed size).
        string b = "";
        CliResult put = _cli.Run(img, "put", tree, "/");
        if (put.Exit != 0 && put.Stderr.Contains("No space left", StringComparison.Ordinal))
        {
            ManifestEntry? dir = Manifest.Read(image.ManifestPath).FirstOrDefault(m => m.Type == 'd');
            if (dir is null)
            {
                _output.WriteLine("not tested: root directory full and no subdirectory: " + put.Stderr);
                return;
            }
            _output.WriteLine($"root directory full; writing below /{dir.Path}");
            b = "/" + dir.Path;
            put = _cli.Run(img, "put", tree, b);
        }
        if (put.Exit != 0 && put.Stderr.Contains("-o ro", StringComparison.Ordinal))
        {
            _output.WriteLine("not tested: the driver mounts this image read-only only: " + put.Stderr);
            return;
        }
        Assert.True(put.Exit == 0 && put.Stderr.Length == 0, put.ToString());
        _cli.Ok(img, "mkdir", "-p", b + "/NEWDIR/DEEP");
        _cli.Ok(img, "touch", b + "/NEWDIR/EMPTY");
        _cli.Ok(img, "mv", b + "/NEWDIR/EMPTY", b + "/NEWDIR/DEEP");
        if (!IsFat(image))
        {
            _cli.Ok(img, "ln", "-s", "add/SMALL.TXT", b + "/SYM");
            _cli.Ok(img, "ln", b + "/add/SMALL.TXT", b + "/HARD");
            _cli.Ok(img, "chmod", "600", b + "/HARD");
            _cli.Ok(img, "chown", "12:34", b + "/HARD");
        }
        _cli.Ok(img, "rm", "-r", b + "/add/sub");
        _cli.Ok(img, "put", Path.Combine(tree, "sub"), b + "/add");
        Assert.Equal(big, _cli.Ok(img, "cat", b + "/add/sub/BIG.BIN").Binary);
        Check(image, img, sleuthkitReads);
    }

    private void Check(CorpusImage image, string img, bool sleuthkitReads)
    {
        if (!sleuthkitReads)
        {
            // sleuthkit cannot read this FFS variant even as makefs wrote it: nothing independent to ask.
            _output.WriteLine("fsstat cannot read the unmodified image; checked by reading back only");
            return;
        }
        ToolResult r = image.FsType switch
        {
            "ext2fs" => OracleTool.Run("e2fsck", "-fn", img),
            "msdos" => OracleTool.Run("fsck.fat", "-n", img),
            _ => OracleTool.Run("fsstat", img),
        };
        _output.WriteLine(r.Transcript);
        Assert.True(r.ExitCode == 0, r.Transcript);
        if (image.FsType == "ffs")
        {
            ToolResult fls = OracleTool.Run("fls", "-r", "-p", img);
            Assert.True(fls.ExitCode == 0, fls.Transcript);
            Assert.Contains("add/sub/BIG.BIN", fls.Stdout, StringComparison.Ordinal);
            Assert.Contains("NEWDIR/DEEP/EMPTY", fls.Stdout, StringComparison.Ordinal);
        }
    }
}
