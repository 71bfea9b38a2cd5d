using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>
/// A damaged block map never hands out another file's bytes (fuzz round 20 fault 7): a size
/// raised past the fragments a small file owns, and a block whose fragments would cross into
/// the next block, are EIO, on UFS1 and UFS2 images made by makefs; the healthy neighbours
/// still read.
/// </summary>
public sealed class FfsDamagedMappingTests : IDisposable
{
    private const int Bsize = 8192;
    private readonly ScratchDir _dir = new("ffs-damaged-map");

    public void Dispose() => _dir.Dispose();

    private FfsDamage Image(int version)
    {
        string tree = _dir.File("tree" + version);
        Directory.CreateDirectory(tree);
        File.WriteAllBytes(Path.Combine(tree, "frag2k"), Filled(2048, 1));
        File.WriteAllBytes(Path.Combine(tree, "frag512"), Filled(512, 2));
        File.WriteAllBytes(Path.Combine(tree, "neighbour"), Filled(3000, 3));
        File.WriteAllBytes(Path.Combine(tree, "indirect"), Filled((13 * Bsize) + 100, 4));
        string img = _dir.File($"ufs{version}.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", $"version={version},bsize={Bsize},fsize=1024", "-s", "8m", img, tree);
        return new FfsDamage(img);
    }

    private static byte[] Filled(int length, byte seed) => [.. Enumerable.Range(0, length).Select(i => (byte)(seed + (i * 13)))];

    private static (Errno, byte[]) Read(FfsDamage img, string path)
    {
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(new MemoryBlockDevice(img.Bytes, readOnly: true), true, out Mount? mp, out _));
        try
        {
            Errno e = Namei.Resolve(mp!, path, NameiFlags.Follow, Credentials.Root, out Vnode? vp);
            if (e != Errno.OK)
            {
                return (e, []);
            }
            byte[] buffer = new byte[64 * 1024];
            e = Vop.Read(vp!, 0, buffer, out int n);
            vp!.Release();
            return (e, buffer[..n]);
        }
        finally
        {
            Assert.Equal(Errno.OK, mp!.Unmount());
        }
    }

    private static void AssertReads(FfsDamage img, string path, byte[] expected)
    {
        (Errno e, byte[] data) = Read(img, path);
        Assert.Equal(Errno.OK, e);
        Assert.Equal(expected, data);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void SizeRaisedPastTheFragmentsOwned_Eio(int version)
    {
        FfsDamage img = Image(version);
        img.SetInode(img.Ino("/frag2k"), d => d.Size = Bsize + 2);
        Assert.Equal(Errno.EIO, Read(img, "/frag2k").Item1);
        AssertReads(img, "/neighbour", Filled(3000, 3));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void SizeRaisedWithinTheFragmentsOwned_Reads(int version)
    {
        FfsDamage img = Image(version);
        // 2048 bytes own two fragments: 2000 bytes need no more, so nothing is wrong to read.
        img.SetInode(img.Ino("/frag2k"), d => d.Size = 2000);
        AssertReads(img, "/frag2k", Filled(2048, 1)[..2000]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void TailFragmentsCrossingIntoTheNextBlock_Eio(int version)
    {
        FfsDamage img = Image(version);
        ulong ino = img.Ino("/neighbour");
        long at = img.Inode(ino).Db[0];
        // Three fragments moved to the last fragment of their block run into the next one.
        img.SetInode(ino, d => d.Db[0] = (at & ~(long)(img.Sb.Frag - 1)) + img.Sb.Frag - 1);
        Assert.Equal(Errno.EIO, Read(img, "/neighbour").Item1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void WholeBlockNotOnABlockBoundary_Eio(int version)
    {
        FfsDamage img = Image(version);
        ulong ino = img.Ino("/indirect");
        long first = img.Inode(ino).Db[0];
        img.SetInode(ino, d => d.Db[0] = first + 1);
        Assert.Equal(Errno.EIO, Read(img, "/indirect").Item1);
        AssertReads(img, "/frag2k", Filled(2048, 1));
    }
}
