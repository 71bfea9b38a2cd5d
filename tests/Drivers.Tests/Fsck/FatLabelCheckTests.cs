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
}
