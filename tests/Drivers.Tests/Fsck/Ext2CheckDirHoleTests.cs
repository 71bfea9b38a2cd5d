using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckHtreeRebuildImages;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A hole punched into a directory (debugfs punch): e2fsck moves the extents of an ext4
/// directory down over it ("block 4 should be at block 2") and gives an ext2 directory new
/// empty blocks for it ("unallocated block, allocate"); the files whose names were in the
/// punched blocks go to lost+found. Ours must do the same: both checkers clean after, the
/// same files in lost+found, and the directory the same bytes as e2fsck -fy leaves.
/// </summary>
public sealed class Ext2CheckDirHoleTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-holes");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("ext2", "an empty block is put in it")]
    [InlineData("ext4", "the later blocks are moved down over it")]
    public void PunchedDirectory_HoleClosedAsE2fsckClosesIt(string flavour, string how)
    {
        string src = _dir.File("src");
        Directory.CreateDirectory(Path.Combine(src, "d"));
        for (int i = 1; i <= 300; i++)
        {
            File.WriteAllText(Path.Combine(src, "d", $"name_of_moderate_length_{i:D4}"), $"c {i}\n");
        }
        string img = _dir.File("hole.img");
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", "1024", "-I", "256", "-E", "hash_seed=" + HashSeed, "-U", Uuid },
            .. Features(flavour), "-d", src, img, "16M"]);
        Debugfs(img, "punch /d 2 3");
        string theirs = _dir.File("theirs.img");
        File.Copy(img, theirs);

        CheckReport before = AssertBothDamaged(img);
        Assert.Contains(before.Findings, f => f.Message == $"directory has a hole at block 2; {how}");
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);
        ToolResult e2 = OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.True(e2.ExitCode == 1, e2.Transcript);

        Assert.Equal(Names(theirs, "/lost+found"), Names(img, "/lost+found"));
        Assert.Equal(Names(theirs, "/d"), Names(img, "/d"));
        Assert.Equal(DirectoryBytes(theirs, "/d", _dir), DirectoryBytes(img, "/d", _dir));
        Assert.Equal("c 300\n", DebugfsRead(img, "cat /d/name_of_moderate_length_0300"));
    }
}
