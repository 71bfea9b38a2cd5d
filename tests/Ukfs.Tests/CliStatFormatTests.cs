using RumpFs.Kernel;
using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// `ukfs stat -c`, `--printf` and `--terse` against GNU stat: on the kernel's ext4 (a loop
/// mount of the same image) for every file directive, and on host files of the same size,
/// mode, times and names for printf's flags, widths and precisions, the escapes and %N's
/// quoting.
/// </summary>
public sealed class CliStatFormatTests : IDisposable
{
    /// <summary>Every directive an image can answer as the kernel does (%d %D %m name the host's device and mount).</summary>
    private const string AllDirectives =
        "%a|%A|%b|%B|%f|%F|%g|%G|%h|%i|%N|%o|%s|%u|%U|%r|%R|%Hr|%Lr|%t|%T|%x|%X|%y|%Y|%z|%Z|%w|%W|%%|%j";

    private readonly ScratchDir _dir = new("ukfs-stat-format");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void EveryDirective_AsGnuStatOnTheKernelsMount()
    {
        string tree = _dir.File("tree");
        Directory.CreateDirectory(Path.Combine(tree, "sub"));
        File.WriteAllText(Path.Combine(tree, "text"), "hello\n");
        File.WriteAllBytes(Path.Combine(tree, "big"), new byte[70_000]);
        File.Create(Path.Combine(tree, "it's")).Dispose();
        File.CreateSymbolicLink(Path.Combine(tree, "link"), "text");
        OracleTool.RunExpect(0, "ln", Path.Combine(tree, "text"), Path.Combine(tree, "hard"));
        OracleTool.RunExpect(0, "mkfifo", Path.Combine(tree, "fifo"));
        OracleTool.RunExpect(0, "mknod", Path.Combine(tree, "tty"), "c", "4", "65");
        OracleTool.RunExpect(0, "chmod", "4751", Path.Combine(tree, "big"));
        OracleTool.RunExpect(0, "chown", "1234:77", Path.Combine(tree, "sub"));
        OracleTool.RunExpect(0, "touch", "-h", "-d", "2001-02-03 04:05:06.123456789", Path.Combine(tree, "link"));
        string img = _dir.File("stat.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-I", "256", "-d", tree, img, "8M");
        string[] names = ["/", "text", "big", "it's", "link", "hard", "fifo", "tty", "sub"];

        // The root's own %N is "'.'" from inside; named "/" it reads as ours does.
        string? theirs = KernelExt4.Run(_dir, img, "f=$1 && shift && stat -c \"$f\" \"$@\"", args: [AllDirectives, .. names.Select(n => n == "/" ? "." : n)])
            ?.Replace("'.'", "'/'", StringComparison.Ordinal);
        if (theirs is null)
        {
            return; // no loop mounts here
        }
        using var cli = CliHarness.OnImages();
        Assert.Equal(theirs, cli.Ok([img, "stat", "-c", AllDirectives, .. names]).Stdout);
    }

    [Theory]
    [InlineData("%s|%10s|%-10s|%010s|%+s|% s|%.5s|%8.5s|%-+8s|%0-8s")]
    [InlineData("%a|%#a|%5a|%-5a|%05a|%5.4a|%.0a|%#.5a|%+a")]
    [InlineData("%f|%#f|%10f|%#10f|%010f|%#010f|%.8f|%-#10f|%R|%#R")]
    [InlineData("%Y|%.Y|%.0Y|%.1Y|%.3Y|%.9Y|%.12Y|%20.3Y|%-20.3Y|%020.3Y|%+.2Y|% .2Y|%05.1Y")]
    [InlineData("%y|%.3y|%40y|%-40y|%.10x|%n|%8n|%-8n|%.2n|%.n|%A|%.4A|%12A|%F|%20F")]
    [InlineData("%h|%5h|%-5h|%05h|%u|%g|%B|%%|%j|%5j|%H|%Hx|%L")]
    [InlineData("%s|%")]
    public void PrintfFlags_AsGnuStat(string format)
    {
        string host = _dir.File("f");
        File.WriteAllBytes(host, new byte[12_345]);
        OracleTool.RunExpect(0, "chmod", "2755", host);
        OracleTool.RunExpect(0, "touch", "-d", "@1795836259.123456789", host);
        using var cli = CliHarness.OnTmpfs();
        cli.Tmpfs.WriteAllBytes("/f", new byte[12_345]);
        cli.Tmpfs.Chmod("/f", Convert.ToUInt32("2755", 8));
        var when = new Timespec(1_795_836_259, 123_456_789);
        cli.Tmpfs.SetTimes("/f", when, when);

        string theirs = OracleTool.RunExpect(0, "bash", "-c", "cd \"$1\" && stat -c \"$2\" f", "bash", _dir.Path, format).Stdout;
        Assert.Equal(theirs, cli.Ok("img", "stat", "-c", format, "f").Stdout);
    }

