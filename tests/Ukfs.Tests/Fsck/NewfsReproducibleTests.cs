using System.Security.Cryptography;
using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests.Fsck;

/// <summary>
/// `ukfs newfs -T TIME` and SOURCE_DATE_EPOCH: two builds from the same tree are the same
/// image byte for byte, every format's checker finds it clean, and the recorded times are
/// the given one (copied times clamped to it).
/// </summary>
public sealed class NewfsReproducibleTests : IDisposable
{
    private const long Epoch = 1_700_000_000; // 2023-11-14T22:13:20Z
    private readonly ScratchDir _dir = new("ukfs-repro");
    private readonly CliHarness _cli = CliHarness.OnImages();

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    private static string Fixture => Path.Combine(Corpus.Directory, "fixture-posix");

    private string Build(string name, string type, string options, params string[] extra)
    {
        string img = _dir.File(name);
        CliResult r = _cli.Run([img, "newfs", "-t", type, "-o", options, .. extra, "--from", Fixture, "64M"]);
        Assert.True(r.Exit == 0, r.ToString());
        return img;
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Theory]
    [InlineData("msdos", "fat=16")]
    [InlineData("msdos", "fat=32")]
    [InlineData("ext2fs", "type=ext4")]
    [InlineData("ext2fs", "rev=0")]
    [InlineData("ffs", "version=1")]
    [InlineData("ffs", "version=2,endian=big")]
    public void Newfs_WithATimestamp_TwoBuildsAreTheSameBytes_AndCheckClean(string type, string options)
    {
        string a = Build("a.img", type, options, "-T", Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string b = Build("b.img", type, options, "-T", "2023-11-14T22:13:20Z");
        string ordinary = Build("c.img", type, options);
        Assert.Equal(Sha256(a), Sha256(b));
        // Without a timestamp, the volume id or UUID and the times differ from build to build.
        Assert.NotEqual(Sha256(a), Sha256(ordinary));
        switch (type)
        {
            case "ext2fs":
                OracleTool.RunExpect(0, "e2fsck", "-fn", a);
                break;
            case "msdos":
                OracleTool.RunExpect(0, "fsck.fat", "-n", a);
                break;
            default:
                _cli.Ok(a, "fsck", "-n");
                break;
        }
    }

    [Fact]
    public void Newfs_Timestamp_RecordedTimesAreIt_CopiedTimesClampedToIt()
    {
        string img = Build("t.img", "ext2fs", "type=ext4", "-T", "@" + Epoch);
        string header = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;
        Assert.Contains("Filesystem created:       Tue Nov 14 22:13:20 2023", header, StringComparison.Ordinal);
        Assert.Contains("Last write time:          Tue Nov 14 22:13:20 2023", header, StringComparison.Ordinal);
        // hello.txt was written after the timestamp (the corpus is built today): clamped.
        Assert.True(File.GetLastWriteTimeUtc(Path.Combine(Fixture, "hello.txt")) > DateTimeOffset.FromUnixTimeSeconds(Epoch).UtcDateTime);
        string hello = OracleTool.RunExpect(0, "debugfs", "-R", "stat /hello.txt", img).Stdout;
        foreach (string field in new[] { " ctime: ", " atime: ", " mtime: ", "crtime: " })
        {
            Assert.Contains($"{field}0x{Epoch:x8}:00000000", hello, StringComparison.Ordinal);
        }
        // old-file's time lies before it: kept.
        using UkfsMount m = UkfsMount.Open("ext2fs", img);
        Assert.Equal(981173106, m.Stat("/old-file").Mtime.Seconds);
        Assert.Equal(981173106, m.Stat("/old-file").Atime.Seconds);
        Assert.Equal(Epoch, m.Stat("/old-file").Ctime.Seconds);
    }

    [Fact]
    public void Newfs_SourceDateEpoch_FromTheEnvironment_SameAsTheOption()
    {
        // The variable is read by a separate process: setting it here would reach every test.
        string ukfs = typeof(RumpFs.Tools.Ukfs.HostNodes).Assembly.Location;
        string fromEnv = _dir.File("env.img");
        ToolResult r = OracleTool.Run("dotnet", [ukfs, fromEnv, "newfs", "-t", "msdos", "--from", Fixture, "64M"],
            env: new Dictionary<string, string> { ["SOURCE_DATE_EPOCH"] = Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        Assert.True(r.ExitCode == 0, r.Transcript);
        string fromOption = _dir.File("opt.img");
        Assert.True(_cli.Run(fromOption, "newfs", "-t", "msdos", "-T", "1700000000", "--from", Fixture, "64M").Exit == 0);
        Assert.Equal(Sha256(fromOption), Sha256(fromEnv));
    }

    [Fact]
    public void Newfs_BadTimestamp_OneLineAndNoImage()
    {
        string img = _dir.File("never.img");
        Assert.Contains("-T 'yesterday'", _cli.Fails(img, "newfs", "-t", "msdos", "-T", "yesterday", "16M").Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(img));
    }
}
