using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// 16 MiB makefs images of one small tree (a short file, a file with a fragment tail, one
/// reaching the single-indirect block, a 5649-byte random file, a directory with a file), by
/// version and block/fragment size, made once per run; with the tree's file contents by path
/// and a way to write one superblock field as a fuzzer would.
/// </summary>
internal static class FfsSmallImages
{
    private static readonly Dictionary<string, Lazy<(byte[] Image, Dictionary<string, string> Files)>> s_made = [];

    /// <summary>A fresh copy of the image for UFS<paramref name="version"/> with the given block and fragment size.</summary>
    public static byte[] Image(int version, int bsize = 4096, int fsize = 512) => (byte[])Made(version, bsize, fsize).Image.Clone();

    /// <summary>Every regular file of the source tree: path (no leading slash) to SHA-256 of its contents.</summary>
    public static Dictionary<string, string> SourceFiles(int version, int bsize = 4096, int fsize = 512) => Made(version, bsize, fsize).Files;

    public static FfsSuperblock Superblock(byte[] image) =>
        FfsSuperblockCheck.Find(new MemoryBlockDevice(image, readOnly: true), out string? why) ?? throw new InvalidOperationException(why);

    /// <summary>Write a 32-bit superblock field (a SuperblockFields offset) in the primary copy only.</summary>
    public static void PokeSuperblock(byte[] image, int field, int value)
    {
        FfsSuperblock sb = Superblock(image);
        sb.Order.W32(image.AsSpan((int)sb.Location, FfsSuperblockCheck.ReadSize), field, value);
    }

    /// <summary>A copy of the image written to a file, for FfsDamage.</summary>
    public static FfsDamage Damage(ScratchDir dir, byte[] image)
    {
        string path = dir.File("damaged.img");
        File.WriteAllBytes(path, image);
        return new FfsDamage(path);
    }

    private static (byte[] Image, Dictionary<string, string> Files) Made(int version, int bsize, int fsize)
    {
        Lazy<(byte[], Dictionary<string, string>)> made;
        lock (s_made)
        {
            string key = $"{version}/{bsize}/{fsize}";
            if (!s_made.TryGetValue(key, out made!))
            {
                made = new(() => Make(version, bsize, fsize));
                s_made[key] = made;
            }
        }
        return made.Value;
    }

    private static (byte[], Dictionary<string, string>) Make(int version, int bsize, int fsize)
    {
        using var dir = new ScratchDir("ffssmall");
        string src = dir.File("tree");
        var rng = new Random((version * 100_000) + bsize);
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
        Put("small", 6);
        Put("fragtail", 4096 + (512 * 3) + 17);
        Put("indir", (4096 * 14) + 5);
        Put("f", 5649);
        Put("d/x", 2);
        string img = dir.File("fs.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", $"version={version},bsize={bsize},fsize={fsize}", "-s", "16m", "-T", "1700000000", img, src);
        return (File.ReadAllBytes(img), files);
    }
}
