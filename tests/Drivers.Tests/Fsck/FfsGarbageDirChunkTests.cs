using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A directory whose first 512-byte chunk is garbage: pass 2 salvages the chunk and makes
/// "." and ".." in the same run, as fsck_ffs asks MISSING '.' FIX? right after its salvage.
/// -y exits 1, a second -y changes nothing and -n is clean; other files keep their contents.
/// </summary>
public sealed class FfsGarbageDirChunkTests
{
    /// <summary>A 5649-byte random file given a directory's mode (the fuzzer's mode_dir_on_file).</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Repair_FileTurnedDirectory_DotsMadeInOneRun(int version)
    {
        using var dir = new ScratchDir("ffsdots");
        FfsDamage img = FfsSmallImages.Damage(dir, FfsSmallImages.Image(version));
        ulong ino = img.Ino("/f");
        img.SetInode(ino, d => d.Mode = 0x41ed);

        ulong parent = RepairInOneRun(img, version, ino, except: "f");
        Assert.Equal((ulong)FfsSuperblock.RootIno, parent);
        Dictionary<string, string> tree = FfsRepairTests.Tree(img.Bytes);
        Assert.StartsWith("2 dir", tree["f"], StringComparison.Ordinal);
    }

    /// <summary>A real sub-directory whose first chunk is overwritten: its file reaches lost+found.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Repair_SubdirectoryFirstChunkGarbage_DotsMadeInOneRun(int version)
    {
        using var dir = new ScratchDir("ffsdots");
        FfsDamage img = FfsSmallImages.Damage(dir, FfsSmallImages.Image(version));
        ulong ino = img.Ino("/d");
        ulong x = img.Ino("/d/x");
        var rng = new Random(version);
        rng.NextBytes(img.Bytes.AsSpan((int)img.Sb.FragToBytes(img.Inode(ino).Db[0]), FfsSuperblock.DirBlkSiz));

        RepairInOneRun(img, version, ino, except: "d/x");
        Dictionary<string, string> tree = FfsRepairTests.Tree(img.Bytes);
        Assert.StartsWith("2 dir", tree["d"], StringComparison.Ordinal);
        Assert.Contains("file:" + FfsSmallImages.SourceFiles(version)["d/x"], tree[$"lost+found/#{x}"], StringComparison.Ordinal);
    }

    /// <summary>-n finds the chunk, one -y repairs all (exit 1), a second -y writes nothing, -n is clean; returns the directory's "..".</summary>
    private static ulong RepairInOneRun(FfsDamage img, int version, ulong ino, string except)
    {
        (_, CheckReport y) = FfsOneRunRepair.Run(img);
        Assert.Contains(y.Findings, f => f.Message.Contains("first entry is not \".\"", StringComparison.Ordinal) && f.Repaired);

        List<(string Name, ulong Ino)> entries = img.Entries(ino);
        Assert.Equal((".", ino), entries[0]);
        Assert.Equal("..", entries[1].Name);
        Dictionary<string, string> tree = FfsRepairTests.Tree(img.Bytes);
        foreach ((string path, string sha) in FfsSmallImages.SourceFiles(version).Where(p => p.Key != except && p.Key != "f"))
        {
            Assert.True(tree.TryGetValue(path, out string? sig), $"{path} lost");
            Assert.Contains("file:" + sha, sig, StringComparison.Ordinal);
        }
        return entries[1].Ino;
    }
}
