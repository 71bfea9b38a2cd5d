using System.Text.Json;
using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// `ukfs truncate` (coreutils' -s with + and -) and `ukfs fallocate` (util-linux's -o, -l,
/// -k, -p, -z) on images made by mke2fs and mkfs.fat, checked by debugfs, e2fsck and fsck.fat.
/// </summary>
public sealed class CliFallocateTests : IDisposable
{
    private readonly CliHarness _cli = CliHarness.OnImages();
    private readonly ScratchDir _dir = new("ukfs-falloc");

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    private long BlocksOf(string img, string path)
    {
        using JsonDocument doc = JsonDocument.Parse(_cli.Ok(img, "stat", "--json", path).Stdout);
        return doc.RootElement[0].GetProperty("blocks").GetInt64();
    }

    [Fact]
    public void Fallocate_PunchAndZero_OnExt4_DebugfsAndE2fsckAgree()
    {
        string img = DiskBuilder.ExtImage(_dir, "e.img", 32768, "ext4", "seed", "x");
        byte[] data = new byte[600_000];
        new Random(2).NextBytes(data);
        string host = _dir.File("data.bin");
        File.WriteAllBytes(host, data);
        _cli.Ok(img, "put", host, "/f");
        long before = BlocksOf(img, "/f");

        _cli.Ok(img, "fallocate", "-p", "-o", "10000", "-l", "400K", "/f");
        data.AsSpan(10_000, 400 << 10).Clear();
        Assert.True(before - BlocksOf(img, "/f") >= (390 << 10) / 512, $"{before} -> {BlocksOf(img, "/f")} blocks of 512 bytes");
        _cli.Ok(img, "fallocate", "-z", "-o", "590000", "-l", "20000", "/f");
        Array.Resize(ref data, 610_000);
        data.AsSpan(590_000).Clear();
        _cli.Ok(img, "fallocate", "-k", "-l", "1M", "/f");

        Assert.Equal(data, _cli.Ok(img, "cat", "/f").Binary);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        string dumped = _dir.File("dumped");
        OracleTool.RunExpect(0, "debugfs", "-R", $"dump /f {dumped}", img);
        Assert.Equal(data, File.ReadAllBytes(dumped));
    }

    /// <summary>As util-linux's, fallocate of a missing file creates it with the range's storage.</summary>
    [Fact]
    public void Fallocate_MissingFile_IsCreated()
    {
        string img = DiskBuilder.ExtImage(_dir, "n.img", 32768, "ext4", "seed", "x");
        _cli.Ok(img, "fallocate", "-l", "64K", "/new");
        using (JsonDocument doc = JsonDocument.Parse(_cli.Ok(img, "stat", "--json", "/new").Stdout))
        {
            Assert.Equal(65536, doc.RootElement[0].GetProperty("size").GetInt64());
        }
        Assert.True(BlocksOf(img, "/new") >= 128);
        Assert.Equal(new byte[65536], _cli.Ok(img, "cat", "/new").Binary);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
    }

    [Fact]
    public void Truncate_SetsGrowsAndShrinks_CreatesUnlessC()
    {
        string img = DiskBuilder.ExtImage(_dir, "t.img", 32768, "ext2", "f", "0123456789");
        _cli.Ok(img, "truncate", "-s", "4", "/f");
        Assert.Equal("0123"u8.ToArray(), _cli.Ok(img, "cat", "/f").Binary);
        _cli.Ok(img, "truncate", "-s", "+1K", "/f", "/new");
        _cli.Ok(img, "truncate", "-s", "-1000", "/f");
        _cli.Ok(img, "truncate", "-c", "-s", "1M", "/absent");
        byte[] f = _cli.Ok(img, "cat", "/f").Binary;
        Assert.Equal(28, f.Length);
        Assert.Equal("0123"u8.ToArray(), f[..4]);
        Assert.All(f[4..], b => Assert.Equal(0, b));
        Assert.Equal(1024, _cli.Ok(img, "cat", "/new").Binary.Length);
        Assert.Equal(1, _cli.Run(img, "stat", "/absent").Exit);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
    }

    [Fact]
    public void Fat_PunchIsNotSupported_MistakesAreOneLine_AndNothingChanges()
    {
        string img = DiskBuilder.FatImage(_dir, "fat.img", 65536, 16, "A.TXT", "abc");
        byte[] original = File.ReadAllBytes(img);
        Assert.Contains("not supported", _cli.Fails(img, "fallocate", "-p", "-l", "1", "/A.TXT").Stderr, StringComparison.OrdinalIgnoreCase);
        _cli.Fails(img, "fallocate", "-p", "-z", "-l", "1", "/A.TXT");
        _cli.Fails(img, "fallocate", "-l", "0", "/A.TXT");
        _cli.Fails(img, "truncate", "-s", "12Q", "/A.TXT");
        Assert.Equal(original, File.ReadAllBytes(img));
        _cli.Ok(img, "fallocate", "-l", "100K", "/A.TXT");
        Assert.Equal(100 << 10, _cli.Ok(img, "cat", "/A.TXT").Binary.Length);
        OracleTool.RunExpect(0, "fsck.fat", "-n", img);
        Assert.NotEqual(original, File.ReadAllBytes(img));
    }
}
