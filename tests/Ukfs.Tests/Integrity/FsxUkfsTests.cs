using RumpFs.TestSupport;
using RumpFs.Ukfs;
using Xunit.Abstractions;

namespace RumpFs.Ukfs.Tests.Integrity;

/// <summary>
/// fsx through the Ukfs API: random writes, reads and truncates through a UkfsFileStream on a
/// fresh image of each format, checked against an in-memory model, with Sync and a full
/// unmount and reopen in between; the format's checker judges the image at the end.
/// RUMPFS_FSX_OPS makes the run long, RUMPFS_FSX_SEED repeats one (see <see cref="StreamFsx"/>).
/// </summary>
public class FsxUkfsTests(ITestOutputHelper output)
{
    public static TheoryData<string> Formats => new() { "ffs", "ext2", "ext4", "fat32" };

    [Theory, MemberData(nameof(Formats))]
    public void RandomOperationsThroughUkfs_MatchTheModel(string format)
    {
        var fsx = new StreamFsx();
        output.WriteLine($"fsx through ukfs on {format}: seed {fsx.Seed}, {fsx.Operations} operations");
        using var scratch = new ScratchDir("rumpfs-ukfsx");
        string image = MakeImage(scratch, format);
        UkfsMount fs = UkfsMount.Open(null, image);
        try
        {
            fs.WriteAllBytes("/fsx.bin", []);
            for (int step = 0; step < fsx.Operations; step++)
            {
                using (Stream f = fs.Open("/fsx.bin", FileMode.Open, FileAccess.ReadWrite))
                {
                    fsx.Step(f, _ => fs.Sync(), step);
                }
                if (fsx.Rng.Next(60) == 0)
                {
                    fs.Unmount();
                    fs.Dispose();
                    fs = UkfsMount.Open(null, image);
                }
            }
            fsx.VerifyWhole(fs.ReadAllBytes("/fsx.bin"));
            fs.Unmount();
        }
        finally
        {
            fs.Dispose();
        }
        ToolResult check = format switch
        {
            "fat32" => OracleTool.Run("fsck.fat", "-n", image),
            "ffs" => OracleTool.Run("fsstat", image),
            _ => OracleTool.Run("e2fsck", "-fn", image),
        };
        Assert.True(check.ExitCode == 0, $"seed {fsx.Seed}\n{check.Transcript}");
    }

    private static string MakeImage(ScratchDir scratch, string format)
    {
        string image = scratch.File(format + ".img");
        switch (format)
        {
            case "ffs":
                string empty = scratch.File("empty");
                Directory.CreateDirectory(empty);
                OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", "version=1", "-B", "le", "-s", "64m", "-f", "1000", image, empty);
                break;
            case "fat32":
                OracleTool.RunExpect(0, "mkfs.fat", "-C", "-F", "32", image, "65536");
                break;
            default:
                OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", format, image, "64M");
                break;
        }
        return image;
    }
}
