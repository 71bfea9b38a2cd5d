using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// Names that are not UTF-8 (here Latin-1 "café" and a 0xFF byte), as a shell hands them to
/// the real `ukfs` process: taken from the command line and printed byte for byte, escaped
/// in JSON as Python's json module does, and refused by name where the host side cannot
/// keep them.
/// </summary>
public sealed class CliNonUtf8NameTests : IDisposable
{
    private readonly ScratchDir _dir = new("ukfs-latin1");

    public void Dispose() => _dir.Dispose();

    private static string UkfsDll => Path.Combine(AppContext.BaseDirectory, "ukfs.dll");

    /// <summary>An ext4 image by mke2fs -d with "caf\xe9", a link "link\xff" to it, and "ok.txt".</summary>
    private string Image()
    {
        string tree = _dir.File("tree");
        const string MakeTree = """
            set -e
            mkdir -p "$1"
            printf 'latin one' > "$1/$(printf 'caf\351')"
            ln -s "$(printf 'caf\351')" "$1/$(printf 'link\377')"
            printf 'plain' > "$1/ok.txt"
            """;
        OracleTool.RunExpect(0, "bash", "-c", MakeTree, "bash", tree);
        string img = _dir.File("latin1.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "8M");
        return img;
    }

    /// <summary>Runs <paramref name="script"/> with $U the ukfs command and $1 the image.</summary>
    private static ToolResult Shell(string script, string img) =>
        OracleTool.Run("bash", ["-c", $"U() {{ dotnet '{UkfsDll}' \"$@\"; }}\n{script}", "bash", img]);

    [Fact]
    public void LsAndFind_PrintTheNamesBytes_AndCatMvRmTakeThemFromTheCommandLine()
    {
        string img = Image();
        const string Script = """
            set -e
            [ "$(U "$1" ls /)" = "$(printf 'caf\351\nlink\377\nlost+found\nok.txt')" ] && echo ls-bytes
            U "$1" find / --name "$(printf 'caf\351')" | od -An -tx1 | tr -d ' \n'; echo
            U "$1" cat "$(printf '/link\377')"; echo
            U "$1" mv "$(printf '/caf\351')" "$(printf '/re\351named')"
            U "$1" rm "$(printf '/link\377')"
            debugfs -R "cat /$(printf 're\351named')" "$1" 2>/dev/null; echo
            """;
        ToolResult r = Shell(Script, img);
        Assert.True(r.ExitCode == 0, r.Transcript);
        Assert.Equal("ls-bytes\n2f636166e90a\nlatin one\nlatin one\n", r.Stdout);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        Assert.DoesNotContain("link", OracleTool.RunExpect(0, "debugfs", "-R", "ls /", img).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_NameTheBytes()
    {
        string img = Image();
        ToolResult r = Shell("U \"$1\" cat \"$(printf '/nope\\351')\" 2>&1 >/dev/null | od -An -tx1 | tr -d ' \\n'", img);
        string expected = Convert.ToHexStringLower("ukfs: /nope"u8) + "e9" + Convert.ToHexStringLower(": No such file or directory\n"u8);
        Assert.Equal(expected, r.Stdout);
    }

    [Fact]
    public void Json_EscapesTheBytesAsLoneSurrogates()
    {
        string img = Image();
        ToolResult r = Shell("U \"$1\" ls --json /", img);
        Assert.True(r.ExitCode == 0, r.Transcript);
        Assert.Contains("\"name\": \"caf\\udce9\"", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"name\": \"link\\udcff\"", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"target\": \"caf\\udce9\"", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"name\": \"ok.txt\"", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_CopiesUtf8NamesAndRefusesTheOthersByName_Exit1()
    {
        string img = Image();
        string outDir = _dir.File("out");
        ToolResult r = OracleTool.Run("dotnet", [UkfsDll, img, "get", "/", outDir]);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("plain", File.ReadAllText(Path.Combine(outDir, "ok.txt")));
        Assert.Equal(["lost+found", "ok.txt"], Directory.EnumerateFileSystemEntries(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.EndsWith(": name is not UTF-8, not copied (get keeps UTF-8 names only)", l, StringComparison.Ordinal));
    }

    [Fact]
    public void Put_RefusesAHostNameThatIsNotUtf8ByName_Exit1()
    {
        string img = Image();
        string host = _dir.File("host");
        OracleTool.RunExpect(0, "bash", "-c", "mkdir -p \"$1\" && printf x > \"$1/$(printf 'h\\351')\" && printf y > \"$1/fine\"", "bash", host);
        ToolResult r = OracleTool.Run("dotnet", [UkfsDll, img, "put", host, "/in"]);
        Assert.Equal(1, r.ExitCode);
        Assert.EndsWith(": name is not UTF-8, not copied (put keeps UTF-8 names only)\n", r.Stderr, StringComparison.Ordinal);
        Assert.Equal("y", OracleTool.RunExpect(0, "debugfs", "-R", "cat /in/fine", img).Stdout);
    }
}

public class RawArgumentsTests
{
    private static byte[] Cmdline(params string[] hexOrText) =>
        [.. hexOrText.SelectMany(a => (a.StartsWith("0x", StringComparison.Ordinal) ? Convert.FromHexString(a[2..]) : System.Text.Encoding.UTF8.GetBytes(a)).Append((byte)0))];

    [Fact]
    public void ArgumentsThatLostBytes_GetThemBackAsEscapes_PastTheHostsOwnArguments()
    {
        byte[] cmdline = Cmdline("dotnet", "/x/ukfs.dll", "img", "cat", "0x2f636166e9");
        string[] recovered = Tools.Ukfs.RawArguments.Recover(["img", "cat", "/caf\uFFFD"], cmdline);
        Assert.Equal(["img", "cat", "/caf\uDCE9"], recovered);
    }

    [Fact]
    public void CmdlineThatDoesNotLineUp_LeavesTheArgumentsAlone()
    {
        string[] args = ["img", "cat", "/caf\uFFFD"];
        Assert.Same(args, Tools.Ukfs.RawArguments.Recover(args, Cmdline("ukfs", "other", "cat", "0x2f636166e9")));
        Assert.Same(args, Tools.Ukfs.RawArguments.Recover(args, Cmdline("0x2f636166e9")));
    }
}
