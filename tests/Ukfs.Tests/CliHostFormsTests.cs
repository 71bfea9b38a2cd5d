using System.Globalization;
using RumpFs.TestSupport;
using RumpFs.Tools.Ukfs;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// The options people bring from the host's tools: ls -h, -d and -1, df -h, touch -t, get
/// to standard output, and a letter a command does not know inside an option group. Sizes
/// and times are compared with GNU ls, numfmt and touch on the host.
/// </summary>
public sealed class CliHostFormsTests : IDisposable
{
    private static readonly long[] Sizes = [0, 1, 1023, 1024, 1025, 1536, 10239, 10240, 10241, 300_000, 1_048_575,
        1_048_576, 10_485_760, 104_857_599, 1_073_741_824, 5_000_000_000];

    private readonly CliHarness _cli = CliHarness.OnTmpfs();
    private readonly ScratchDir _dir = new("ukfs-host-forms");

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void HumanSizes_AsNumfmtIecRoundingUp()
    {
        long[] values = [.. Sizes, 1_048_063, 1_072_693_248, 10_737_418_240, 1L << 50, 1L << 60, long.MaxValue];
        string[] theirs = OracleTool.RunExpect(0, "numfmt", ["--to=iec", "--round=up", .. values.Select(v => v.ToString(CultureInfo.InvariantCulture))])
            .Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(theirs, values.Select(Format.Human));
    }

    [Fact]
    public void LsLh_SizesAsGnuLs()
    {
        string host = _dir.Path;
        _cli.Tmpfs.Mkdir("/h");
        foreach (long size in Sizes)
        {
            string name = $"s{size}";
            using (FileStream f = File.Create(Path.Combine(host, name)))
            {
                f.SetLength(size);
            }
            _cli.Tmpfs.Create("/h/" + name);
            _cli.Tmpfs.Truncate("/h/" + name, size);
        }
        Dictionary<string, string> theirs = SizeColumn(OracleTool.RunExpect(0, "ls", "-lh", host).Stdout, 4);
        Dictionary<string, string> ours = SizeColumn(_cli.Ok("img", "ls", "-lh", "/h").Stdout, 4);
        Assert.Equal(theirs.OrderBy(kv => kv.Key), ours.OrderBy(kv => kv.Key));
    }

