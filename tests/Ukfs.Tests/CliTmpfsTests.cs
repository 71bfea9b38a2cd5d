using System.Text.Json;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Ukfs.Tests;

/// <summary>Every `ukfs` command in both output forms, served from a tmpfs mount.</summary>
public sealed class CliTmpfsTests : IDisposable
{
    private const string Img = "mem.img";
    private readonly CliHarness _cli = CliHarness.OnTmpfs();
    private readonly ScratchDir _host = new("ukfs-cli");

    public CliTmpfsTests()
    {
        UkfsMount fs = _cli.Tmpfs;
        fs.Mkdir("/etc/sub", parents: true);
        fs.WriteAllBytes("/etc/passwd", "root:x:0:0\n"u8);
        fs.WriteAllBytes("/etc/sub/big.bin", new byte[5000]);
        fs.Symlink("passwd", "/etc/pw");
        fs.Chmod("/etc/passwd", 0x1A4);
        fs.SetTimes("/etc/passwd", new Timespec(981173106, 123456789), new Timespec(981173106, 123456789));
    }

    public void Dispose()
    {
        _cli.Dispose();
        _host.Dispose();
    }

    [Fact]
    public void Ls_PlainLongRecursiveAndJson()
    {
        Assert.Equal("passwd\npw\nsub\n", _cli.Ok(Img, "ls", "/etc").Stdout);
        string l = _cli.Ok(Img, "ls", "-l", "/etc").Stdout;
        Assert.Contains("-rw-r--r--   1     0     0         11 2001-02-03 04:05 passwd", l, StringComparison.Ordinal);
        Assert.Contains("pw -> passwd", l, StringComparison.Ordinal);
        string r = _cli.Ok(Img, "ls", "-R", "/etc").Stdout;
        Assert.Contains("/etc/sub:\nbig.bin\n", r, StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(_cli.Ok(Img, "ls", "-R", "--json", "/etc").Stdout);
        var items = doc.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("path").GetString()!);
        Assert.Equal(4, items.Count);
        Assert.Equal("file", items["/etc/passwd"].GetProperty("type").GetString());
        Assert.Equal("0644", items["/etc/passwd"].GetProperty("mode").GetString());
        Assert.Equal(11, items["/etc/passwd"].GetProperty("size").GetInt64());
        Assert.Equal("2001-02-03T04:05:06.123456789Z", items["/etc/passwd"].GetProperty("mtime").GetString());
        Assert.Equal("passwd", items["/etc/pw"].GetProperty("target").GetString());
        Assert.Equal(5000, items["/etc/sub/big.bin"].GetProperty("size").GetInt64());
    }

    [Fact]
    public void Cat_WritesBytes_MissingFileIsOneErrorLine()
    {
        Assert.Equal("root:x:0:0\n", CliHarness.Text(_cli.Ok(Img, "cat", "/etc/pw")));
        CliResult r = _cli.Fails(Img, "cat", "/nope");
        Assert.Equal("ukfs: /nope: No such file or directory\n", r.Stderr);
    }

