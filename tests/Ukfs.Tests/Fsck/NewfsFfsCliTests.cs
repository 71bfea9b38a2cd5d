using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests.Fsck;

/// <summary>
/// `ukfs IMAGE newfs -t ffs --from DIR SIZE` with the corpus fixture tree: extracted again it
/// matches the fixture's manifest, the checkers find it clean, sleuthkit lists the same
/// tree and reads the same bytes, and the driver writes on it afterwards.
/// </summary>
public sealed class NewfsFfsCliTests : IDisposable
{
    private readonly ScratchDir _dir = new("ukfs-ffsnewfs");
    private readonly CliHarness _cli = CliHarness.OnImages();

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    private static string Fixture => Path.Combine(Corpus.Directory, "fixture-posix");

    private static string FixtureManifest => Path.Combine(Corpus.Directory, "fixture-posix.manifest");

    [Theory]
    [InlineData("version=1,endian=little")]
    [InlineData("version=2,endian=big,bsize=16384")]
    [InlineData("version=2")]
    public void Newfs_FfsFromFixture_ExtractsToTheManifestAndChecksClean(string options)
    {
        string img = _dir.File("f.img");
        CliResult r = _cli.Run(img, "newfs", "-t", "ffs", "-o", options, "--from", Fixture, "96M");
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Equal("", r.Stderr);
        Assert.Contains("UFS", r.Stdout, StringComparison.Ordinal);
        _cli.Ok(img, "fsck");
        AssertClean(img);

        string dest = Path.Combine(_dir.Path, "out");
        Directory.CreateDirectory(dest);
        _cli.Ok(img, "get", "/", dest);
        string[] want = [.. File.ReadAllLines(FixtureManifest).Where(l => l.Length > 0)];
        string[] got = Manifest.OfTree(dest);
        Assert.Equal(want.Select(Comparable), got.Select(Comparable));

        using (UkfsMount mount = UkfsMount.Open("ffs", img))
        {
            // Times and hard links survive the copy (the manifest holds neither).
            Assert.Equal(981173106, mount.Stat("/old-file").Mtime.Seconds);
            Assert.Equal(mount.Stat("/links/original").Ino, mount.Stat("/hardlink-at-root").Ino);
            mount.WriteAllBytes("/written-after.bin", new byte[300_000]);
            mount.Unmount();
        }
        AssertClean(img);
        OracleTool.RunExpect(0, "fsstat", img);
        ToolResult fls = OracleTool.RunExpect(0, "fls", "-r", "-p", img);
        Dictionary<string, string> listed = fls.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.Split('\t')[0].Contains('*', StringComparison.Ordinal) && !l.Contains("$OrphanFiles", StringComparison.Ordinal))
            .Select(l => l.Split('\t', 2))
            .ToDictionary(p => p[1], p => p[0].Split(' ')[^1].TrimEnd(':'), StringComparer.Ordinal);
        Assert.Equal(want.Select(l => l.Split('\t')[0]).Append("written-after.bin").Order(StringComparer.Ordinal), listed.Keys.Order(StringComparer.Ordinal));
        // The double-indirect and the sparse file, block map and holes as sleuthkit reads them.
        foreach (string path in new[] { "big/double-indirect.bin", "big/sparse.bin", "hello.txt" })
        {
            string sha = want.Select(l => l.Split('\t')).Single(f => f[0] == path)[5];
            ToolResult icat = OracleTool.RunExpect(0, "bash", "-c", $"icat '{img}' {listed[path]} | sha256sum");
            Assert.StartsWith(sha, icat.Stdout, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// version=3 makes NetBSD 10's FFSv2ea: UFS2 under its own magic, where user attributes
    /// are written. Under the plain UFS2 magic, sleuthkit reads the same layout.
    /// </summary>
    [Fact]
    public void Newfs_FfsVersion3_IsUfs2EaWithWritableAttributes()
    {
        string img = _dir.File("ea.img");
        CliResult r = _cli.Run(img, "newfs", "-t", "ffs", "-o", "version=3", "--from", Fixture, "96M");
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Contains("UFS2ea little-endian", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("UFS2ea", _cli.Ok(img, "info").Stdout, StringComparison.Ordinal);
        _cli.Ok(img, "setfattr", "-n", "user.origin", "-v", "newfs", "/hello.txt");
        Assert.Contains("user.origin=\"newfs\"", _cli.Ok(img, "getfattr", "/hello.txt").Stdout, StringComparison.Ordinal);
        _cli.Ok(img, "fsck", "-n");

        byte[] b = File.ReadAllBytes(img);
        int magicAt = 65536 + 1372;
        Assert.Equal(0x19012038, BitConverter.ToInt32(b, magicAt));
        BitConverter.GetBytes(0x19540119).CopyTo(b, magicAt);
        string plain = _dir.File("as-ufs2.img");
        File.WriteAllBytes(plain, b);
        ToolResult fls = OracleTool.RunExpect(0, "fls", "-r", "-p", plain);
        Assert.Contains("hello.txt", fls.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Newfs_FfsImpossibleOption_FailsWithOneLineAndLeavesTheImageAlone()
    {
        string img = _dir.File("bad.img");
        File.WriteAllBytes(img, new byte[4 << 20]);
        CliResult r = _cli.Run(img, "newfs", "-t", "ffs", "-o", "bsize=65536,fsize=4096");
        Assert.Equal(1, r.Exit);
        Assert.Contains("fsize=4096 is too small for bsize=65536", r.Stderr, StringComparison.Ordinal);
        Assert.All(File.ReadAllBytes(img), b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData("version=1,endian=big")]
    [InlineData("version=2,bsize=65536")]
    public void Newfs_FfsFresh_FsckYFindsNothingAndWritesNothing(string options)
    {
        string img = _dir.File("y.img");
        _cli.Ok(img, "newfs", "-t", "ffs", "-o", options, "24M");
        byte[] before = File.ReadAllBytes(img);
        CliResult r = _cli.Run(img, "fsck", "-y");
        Assert.True(r.Exit == 0, r.ToString());
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(img)), "fsck -y changed a fresh image");
    }

    [Fact]
    public void Newfs_FfsLabel_IsTheUfs2VolumeName()
    {
        string img = _dir.File("l.img");
        _cli.Ok(img, "newfs", "-t", "ffs", "-L", "rumpvol", "8M");
        ToolResult fsstat = OracleTool.RunExpect(0, "fsstat", img);
        Assert.Contains("Volume Name: rumpvol", fsstat.Stdout, StringComparison.Ordinal);
        Assert.Contains("File System Type: UFS 2", fsstat.Stdout, StringComparison.Ordinal);
    }

    private static void AssertClean(string img)
    {
        Assert.Equal(Errno.OK, FileBlockDevice.Open(img, true, out FileBlockDevice? dev, out _));
        using (dev)
        {
            FfsCheckReport report = FfsCheck.Run(dev!);
            Assert.True(report.IsClean, report.ToString());
        }
    }

    /// <summary>A manifest line without directory sizes, which depend on the format.</summary>
    private static string Comparable(string line)
    {
        string[] f = line.Split('\t');
        if (f[1] == "d")
        {
            f[3] = "-";
        }
        return string.Join('\t', f);
    }
}
