using System.Text;
using System.Text.Json;
using RumpFs.TestSupport;
using RumpFs.Tools.Ukfs;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// `ukfs getfattr` and `setfattr` on ext4 images, checked against the attr package's
/// getfattr on the kernel's own ext4 driver (a read-only loop mount) and against e2fsck.
/// </summary>
public sealed class CliXattrTests : IDisposable
{
    private readonly ScratchDir _dir = new("ukfs-xattr");
    private readonly CliHarness _cli = CliHarness.OnImages();

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    /// <summary>Values of every kind getfattr tells apart: text, quotes, a final NUL, binary, UTF-8, empty.</summary>
    private static readonly (string Name, byte[] Value)[] s_values =
    [
        ("user.text", "plain words"u8.ToArray()),
        ("user.quoted", "say \"hi\" \\ bye\n"u8.ToArray()),
        ("user.cstring", "with nul\0"u8.ToArray()),
        ("user.binary", [0, 1, 2, 0xFF, 0x80, 0x7F]),
        ("user.utf8", Encoding.UTF8.GetBytes("café ☕")),
        ("user.empty", []),
    ];

    private string ImageMadeByMke2fs()
    {
        string tree = Path.Combine(_dir.Path, "tree");
        Directory.CreateDirectory(tree);
        string file = Path.Combine(tree, "f");
        File.WriteAllText(file, "x");
        foreach ((string name, byte[] value) in s_values)
        {
            Assert.Null(HostXattrs.Set(file, name, value));
        }
        string img = _dir.File("x.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "8M");
        return img;
    }

    /// <summary>getfattr -d -m - on the kernel's read-only loop mount, without the "# file:" header.</summary>
    private string[] KernelGetfattr(string img, string path, params string[] options)
    {
        string mnt = Path.Combine(_dir.Path, "mnt");
        Directory.CreateDirectory(mnt);
        OracleTool.RunExpect(0, "mount", "-o", "ro,loop", "-t", "ext4", img, mnt);
        try
        {
            string output = OracleTool.RunExpect(0, "getfattr", ["-d", "-m", "-", .. options, mnt + path]).Stdout;
            return Lines(output);
        }
        finally
        {
            if (OracleTool.Run("umount", mnt).ExitCode != 0)
            {
                OracleTool.Run("umount", "-l", mnt);
            }
        }
    }

    private static string[] Lines(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("# file:", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    [Theory]
    [InlineData(null)]
    [InlineData("text")]
    [InlineData("hex")]
    [InlineData("base64")]
    public void Getfattr_ShowsWhatGetfattrShowsOnTheKernelsMount(string? encoding)
    {
        string img = ImageMadeByMke2fs();
        string[] options = encoding is null ? [] : ["-e", encoding];
        CliResult ours = _cli.Ok([img, "getfattr", .. options, "/f"]);
        Assert.StartsWith("# file: /f\n", ours.Stdout, StringComparison.Ordinal);
        string[] kernel = KernelGetfattr(img, "/f", options);
        if (encoding == "text")
        {
            // getfattr writes bytes that are not UTF-8 as they are; ukfs escapes them.
            const string binary = "user.binary=\"\\000\u0001\u0002\\377\\200\u007f\"";
            Assert.Contains(binary, Lines(ours.Stdout));
            kernel = [.. kernel.Where(l => !l.StartsWith("user.binary=", StringComparison.Ordinal)).Append(binary).Order(StringComparer.Ordinal)];
        }
        Assert.Equal(kernel, Lines(ours.Stdout));
    }

    /// <summary>getfattr's own -d and -m: a pattern picks names as the attr package's getfattr picks them on the kernel's mount.</summary>
    [Fact]
    public void Getfattr_DumpAndMatchOptions_AsGetfattrTakesThem()
    {
        string img = ImageMadeByMke2fs();
        Assert.Equal(_cli.Ok(img, "getfattr", "/f").Stdout, _cli.Ok(img, "getfattr", "-d", "-m", "-", "/f").Stdout);
        const string Pattern = "^user\\.(text|utf8)$";
        string[] ours = Lines(_cli.Ok(img, "getfattr", "-d", "-m", Pattern, "/f").Stdout);
        Assert.Equal(2, ours.Length);
        Assert.Equal(KernelGetfattr(img, "/f", ["-m", Pattern]), ours);
        Assert.Contains("not a regular expression", _cli.Fails(img, "getfattr", "-m", "(", "/f").Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Setfattr_EveryValueForm_TheKernelReadsTheBytes_RemoveTakesItAway()
    {
        string img = _dir.File("w.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", img, "8M");
        _cli.Ok(img, "touch", "/f");
        _cli.Ok(img, "setfattr", "-n", "user.quoted", "-v", "\"tab\\011 quote\\\" back\\\\\"", "/f");
        _cli.Ok(img, "setfattr", "-n", "user.hex", "-v", "0x00fF10", "/f");
        _cli.Ok(img, "setfattr", "-n", "user.b64", "-v", "0sAAEC", "/f");
        _cli.Ok(img, "setfattr", "-n", "user.raw", "-v", "as is\\n", "/f");
        _cli.Ok(img, "setfattr", "-n", "user.none", "/f");
        _cli.Ok(img, "setfattr", "-n", "user.gone", "-v", "x", "/f");
        _cli.Ok(img, "setfattr", "-x", "user.gone", "/f");
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        Assert.Equal(
            new[]
            {
                "user.b64=0x000102",
                "user.hex=0x00ff10",
                "user.none=0x",
                "user.quoted=0x746162092071756f746522206261636b5c",
                "user.raw=0x61732069735c6e",
            },
            KernelGetfattr(img, "/f", "-e", "hex"));
    }

    [Fact]
    public void Getfattr_Json_NamesBase64AndTextWhenItIsText()
    {
        string img = ImageMadeByMke2fs();
        using JsonDocument doc = JsonDocument.Parse(_cli.Ok(img, "getfattr", "--json", "/f").Stdout);
        JsonElement file = Assert.Single(doc.RootElement.EnumerateArray().ToArray());
        Assert.Equal("/f", file.GetProperty("path").GetString());
        var byName = file.GetProperty("attributes").EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!);
        Assert.Equal(s_values.Select(v => v.Name).Order(StringComparer.Ordinal), byName.Keys.Order(StringComparer.Ordinal));
        foreach ((string name, byte[] value) in s_values)
        {
            Assert.Equal(value, Convert.FromBase64String(byName[name].GetProperty("base64").GetString()!));
        }
        Assert.Equal("café ☕", byName["user.utf8"].GetProperty("text").GetString());
        Assert.False(byName["user.binary"].TryGetProperty("text", out _));
        Assert.False(byName["user.cstring"].TryGetProperty("text", out _));
    }

    [Fact]
    public void Mistakes_OneLineAndExit1_TheImageUntouched()
    {
        string img = ImageMadeByMke2fs();
        byte[] before = File.ReadAllBytes(img);
        // Mistakes in the arguments are found before the image is opened.
        Assert.Contains("the encodings are", _cli.Fails(img, "getfattr", "-e", "octal", "/f").Stderr, StringComparison.Ordinal);
        Assert.Contains("either -n", _cli.Fails(img, "setfattr", "/f").Stderr, StringComparison.Ordinal);
        Assert.Contains("either -n", _cli.Fails(img, "setfattr", "-n", "user.a", "-x", "user.b", "/f").Stderr, StringComparison.Ordinal);
        Assert.Contains("-v goes with -n", _cli.Fails(img, "setfattr", "-x", "user.a", "-v", "1", "/f").Stderr, StringComparison.Ordinal);
        Assert.Contains("hex digits", _cli.Fails(img, "setfattr", "-n", "user.a", "-v", "0x123", "/f").Stderr, StringComparison.Ordinal);
        Assert.Contains("not base64", _cli.Fails(img, "setfattr", "-n", "user.a", "-v", "0s!!", "/f").Stderr, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(img));

        // What only the image can tell: one line, exit 1, the image still clean.
        Assert.Contains("/f: user.nope: no such attribute", _cli.Fails(img, "getfattr", "-n", "user.nope", "/f").Stderr, StringComparison.Ordinal);
        Assert.Contains("/nope: No such file", _cli.Fails(img, "getfattr", "/nope").Stderr, StringComparison.Ordinal);
        Assert.Contains("/f: user.nope: no such attribute", _cli.Fails(img, "setfattr", "-x", "user.nope", "/f").Stderr, StringComparison.Ordinal);
        // The ext2 driver writes user.*, trusted.* and security.* only; a prefix alone names nothing.
        Assert.Contains("/f: system.t: Operation not supported", _cli.Fails(img, "setfattr", "-n", "system.t", "-v", "1", "/f").Stderr, StringComparison.Ordinal);
        Assert.Contains("/f: user.: Invalid argument", _cli.Fails(img, "setfattr", "-n", "user.", "-v", "1", "/f").Stderr, StringComparison.Ordinal);
        OracleTool.RunExpect(0, "e2fsck", "-fn", img);
        Assert.Equal(s_values.Length, KernelGetfattr(img, "/f").Length);
    }

    [Fact]
    public void OtherWritingCommands_AMistakeInTheirArguments_LeavesTheImageAsItWas()
    {
        string img = ImageMadeByMke2fs();
        byte[] before = File.ReadAllBytes(img);
        Assert.Contains("mode", _cli.Fails(img, "chmod", "9z9", "/f").Stderr, StringComparison.Ordinal);
        Assert.Contains("bad owner", _cli.Fails(img, "chown", "root", "/f").Stderr, StringComparison.Ordinal);
        Assert.Contains("mode", _cli.Fails(img, "mkdir", "-m", "rwx", "/d").Stderr, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(img));
    }

    [Fact]
    public void ValueForms_RoundTripEveryByte()
    {
        byte[] all = [.. Enumerable.Range(0, 256).Select(i => (byte)i)];
        foreach (string encoding in new[] { "text", "hex", "base64" })
        {
            Assert.Equal(all, XattrValues.Decode(XattrValues.Encode(all, encoding)));
        }
        Assert.Equal("\"a\\\"b\\\\c\\000\\377\"", XattrValues.Encode([(byte)'a', (byte)'"', (byte)'b', (byte)'\\', (byte)'c', 0, 0xFF, 0], "text"));
        Assert.Equal("\"text\"", XattrValues.Encode("text\0"u8.ToArray(), null)); // one final NUL dropped
        Assert.Equal("0sAP8=", XattrValues.Encode([0, 0xFF], null));
        Assert.Equal("\"\"", XattrValues.Encode([], null));
    }
}
