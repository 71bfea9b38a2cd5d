using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Cylinder-group header fields fsck_ffs's pass 5 compares with the header it builds from
/// the superblock (cg_ndblk, cg_niblk, UFS1's cg_old_* fields, the map offsets, the cluster
/// count, the rotors), each damaged in a makefs image with files in several groups: -n
/// reports the field (exit 4), -y rewrites the header (exit 1), a second -n is clean, the
/// driver mounts the image read-write and every file reads back as the source tree holds
/// it, and sleuthkit still reads UFS1.
/// </summary>
public sealed class FfsCgHeaderCheckTests
{
    public enum HeaderDamage
    {
        NdblkFourGroups,
        NdblkZero,
        Niblk,
        OldNiblk,
        OldNcyl,
        OldBtotoff,
        OldBoff,
        NextFreeOff,
        NclusterBlks,
        RotorNegative,
        FrotorPastGroup,
        IrotorPastInodes,
    }

    public static TheoryData<int, HeaderDamage> Cases()
    {
        var data = new TheoryData<int, HeaderDamage>();
        foreach (HeaderDamage d in Enum.GetValues<HeaderDamage>())
        {
            foreach (int version in new[] { 1, 2 })
            {
                bool ufs1Only = d is HeaderDamage.OldNiblk or HeaderDamage.OldNcyl or HeaderDamage.OldBtotoff or HeaderDamage.OldBoff;
                if ((version == 1 && d == HeaderDamage.Niblk) || (version == 2 && ufs1Only))
                {
                    continue;
                }
                data.Add(version, d);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Check_DamagedHeaderField_ReportedRewrittenAndEveryFileKept(int version, HeaderDamage damage)
    {
        byte[] pristine = FfsCgHeaderImages.Image(version);
        byte[] img = FfsCgHeaderImages.Image(version);
        FfsSuperblock sb = FfsCgHeaderImages.Superblock(img);
        (int cg, int field, string name) = Apply(img, sb, damage);
        var dev = new MemoryBlockDevice(img);
        var checker = new FfsChecker();

        CheckReport n = checker.Check(dev, repair: false);
        Assert.True(n.ExitCode == 4, FfsRepairTests.Describe(n));
        Assert.Contains(n.Findings, f => f.Location == $"cylinder group {cg}" && f.Message.Contains(name, StringComparison.Ordinal));
        CheckReport y = checker.Check(dev, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        CheckReport again = checker.Check(dev, repair: false);
        Assert.True(again.ExitCode == 0, FfsRepairTests.Describe(again));

        // A rotor out of range goes to 0, as fsck_ffs sets it; any other field to what makefs wrote.
        int want = name.EndsWith("rotor", StringComparison.Ordinal) ? 0 : FfsCgHeaderImages.Peek(pristine, cg, field);
        Assert.Equal(want, FfsCgHeaderImages.Peek(img, cg, field));
        AssertTreeKept(img, version);
        if (version == 1)
        {
            SleuthkitReads(img);
        }
    }

    /// <summary>cg_ndblk beyond fs_fpg is the one field our mount refuses; after the repair it mounts.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Mount_BlockCountPastTheGroup_RefusedBeforeTheRepairOnly(int version)
    {
        byte[] img = FfsCgHeaderImages.Image(version);
        Apply(img, FfsCgHeaderImages.Superblock(img), HeaderDamage.NdblkFourGroups);
        Errno rc = FfsTestMount.TryMount(new MemoryBlockDevice((byte[])img.Clone(), readOnly: true), true, out _, out string? msg);
        Assert.NotEqual(Errno.OK, rc);
        Assert.Contains("bad block count", msg ?? "", StringComparison.Ordinal);
        Assert.Equal(1, new FfsChecker().Check(new MemoryBlockDevice(img), repair: true).ExitCode);
        AssertTreeKept(img, version);
    }

    /// <summary>What the damage writes: group, field offset, and the name the finding gives it.</summary>
    private static (int Cg, int Field, string Name) Apply(byte[] img, FfsSuperblock sb, HeaderDamage damage)
    {
        Assert.True(sb.Ncg >= 2 && sb.ContigSumSize > 0, $"{sb.Ncg} groups, contigsumsize {sb.ContigSumSize}");
        (int cg, int field, int value, bool isShort, string name) = damage switch
        {
            HeaderDamage.NdblkFourGroups => (0, CgFields.Ndblk, 4 * sb.Fpg, false, "cg_ndblk"),
            HeaderDamage.NdblkZero => (1, CgFields.Ndblk, 0, false, "cg_ndblk"),
            HeaderDamage.Niblk => (1, CgFields.Niblk, 999, false, "cg_niblk"),
            HeaderDamage.OldNiblk => (1, CgFields.OldNiblk, 0, true, "cg_old_niblk"),
            HeaderDamage.OldNcyl => (1, CgFields.OldNcyl, 0, true, "cg_old_ncyl"),
            HeaderDamage.OldBtotoff => (1, CgFields.OldBtotoff, 1 << 20, false, "cg_old_btotoff"),
            HeaderDamage.OldBoff => (1, CgFields.OldBoff, 1 << 20, false, "cg_old_boff"),
            HeaderDamage.NextFreeOff => (1, CgFields.NextFreeOff, 1 << 20, false, "cg_nextfreeoff"),
            HeaderDamage.NclusterBlks => (1, CgFields.NclusterBlks, 999_999, false, "cg_nclusterblks"),
            HeaderDamage.RotorNegative => (1, CgFields.Rotor, -1, false, "cg_rotor"),
            HeaderDamage.FrotorPastGroup => (1, CgFields.Frotor, sb.Fpg + 5, false, "cg_frotor"),
            _ => (1, CgFields.Irotor, sb.Ipg, false, "cg_irotor"),
        };
        FfsCgHeaderImages.Poke(img, cg, field, value, isShort);
        return (cg, field, name);
    }

    /// <summary>The driver mounts the image read-write, and every file of the source tree reads back with its contents.</summary>
    internal static void AssertTreeKept(byte[] img, int version)
    {
        var dev = new MemoryBlockDevice((byte[])img.Clone());
        Errno rc = FfsTestMount.TryMount(dev, false, out Mount? mp, out string? msg);
        Assert.True(rc == Errno.OK, $"read-write mount after repair: {rc} {msg}");
        Assert.Equal(Errno.OK, mp!.Unmount());
        Dictionary<string, string> tree = FfsRepairTests.Tree(img);
        Dictionary<string, string> source = FfsCgHeaderImages.SourceFiles(version);
        foreach ((string path, string sha) in source)
        {
            Assert.True(tree.TryGetValue(path, out string? sig), $"{path} lost");
            Assert.Contains("file:" + sha, sig, StringComparison.Ordinal);
        }
        Assert.Equal(source.Count, tree.Values.Count(s => s.Contains(" file:", StringComparison.Ordinal)));
    }

    private static void SleuthkitReads(byte[] img)
    {
        using var dir = new ScratchDir("ffscg");
        string path = dir.File("repaired.img");
        File.WriteAllBytes(path, img);
        OracleTool.RunExpect(0, "fsstat", "-f", "ufs1", path);
        string fls = OracleTool.RunExpect(0, "fls", "-r", "-f", "ufs1", path).Stdout;
        Assert.Contains("f60", fls, StringComparison.Ordinal);
        Assert.Contains("s20", fls, StringComparison.Ordinal);
    }
}
