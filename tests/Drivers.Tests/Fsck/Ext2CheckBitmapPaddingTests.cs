using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Pass 5's view of a block bitmap beyond its group's blocks, as libext2fs reads it for
/// e2fsck: with fewer blocks per group than a bitmap block has bits, the rest must read as in
/// use; and a BLOCK_UNINIT group's bitmap is built from the uninitialised groups' own metadata
/// only, so another block in use there (a bitmap of an initialised group) needs the flag gone.
/// </summary>
public sealed class Ext2CheckBitmapPaddingTests : IDisposable
{
    private readonly ScratchDir _dir = new("ext2ck-padding");

    public void Dispose() => _dir.Dispose();

    private static long GroupBlockBitmap(string img, int group)
    {
        string line = OracleTool.RunExpect(0, "dumpe2fs", img).Stdout.Split('\n')
            .SkipWhile(l => !l.StartsWith($"Group {group}:", StringComparison.Ordinal))
            .First(l => l.Contains("Block bitmap at ", StringComparison.Ordinal));
        return long.Parse(line.Split("Block bitmap at ")[1].Split(' ', ',')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void BlockBitmapPaddingCleared_FoundByBoth_SetByRepair()
    {
        string img = _dir.File("pad.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-g", "2048", img, "24M");
        long bitmap = GroupBlockBitmap(img, 1);
        Patch(img, (bitmap * 1024) + 256, new byte[768]);

        CheckReport before = RepairRoundTrip(img);

        Assert.Contains(before.Findings, f => f.Location == "group 1" && f.Message == "padding at the end of the block bitmap is not set");
        Assert.All(ReadAt(img, (bitmap * 1024) + 256, 768), b => Assert.Equal(0xFF, b));
    }

    [Fact]
    public void InitialisedGroupsBitmapInABlockUninitGroup_FlagCleared()
    {
        string img = _dir.File("uninit.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-O", "^metadata_csum,uninit_bg", "-b", "1024", "-g", "2048", img, "24M");
        string groups = OracleTool.RunExpect(0, "dumpe2fs", img).Stdout;
        Assert.Contains("Group 5: (Blocks 10241-12288) csum", groups, StringComparison.Ordinal);
        Assert.Contains("[INODE_UNINIT, BLOCK_UNINIT]", groups.Split("Group 5:")[1].Split('\n')[0], StringComparison.Ordinal);
        // Group 0's block bitmap moved to a free block of group 5, its contents copied along
        // (its old block is then free but marked in use).
        long old = GroupBlockBitmap(img, 0);
        Patch(img, 12285L * 1024, ReadAt(img, old * 1024, 1024));
        Debugfs(img, "set_bg 0 block_bitmap 12285");
        Debugfs(img, "set_bg 0 checksum calc");
        Assert.Contains("Group 5 block(s) in use but group is marked BLOCK_UNINIT", E2fsck(img).Transcript, StringComparison.Ordinal);

        CheckReport before = AssertBothDamaged(img);
        Assert.Contains(before.Findings, f => f.Location == "group 5" && f.Message == "blocks in use but the group is marked BLOCK_UNINIT");
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);
        Assert.DoesNotContain("BLOCK_UNINIT", OracleTool.RunExpect(0, "dumpe2fs", img).Stdout.Split("Group 5:")[1].Split('\n')[0], StringComparison.Ordinal);
    }
}