    [Fact]
    public void PrintfEscapes_AsGnuStat()
    {
        const string format = "\\e|\\\"|\\\\|\\0|\\08|\\1234|\\101|\\x4g|\\x41|\\xg|\\c|\\t%s\\n|%n\\";
        string host = _dir.File("f");
        File.WriteAllBytes(host, new byte[7]);
        using var cli = CliHarness.OnTmpfs();
        cli.Tmpfs.WriteAllBytes("/f", new byte[7]);
        ToolResult theirs = OracleTool.Run("bash", "-c", "cd \"$1\" && stat --printf \"$2\" f", "bash", _dir.Path, format);
        CliResult ours = cli.Run("img", "stat", "--printf", format, "f");
        Assert.Equal(0, ours.Exit);
        Assert.Equal(theirs.Stdout, ours.Stdout);
        Assert.Equal(WarningLines(theirs.Stderr, "stat: "), WarningLines(ours.Stderr, "ukfs: "));
    }

    private static string[] WarningLines(string stderr, string prefix) =>
        [.. stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[prefix.Length..])];

    [Theory]
    [InlineData("plain")]
    [InlineData("a b")]
    [InlineData("it's")]
    [InlineData("it's!")]
    [InlineData("it's$x")]
    [InlineData("a'b\"c")]
    [InlineData("d\"q")]
    [InlineData("dollar$")]
    [InlineData("!bang")]
    [InlineData("tab\there")]
    [InlineData("n\nl")]
    [InlineData("x\u0001y")]
    [InlineData("\u007f")]
    [InlineData("café")]
    [InlineData("'")]
    [InlineData("a'b c")]
    public void QuotedName_AsGnuStat(string name)
    {
        string dir = _dir.File("names-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.Create(Path.Combine(dir, name)).Dispose();
        using var cli = CliHarness.OnTmpfs();
        cli.Tmpfs.Create("/" + name);
        string theirs = OracleTool.RunExpect(0, "bash", "-c", "cd \"$1\" && stat -c %N -- \"$2\"", "bash", dir, name).Stdout;
        Assert.Equal(theirs, cli.Ok("img", "stat", "-c", "%N", "--", name).Stdout);
    }

    [Fact]
    public void QuotedName_ByteNotUtf8_AsOctalEscape()
    {
        using var cli = CliHarness.OnTmpfs();
        string name = Vfs.NameEncoding.GetString([(byte)'b', (byte)'a', (byte)'d', 0xFF, (byte)'z']);
        cli.Tmpfs.Create("/" + name);
        Assert.Equal("'/bad'$'\\377''z'\n", cli.Ok("img", "stat", "-c", "%N", "/" + name).Stdout);
    }

    [Fact]
    public void Terse_OneLineOfSixteenFields_PerFile()
    {
        using var cli = CliHarness.OnTmpfs();
        cli.Tmpfs.WriteAllBytes("/f", new byte[5]);
        cli.Tmpfs.Mkdir("/d");
        string[] lines = cli.Ok("img", "stat", "-t", "/f", "/d").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        string[] f = lines[0].Split(' ');
        Assert.Equal(16, f.Length);
        Assert.Equal(["/f", "5"], f[..2]);
        Assert.Equal("81a4", f[3]);
        Assert.StartsWith("/d ", lines[1], StringComparison.Ordinal);
        Assert.Equal("41ed", lines[1].Split(' ')[3]);
    }

    [Theory]
    [InlineData("%s|%-")]
    [InlineData("%-5")]
    [InlineData("a%.")]
    public void DirectiveCutShort_OneLineErrorAsGnuStat(string format)
    {
        using var cli = CliHarness.OnTmpfs();
        cli.Tmpfs.WriteAllBytes("/f", [1]);
        Assert.Equal(1, OracleTool.Run("stat", "-c", format, "/").ExitCode);
        CliResult r = cli.Fails("img", "stat", "-c", format, "/f");
        Assert.Equal($"ukfs: stat: '{format[format.LastIndexOf('%')..]}': invalid directive\n", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void FormatAndJson_OneLineError_NothingPrinted()
    {
        using var cli = CliHarness.OnTmpfs();
        cli.Tmpfs.WriteAllBytes("/f", [1]);
        CliResult r = cli.Fails("img", "stat", "-c", "%s", "--json", "/f");
        Assert.Equal("", r.Stdout);
        Assert.Contains("one of -c, --printf, --terse and --json", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_EachFileOnItsLine_MissingFileReportedAndExit1()
    {
        using var cli = CliHarness.OnTmpfs();
        cli.Tmpfs.WriteAllBytes("/a", new byte[3]);
        cli.Tmpfs.WriteAllBytes("/b", new byte[4]);
        CliResult r = cli.Run("img", "stat", "-c", "%n=%s", "/a", "/missing", "/b");
        Assert.Equal(1, r.Exit);
        Assert.Equal("/a=3\n/b=4\n", r.Stdout);
        Assert.Contains("/missing", r.Stderr, StringComparison.Ordinal);
    }
}
