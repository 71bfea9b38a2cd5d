using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// `ukfs chmod` and `mkdir -m` take modes as chmod(1) and mkdir(1) do, octal or symbolic:
/// each spec is applied to files and directories of several starting modes, on the host by
/// GNU chmod and in an image by ukfs, and the modes must come out the same.
/// </summary>
public sealed class CliChmodTests : IDisposable
{
    private static readonly uint[] StartModes = [0x1A4 /* 0644 */, 0x1ED /* 0755 */, 0x180 /* 0600 */, 0x5ED /* 02755 */,
        0x9C9 /* 04711 */, 0x3FF /* 01777 */, 0, 0x38 /* 0070 */];

    private readonly CliHarness _cli = CliHarness.OnTmpfs();
    private readonly ScratchDir _dir = new("ukfs-chmod");

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    public static TheoryData<string> Specs =>
    [
        "u+x", "go-w", "a=r", "+X", "-w", "=", "g=u", "o=g", "u+s,g+s", "+t", "u=rwx,g=rx,o=", "a+rwX",
        "ug+rw,o-rwx", "u-x+r", "g+X", "755", "00755", "2750", "o+t,u+s", "=rx", "a-s", "g-s", "g=o,o=u", "-x,o-r",
    ];

    [Theory]
    [MemberData(nameof(Specs))]
    public void Chmod_GivesTheModeGnuChmodGives(string spec)
    {
        int n = 0;
        foreach (uint start in StartModes)
        {
            foreach (bool directory in new[] { false, true })
            {
                string name = $"n{n++}";
                string host = Path.Combine(_dir.Path, name);
                string inImage = "/" + name;
                if (directory)
                {
                    Directory.CreateDirectory(host);
                    _cli.Tmpfs.Mkdir(inImage);
                }
                else
                {
                    File.WriteAllText(host, "");
                    _cli.Tmpfs.WriteAllBytes(inImage, []);
                }
                File.SetUnixFileMode(host, (UnixFileMode)start);
                _cli.Tmpfs.Chmod(inImage, start);

                // GNU chmod exits 1 when the umask kept a clause from giving what it asked; the mode is what counts.
                OracleTool.Run("chmod", "--", spec, host);
                _cli.Ok("img", "chmod", spec, inImage);

                uint want = (uint)File.GetUnixFileMode(host);
                uint got = _cli.Tmpfs.Stat(inImage).Mode & 0xFFF;
                Assert.True(want == got,
                    $"chmod {spec} on {(directory ? "a directory" : "a file")} of mode {Convert.ToString(start, 8)}: "
                    + $"GNU chmod gives {Convert.ToString(want, 8)}, ukfs {Convert.ToString(got, 8)}");
            }
        }
    }

    [Theory]
    [InlineData("700")]
    [InlineData("u=rwx,go=")]
    [InlineData("g-w")]
    [InlineData("a=rx,u+w")]
    public void MkdirMode_GivesTheModeGnuMkdirGives(string spec)
    {
        string host = Path.Combine(_dir.Path, "made");
        OracleTool.RunExpect(0, "mkdir", "-m", spec, host);
        _cli.Ok("img", "mkdir", "-m", spec, "/made");
        Assert.Equal((uint)File.GetUnixFileMode(host), _cli.Tmpfs.Stat("/made").Mode & 0xFFF);
        Assert.Equal(VType.Directory, _cli.Tmpfs.Stat("/made").Type);
    }

    [Theory]
    [InlineData("u+q")]
    [InlineData("u")]
    [InlineData("")]
    [InlineData("u+x,")]
    [InlineData("8755")]
    [InlineData("777777")]
    [InlineData("x+u")]
    public void BadMode_OneLineError_NothingChanged(string spec)
    {
        _cli.Tmpfs.WriteAllBytes("/f", []);
        _cli.Tmpfs.Chmod("/f", 0x1A4);
        CliResult r = _cli.Fails("img", "chmod", spec, "/f");
        Assert.Contains("bad mode", r.Stderr, StringComparison.Ordinal);
        Assert.Equal(0x1A4u, _cli.Tmpfs.Stat("/f").Mode & 0xFFF);
    }

    [Fact]
    public void Find_TakesFindsOneDashTests()
    {
        _cli.Tmpfs.Mkdir("/d");
        _cli.Tmpfs.WriteAllBytes("/d/big.txt", new byte[5000]);
        _cli.Tmpfs.WriteAllBytes("/d/small.txt", new byte[10]);
        Assert.Equal("/d/big.txt\n", _cli.Ok("img", "find", "/", "-name", "*.txt", "-type", "f", "-size", "+4k").Stdout);
        Assert.Equal(_cli.Ok("img", "find", "/", "--name", "*.txt").Stdout, _cli.Ok("img", "find", "/", "-name", "*.txt").Stdout);
    }

    [Fact]
    public void DashDash_EndsOptions_ForNamesStartingWithADash()
    {
        _cli.Tmpfs.WriteAllBytes("/-x", [1]);
        _cli.Ok("img", "rm", "--", "-x");
        Assert.False(_cli.Tmpfs.Exists("/-x"));
    }
}
