using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// makefs images (UFS1 and UFS2, 24 MiB, at most 512 blocks a group, so several groups hold
/// files) of one source tree, made once per run, with the tree's file contents by path, and
/// a way to write one field of a group's header as a bad disk or a fuzzer would.
/// </summary>
internal static class FfsCgHeaderImages
{
    private static readonly Lazy<(byte[] Image, Dictionary<string, string> Files)>[] s_made =
        [new(() => Make(1)), new(() => Make(2))];

    /// <summary>A fresh copy of the image of UFS<paramref name="version"/>.</summary>
    public static byte[] Image(int version) => (byte[])s_made[version - 1].Value.Image.Clone();

    /// <summary>Every regular file of the source tree: path (no leading slash) to SHA-256 of its contents.</summary>
    public static Dictionary<string, string> SourceFiles(int version) => s_made[version - 1].Value.Files;

    public static FfsSuperblock Superblock(byte[] image) =>
        FfsSuperblockCheck.Find(new MemoryBlockDevice(image, readOnly: true), out string? why) ?? throw new InvalidOperationException(why);

    /// <summary>Write <paramref name="value"/> at <paramref name="field"/> (a CgFields offset) of group <paramref name="cg"/>'s header, 16 or 32 bits wide.</summary>
    public static void Poke(byte[] image, int cg, int field, int value, bool @short = false)
    {
        FfsSuperblock sb = Superblock(image);
        Span<byte> header = image.AsSpan((int)sb.FragToBytes(sb.CgTod(cg)), sb.CgSize);
        if (@short)
        {
            sb.Order.W16(header, field, (short)value);
        }
        else
        {
            sb.Order.W32(header, field, value);
        }
    }

    public static int Peek(byte[] image, int cg, int field)
    {
        FfsSuperblock sb = Superblock(image);
        return sb.Order.I32(image.AsSpan((int)sb.FragToBytes(sb.CgTod(cg)), sb.CgSize), field);
    }

    private static (byte[], Dictionary<string, string>) Make(int version)
    {
        using var dir = new ScratchDir("ffscg");
        string src = dir.File("tree");
        var rng = new Random(version);
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        void Put(string path, int size)
        {
            byte[] data = new byte[size];
            rng.NextBytes(data);
            string full = Path.Combine(src, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, data);
            files[path] = FfsTestMount.Sha256(data);
        }
        for (int i = 1; i <= 60; i++)
        {
            Put($"d/f{i}", i * 1531);
        }
        for (int i = 1; i <= 20; i++)
        {
            Put($"d/sub/s{i}", 10 + i);
        }
        Put("big1", 5_000_000);
        Put("big2", 2_500_000);
        Put("top.txt", 3);
        string img = dir.File("fs.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", $"version={version},maxbpcg=512", "-s", "24m", "-T", "1700000000", img, src);
        return (File.ReadAllBytes(img), files);
    }
}