    [Fact]
    public void DfH_SizesInHumanUnits()
    {
        string[] lines = _cli.Ok("img", "df", "-h").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("Filesystem       Type      Size  Used Avail Use%", lines[0], StringComparison.Ordinal);
        string[] cells = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string[] plain = _cli.Ok("img", "df").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Format.Human(long.Parse(plain[2], CultureInfo.InvariantCulture) * 1024), cells[2]);
        Assert.Equal(plain[5], cells[5]);
    }

    [Fact]
    public void LsD_ListsTheDirectoryItself_Ls1_OneNamePerLine()
    {
        _cli.Tmpfs.Mkdir("/d");
        _cli.Tmpfs.WriteAllBytes("/d/f", [1]);
        Assert.Matches(@"^drwx.* /d\n$", _cli.Ok("img", "ls", "-ld", "/d").Stdout);
        Assert.Equal("/d\n", _cli.Ok("img", "ls", "-d", "/d").Stdout);
        Assert.Equal("f\n", _cli.Ok("img", "ls", "-1", "/d").Stdout);
        Assert.Equal(_cli.Ok("img", "ls", "-l", "/d").Stdout, _cli.Ok("img", "ls", "-1l", "/d").Stdout);
    }

    [Fact]
    public void Ln_MissingSourceUnderAFile_NamesTheSource_AsLn()
    {
        _cli.Tmpfs.WriteAllBytes("/f", [1]);
        Assert.Equal("ukfs: /missing: No such file or directory\n", _cli.Fails("img", "ln", "/missing", "/f/x").Stderr);
        _cli.Tmpfs.Mkdir("/d");
        Assert.Equal("ukfs: /f: File exists\n", _cli.Fails("img", "ln", "/d", "/f").Stderr);
    }

    [Theory]
    [InlineData("ls", "-lx", "x")]
    [InlineData("ls", "-q", "q")]
    [InlineData("df", "-k", "k")]
    [InlineData("rm", "-rz", "z")]
    public void UnknownLetterInAGroup_OneLineError(string verb, string option, string letter)
    {
        _cli.Tmpfs.WriteAllBytes("/f", [1]);
        CliResult r = _cli.Fails("img", verb, option, "/f");
        Assert.Equal($"ukfs: {verb}: unknown option '{letter}'\n", r.Stderr);
        Assert.True(_cli.Tmpfs.Exists("/f"));
    }

    [Fact]
    public void GetToDash_WritesTheFileToStandardOutput_ADirectoryIsRefused()
    {
        byte[] data = new byte[200_000];
        new Random(3).NextBytes(data);
        _cli.Tmpfs.Mkdir("/d");
        _cli.Tmpfs.WriteAllBytes("/d/f", data);
        Assert.Equal(data, _cli.Ok("img", "get", "/d/f", "-").Binary);
        Assert.Contains("only a file", _cli.Fails("img", "get", "/d", "-").Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists("-"));
    }

    [Theory]
    [InlineData("202401020304")]
    [InlineData("202401020304.05")]
    [InlineData("6901020304")]
    [InlineData("6812312359.59")]
    [InlineData("01020304")]
    [InlineData("197001010000")]
    public void TouchT_SetsTheTimeGnuTouchSets(string stamp)
    {
        string host = Path.Combine(_dir.Path, "t");
        File.WriteAllText(host, "");
        OracleTool.RunExpect(0, "touch", "-t", stamp, host);
        _cli.Ok("img", "touch", "-t", stamp, "/t");
        long want = new DateTimeOffset(File.GetLastWriteTimeUtc(host), TimeSpan.Zero).ToUnixTimeSeconds();
        Assert.Equal(want, _cli.Tmpfs.Stat("/t").Mtime.Seconds);
        Assert.Equal(want, _cli.Tmpfs.Stat("/t").Atime.Seconds);
    }

    [Theory]
    [InlineData("2024010203")]
    [InlineData("202413020304")]
    [InlineData("202401020304.5")]
    [InlineData("20240102030x")]
    [InlineData("202402300304")]
    public void TouchT_BadStamp_OneLineError(string stamp)
    {
        Assert.Contains("-t", _cli.Fails("img", "touch", "-t", stamp, "/t").Stderr, StringComparison.Ordinal);
        Assert.False(_cli.Tmpfs.Exists("/t"));
    }

    [Fact]
    public void RmR_OfTheRoot_OneLineError_NothingRemoved()
    {
        _cli.Tmpfs.Mkdir("/d");
        _cli.Tmpfs.WriteAllBytes("/d/f", [1]);
        Assert.Contains("refusing to remove it", _cli.Fails("img", "rm", "-r", "/").Stderr, StringComparison.Ordinal);
        Assert.Contains("'.' or '..'", _cli.Fails("img", "rm", "-rf", "/d/.").Stderr, StringComparison.Ordinal);
        Assert.Equal([1], _cli.Tmpfs.ReadAllBytes("/d/f"));
    }

    [Fact]
    public void TouchT_WithDOrR_OneLineError()
    {
        Assert.Contains("give one of -d, -t and -r", _cli.Fails("img", "touch", "-t", "202401020304", "-d", "@1", "/t").Stderr, StringComparison.Ordinal);
        Assert.False(_cli.Tmpfs.Exists("/t"));
    }

    /// <summary>Name to the size column of `ls -l` output (column <paramref name="sizeColumn"/>, counted from 0).</summary>
    private static Dictionary<string, string> SizeColumn(string listing, int sizeColumn) =>
        listing.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(c => c.Length > sizeColumn + 1 && c[^1].StartsWith('s'))
            .ToDictionary(c => c[^1], c => c[sizeColumn], StringComparer.Ordinal);
}