    [Fact]
    public void Stat_TextAndJson()
    {
        string t = _cli.Ok(Img, "stat", "/etc/passwd").Stdout;
        Assert.Contains("Size: 11", t, StringComparison.Ordinal);
        Assert.Contains("Access: (0644/-rw-r--r--)", t, StringComparison.Ordinal);
        Assert.Contains("Modify: 2001-02-03T04:05:06.123456789Z", t, StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(_cli.Ok(Img, "stat", "--json", "/etc/pw").Stdout);
        JsonElement e = Assert.Single(doc.RootElement.EnumerateArray());
        Assert.Equal("symlink", e.GetProperty("type").GetString());
        using JsonDocument followed = JsonDocument.Parse(_cli.Ok(Img, "stat", "-L", "--json", "/etc/pw").Stdout);
        Assert.Equal("file", followed.RootElement[0].GetProperty("type").GetString());
    }

    [Fact]
    public void Df_TextAndJson()
    {
        Assert.Contains("tmpfs", _cli.Ok(Img, "df").Stdout, StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(_cli.Ok(Img, "df", "--json").Stdout);
        Assert.Equal("tmpfs", doc.RootElement.GetProperty("fsType").GetString());
        StatVfs st = _cli.Tmpfs.Statvfs();
        Assert.Equal(st.Blocks, doc.RootElement.GetProperty("blocks").GetInt64());
        Assert.Equal(st.FilesFree, doc.RootElement.GetProperty("filesFree").GetInt64());
    }

    [Fact]
    public void Info_TextAndJson()
    {
        Assert.Contains("type:", _cli.Ok(Img, "info").Stdout, StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(_cli.Ok(Img, "info", "--json").Stdout);
        Assert.Equal("tmpfs", doc.RootElement.GetProperty("fsType").GetString());
        Assert.Equal(JsonValueKind.Object, doc.RootElement.GetProperty("superblock").ValueKind);
    }

    [Fact]
    public void Tree_DrawsTheHierarchyAndCounts()
    {
        string t = _cli.Ok(Img, "tree", "/etc").Stdout;
        Assert.Equal("/etc\n|-- passwd\n|-- pw -> passwd\n`-- sub\n    `-- big.bin\n\n2 directories, 3 files\n", t);
    }

    [Fact]
    public void Find_ByNameTypeAndSize()
    {
        Assert.Equal("/etc/passwd\n/etc/pw\n", _cli.Ok(Img, "find", "/etc", "--name", "p*").Stdout);
        Assert.Equal("/etc\n/etc/sub\n", _cli.Ok(Img, "find", "/etc", "--type", "d").Stdout);
        Assert.Equal("/etc/pw\n", _cli.Ok(Img, "find", "/etc", "--type", "l").Stdout);
        Assert.Equal("/etc/sub/big.bin\n", _cli.Ok(Img, "find", "/etc", "--type", "f", "--size", "+4k").Stdout);
        Assert.Equal("/etc/passwd\n", _cli.Ok(Img, "find", "/etc", "--type", "f", "--size", "11c").Stdout);
        _cli.Fails(Img, "find", "/", "--type", "x");
    }

    [Fact]
    public void Mutations_MkdirTouchLnMvChmodChownRm()
    {
        _cli.Ok(Img, "mkdir", "-p", "-m", "700", "/a/b/c");
        Assert.Equal(0x1C0u, _cli.Tmpfs.Stat("/a/b/c").Mode);
        _cli.Ok(Img, "touch", "/a/new");
        Assert.Equal(0, _cli.Tmpfs.Stat("/a/new").Size);
        _cli.Ok(Img, "ln", "/a/new", "/a/hard");
        Assert.Equal(2u, _cli.Tmpfs.Stat("/a/new").Nlink);
        _cli.Ok(Img, "ln", "-s", "new", "/a/soft");
        Assert.Equal("new", _cli.Tmpfs.ReadLink("/a/soft"));
        _cli.Ok(Img, "mv", "/a/new", "/a/b");
        Assert.True(_cli.Tmpfs.Exists("/a/b/new"));
        _cli.Ok(Img, "chmod", "4750", "/a/b/new");
        Assert.Equal(0x9E8u, _cli.Tmpfs.Stat("/a/b/new").Mode);
        _cli.Ok(Img, "chown", "1000:50", "/a/b/new");
        VAttr va = _cli.Tmpfs.Stat("/a/b/new");
        Assert.Equal((1000u, 50u), (va.Uid, va.Gid));
        _cli.Ok(Img, "chown", ":7", "/a/hard");
        Assert.Equal(7u, _cli.Tmpfs.Stat("/a/hard").Gid);
        Assert.Contains("rm -r", _cli.Fails(Img, "rm", "/a").Stderr, StringComparison.Ordinal);
        _cli.Ok(Img, "rm", "-r", "/a");
        Assert.False(_cli.Tmpfs.Exists("/a"));
        _cli.Ok(Img, "rm", "-f", "/a");
        _cli.Fails(Img, "rm", "/a");
    }

    [Fact]
    public void UserMistakes_OneLineAndExit1()
    {
        Assert.Contains("unknown command 'frob'", _cli.Fails(Img, "frob").Stderr, StringComparison.Ordinal);
        Assert.Contains("missing COMMAND", _cli.Fails(Img).Stderr, StringComparison.Ordinal);
        Assert.Contains("unknown option '-z'", _cli.Fails("-z", Img, "ls").Stderr, StringComparison.Ordinal);
        Assert.Contains("unknown option", _cli.Fails(Img, "ls", "--bogus").Stderr, StringComparison.Ordinal);
        Assert.Contains("bad mode", _cli.Fails(Img, "chmod", "9z", "/etc").Stderr, StringComparison.Ordinal);
        Assert.Contains("numeric", _cli.Fails(Img, "chown", "root", "/etc").Stderr, StringComparison.Ordinal);
        Assert.Contains("mv:", _cli.Fails(Img, "mv", "/etc").Stderr, StringComparison.Ordinal);
        Assert.Contains("bad MBR partition number", _cli.Fails(Img + "%MBR:x%", "ls").Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_ListsEveryCommand()
    {
        CliResult r = _cli.Ok("--help");
        foreach (string verb in new[] { "ls", "cat", "get", "put", "cp", "mkdir", "rm", "mv", "ln", "chmod", "chown", "touch", "truncate", "fallocate", "stat", "df", "du", "tree", "find", "probe", "info", "getfattr", "setfattr", "getfacl", "setfacl", "lsattr", "chattr", "fsck", "newfs" })
        {
            Assert.Contains($"  {verb} ", r.Stdout, StringComparison.Ordinal);
        }
        Assert.Contains("--json", _cli.Ok(Img, "ls", "--help").Stdout, StringComparison.Ordinal);
    }
}
