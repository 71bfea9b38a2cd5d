using System.Buffers.Binary;
using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// The FAT check trusts the boot sector's layout only when a FAT copy found there starts
/// with the FAT signature (entry 0 the media byte, entry 1 an end-of-chain mark): checked
/// on a wrong layout, every chain would be garbage and a repair would truncate every file.
/// </summary>
public sealed class FatLayoutCheckTests
{
    private const int ReservedSectorsOffset = 14;
    private const int Fat32BackupBootSector = 6;

    private static string Build(ScratchDir dir, string bits)
    {
        string img = dir.File($"fat{bits}.img");
        FatTestImages.MkfsWithFiles(img, bits switch { "12" => 3L << 20, "16" => 24L << 20, _ => 40L << 20 }, bits);
        return img;
    }

    private static void AddToReservedSectors(string img, long bootSectorAt, int delta)
    {
        ushort reserved = BinaryPrimitives.ReadUInt16LittleEndian(FatTestImages.ReadAt(img, bootSectorAt + ReservedSectorsOffset, 2));
        FatTestImages.Patch(img, bootSectorAt + ReservedSectorsOffset, BitConverter.GetBytes((ushort)(reserved + delta)));
    }

    /// <summary>
    /// The reserved-sector count one too high (on FAT32 in the backup boot sector too, so
    /// that nothing can tell the right layout): fsck.fat gives up, and so do we, with exit 8
    /// and not one byte written, where a repair on that layout would empty every file.
    /// </summary>
    [Theory]
    [MemberData(nameof(FatCheckTests.Kinds), MemberType = typeof(FatCheckTests))]
    public void Check_ReservedSectorsOffByOne_RefusedLikeFsckFatAndNothingWritten(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        int bps = FatTestImages.Boot(img).BytesPerSector;
        AddToReservedSectors(img, 0, 1);
        if (bits == "32")
        {
            AddToReservedSectors(img, Fat32BackupBootSector * bps, 1);
        }
        byte[] damaged = File.ReadAllBytes(img);

        ToolResult oracle = FatTestImages.FsckFat(img);
        Assert.Contains("appear to be corrupt", oracle.Stdout + oracle.Stderr, StringComparison.Ordinal);
        CheckReport n = FatTestImages.Check(img, repair: false);
        Assert.True(n.ExitCode == 8, FatTestImages.Describe(n));
        Assert.Contains("no FAT copy starts with the media byte", n.OperationalError, StringComparison.Ordinal);
        CheckReport y = FatTestImages.Check(img, repair: true);
        Assert.True(y.ExitCode == 8, FatTestImages.Describe(y));
        Assert.Equal(damaged, File.ReadAllBytes(img));
    }

    /// <summary>
    /// A FAT count of 3 where mkfs.fat wrote 2 (on FAT32 in the backup too): the first copy
    /// is still in place, but the root and every cluster would be read a FAT's length off.
    /// fsck.fat supports only 1 or 2 FATs and gives up; so do we, writing nothing (before, a
    /// repair rewrote the whole volume from the misread layout).
    /// </summary>
    [Theory]
    [MemberData(nameof(FatCheckTests.Kinds), MemberType = typeof(FatCheckTests))]
    public void Check_ThreeFats_RefusedLikeFsckFatAndNothingWritten(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        int bps = FatTestImages.Boot(img).BytesPerSector;
        FatTestImages.Patch(img, 16, 3);
        if (bits == "32")
        {
            FatTestImages.Patch(img, (Fat32BackupBootSector * bps) + 16, 3);
        }
        AssertBothRefuseAndNothingWritten(img, "only 1 or 2 FATs are supported", "names 3 FATs");
    }

    /// <summary>fsck.fat says <paramref name="theirs"/>; our -n and -y give up (exit 8) saying <paramref name="ours"/>; the image is unchanged.</summary>
    private static void AssertBothRefuseAndNothingWritten(string img, string theirs, string ours)
    {
        byte[] damaged = File.ReadAllBytes(img);
        ToolResult oracle = FatTestImages.FsckFat(img);
        Assert.Contains(theirs, oracle.Stdout + oracle.Stderr, StringComparison.Ordinal);
        foreach (bool repair in new[] { false, true })
        {
            CheckReport r = FatTestImages.Check(img, repair);
            Assert.True(r.ExitCode == 8, FatTestImages.Describe(r));
            Assert.Contains(ours, r.OperationalError, StringComparison.Ordinal);
        }
        Assert.Equal(damaged, File.ReadAllBytes(img));
    }

