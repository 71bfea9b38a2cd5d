using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A root directory pass 1 clears (a block pointer outside the file system, a hole at block
/// 0) or that is not an allocated directory (fuzz round 20 fault 1): as fsck_ffs's pass 2
/// (ROOT INODE UNALLOCATED. ALLOCATE / DUPS/BAD IN ROOT INODE. REALLOCATE / ROOT INODE NOT
/// DIRECTORY. REALLOCATE) a new root is made with "." and "..", pass 3 links the orphaned
/// directories and pass 4 the files into lost+found, in one -y. Before, -y cleared the root,
/// stopped (exit 4) and left an image the driver refuses to mount. The test reads the
/// result back through the driver and, on UFS1, sleuthkit, and mounts it read-write.
/// </summary>
public sealed class FfsRootReallocTests
{
    public enum Damage
    {
        BlockOutside,
        HoleAtBlockZero,
        NotDirectory,
        Unallocated,
    }

    [Theory]
    [InlineData(1, Damage.BlockOutside)]
    [InlineData(1, Damage.HoleAtBlockZero)]
    [InlineData(1, Damage.NotDirectory)]
    [InlineData(1, Damage.Unallocated)]
    [InlineData(2, Damage.BlockOutside)]
    [InlineData(2, Damage.HoleAtBlockZero)]
    [InlineData(2, Damage.NotDirectory)]
    public void Repair_RootLost_NewRootAndEverythingInLostFound(int version, Damage damage)
    {
        using var dir = new ScratchDir("ffsroot");
        FfsDamage img = FfsSmallImages.Damage(dir, FfsSmallImages.Image(version));
        const ulong root = FfsSuperblock.RootIno;
        Dictionary<string, ulong> top = img.Entries(root).Where(e => e.Name is not ("." or "..")).ToDictionary(e => e.Name, e => e.Ino);
        img.SetInode(root, d =>
        {
            switch (damage)
            {
                case Damage.BlockOutside:
                    d.Db[0] = img.Sb.Size + (4 * img.Sb.Frag);
                    break;
                case Damage.HoleAtBlockZero:
                    d.Db[0] = 0;
                    break;
                case Damage.NotDirectory:
                    d.Mode = 0x81a4;
                    break;
                case Damage.Unallocated:
                    d.Mode = 0;
                    d.Nlink = 0;
                    break;
            }
        });

        (CheckReport found, CheckReport y) = FfsOneRunRepair.Run(img);
        Assert.Contains(found.Findings, f => f.Location == $"inode {root}" && f.Severity == CheckSeverity.Error);
        string why = damage switch
        {
            Damage.NotDirectory => "ROOT INODE NOT DIRECTORY",
            Damage.Unallocated => "ROOT INODE UNALLOCATED",
            _ => "DUPS/BAD IN ROOT INODE",
        };
        Assert.Contains(y.Findings, f => f.Message.Contains(why, StringComparison.Ordinal) && f.Message.Contains("new root directory made", StringComparison.Ordinal));

        List<(string Name, ulong Ino)> entries = img.Entries(root);
        Assert.Equal([".", "..", "lost+found"], entries.Select(e => e.Name));
        Assert.Equal(root, entries[0].Ino);
        Assert.Equal(root, entries[1].Ino);
        Assert.Equal(0x41ed, img.Inode(root).Mode);

        Dictionary<string, string> tree = FfsRepairTests.Tree(img.Bytes);
        HashSet<string> fls = version == 1 ? FfsOneRunRepair.SleuthkitPaths(img.Bytes) : [];
        foreach ((string path, string sha) in FfsSmallImages.SourceFiles(version))
        {
            string first = path.Split('/')[0];
            string moved = $"lost+found/#{top[first]}" + path[first.Length..];
            Assert.True(tree.TryGetValue(moved, out string? sig), $"{path} not at {moved}");
            Assert.Contains("file:" + sha, sig, StringComparison.Ordinal);
            if (version == 1)
            {
                Assert.Contains(moved, fls);
            }
        }
        Assert.StartsWith("2 dir", tree[$"lost+found/#{top["d"]}"], StringComparison.Ordinal);

        // The driver mounts it read-write (before, it refused the root).
        var dev = new MemoryBlockDevice(img.Bytes);
        Errno rc = FfsTestMount.TryMount(dev, false, out Mount? mp, out string? msg);
        Assert.True(rc == Errno.OK, $"read-write mount after repair: {rc} {msg}");
        Assert.Equal(Errno.OK, mp!.Unmount());
    }
}
