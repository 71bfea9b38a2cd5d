using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// Installs `ukfs` the way users get it (scripts/install: compiled ahead of time, trimmed) once
/// for the class. Trimming could drop what the option parser finds by reflection, so the
/// native command must say exactly what the in-process one says.
/// </summary>
public sealed class NativeUkfsFixture : IDisposable
{
    private readonly ScratchDir _dir = new("ukfs-native");

    public NativeUkfsFixture()
    {
        string prefix = _dir.File("prefix");
        Install = OracleTool.Run(Path.Combine(Corpus.RepoRoot, "scripts", "install"),
            ["--prefix", prefix, "ukfs"], timeout: TimeSpan.FromMinutes(15));
        Binary = Path.Combine(prefix, "bin", "ukfs");
    }

    public ToolResult Install { get; }

    public string Binary { get; }

    public void Dispose() => _dir.Dispose();
}

public sealed class NativeUkfsTests : IClassFixture<NativeUkfsFixture>, IDisposable
{
    private readonly NativeUkfsFixture _native;
    private readonly ScratchDir _dir = new("ukfs-native-run");
    private readonly CliHarness _inProcess = CliHarness.OnImages();

    public NativeUkfsTests(NativeUkfsFixture native)
    {
        _native = native;
        Assert.True(native.Install.ExitCode == 0 && File.Exists(native.Binary), native.Install.Transcript);
        FsDrivers.AllDrivers.Register();
    }

    public void Dispose()
    {
        _inProcess.Dispose();
        _dir.Dispose();
    }

    private ToolResult Native(params string[] args) => OracleTool.Run(_native.Binary, args);