    /// <summary>
    /// On FAT32 a FAT count of 3 in the boot sector alone: the backup boot sector is sound,
    /// the check runs on its layout and the repair copies it back, every file kept.
    /// </summary>
    [Fact]
    public void Check_Fat32ThreeFatsInTheBootSectorOnly_RestoredFromBackup()
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, "32");
        byte[] boot = FatTestImages.ReadAt(img, 0, 512);
        FatTestImages.Patch(img, 16, 3);
        CheckReport y = FatTestImages.Check(img, repair: true);
        Assert.True(y.ExitCode == 1, FatTestImages.Describe(y));
        Assert.Equal(boot, FatTestImages.ReadAt(img, 0, 512));
        FatTestImages.AssertBothClean(img);
    }

    /// <summary>
    /// A FAT12/16 root-entry count that does not fill whole sectors (513): Linux refuses to
    /// mount it and fsck.fat to check it; the driver refuses it and the check gives up,
    /// writing nothing (before, every later sector was read 32 bytes off and "repaired").
    /// </summary>
    [Theory]
    [InlineData("12")]
    [InlineData("16")]
    public void Check_RootEntriesNotFillingASector_RefusedByDriverAndCheck(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        ushort entries = BinaryPrimitives.ReadUInt16LittleEndian(FatTestImages.ReadAt(img, 17, 2));
        FatTestImages.Patch(img, 17, BitConverter.GetBytes((ushort)(entries + 1)));
        AssertBothRefuseAndNothingWritten(img, "doesn't span an integral number of sectors", "does not fill whole sectors");
        Assert.False(RumpFs.FsDrivers.Msdosfs.Bpb.LooksLikeFat(FatTestImages.ReadAt(img, 0, 512)));
    }

    /// <summary>
    /// On FAT32 the backup boot sector still has the right reserved-sector count, and the
    /// FATs it places carry the signature: the check runs on its layout, and the repair
    /// copies it over the boot sector, with every file kept.
    /// </summary>
    [Fact]
    public void Check_Fat32ReservedSectorsOffByOne_BootSectorRestoredFromBackup()
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, "32");
        byte[] boot = FatTestImages.ReadAt(img, 0, 512);
        byte[] file1 = FatCheckTests.Mtype(img, "/FILE1.BIN");
        AddToReservedSectors(img, 0, 1);

        CheckReport n = FatTestImages.Check(img, repair: false);
        Assert.True(n.ExitCode == 4, FatTestImages.Describe(n));
        Assert.Equal(["boot"], n.Findings.Where(f => f.Severity == CheckSeverity.Error).Select(f => f.Phase));
        CheckReport y = FatTestImages.Check(img, repair: true);
        Assert.True(y.ExitCode == 1, FatTestImages.Describe(y));
        Assert.Equal(boot, FatTestImages.ReadAt(img, 0, 512));
        FatTestImages.AssertBothClean(img);
        Assert.Equal(file1, FatCheckTests.Mtype(img, "/FILE1.BIN"));
        Assert.Equal("hello"u8.ToArray(), FatCheckTests.Mtype(img, "/SUBDIR/Deeper Directory/a long file name.txt"));
    }

    /// <summary>
    /// Entry 0 of the first FAT damaged: the second FAT still carries the signature, so it
    /// is the one the check trusts and the repair copies (as fsck.fat does). Copying the
    /// first instead would leave no FAT with the signature, and the next check would refuse.
    /// </summary>
    [Theory]
    [MemberData(nameof(FatCheckTests.Kinds), MemberType = typeof(FatCheckTests))]
    public void Check_FirstFatWithoutSignature_SecondFatWins(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        uint entry0 = FatTestImages.FatEntry(img, 0);
        FatTestImages.SetFatEntry(img, 0, 0, 0); // first copy only

        CheckReport before = FatTestImages.AssertBothDamaged(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("using FAT 2", StringComparison.Ordinal));
        CheckReport y = FatTestImages.Check(img, repair: true);
        Assert.True(y.ExitCode == 1, FatTestImages.Describe(y));
        FatTestImages.AssertBothClean(img);
        Assert.Equal(entry0, FatTestImages.FatEntry(img, 0));
    }

    /// <summary>
    /// The FSInfo sector number outside the reserved area (the driver then keeps no free
    /// count): an error, set back from the backup boot sector's number or, when that one is
    /// damaged too, to sector 1, which holds the FSInfo signatures; both boot sectors agree
    /// afterwards and fsck.fat finds nothing.
    /// </summary>
    [Theory]
    [InlineData(false, 0xFFCA)]
    [InlineData(true, 0xFFCA)]
    [InlineData(false, Fat32BackupBootSector)] // the backup boot sector: a repair there would overwrite it
    public void Check_Fat32FsInfoNumberOutsideReservedArea_SetBack(bool backupDamagedToo, int bad)
    {
        const int FsInfoField = 48;
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, "32");
        int bps = FatTestImages.Boot(img).BytesPerSector;
        byte[] field = FatTestImages.ReadAt(img, FsInfoField, 2);
        byte[] badBytes = BitConverter.GetBytes((ushort)bad);
        FatTestImages.Patch(img, FsInfoField, badBytes);
        if (backupDamagedToo)
        {
            FatTestImages.Patch(img, (Fat32BackupBootSector * bps) + FsInfoField, badBytes);
        }

        CheckReport before = FatTestImages.AssertBothDamaged(img);
        Assert.Contains(before.Findings, f => f.Phase == "fsinfo" && f.Severity == CheckSeverity.Error);
        CheckReport y = FatTestImages.Check(img, repair: true);
        Assert.True(y.ExitCode == 1, FatTestImages.Describe(y));
        FatTestImages.AssertBothClean(img);
        Assert.True(field.AsSpan().SequenceEqual(FatTestImages.ReadAt(img, FsInfoField, 2)), FatTestImages.Describe(y));
        Assert.Equal(field, FatTestImages.ReadAt(img, (Fat32BackupBootSector * bps) + FsInfoField, 2));
    }
}
