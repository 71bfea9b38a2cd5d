using System.Text;
using RumpFs.Drivers.Tests.Ext2fs;
using RumpFs.Drivers.Tests.Ffs;
using RumpFs.Drivers.Tests.Msdosfs;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Integrity;

/// <summary>
/// Unix names are bytes. Images made by mke2fs and makefs from a folder whose names are
/// Latin-1 (not UTF-8) list, open and follow by those exact names; names the drivers write
/// come out byte for byte in debugfs and sleuthkit.
/// </summary>
public sealed class NonUtf8NameTests : IDisposable
{
    // "café" in Latin-1, a link named "link" + 0xFF, and "ét" + 0xE9 (UTF-8 then Latin-1).
    private const string Cafe = "caf\uDCE9";
    private const string Link = "link\uDCFF";
    private const string Mixed = "\u00E9t\uDCE9";
    private const string Made = "new\uDCFE\uDCFF";
    private const string Renamed = "re\uDCE9named";

    private const string MakeTree = """
        set -e
        mkdir -p "$1/sub"
        printf 'latin one\n' > "$1/$(printf 'caf\351')"
        ln -s "$(printf 'caf\351')" "$1/$(printf 'link\377')"
        printf 'nested\n' > "$1/sub/$(printf '\303\251t\351')"
        """;

    private readonly ScratchDir _scratch = new("nonutf8");

    public void Dispose() => _scratch.Dispose();

    private string Image(string kind)
    {
        string tree = _scratch.File("tree");
        OracleTool.RunExpect(0, "bash", "-c", MakeTree, "bash", tree);
        string img = _scratch.File(kind + ".img");
        switch (kind)
        {
            case "ext4":
                OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "8M");
                break;
            default:
                OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", "version=" + kind[^1], "-s", "8m", img, tree);
                break;
        }
        return img;
    }

    private static Mount MountImage(string kind, string img) =>
        kind == "ext4" ? Ext2Fixture.MountImage(img, readOnly: false) : FfsTestMount.Open(img, readOnly: false);

    [Theory]
    [InlineData("ext4")]
    [InlineData("ffs1")]
    [InlineData("ffs2")]
    public void LegacyNames_ListOpenAndFollowByTheirBytes_AndNewOnesAreWrittenAsGiven(string kind)
    {
        string img = Image(kind);
        Mount m = MountImage(kind, img);
        try
        {
            var h = new VfsHarness(m);
            Assert.Contains(Cafe, h.ListOk("/"));
            Assert.Contains(Link, h.ListOk("/"));
            Assert.Equal([Mixed], h.ListOk("/sub"));
            Assert.Equal("latin one\n", Encoding.UTF8.GetString(h.ReadAllOk("/" + Cafe)));
            Assert.Equal("nested\n", Encoding.UTF8.GetString(h.ReadAllOk("/sub/" + Mixed)));
            Assert.Equal(Errno.OK, h.Readlink("/" + Link, out string target));
            Assert.Equal(Cafe, target);
            Assert.Equal("latin one\n", Encoding.UTF8.GetString(h.ReadAllOk("/" + Link)));

            h.WriteFileOk("/" + Made, "made here"u8.ToArray());
            Assert.Equal(Errno.OK, h.Rename("/" + Cafe, "/" + Renamed));
            Assert.Equal(Errno.ENOENT, h.Stat("/" + Cafe, out _));
            Assert.Equal(Errno.OK, h.Symlink(Made, "/sub/to\uDCFF"));
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }

        // The image again, through an independent reader where one reads the format.
        string check = kind switch
        {
            "ext4" => """
                debugfs -R "cat /$(printf 'new\376\377')" "$1"
                debugfs -R "cat /$(printf 're\351named')" "$1"
                debugfs -R "stat /sub/$(printf 'to\377')" "$1" | grep -a 'Fast link dest'
                """,
            "ffs1" => """
                ino() { fls -r "$1" | LC_ALL=C awk -v n="$2" -F '\t' '$2 == n { k = split($1, f, " "); sub(":", "", f[k]); print f[k] }'; }
                icat "$1" "$(ino "$1" "$(printf 'new\376\377')")"
                icat "$1" "$(ino "$1" "$(printf 're\351named')")"
                # icat reads a fast link's blocks as zeros; istat shows its target.
                istat "$1" "$(ino "$1" "$(printf 'to\377')")" | grep -a 'symbolic link to:'
                """,
            _ => null!,
        };
        if (kind != "ffs2")
        {
            ToolResult r = OracleTool.RunExpect(0, "bash", "-c", "set -e -o pipefail\n" + check, "bash", img);
            string stdout = r.Stdout.Replace("\uFFFD", "?", StringComparison.Ordinal);
            string link = kind == "ext4" ? "Fast link dest: \"new??\"" : "symbolic link to: new??";
            Assert.Equal($"made herelatin one\n{link}\n", stdout);
        }
        if (kind == "ext4")
        {
            Ext2Oracle.AssertFsckClean(img);
        }

        Mount again = MountImage(kind, img);
        try
        {
            var h = new VfsHarness(again);
            Assert.Equal("made here", Encoding.UTF8.GetString(h.ReadAllOk("/" + Made)));
            Assert.Equal("latin one\n", Encoding.UTF8.GetString(h.ReadAllOk("/" + Renamed)));
            Assert.Equal(Errno.OK, h.Readlink("/sub/to\uDCFF", out string target));
            Assert.Equal(Made, target);
        }
        finally
        {
            Assert.Equal(Errno.OK, again.Unmount());
        }
    }

    [Fact]
    public void Fat_RefusesANameThatIsNotUtf8_AsLinuxVfatDoes()
    {
        string img = FatTestUtil.NewImage(_scratch, "fat", 1024);
        Mount m = FatTestUtil.MountImage(img);
        try
        {
            var h = new VfsHarness(m);
            Assert.Equal(Errno.EINVAL, h.Create("/" + Cafe));
            Assert.Equal(Errno.OK, h.Create("/caf\u00E9"));
            Assert.Equal(["caf\u00E9"], h.ListOk("/"));
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        FatTestUtil.FsckClean(img);
    }
}
