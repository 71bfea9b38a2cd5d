using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// Names that are not UTF-8 (here Latin-1 "café" and a 0xFF byte), as a shell hands them to
/// the real `ukfs` process: taken from the command line and printed byte for byte, escaped
/// in JSON as Python's json module does, and copied by get and put with their bytes.
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
    public void Get_WritesTheNamesAndLinkTargetsBytes()
    {
        string img = Image();
        string outDir = _dir.File("out");
        ToolResult r = OracleTool.Run("dotnet", [UkfsDll, img, "get", "/", outDir]);
        Assert.True(r.ExitCode == 0 && r.Stderr.Length == 0, r.Transcript);
        const string Check = """
            set -e
            cd "$1"
            LC_ALL=C ls -b
            cat "$(printf 'caf\351')"; echo
            readlink "$(printf 'link\377')" | od -An -tx1 | tr -d ' \n'; echo
            cat "$(printf 'link\377')"; echo
            """;
        ToolResult check = OracleTool.Run("bash", "-c", Check, "bash", outDir);
        Assert.True(check.ExitCode == 0, check.Transcript);
        Assert.Equal("caf\\351\nlink\\377\nlost+found\nok.txt\nlatin one\n636166e90a\nlatin one\n", check.Stdout);
    }

    [Fact]
    public void Put_TakesHostNamesAndLinkTargetsAsBytes_AndGetGivesTheSameTreeBack()
    {
        string img = Image();
        string host = _dir.File("host");
        const string MakeHostTree = """
            set -e
            mkdir -p "$1/$(printf 'd\351')"
            printf x > "$1/$(printf 'h\351')"
            printf y > "$1/$(printf 'd\351')/$(printf '\377f')"
            ln -s "$(printf 'd\351/\377f')" "$1/$(printf 'l\351')"
            printf z > "$1/fine"
            """;
        OracleTool.RunExpect(0, "bash", "-c", MakeHostTree, "bash", host);
        ToolResult put = OracleTool.Run("dotnet", [UkfsDll, img, "put", host, "/in"]);
        Assert.True(put.ExitCode == 0 && put.Stderr.Length == 0, put.Transcript);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        // debugfs reads the names back from the image by their bytes.
        const string Debugfs = """
            set -e
            debugfs -R "cat /in/$(printf 'h\351')" "$1" 2>/dev/null; echo
            debugfs -R "cat /in/$(printf 'd\351')/$(printf '\377f')" "$1" 2>/dev/null; echo
            debugfs -R "stat /in/$(printf 'l\351')" "$1" 2>/dev/null | LC_ALL=C sed -n 's/^Fast link dest: "\(.*\)"$/\1/p' | od -An -tx1 | tr -d ' \n'; echo
            """;
        ToolResult seen = OracleTool.Run("bash", "-c", Debugfs, "bash", img);
        Assert.Equal("x\ny\n64e92fff660a\n", seen.Stdout);

        string back = _dir.File("back");
        ToolResult get = OracleTool.Run("dotnet", [UkfsDll, img, "get", "/in", back]);
        Assert.True(get.ExitCode == 0, get.Transcript);
        ToolResult diff = OracleTool.Run("diff", "-r", "--no-dereference", host, back);
        Assert.True(diff.ExitCode == 0, diff.Transcript);
    }

    [Fact]
    public void NewfsFrom_KeepsTheHostNamesBytes_AndSleuthkitReadsThem()
    {
        string tree = _dir.File("tree");
        OracleTool.RunExpect(0, "bash", "-c", """mkdir -p "$1" && printf q > "$1/$(printf 'n\351')" """, "bash", tree);
        string img = _dir.File("new.img");
        ToolResult r = OracleTool.Run("dotnet", [UkfsDll, img, "newfs", "-t", "ffs", "--from", tree, "16M"]);
        Assert.True(r.ExitCode == 0, r.Transcript);
        // fls prints the name's bytes; icat of the inode it names gives the data back.
        const string Check = """
            set -e
            entry=$(fls "$1" | LC_ALL=C grep -a "$(printf '\tn\351')\$")
            printf '%s' "$entry" | od -An -c | tr -s ' '
            icat "$1" "$(printf '%s' "$entry" | LC_ALL=C sed 's/^[^0-9]*\([0-9]*\).*/\1/')"
            """;
        ToolResult check = OracleTool.Run("bash", "-c", Check, "bash", img);
        Assert.True(check.ExitCode == 0, check.Transcript);
        Assert.Equal(" r / r 3 : \\t n 351\nq", check.Stdout);
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
