using RumpFs.FsDrivers.Ffs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>The on-disk records' named offsets add up to the C structures' sizes.</summary>
public class FfsRecordLayoutTests
{
    [Fact]
    public void Ufs1Dinode_Offsets_AddUpTo128()
    {
        Assert.Equal(Ufs1Dinode.Nlink, Ufs1Dinode.Mode + 2);
        Assert.Equal(Ufs1Dinode.SizeField, Ufs1Dinode.OldIds + 4);
        Assert.Equal(Ufs1Dinode.Db, Ufs1Dinode.CtimeNsec + 4);
        Assert.Equal(Ufs1Dinode.Ib, Ufs1Dinode.Db + (4 * FfsSuperblock.NDAddr));
        Assert.Equal(Ufs1Dinode.Flags, Ufs1Dinode.Ib + (4 * FfsSuperblock.NIAddr));
        Assert.Equal(Ufs1Dinode.Size, Ufs1Dinode.ModRev + 8);
        Assert.Equal(60, Ufs1Dinode.PointerArea);
    }

    [Fact]
    public void Ufs2Dinode_Offsets_AddUpTo256()
    {
        Assert.Equal(Ufs2Dinode.SizeField, Ufs2Dinode.BlkSize + 4);
        Assert.Equal(Ufs2Dinode.MtimeNsec, Ufs2Dinode.Birthtime + 8);
        Assert.Equal(Ufs2Dinode.ExtB, Ufs2Dinode.ExtSize + 4);
        Assert.Equal(Ufs2Dinode.Db, Ufs2Dinode.ExtB + 16);
        Assert.Equal(Ufs2Dinode.Ib, Ufs2Dinode.Db + (8 * FfsSuperblock.NDAddr));
        Assert.Equal(Ufs2Dinode.ModRev, Ufs2Dinode.Ib + (8 * FfsSuperblock.NIAddr));
        Assert.Equal(Ufs2Dinode.Size, Ufs2Dinode.Spare + 16);
        Assert.Equal(120, Ufs2Dinode.PointerArea);
    }

    [Fact]
    public void Superblock_Offsets_AddUpTo1376()
    {
        Assert.Equal(SuperblockFields.VolName, SuperblockFields.FsMnt + SuperblockFields.FsMntLength);
        Assert.Equal(SuperblockFields.CsTotal, SuperblockFields.SblockLoc + 8);
        Assert.Equal(SuperblockFields.Time, SuperblockFields.CsTotal + 64);
        Assert.Equal(SuperblockFields.StructSize, SuperblockFields.Magic + 4);
        Assert.Equal(SuperblockFields.Fmod, SuperblockFields.OldCsTotal + 16);
    }

    [Fact]
    public void CylinderGroup_Offsets_AddUpTo168()
    {
        Assert.Equal(CgFields.OldBtotoff, CgFields.Frsum + (4 * FfsSuperblock.MaxFrag));
        Assert.Equal(CgFields.Rotor, CgFields.CsNffree + 4);
        Assert.Equal(CgFields.HeaderSize, CgFields.Time + 8 + 24);
    }

    [Fact]
    public void DirectEntry_SizeFor_RoundsToFourWithNul()
    {
        Assert.Equal(DirectEntry.HeaderSize, DirectEntry.Name);
        Assert.Equal(12, DirectEntry.SizeFor(1));
        Assert.Equal(12, DirectEntry.SizeFor(3));
        Assert.Equal(16, DirectEntry.SizeFor(4));
        Assert.Equal(264, DirectEntry.SizeFor(255));
    }
}
