using RumpFs.P2k.Protocol;

namespace RumpFs.P2k.Tests;

/// <summary>Each wire record's named offsets end exactly at its size (linux/fuse.h layouts).</summary>
public sealed class WireFormatTests
{
    [Fact]
    public void RecordOffsets_AddUpToTheirSizes()
    {
        Assert.Equal(FuseInHeader.Size, FuseInHeader.PaddingOffset + 2);
        Assert.Equal(FuseOutHeader.Size, FuseOutHeader.UniqueOffset + 8);
        Assert.Equal(FuseAttr.Size, FuseAttr.FlagsOffset + 4);
        Assert.Equal(FuseEntryOut.Size, FuseEntryOut.AttrOffset + FuseAttr.Size);
        Assert.Equal(128, FuseEntryOut.Size);
        Assert.Equal(FuseAttrOut.Size, FuseAttrOut.AttrOffset + FuseAttr.Size);
        Assert.Equal(104, FuseAttrOut.Size);
        Assert.Equal(FuseSetAttrIn.Size, FuseSetAttrIn.GidOffset + 4 + 4); // gid, unused5
        Assert.Equal(FuseInitOut.Size, FuseInitOut.UnusedOffset + (11 * 2));
        Assert.Equal(FuseInitIn.Size, FuseInitIn.Flags2Offset + 4 + (11 * 4));
        Assert.Equal(FuseStatfsOut.Size, FuseStatfsOut.SpareOffset + (6 * 4));
        Assert.Equal(FuseIoIn.RecordSize, FuseIoIn.OpenFlagsOffset + 4 + 4);
        Assert.Equal(FuseReleaseIn.Size, FuseReleaseIn.FlagsOffset + 4 + 4 + 8); // flags, release_flags, lock_owner
        Assert.Equal(FuseMknodIn.Size, FuseMknodIn.UmaskOffset + 4 + 4);
        Assert.Equal(FuseMkdirIn.Size, FuseMkdirIn.UmaskOffset + 4);
        Assert.Equal(FuseRenameIn.Size2, FuseRenameIn.FlagsOffset + 4 + 4);
        Assert.Equal(FuseOpenIn.CreateSize, FuseOpenIn.UmaskOffset + 4 + 4); // umask, open_flags
        Assert.Equal(FuseOpenIn.CreateSize, FuseOpenIn.CreateOpenFlagsOffset + 4);
        Assert.Equal(FuseOpenIn.Size, FuseOpenIn.OpenFlagsOffset + 4);
        Assert.Equal(FuseOpenOut.Size, FuseOpenOut.BackingIdOffset + 4);
        Assert.Equal(FuseFsyncIn.Size, FuseFsyncIn.FlagsOffset + 4 + 4);
        Assert.Equal(FuseFallocateIn.Size, FuseFallocateIn.ModeOffset + 4 + 4);
        Assert.Equal(FuseLseekIn.Size, FuseLseekIn.WhenceOffset + 4 + 4);
        Assert.Equal(FuseGetAttrIn.Size, FuseGetAttrIn.FhOffset + 8);
        Assert.Equal(FuseDirent.NameOffset, FuseDirent.TypeOffset + 4);
        Assert.Equal(FuseNotifyInvalInodeOut.Size, FuseNotifyInvalInodeOut.LenOffset + 8);
        Assert.Equal(FuseNotifyInvalEntryOut.Size, FuseNotifyInvalEntryOut.FlagsOffset + 4);
    }

    [Fact]
    public void OpenIn_ReadsOpenFlagsOfOpenAndOfCreate()
    {
        byte[] open = new byte[FuseOpenIn.Size];
        open[0] = 0x01; // O_WRONLY
        open[4] = (byte)FuseOpenIn.KillSuidGid;
        FuseOpenIn o = FuseOpenIn.Read(open);
        Assert.Equal(1u, o.Flags);
        Assert.Equal(FuseOpenIn.KillSuidGid, o.OpenFlags);
        byte[] create = new byte[FuseOpenIn.CreateSize];
        create[4] = 0xA4; // mode 0644
        create[5] = 0x01;
        create[12] = (byte)FuseOpenIn.KillSuidGid;
        FuseOpenIn c = FuseOpenIn.ReadCreate(create);
        Assert.Equal(0x1A4u, c.Mode);
        Assert.Equal(FuseOpenIn.KillSuidGid, c.OpenFlags);
        create[12] = 0;
        Assert.Equal(0u, FuseOpenIn.ReadCreate(create).OpenFlags);
    }

    [Theory]
    [InlineData(1, 32)]
    [InlineData(8, 32)]
    [InlineData(9, 40)]
    [InlineData(255, 280)]
    public void Dirent_IsPaddedToEightBytes(int nameLength, int expected)
    {
        Assert.Equal(expected, FuseDirent.RecordSize(nameLength));
        Assert.Equal(expected + FuseEntryOut.Size, FuseDirent.PlusRecordSize(nameLength));
        var buf = new byte[expected];
        Array.Fill(buf, (byte)0xEE);
        Assert.Equal(expected, FuseDirent.Write(buf, 7, 9, 8, new byte[nameLength]));
        Assert.All(buf[(FuseDirent.NameOffset + nameLength)..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void InHeader_RoundTrips()
    {
        var h = new FuseInHeader
        {
            Length = 99,
            Opcode = FuseOpcode.Lookup,
            Unique = 0x1122334455667788,
            NodeId = 42,
            Uid = 1000,
            Gid = 100,
            Pid = 4321,
            TotalExtLen = 0,
        };
        var b = new byte[FuseInHeader.Size];
        h.Write(b);
        Assert.Equal(h, FuseInHeader.Read(b));
    }
}
