using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Newfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>The struct fs offsets only newfs writes sit where fs.h has them, between the driver's own.</summary>
public class FfsNewfsLayoutTests
{
    [Fact]
    public void NewfsSuperblockFields_Offsets_FollowStructFs()
    {
        // fs_old_rotdelay and fs_old_rps come between fs_minfree and fs_bmask.
        Assert.Equal(NewfsSuperblockFields.OldRotdelay, SuperblockFields.MinFree + 4);
        Assert.Equal(NewfsSuperblockFields.OldRps, NewfsSuperblockFields.OldRotdelay + 4);
        Assert.Equal(SuperblockFields.Bmask, NewfsSuperblockFields.OldRps + 4);
        // fs_old_nspf before fs_optim; fs_old_npsect, interleave, trackskew before fs_id.
        Assert.Equal(NewfsSuperblockFields.OldNspf, SuperblockFields.Inopb + 4);
        Assert.Equal(SuperblockFields.Optim, NewfsSuperblockFields.OldNspf + 4);
        Assert.Equal(NewfsSuperblockFields.OldNpsect, SuperblockFields.Optim + 4);
        Assert.Equal(SuperblockFields.Id, NewfsSuperblockFields.OldTrackskew + 4);
        // fs_cgsize, fs_spare2, then fs_old_nsect, spc, ncyl, cpg.
        Assert.Equal(NewfsSuperblockFields.OldNsect, SuperblockFields.CgSize + 8);
        Assert.Equal(SuperblockFields.OldCpg, NewfsSuperblockFields.OldNcyl + 4);
        // fs_old_cpc just before fs_maxbsize; the 64-bit masks after fs_maxfilesize; then
        // fs_state, fs_old_postblformat, fs_old_nrpos, two spares and the magic.
        Assert.Equal(SuperblockFields.MaxBsize, NewfsSuperblockFields.OldCpc + 4);
        Assert.Equal(NewfsSuperblockFields.Qbmask, SuperblockFields.MaxFileSize + 8);
        Assert.Equal(NewfsSuperblockFields.State, NewfsSuperblockFields.Qfmask + 8);
        Assert.Equal(SuperblockFields.Magic, NewfsSuperblockFields.OldNrpos + 4 + 8);
    }
}
