using System.Text;
using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// The boot sector's label and the root directory's volume entry, damaged apart: both
/// checkers find it, our -y mends it as fsck.fat -a does (the root's label wins, an invalid
/// or lone label goes), and afterwards both are clean and mtools reads the label we chose.
/// </summary>
public sealed class FatLabelCheckTests
{
    private const string Label = "TESTVOL    ";

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string bits in new[] { "12", "16", "32" })
        {
            foreach (string damage in new[] { "root-differs", "boot-invalid", "boot-no-name", "no-root-label", "root-invalid", "root-blank" })
            {
                data.Add(bits, damage);
            }
        }
        return data;
    }

    private static long BootLabelOffset(string img) =>
        FatTestImages.Boot(img).ExtOffset + FatBootRecord.Offsets.ExtLabel;

    private static string BootLabel(string img, long sector = 0) =>
        Encoding.Latin1.GetString(FatTestImages.ReadAt(img, sector * 512 + BootLabelOffset(img), 11));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Check_LabelsApart_RepairedAsFsckFatDoes(string bits, string damage)
    {
        using var dir = new ScratchDir("fatlabel");
        string img = FatCheckTests.Build(dir, bits);
        long entry = FatTestImages.RootEntryOffset(img, Label);
        (string expectBoot, string? expectRoot) = damage switch
        {
            "root-differs" => ("OTHERVOL   ", "OTHERVOL   "),
            "boot-invalid" => (Label, Label),
            "boot-no-name" => (Label, Label),
            "no-root-label" => ("NO NAME    ", null),
            _ => ("NO NAME    ", null), // an invalid root label is removed from both places
        };
        switch (damage)
        {
            case "root-differs":
                FatTestImages.Patch(img, entry, Encoding.ASCII.GetBytes("OTHERVOL   "));
                break;
            case "boot-invalid":
                FatTestImages.Patch(img, BootLabelOffset(img), Encoding.ASCII.GetBytes("BAD*NAME   "));
                break;
            case "boot-no-name":
                FatTestImages.Patch(img, BootLabelOffset(img), Encoding.ASCII.GetBytes("NO NAME    "));
                break;
            case "no-root-label":
                FatTestImages.Patch(img, entry, 0xE5);
                break;
            case "root-invalid":
                FatTestImages.Patch(img, entry, Encoding.ASCII.GetBytes("TEST?VOL   "));
                break;
            default:
                FatTestImages.Patch(img, entry, Encoding.ASCII.GetBytes("           "));
                break;
        }
        byte[] damaged = File.ReadAllBytes(img);

        string before = FatCheckTests.RepairRoundTrip(img, "label");

        Assert.Contains(damage is "root-invalid" or "root-blank" ? "label removed" : "boot sector", before, StringComparison.Ordinal);
        Assert.Equal(expectBoot, BootLabel(img));
        if (bits == "32")
        {
            Assert.Equal(expectBoot, BootLabel(img, FatTestImages.Boot(img).BackupBootSector));
        }
        ToolResult mlabel = OracleTool.Run("mlabel", "-i", img, "-s", "::");
        Assert.True(mlabel.ExitCode == 0, mlabel.Transcript);
        if (expectRoot is null)
        {
            Assert.Contains("has no label", mlabel.Stdout, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("is " + expectRoot.TrimEnd(), mlabel.Stdout, StringComparison.Ordinal);
        }
        // Only the label bytes changed: no file lost its entry or its data.
        Assert.Equal(Enumerable.Range(0, 15000).Select(b => (byte)b), FatCheckTests.Mtype(img, "/FILE2.BIN"));
        Assert.NotEqual(damaged, File.ReadAllBytes(img));
    }

    [Fact]
    public void Check_LabelsApartUnderNoRepair_WritesNothing()
    {
        using var dir = new ScratchDir("fatlabel");
        string img = FatCheckTests.Build(dir, "16");
        FatTestImages.Patch(img, FatTestImages.RootEntryOffset(img, Label), Encoding.ASCII.GetBytes("OTHERVOL   "));
        byte[] damaged = File.ReadAllBytes(img);

        CheckReport n = FatTestImages.Check(img, repair: false);

        Assert.Equal(4, n.ExitCode);
        CheckFinding finding = Assert.Single(n.Findings, f => f.Severity == CheckSeverity.Error);
        Assert.Equal("label", finding.Phase);
        Assert.Contains("'TESTVOL' in the boot sector differs from volume label 'OTHERVOL'", finding.Message, StringComparison.Ordinal);
        Assert.Equal(damaged, File.ReadAllBytes(img));
    }

    [Fact]
    public void Check_NoExtendedBootRecord_LabelNotCompared()
    {
        // A boot sector without the 0x29 extended BPB has no label field; writing one would
        // overwrite what may be boot code there, so the root's label stands alone.
        using var dir = new ScratchDir("fatlabel");
        string img = FatCheckTests.Build(dir, "12");
        FatTestImages.Patch(img, FatTestImages.Boot(img).ExtOffset + FatBootRecord.Offsets.ExtSignature, 0);
        byte[] before = File.ReadAllBytes(img);

        CheckReport y = FatTestImages.Check(img, repair: true);

        Assert.True(y.ExitCode == 0, FatTestImages.Describe(y));
        Assert.Equal(before, File.ReadAllBytes(img));
    }

    [Fact]
    public void Check_TwoVolumeEntriesFirstInvalid_OneRepairConverges()
    {
        // fsck.fat -a removes the first and needs a second run for the second; one -y does both.
        using var dir = new ScratchDir("fatlabel");
        string img = FatCheckTests.Build(dir, "16");
        long first = FatTestImages.RootEntryOffset(img, Label);
        FatTestImages.Patch(img, first, Encoding.ASCII.GetBytes("MY*LABEL   "));
        long free = FreeRootSlot(img);
        byte[] second = new byte[32];
        Encoding.ASCII.GetBytes("SECOND     ").CopyTo(second, 0);
        second[11] = 0x08;
        FatTestImages.Patch(img, free, second);

        CheckReport y = FatTestImages.Check(img, repair: true);

        Assert.True(y.ExitCode == 1, FatTestImages.Describe(y));
        FatTestImages.AssertBothClean(img);
        Assert.Equal("SECOND     ", BootLabel(img));
        Assert.Contains("is SECOND", OracleTool.Run("mlabel", "-i", img, "-s", "::").Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0x18)]
    [InlineData(0x3F)]
    public void Check_VolumeEntryWithTheDirectoryBit_NotALabel(byte attributes)
    {
        // fsck.fat takes it for a directory starting at the root and deletes it, and then the
        // boot sector's label is alone; so do we.
        using var dir = new ScratchDir("fatlabel");
        string img = FatCheckTests.Build(dir, "32");
        FatTestImages.Patch(img, FatTestImages.RootEntryOffset(img, Label) + 11, attributes);

        string before = FatCheckTests.RepairRoundTrip(img, "directories");

        Assert.Contains("label 'TESTVOL' in the boot sector, but no volume label", before, StringComparison.Ordinal);
        Assert.Equal("NO NAME    ", BootLabel(img));
    }

    [Fact]
    public void Check_Fat32CheckedWithTheBackupBootSector_LabelComparedWithTheBackup()
    {
        // Under -n the damaged boot sector is still in place: the label check reads the
        // backup, which the check runs on, and -n and -y agree.
        using var dir = new ScratchDir("fatlabel");
        string img = FatCheckTests.Build(dir, "32");
        int bps = FatTestImages.Boot(img).BytesPerSector;
        long backup = FatTestImages.Boot(img).BackupBootSector * (long)bps;
        FatTestImages.Patch(img, backup + BootLabelOffset(img), Encoding.ASCII.GetBytes("OTHER      "));
        FatTestImages.Patch(img, FatBootRecord.Offsets.BytesPerSector, 0, 0);

        CheckReport n = FatTestImages.Check(img, repair: false);
        CheckReport y = FatTestImages.Check(img, repair: true);

        Assert.Contains(n.Findings, f => f.Phase == "label" && f.Message.Contains("'OTHER'", StringComparison.Ordinal));
        Assert.Equal(n.Findings.Select(f => f.Message), y.Findings.Select(f => f.Message));
        FatTestImages.AssertBothClean(img);
        Assert.Equal(Label, BootLabel(img));
    }

    /// <summary>The first never-used slot of the FAT16 root.</summary>
    private static long FreeRootSlot(string img)
    {
        FatBootRecord b = FatTestImages.Boot(img);
        byte[] root = FatTestImages.ReadAt(img, b.RootDirOffset, b.RootEntries * 32);
        for (int i = 0; i < b.RootEntries; i++)
        {
            if (root[i * 32] == 0)
            {
                return b.RootDirOffset + (i * 32);
            }
        }
        throw new InvalidOperationException("root full");
    }
}
