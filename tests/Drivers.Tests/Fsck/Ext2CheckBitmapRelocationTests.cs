using System.Buffers.Binary;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A bitmap that the descriptor table places out of its group, past the end of the file
/// system or on other metadata, in the primary table and in group 1's copy alike: no table
/// passes e2fsck's check_desc, and e2fsck goes on with the backup and relocates the bitmap
/// ("Block bitmap for group 1 is not in group. Relocate?"). So do we, where we used to give up
/// (exit 8): -n reports it and writes nothing, -y gives the bitmap a new block and writes it
/// whole, and then both checkers find the image clean with every file as before.
/// </summary>
public sealed class Ext2CheckBitmapRelocationTests : IDisposable
{
    private const int BlockBitmapField = 0;
    private const int InodeBitmapField = 4;
    private const int InodeTableField = 8;

    private readonly ScratchDir _dir = new("ext2ck-relocate");

    public void Dispose() => _dir.Dispose();

    private Dictionary<string, string> Tree(string img, string name) => RdumpTree(_dir, img, name);

    /// <summary>The descriptor size as dumpe2fs reads it (32 without 64bit).</summary>
    private static int DescSize(string img)
    {
        string line = OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout.Split('\n')
            .FirstOrDefault(l => l.StartsWith("Group descriptor size:", StringComparison.Ordinal)) ?? "Group descriptor size: 32";
        return int.Parse(line.Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Set a 32-bit field of group 1's descriptor in the primary table (block 2) and in group 1's copy (block 8194); 1 KiB blocks.</summary>
    private static void SetGroup1Field(string img, int field, uint value)
    {
        int desc = DescSize(img);
        foreach (long table in new long[] { 2, 8194 })
        {
            Patch(img, (table * 1024) + desc + field, BitConverter.GetBytes(value));
        }
    }

    [Theory]
    [InlineData("ext2", "block bitmap in another group", "the block bitmap (block 100) lies outside the group without flex_bg")]
    [InlineData("ext2", "inode bitmap past the end", "the inode bitmap (block 20000) lies outside the file system")]
    [InlineData("ext4", "inode bitmap on group 0's inode table", "the inode bitmap (block")]
    [InlineData("ext4-nocsum", "block bitmap on the superblock", "the block bitmap (block 1) overlaps group 0's superblock")]
    public void BitmapOutOfPlaceInBothTables_Relocated(string flavour, string damage, string finding)
    {
        string img = Make(_dir, flavour);
        Dictionary<string, string> before = Tree(img, "before");
        switch (damage)
        {
            case "block bitmap in another group":
                SetGroup1Field(img, BlockBitmapField, 100);
                break;
            case "inode bitmap past the end":
                SetGroup1Field(img, InodeBitmapField, 20000);
                break;
            case "inode bitmap on group 0's inode table":
                uint table0 = BinaryPrimitives.ReadUInt32LittleEndian(ReadAt(img, (2 * 1024) + InodeTableField, 4));
                SetGroup1Field(img, InodeBitmapField, table0 + 3);
                break;
            default:
                SetGroup1Field(img, BlockBitmapField, 1);
                break;
        }
        byte[] damaged = File.ReadAllBytes(img);
        Assert.NotEqual(0, E2fsck(img).ExitCode);

        CheckReport n = Check(img, repair: false);
        Assert.True(n.ExitCode == 4, Describe(n));
        Assert.Contains(n.Findings, f => f.Location == "group 1" && f.Message.Contains(finding, StringComparison.Ordinal)
            && f.Message.EndsWith("; relocated", StringComparison.Ordinal) && !f.Repaired);
        Assert.True(damaged.AsSpan().SequenceEqual(File.ReadAllBytes(img)), "a check without -y wrote to the image");

        CheckReport y = Check(img, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        Assert.Contains(y.Findings, f => f.Location == "group 1" && f.Message.Contains("bitmap is now in block", StringComparison.Ordinal));
        AssertBothClean(img);
        Assert.Equal(before, Tree(img, "after"));
    }

    [Fact]
    public void InodeTableOutOfPlaceInBothTables_StillRefused()
    {
        // An inode table cannot move without losing the inodes in it: nothing is written.
        string img = Make(_dir, "ext2");
        SetGroup1Field(img, InodeTableField, 100);
        byte[] damaged = File.ReadAllBytes(img);

        CheckReport y = Check(img, repair: true);

        Assert.True(y.ExitCode == 8, Describe(y));
        Assert.Contains("inode table", y.OperationalError, StringComparison.Ordinal);
        Assert.True(damaged.AsSpan().SequenceEqual(File.ReadAllBytes(img)), "a refused check wrote to the image");
    }
}
