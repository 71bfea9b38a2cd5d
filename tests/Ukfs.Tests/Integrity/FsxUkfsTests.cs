using RumpFs.TestSupport;
using RumpFs.Ukfs;
using Xunit.Abstractions;

namespace RumpFs.Ukfs.Tests.Integrity;

/// <summary>
/// fsx through the Ukfs API: random writes, reads and truncates through a UkfsFileStream on a
/// fresh image of each format, checked against an in-memory model, with Sync and a full
/// unmount and reopen in between; the format's checker judges the image at the end.
/// RUMPFS_FSX_OPS makes the run long, RUMPFS_FSX_SEED repeats one.
/// </summary>
public class FsxUkfsTests(ITestOutputHelper output)
{
    private const int MaxSize = 2 << 20;

    public static TheoryData<string> Formats => new() { "ffs", "ext2", "ext4", "fat32" };

    [Theory, MemberData(nameof(Formats))]
    public void RandomOperationsThroughUkfs_MatchTheModel(string format)
    {
        int ops = int.TryParse(Environment.GetEnvironmentVariable("RUMPFS_FSX_OPS"), out int n) ? n : 600;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("RUMPFS_FSX_SEED"), out int s) ? s : Environment.TickCount;
        output.WriteLine($"fsx through ukfs on {format}: seed {seed}, {ops} operations");
        using var scratch = new ScratchDir("rumpfs-ukfsx");
        string image = MakeImage(scratch, format);
        var rng = new Random(seed);
        var model = new byte[MaxSize];
        int size = 0;
        UkfsMount fs = UkfsMount.Open(null, image);
        try
        {
            fs.WriteAllBytes("/fsx.bin", []);
            for (int step = 0; step < ops; step++)
            {
                string where = $"seed {seed}, step {step}";
                using (Stream f = fs.Open("/fsx.bin", FileMode.Open, FileAccess.ReadWrite))
                {
                    switch (rng.Next(10))
                    {
                        case < 4:
                        {
                            int offset = rng.Next(MaxSize - 1);
                            int length = Math.Min(rng.Next(1, 100_000), MaxSize - offset);
                            byte[] data = new byte[length];
                            rng.NextBytes(data);
                            f.Position = offset;
                            f.Write(data);
                            data.CopyTo(model, offset);
                            size = Math.Max(size, offset + length);
                            break;
                        }
                        case < 7:
                        {
                            int offset = rng.Next(size + 1);
                            byte[] got = new byte[rng.Next(1, 100_000)];
                            f.Position = offset;
                            int read = f.ReadAtLeast(got, got.Length, throwOnEndOfStream: false);
                            Assert.True(read == Math.Min(got.Length, size - offset), $"{where}: read {read} at {offset}, size {size}");
                            Assert.True(got.AsSpan(0, read).SequenceEqual(model.AsSpan(offset, read)), $"{where}: data differs at {offset}");
                            break;
                        }
                        case 7:
                        {
                            int newSize = rng.Next(3) == 0 ? 0 : rng.Next(MaxSize);
                            f.SetLength(newSize);
                            if (newSize < size)
                            {
                                Array.Clear(model, newSize, size - newSize);
                            }
                            size = newSize;
                            break;
                        }
                        case 8:
                            fs.Sync();
                            break;
                        default:
                            break;
                    }
                }
                if (rng.Next(60) == 0)
                {
                    fs.Unmount();
                    fs.Dispose();
                    fs = UkfsMount.Open(null, image);
                }
            }
            byte[] all = fs.ReadAllBytes("/fsx.bin");
            Assert.True(all.Length == size, $"seed {seed}: final size {all.Length}, model {size}");
            Assert.True(all.AsSpan().SequenceEqual(model.AsSpan(0, size)), $"seed {seed}: final content differs");
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
        Assert.True(check.ExitCode == 0, $"seed {seed}\n{check.Transcript}");
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
