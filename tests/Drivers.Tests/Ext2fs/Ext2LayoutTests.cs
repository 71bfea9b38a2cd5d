using RumpFs.FsDrivers.Ext2fs;
using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>Each on-disk record's named offsets are contiguous and add up to its size.</summary>
public class Ext2LayoutTests
{
    private static void AssertContiguous(Field[] layout, int size)
    {
        int at = 0;
        foreach (Field f in layout)
        {
            Assert.True(f.Offset == at, $"{f.Name} at {f.Offset}, expected {at}");
            at += f.Length;
        }
        Assert.Equal(size, at);
    }

    [Fact]
    public void Superblock_Is1024Bytes() => AssertContiguous(Ext2Superblock.Layout, Ext2Superblock.Size);

    [Fact]
    public void GroupDescriptor_Is64Bytes() => AssertContiguous(Ext2GroupDescriptor.Layout, Ext2GroupDescriptor.Size64);

    [Fact]
    public void Dinode_BaseAndExtraFields() => AssertContiguous(Ext2Dinode.Layout, Ext2Dinode.Off.End);

    [Fact]
    public void ExtentRecords_Are12Bytes()
    {
        AssertContiguous(Ext4Extent.HeaderLayout, Ext4Extent.HeaderSize);
        AssertContiguous(Ext4Extent.IndexLayout, Ext4Extent.EntrySize);
        AssertContiguous(Ext4Extent.LeafLayout, Ext4Extent.EntrySize);
    }

    [Fact]
    public void DirectoryRecords()
    {
        AssertContiguous(Ext2DirEntry.Layout, Ext2DirEntry.HeaderSize);
        AssertContiguous(Ext2DirEntry.TailLayout, Ext2DirEntry.TailSize);
        AssertContiguous(Ext2DxNode.RootLayout, Ext2DxNode.RootOff.Entries);
    }

    [Fact]
    public void OrphanBlockTail_Is8Bytes()
    {
        AssertContiguous(Ext2OrphanBlock.TailLayout, Ext2OrphanBlock.TailSize);
        Assert.Equal(254, Ext2OrphanBlock.SlotsPerBlock(1024));
        Assert.Equal(1022, Ext2OrphanBlock.SlotsPerBlock(4096));
    }

    [Theory]
    [InlineData(16384UL, 32U)]
    [InlineData(131071UL, 32U)]
    [InlineData(131072UL, 32U)]
    [InlineData(179200UL, 43U)]
    [InlineData(2097151UL, 511U)]
    [InlineData(2097152UL, 512U)]
    [InlineData(1UL << 40, 512U)]
    public void OrphanFile_DefaultSize_AsMke2fs(ulong blocks, uint orphanBlocks) =>
        Assert.Equal(orphanBlocks, Ext2OrphanBlock.DefaultBlocks(blocks));

    [Fact]
    public void QuotaInfo_Is24Bytes() => AssertContiguous(Ext2QuotaInfo.Layout, Ext2QuotaInfo.Size);

    [Fact]
    public void JournalSuperblock_Is1024Bytes() => AssertContiguous(JournalSuperblock.Layout, JournalSuperblock.Off.End);

    [Fact]
    public void XattrRecords()
    {
        AssertContiguous(Ext2XattrEntry.BlockLayout, Ext2XattrEntry.BlockHeaderSize);
        AssertContiguous(Ext2XattrEntry.EntryLayout, Ext2XattrEntry.EntryHeaderSize);
    }

    [Fact]
    public void Crc32c_MatchesKnownVector()
    {
        // crc32c("123456789") with the usual init/final inversion is 0xE3069283; ext4 keeps the raw register.
        uint raw = Ext2Crc.Crc32c(~0u, "123456789"u8);
        Assert.Equal(0xE3069283u, ~raw);
    }

    [Theory]
    [InlineData(Ext2Htree.HashHalfMd4)]
    [InlineData(Ext2Htree.HashTea)]
    [InlineData(Ext2Htree.HashLegacy)]
    public void DirHash_MatchesDebugfs(int version)
    {
        string[] names = ["f500", "hello.txt", "a-much-longer-name-that-spans-more-than-thirty-two-bytes.txt", "ümlaut"];
        string alg = version switch
        {
            Ext2Htree.HashHalfMd4 => "half_md4",
            Ext2Htree.HashTea => "tea",
            _ => "legacy",
        };
        foreach (string name in names)
        {
            TestSupport.ToolResult r = TestSupport.OracleTool.RunExpect(0, "debugfs", "-R", $"dx_hash -h {alg} {name}", "/dev/null");
            // "Hash of f500 is 0x1234abcd (minor 0x...)"
            string text = r.Stdout + r.Stderr;
            int at = text.IndexOf(" is 0x", StringComparison.Ordinal);
            Assert.True(at > 0, text);
            uint expected = Convert.ToUInt32(text.Substring(at + 6, 8).Trim(' ', '('), 16);
            long got = Ext2Htree.Hash(System.Text.Encoding.UTF8.GetBytes(name), version, [0, 0, 0, 0]);
            Assert.True(expected == (uint)got, $"{alg} {name}: ours {got:x8}, debugfs {expected:x8}");
        }
    }
}
