using RumpFs.Drivers.Tests.Msdosfs;
using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A damaged FAT32 boot sector with a sound backup in sector 6: the check runs on the
/// backup, the only error is the boot sector, and -y copies the backup into place with
/// every file kept. fsck.fat never reads the backup (it gives up on a boot sector it cannot
/// parse, and walks whatever cluster the root number names).
/// </summary>
public sealed class FatBackupBootTests
{
    private const int BackupSector = 6;

    public static TheoryData<string> Damages => new()
    {
        "bytes-per-sector", "fat-count",
        "root-zero", "root-past-end", "root-free", "root-subdirectory", "root-text-file",
    };

    private static string Build(ScratchDir dir)
    {
        string img = dir.File("fat32.img");
        FatTestImages.MkfsWithFiles(img, 40L << 20, "32");
        return img;
    }

    /// <summary>Damage the boot sector (sector 0 only) the way <paramref name="damage"/> names.</summary>
    private static void Damage(string img, string damage)
    {
        FatBootRecord b = FatTestImages.Boot(img);
        uint Start(string name11) => FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, name11));
        switch (damage)
        {
            case "bytes-per-sector":
                FatTestImages.Patch(img, FatBootRecord.Offsets.BytesPerSector, 0, 0);
                break;
            case "fat-count":
                FatTestImages.Patch(img, FatBootRecord.Offsets.NumFats, 0);
                break;
            case "signature":
                FatTestImages.Patch(img, FatBootRecord.Offsets.Signature, 0, 0);
                break;
            default:
                uint root = damage switch
                {
                    "root-zero" => 0,
                    "root-past-end" => b.MaxCluster + 1,
                    "root-free" => FatTestImages.FreeCluster(img),
                    "root-subdirectory" => Start("SUBDIR     "),
                    _ => Start("ALONGF~1TXT"), // "hello": text, not directory entries
                };
                FatTestImages.Patch(img, FatBootRecord.Offsets.RootCluster, BitConverter.GetBytes(root));
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public void Check_DamagedBootSectorWithSoundBackup_BackupUsedAndCopiedIntoPlace(string damage)
    {
        using var dir = new ScratchDir("fatboot");
        string img = Build(dir);
        byte[] boot = FatTestImages.ReadAt(img, 0, 512);
        byte[] file1 = FatCheckTests.Mtype(img, "/FILE1.BIN");
        Damage(img, damage);
        byte[] damaged = File.ReadAllBytes(img);

        CheckReport n = FatTestImages.Check(img, repair: false);
        Assert.True(n.ExitCode == 4, FatTestImages.Describe(n));
        CheckFinding finding = Assert.Single(n.Findings, f => f.Severity == CheckSeverity.Error);
        Assert.Equal("boot", finding.Phase);
        Assert.Contains($"the backup boot sector in sector {BackupSector} is sound", finding.Message, StringComparison.Ordinal);
        Assert.Equal(damaged, File.ReadAllBytes(img));

        CheckReport y = FatTestImages.Check(img, repair: true);
        Assert.True(y.ExitCode == 1, FatTestImages.Describe(y));
        Assert.Equal(boot, FatTestImages.ReadAt(img, 0, 512));
        FatTestImages.AssertBothClean(img);
        Assert.Equal(file1, FatCheckTests.Mtype(img, "/FILE1.BIN"));
        Assert.Equal("hello"u8.ToArray(), FatCheckTests.Mtype(img, "/SUBDIR/Deeper Directory/a long file name.txt"));
        Assert.Empty(FatTestImages.RecFiles(img));
    }

    /// <summary>What the damage says, per kind: why the boot sector was not used.</summary>
    [Theory]
    [InlineData("bytes-per-sector", "is not a valid FAT boot sector (bad bytes per sector 0)")]
    [InlineData("root-free", "which is free in the FAT")]
    [InlineData("root-subdirectory", "which starts a subdirectory")]
    [InlineData("root-text-file", "entries that cannot be directory entries")]
    public void Check_DamagedBootSector_FindingSaysWhy(string damage, string why)
    {
        using var dir = new ScratchDir("fatboot");
        string img = Build(dir);
        Damage(img, damage);
        CheckReport n = FatTestImages.Check(img, repair: false);
        Assert.Contains(n.Findings, f => f.Phase == "boot" && f.Message.Contains(why, StringComparison.Ordinal));
    }

    /// <summary>
    /// A boot sector that lacks only 0x55AA keeps its own layout and root, even when the
    /// backup differs (here its root cluster names file data): the backup is not trusted over
    /// a sector that is right, and -y writes the signature. Every file stays where it was.
    /// </summary>
    /// <summary>
    /// A FAT32 boot sector naming no backup (field 0): fsck.fat reports it and -a makes one;
    /// so do we, in sector 6 with 32 reserved sectors, in the last reserved sector not
    /// holding FSInfo with 4. After -y the backup is the boot sector and both checkers are
    /// clean (before, ours called it clean and left it).
    /// </summary>
    [Theory]
    [InlineData(32, 6)]
    [InlineData(4, 3)]
    public void Check_NoBackupBootSector_MadeAsFsckFatMakesIt(int reservedSectors, int expectedAt)
    {
        using var dir = new ScratchDir("fatck");
        string img = dir.File("fat32.img");
        FatTestImages.CreateFile(img, 40L << 20);
        OracleTool.RunExpect(0, "mkfs.fat", "-F", "32", "-R", reservedSectors.ToString(System.Globalization.CultureInfo.InvariantCulture), img);
        OracleTool.RunExpect(0, "mmd", "-i", img, "::/SUBDIR");
        FatTestImages.Patch(img, FatBootRecord.Offsets.BackupBootSector, 0, 0);
        string theirs = dir.File("theirs.img");
        File.Copy(img, theirs);

        CheckReport n = FatTestImages.AssertBothDamaged(img);
        Assert.Contains(n.Findings, f => f.Message.Contains($"there is no backup boot sector; made in sector {expectedAt}", StringComparison.Ordinal));
        CheckReport y = FatTestImages.Check(img, repair: true);
        Assert.True(y.ExitCode == 1, FatTestImages.Describe(y));
        FatTestImages.AssertBothClean(img);
        Assert.Equal(FatTestImages.ReadAt(img, 0, 512), FatTestImages.ReadAt(img, expectedAt * 512L, 512));
        OracleTool.Run("fsck.fat", "-a", theirs);
        Assert.Equal(FatTestImages.ReadAt(theirs, 0, 512), FatTestImages.ReadAt(img, 0, 512));
    }

    [Fact]
    public void Check_SignatureMissingOnly_BootSectorKept_SignatureWritten()
    {
        using var dir = new ScratchDir("fatboot");
        string img = Build(dir);
        byte[] boot = FatTestImages.ReadAt(img, 0, 512);
        byte[] file1 = FatCheckTests.Mtype(img, "/FILE1.BIN");
        int bps = FatTestImages.Boot(img).BytesPerSector;
        uint dataCluster = FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, "FILE1   BIN"));
        Damage(img, "signature");
        FatTestImages.Patch(img, (BackupSector * bps) + 44, BitConverter.GetBytes(dataCluster));

        CheckReport n = FatTestImages.Check(img, repair: false);
        Assert.True(n.ExitCode == 4, FatTestImages.Describe(n));
        Assert.Contains(n.Findings, f => f.Phase == "boot" && f.Message.Contains("lacks the signature 0x55AA", StringComparison.Ordinal));
        Assert.DoesNotContain(n.Findings, f => f.Message.Contains("is sound", StringComparison.Ordinal));
        CheckReport y = FatTestImages.Check(img, repair: true);
        Assert.True(y.ExitCode == 1, FatTestImages.Describe(y));
        Assert.Equal(boot, FatTestImages.ReadAt(img, 0, 512));
        Assert.Equal(file1, FatCheckTests.Mtype(img, "/FILE1.BIN"));
        Assert.Equal("hello"u8.ToArray(), FatCheckTests.Mtype(img, "/SUBDIR/Deeper Directory/a long file name.txt"));
        Assert.Empty(FatTestImages.RecFiles(img));
    }

    /// <summary>
    /// Both boot sectors lack 0x55AA (fsck.fat does not look at it): the volume is checked with
    /// its own boot sector and -y writes the signature into it.
    /// </summary>
    [Fact]
    public void Check_BothBootSectorsLackTheSignature_CheckedAndSignatureWritten()
    {
        using var dir = new ScratchDir("fatboot");
        string img = Build(dir);
        byte[] boot = FatTestImages.ReadAt(img, 0, 512);
        int bps = FatTestImages.Boot(img).BytesPerSector;
        Damage(img, "signature");
        FatTestImages.Patch(img, (BackupSector * bps) + 510, 0, 0);
        CheckReport y = FatTestImages.Check(img, repair: true);
        Assert.True(y.ExitCode == 1, FatTestImages.Describe(y));
        Assert.Contains(y.Findings, f => f.Message.Contains("lacks the signature 0x55AA", StringComparison.Ordinal));
        Assert.Equal(boot, FatTestImages.ReadAt(img, 0, 512));
        // The backup, the same sector unsigned, is signed with it: the two do not come to differ.
        Assert.Equal(boot, FatTestImages.ReadAt(img, BackupSector * bps, 512));
        FatTestImages.AssertBothClean(img);
        Assert.DoesNotContain(FatTestImages.Check(img, repair: false).Findings, f => f.Message.Contains("differs", StringComparison.Ordinal));
        Assert.Equal("hello"u8.ToArray(), FatCheckTests.Mtype(img, "/SUBDIR/Deeper Directory/a long file name.txt"));
    }

    /// <summary>
    /// The driver does not mount from the backup: a boot sector it cannot parse is refused
    /// before the repair and mounts after it. fsck.fat gives up on the same image.
    /// </summary>
    [Fact]
    public void Mount_UnparsableBootSector_RefusedUntilTheRepair()
    {
        using var dir = new ScratchDir("fatboot");
        string img = Build(dir);
        Damage(img, "bytes-per-sector");
        Assert.NotEqual(Errno.OK, FatTestUtil.TryMount(img, readOnly: true, out _, out _));
        Assert.NotEqual(0, FatTestImages.FsckFat(img).ExitCode);

        Assert.Equal(1, FatTestImages.Check(img, repair: true).ExitCode);
        Mount m = FatTestUtil.MountImage(img, readOnly: true);
        try
        {
            Assert.Equal("hello"u8.ToArray(), FatTestUtil.ReadAll(m, "/a long file name.txt"));
        }
        finally
        {
            m.Unmount();
        }
    }

    /// <summary>With the backup damaged the same way there is nothing sound to use: exit 8 and nothing written, as before.</summary>
    [Fact]
    public void Check_BootSectorAndBackupUnparsable_RefusedAndNothingWritten()
    {
        using var dir = new ScratchDir("fatboot");
        string img = Build(dir);
        int bps = FatTestImages.Boot(img).BytesPerSector;
        Damage(img, "bytes-per-sector");
        FatTestImages.Patch(img, (BackupSector * bps) + FatBootRecord.Offsets.BytesPerSector, 0, 0);
        byte[] damaged = File.ReadAllBytes(img);

        CheckReport y = FatTestImages.Check(img, repair: true);
        Assert.True(y.ExitCode == 8, FatTestImages.Describe(y));
        Assert.Contains("bad bytes per sector 0", y.OperationalError, StringComparison.Ordinal);
        Assert.Equal(damaged, File.ReadAllBytes(img));
    }
}