    /// <summary>An ext4 image made by mke2fs -d from a small tree.</summary>
    private string Ext4Image()
    {
        string tree = _dir.File("tree");
        Directory.CreateDirectory(Path.Combine(tree, "sub"));
        File.WriteAllText(Path.Combine(tree, "hello.txt"), "hello\n");
        Assert.Null(RumpFs.Tools.Ukfs.HostXattrs.Set(Path.Combine(tree, "hello.txt"), "user.note", "café\n"u8.ToArray()));
        File.WriteAllBytes(Path.Combine(tree, "sub", "data.bin"), Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7)).ToArray());
        File.CreateSymbolicLink(Path.Combine(tree, "link"), "hello.txt");
        string image = _dir.File("ext4.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-E", "hash_seed=0b7e8f9a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            "-d", tree, image, "16M");
        return image;
    }

    [Theory]
    [InlineData("ls", "-l", "-R", "/")]
    [InlineData("ls", "-R", "--json", "/")]
    [InlineData("stat", "--json", "/sub/data.bin")]
    [InlineData("df", "--json")]
    [InlineData("info", "--json")]
    [InlineData("probe", "--json")]
    [InlineData("find", "/", "-type", "f")]
    [InlineData("tree", "/")]
    [InlineData("cat", "/hello.txt")]
    [InlineData("fsck", "-n")]
    [InlineData("getfattr", "/hello.txt")]
    [InlineData("getfattr", "--json", "-h", "/hello.txt", "/link")]
    public void ReadCommand_SaysExactlyWhatTheInProcessCommandSays(params string[] command)
    {
        string image = Ext4Image();
        string[] args = [image, .. command];
        ToolResult native = Native(args);
        CliResult expected = _inProcess.Run(args);
        Assert.True(native.ExitCode == expected.Exit, native.Transcript);
        string expectedOut = command[0] == "cat" ? CliHarness.Text(expected) : expected.Stdout;
        Assert.Equal(expectedOut, native.Stdout);
        Assert.Equal(expected.Stderr, native.Stderr);
    }

    [Fact]
    public void GetPutNewfs_RoundTripThroughTheNativeCommand()
    {
        string image = Ext4Image();
        string got = _dir.File("got");
        ToolResult get = Native(image, "get", "/", got);
        Assert.True(get.ExitCode == 0, get.Transcript);
        Assert.Equal("hello\n", File.ReadAllText(Path.Combine(got, "hello.txt")));
        Assert.Equal(File.ReadAllBytes(_dir.File("tree/sub/data.bin")), File.ReadAllBytes(Path.Combine(got, "sub", "data.bin")));
        Assert.Equal("hello.txt", new FileInfo(Path.Combine(got, "link")).LinkTarget);
        Assert.Equal("café\n"u8.ToArray(), RumpFs.Tools.Ukfs.HostXattrs.Get(Path.Combine(got, "hello.txt"), "user.note"));

        ToolResult put = Native(image, "put", _dir.File("tree/sub/data.bin"), "/copy.bin");
        Assert.True(put.ExitCode == 0, put.Transcript);
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
        ToolResult debugfs = OracleTool.RunExpect(0, "debugfs", "-R", "stat /copy.bin", image);
        Assert.Contains("Size: 300000", debugfs.Stdout, StringComparison.Ordinal);
        ToolResult fromStdin = OracleTool.Run(_native.Binary, [image, "put", "-", "/from-stdin.txt"], stdin: "piped in\n");
        Assert.True(fromStdin.ExitCode == 0, fromStdin.Transcript);
        Assert.Equal("piped in\n", OracleTool.RunExpect(0, "debugfs", "-R", "cat /from-stdin.txt", image).Stdout);
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);

        string fat = _dir.File("new-fat.img");
        ToolResult newfs = Native(fat, "newfs", "-t", "msdos", "--from", _dir.File("tree/sub"), "8M");
        Assert.True(newfs.ExitCode == 0, newfs.Transcript);
        OracleTool.RunExpect(0, "fsck.fat", "-n", fat);
        ToolResult mtype = OracleTool.RunExpect(0, "mdir", "-b", "-i", fat, "::/");
        Assert.Contains("DATA.BIN", mtype.Stdout.ToUpperInvariant(), StringComparison.Ordinal);
    }

    [Fact]
    public void UserMistake_OneLineErrorAndExit1()
    {
        string image = Ext4Image();
        ToolResult missing = Native(image, "cat", "/no-such-file");
        Assert.True(missing.ExitCode == 1, missing.Transcript);
        Assert.Single(missing.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("ukfs: ", missing.Stderr, StringComparison.Ordinal);

        ToolResult badOption = Native(image, "ls", "--no-such-option");
        Assert.True(badOption.ExitCode == 1, badOption.Transcript);
        Assert.Equal(_inProcess.Run(image, "ls", "--no-such-option").Stderr, badOption.Stderr);
    }

    /// <summary>
    /// `cat` into a pipe whose reader has gone: the command stops at once with SIGPIPE's
    /// status and nothing on stderr, as cat does, instead of reading a terabyte into it.
    /// Output to a file opened for appending still lands after what was there.
    /// </summary>
    [Fact]
    public void CatIntoAClosedPipe_StopsWith141_AppendStillAppends()
    {
        string image = Ext4Image();
        ToolResult sparse = Native(image, "truncate", "-s", "1T", "/sparse");
        Assert.True(sparse.ExitCode == 0, sparse.Transcript);
        ToolResult piped = OracleTool.Run("bash", ["-c", $"timeout 60 '{_native.Binary}' '{image}' cat /sparse | head -c 3 | wc -c; echo \"status ${{PIPESTATUS[0]}}\""]);
        Assert.Equal("3\nstatus 141\n", piped.Stdout);
        Assert.Equal("", piped.Stderr);

        string log = _dir.File("appended.txt");
        File.WriteAllText(log, "before\n");
        ToolResult appended = OracleTool.Run("bash", ["-c", $"'{_native.Binary}' '{image}' cat /hello.txt >> '{log}'; echo after >> '{log}'"]);
        Assert.True(appended.ExitCode == 0, appended.Transcript);
        Assert.Equal("before\nhello\nafter\n", File.ReadAllText(log));
    }
}

