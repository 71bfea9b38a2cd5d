using RumpFs.FsDrivers.Ext2fs;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// Writes into newly allocated blocks on an image whose free space holds garbage (0xAA):
/// the parts of each new block the write does not cover must read as zeros, through the
/// driver and through debugfs, whether the write is padded into one device call or not.
/// </summary>
public class Ext2FreshBlockTests
{
    private static readonly Credentials Root = Credentials.Root;

    /// <summary>A new <paramref name="type"/> file system of <paramref name="mib"/> MiB whose free space holds 0xAA.</summary>
    internal static string GarbageImage(ScratchDir scratch, string type, int mib = 32, int blockSize = 4096)
    {
        string path = scratch.File(type + ".img");
        byte[] garbage = new byte[1 << 20];
        Array.Fill(garbage, (byte)0xAA);
        using (FileStream f = File.Create(path))
        {
            for (int i = 0; i < mib; i++)
            {
                f.Write(garbage);
            }
        }
        // nodiscard: mke2fs would otherwise punch the file's free space back to zeros.
        OracleTool.RunExpect(0, "mke2fs", ["-q", "-F", "-t", type, "-b", blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "-E", "nodiscard", path]);
        return path;
    }

    private static byte[] Pattern(int n, int seed)
    {
        byte[] b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Theory]
    [InlineData("ext2")]
    [InlineData("ext4")]
    public void Write_IntoFreshBlocks_UncoveredBytesReadAsZeros(string type)
    {
        using var scratch = new ScratchDir();
        string image = GarbageImage(scratch, type);
        // (offset of the write, its length): inside one block, across blocks with both edges
        // unaligned, an aligned start with a ragged end, and one larger than the padded-copy limit.
        (int Offset, int Length)[] cases = [(1000, 3000), (5000, 10240), (0, 10241), (777, 300 * 1024)];
        var expected = new Dictionary<string, byte[]>();
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            for (int i = 0; i < cases.Length; i++)
            {
                (int off, int len) = cases[i];
                string name = $"f{i}";
                Assert.Equal(Errno.OK, Vop.Create(root!, name, 0x1A4, Root, out Vnode? vp));
                byte[] data = Pattern(len, i);
                Assert.Equal(Errno.OK, Vop.Write(vp!, off, data, out int n));
                Assert.Equal(len, n);
                byte[] expect = new byte[off + len];
                data.CopyTo(expect, off);
                Assert.Equal(expect, Ext2Fixture.ReadAll(vp!));
                expected[name] = expect;
                vp!.Release();
            }
            root!.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
        byte[] raw = File.ReadAllBytes(image);
        foreach ((string name, byte[] expect) in expected)
        {
            string dump = scratch.File(name + ".out");
            OracleTool.RunExpect(0, "debugfs", ["-R", $"dump /{name} {dump}", image]);
            Assert.Equal(expect, File.ReadAllBytes(dump));
            // Past the end of file, inside its last block: not visible through read, so look
            // at the image itself where debugfs says the block lives.
            string blocks = OracleTool.RunExpect(0, "debugfs", ["-R", $"blocks /{name}", image]).Stdout;
            long last = blocks.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).Last();
            int used = expect.Length % 4096;
            if (used != 0)
            {
                Assert.All(raw.AsSpan((int)(last * 4096) + used, 4096 - used).ToArray(), b => Assert.Equal(0, b));
            }
        }
    }

    [Fact]
    public void FindZero_SkipsFullBytesAndHonoursBounds()
    {
        byte[] bits = new byte[4096];
        Array.Fill(bits, (byte)0xFF);
        Assert.Equal(-1, Ext2Mount.FindZero(bits, 0, bits.Length * 8));
        bits[3000] = 0xEF; // bit 4 of byte 3000 clear
        Assert.Equal((3000 * 8) + 4, Ext2Mount.FindZero(bits, 0, bits.Length * 8));
        Assert.Equal((3000 * 8) + 4, Ext2Mount.FindZero(bits, 3000 * 8, bits.Length * 8));
        Assert.Equal(-1, Ext2Mount.FindZero(bits, (3000 * 8) + 5, bits.Length * 8));
        Assert.Equal(-1, Ext2Mount.FindZero(bits, 0, (3000 * 8) + 4));
        bits[10] = 0x7F; // bit 7 of byte 10 clear; a limit inside byte 10 must not see it
        Assert.Equal(-1, Ext2Mount.FindZero(bits, 3, (10 * 8) + 7));
        Assert.Equal((10 * 8) + 7, Ext2Mount.FindZero(bits, 3, (10 * 8) + 8));
        Assert.Equal((10 * 8) + 7, Ext2Mount.FindZero(bits, (10 * 8) + 7, (10 * 8) + 8));
    }
}
