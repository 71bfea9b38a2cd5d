using RumpFs.FsDrivers.Ffs;
using RumpFs.TestSupport;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>
/// The header the checker rebuilds for a group whose own is damaged, next to the header
/// makefs wrote for every group of every corpus image (UFS1 and UFS2, both byte orders, all
/// block sizes): the fields that follow from the superblock must come out the same.
/// </summary>
public sealed class FfsCylinderGroupHeaderTests
{
    public static TheoryData<string> Images => Corpus.NamesOf("ffs");

    [Theory]
    [MemberData(nameof(Images))]
    public void Build_EveryGroupOfAMakefsImage_SameHeaderFields(string image)
    {
        byte[] img = File.ReadAllBytes(Corpus.Get(image).ImagePath);
        var dev = new Kernel.Devices.MemoryBlockDevice(img, readOnly: true);
        FfsSuperblock? sb = FfsSuperblockCheck.Find(dev, out string? error);
        Assert.True(sb is not null, error);
        FfsByteOrder o = sb.Order;
        int[] int32Fields =
        [
            CgFields.Magic, CgFields.Cgx, CgFields.Ndblk, CgFields.IusedOff, CgFields.FreeOff, CgFields.NextFreeOff,
            CgFields.ClusterSumOff, CgFields.ClusterOff, CgFields.NclusterBlks,
            .. sb.IsUfs2 ? new[] { CgFields.Niblk } : [CgFields.OldBtotoff, CgFields.OldBoff],
        ];
        for (int cg = 0; cg < sb.Ncg; cg++)
        {
            byte[] written = img.AsSpan((int)sb.FragToBytes(sb.CgTod(cg)), sb.CgSize).ToArray();
            byte[] rebuilt = FfsCylinderGroupHeader.Build(sb, cg, initedIblk: 0, time: 0);
            foreach (int field in int32Fields)
            {
                Assert.True(o.I32(written, field) == o.I32(rebuilt, field),
                    $"{image} group {cg}: field at {field} is {o.I32(rebuilt, field)}, makefs wrote {o.I32(written, field)}");
            }
            if (!sb.IsUfs2)
            {
                Assert.Equal(o.I16(written, CgFields.OldNcyl), o.I16(rebuilt, CgFields.OldNcyl));
                Assert.Equal(o.I16(written, CgFields.OldNiblk), o.I16(rebuilt, CgFields.OldNiblk));
            }
        }
    }
}
