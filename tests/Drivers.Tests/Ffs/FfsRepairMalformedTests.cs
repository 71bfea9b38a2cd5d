using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>fsck -y on damage whose outcome is not one file: broken records, stray map bits, random garbage.</summary>
public class FfsRepairMalformedTests
{
    [Theory]
    [InlineData("ffs1-le-8k-f2")]
    [InlineData("ffs2-be-8k-f2")]
    public void Repair_BrokenRecordLength_SalvagesChunkAndKeepsEveryFileSomewhere(string image)
    {
        var img = new FfsDamage(Corpus.Get(image).ImagePath);
        Dictionary<string, string> before = FfsRepairTests.Tree(img.Bytes);
        // A record length that is not a multiple of 4 ends the chunk for fsck_ffs: the
        // names after it are lost, their files go to lost+found.
        img.WithEntry(FfsSuperblock.RootIno, "hello.txt", (b, off, _) => DirectEntry.WriteRecLen(b, off, img.Sb.Order, 13));
        Assert.Contains(FfsCheck.Run(img.Device).Findings, f => f.Kind == FfsFindingKind.Directory);

        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        CheckReport again = new FfsChecker().Check(img.Device, repair: false);
        Assert.True(again.ExitCode == 0, FfsRepairTests.Describe(again));

        Dictionary<string, string> after = FfsRepairTests.Tree(img.Bytes);
        Assert.Contains("lost+found", after.Keys);
        // Every regular file survives with its data, under its name or as lost+found/#N.
        AllFileContentsSurvive(before, after);
    }

    [Theory]
    [InlineData("ffs1-le-8k-f2", 0)]
    [InlineData("ffs2-be-8k-f2", 1)]
    public void Repair_DirectoryWithHole_CutAtTheHoleAndItsFilesKept(string image, int hole)
    {
        var img = new FfsDamage(Corpus.Get(image).ImagePath);
        Dictionary<string, string> before = FfsRepairTests.Tree(img.Bytes);
        ulong many = img.Ino("/many");
        Assert.True(img.Inode(many).Size > img.Sb.Bsize, "/many should span blocks");
        img.SetInode(many, d => d.Db[hole] = 0);
        Assert.Contains(FfsCheck.Run(img.Device).Findings, f => f.Kind == FfsFindingKind.Directory && f.Message.Contains("hole", StringComparison.Ordinal));

        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        Assert.True(FfsCheck.Run(img.Device).IsClean, FfsCheck.Run(img.Device).ToString());
        Dictionary<string, string> after = FfsRepairTests.Tree(img.Bytes);
        if (hole == 0)
        {
            // Nothing left before the hole: the directory is cleared, its files are orphans.
            Assert.DoesNotContain("many", after.Keys);
        }
        else
        {
            Assert.True(img.Inode(many).Size == (long)hole << img.Sb.Bshift);
        }
        AllFileContentsSurvive(before, after);
    }

    [Fact]
    public void Repair_SecondNameForADirectory_OneNameRemoved()
    {
        var img = new FfsDamage(Corpus.Get("ffs1-le-8k-f2").ImagePath);
        ulong dir = img.Ino("/emptydir");
        img.WithEntry(FfsSuperblock.RootIno, "hardlink-at-root", (b, off, _) =>
        {
            DirectEntry.WriteIno(b, off, img.Sb.Order, (uint)dir);
            b[off + DirectEntry.Type] = 4;
        });
        Assert.Contains(FfsCheck.Run(img.Device).Findings, f => f.Kind == FfsFindingKind.Directory && f.Message.Contains("reached twice", StringComparison.Ordinal));
        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        Assert.True(FfsCheck.Run(img.Device).IsClean, FfsCheck.Run(img.Device).ToString());
        Dictionary<string, string> after = FfsRepairTests.Tree(img.Bytes);
        // The walk keeps the name it meets first; the other goes.
        Assert.Single(new[] { "emptydir", "hardlink-at-root" }, n => after.ContainsKey(n));
        Assert.StartsWith("2 file:", after["links/original"], StringComparison.Ordinal);
        Assert.Equal(2, img.Inode(dir).Nlink);
    }

    [Fact]
    public void Repair_LostFoundIsAFile_OrphanLeftAndReported()
    {
        var img = new FfsDamage(Corpus.Get("ffs2-le-8k-f2").ImagePath);
        // "hello.txt" renamed "lost+found" in place (both need a 20-byte record).
        img.WithEntry(FfsSuperblock.RootIno, "hello.txt", (b, off, _) =>
        {
            Assert.True(DirectEntry.ReadRecLen(b, off, img.Sb.Order) >= DirectEntry.SizeFor(10));
            b[off + DirectEntry.NamLen] = 10;
            "lost+found"u8.CopyTo(b[(off + DirectEntry.Name)..]);
            b[off + DirectEntry.Name + 10] = 0;
        });
        ulong orphan = img.Ino("/old-file");
        img.RemoveEntry(FfsSuperblock.RootIno, "old-file");
        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 4, FfsRepairTests.Describe(y));
        Assert.Contains(y.Findings, f => f.Message.Contains("lost+found is not a directory", StringComparison.Ordinal));
        Dictionary<string, string> after = FfsRepairTests.Tree(img.Bytes);
        Assert.StartsWith("1 file:", after["lost+found"], StringComparison.Ordinal);
        Assert.NotEqual(0, img.Inode(orphan).Mode);
    }

    [Fact]
    public void Repair_NegativeSize_InodeClearedAndNameRemoved()
    {
        var img = new FfsDamage(Corpus.Get("ffs1-be-8k-f2").ImagePath);
        ulong ino = img.Ino("/hello.txt");
        img.SetInode(ino, d => d.Size = -5);
        Assert.Contains(FfsCheck.Run(img.Device).Findings, f => f.Kind == FfsFindingKind.Inode && f.Location == (long)ino);
        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        Assert.Equal(0, img.Inode(ino).Mode);
        Assert.DoesNotContain("hello.txt", FfsRepairTests.Tree(img.Bytes).Keys);
    }

    [Fact]
    public void Repair_NameWithSlash_ChunkSalvaged()
    {
        var img = new FfsDamage(Corpus.Get("ffs2-le-8k-f2").ImagePath);
        Dictionary<string, string> before = FfsRepairTests.Tree(img.Bytes);
        img.WithEntry(FfsSuperblock.RootIno, "hello.txt", (b, off, _) => b[off + DirectEntry.Name + 2] = (byte)'/');
        Assert.Contains(FfsCheck.Run(img.Device).Findings, f => f.Kind == FfsFindingKind.Directory);
        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        Assert.True(FfsCheck.Run(img.Device).IsClean);
        AllFileContentsSurvive(before, FfsRepairTests.Tree(img.Bytes));
    }

    [Fact]
    public void Repair_SixHundredOrphans_LostFoundGrowsIntoASecondBlock()
    {
        var img = new FfsDamage(Corpus.Get("ffs2-le-8k-f2").ImagePath);
        ulong many = img.Ino("/many");
        List<(string Name, ulong Ino)> victims = [.. img.Entries(many).Where(e => e.Name.StartsWith('f')).Take(600)];
        Assert.Equal(600, victims.Count);
        foreach ((string name, _) in victims)
        {
            img.RemoveEntry(many, name);
        }
        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        Assert.True(FfsCheck.Run(img.Device).IsClean, FfsCheck.Run(img.Device).ToString());
        ulong lf = img.Ino("/lost+found");
        Assert.True(img.Inode(lf).Size > img.Sb.Bsize, $"lost+found is {img.Inode(lf).Size} bytes");
        Dictionary<string, string> after = FfsRepairTests.Tree(img.Bytes);
        foreach ((string name, ulong ino) in victims)
        {
            Assert.True(after.TryGetValue($"lost+found/#{ino}", out string? sig), $"{name} (#{ino}) not in lost+found");
            Assert.EndsWith(":100644", sig, StringComparison.Ordinal);
        }
    }

    private static void AllFileContentsSurvive(Dictionary<string, string> before, Dictionary<string, string> after)
    {
        var contents = after.Values.Select(Body).GroupBy(x => x).ToDictionary(g => g.Key, g => g.Count());
        foreach ((string path, string sig) in before)
        {
            if (sig.Contains(" file:", StringComparison.Ordinal))
            {
                Assert.True(contents.GetValueOrDefault(Body(sig)) > 0, $"{path} lost");
            }
        }
    }

    [Fact]
    public void Repair_InodeMarkedUsedBeyondInitialisedBlocks_BitCleared()
    {
        var img = new FfsDamage(Corpus.Get("ffs2-empty-64m").ImagePath);
        int inited = 0;
        img.WithGroup(0, g => inited = g.InitedIblk);
        Assert.True(inited < img.Sb.Ipg, "the image initialised every inode block");
        img.WithGroup(0, g => g.SetInodeUsed(inited + 1, true));
        Assert.Contains(FfsCheck.Run(img.Device).Findings, f => f.Kind == FfsFindingKind.Inode);

        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        bool used = true;
        img.WithGroup(0, g => used = g.InodeUsed(inited + 1));
        Assert.False(used);
        Assert.True(FfsCheck.Run(img.Device).IsClean);
    }

    /// <summary>
    /// A damaged cg_initediblk (negative, or off an inode block's edge): the check reads the
    /// group's inodes as far as its map shows some in use instead of none, reports the field,
    /// and the repair sets it from the map; every file is still there.
    /// </summary>
    [Theory]
    [InlineData(-1)]
    [InlineData(7)]
    public void Repair_DamagedInitialisedInodeCount_SetFromTheMapAndTheTreeKept(int initedIblk)
    {
        var img = new FfsDamage(Corpus.Get("ffs2-be-8k-f2").ImagePath);
        Dictionary<string, string> before = FfsRepairTests.Tree(img.Bytes);
        img.WithGroup(0, g => g.InitedIblk = initedIblk);
        FfsCheckReport found = FfsCheck.Run(img.Device);
        Assert.Contains(found.Findings, f => f.Kind == FfsFindingKind.CylinderGroup && f.Message.Contains("cg_initediblk", StringComparison.Ordinal));
        Assert.DoesNotContain(found.Findings, f => f.Kind == FfsFindingKind.Inode);

        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, FfsRepairTests.Describe(y));
        Assert.True(FfsCheck.Run(img.Device).IsClean);
        int after = -1;
        img.WithGroup(0, g => after = g.InitedIblk);
        Assert.True(after > 0 && after % img.Sb.Inopb == 0, $"cg_initediblk {after}");
        Assert.Equal(before, FfsRepairTests.Tree(img.Bytes));
    }

    [Theory]
    [InlineData("ffs1-le-8k-f2")]
    [InlineData("ffs2-be-8k-f2")]
    public void Repair_RandomGarbageInMetadata_NeverThrowsAndConverges(string image)
    {
        byte[] pristine = File.ReadAllBytes(Corpus.Get(image).ImagePath);
        FfsSuperblock sb = FfsSuperblockCheck.Find(new MemoryBlockDevice(pristine, readOnly: true), out _)!;
        long inodes = sb.FragToBytes(sb.CgIMin(0));
        var probe = new FfsDamage(Corpus.Get(image).ImagePath);
        long root = probe.Inode(FfsSuperblock.RootIno).Db[0];
        long indirect = sb.FragToBytes(probe.Inode(probe.Ino("/big/double-indirect.bin")).Ib[0]);
        long cgMaps = sb.FragToBytes(sb.CgTod(0)) + 168;
        var checker = new FfsChecker();
        int repaired = 0;
        for (int seed = 1; seed <= 40; seed++)
        {
            byte[] img = (byte[])pristine.Clone();
            var rng = new Random(seed);
            for (int i = 0; i < 12; i++)
            {
                // Inode records, the root directory, an indirect block, the group's maps.
                long at = rng.Next(4) switch
                {
                    0 => inodes + rng.Next(64 * sb.DinodeSize),
                    1 => sb.FragToBytes(root) + rng.Next(FfsSuperblock.DirBlkSiz),
                    2 => indirect + rng.Next(sb.Bsize),
                    _ => cgMaps + rng.Next(sb.CgSize - 168),
                };
                img[at] = (byte)rng.Next(256);
            }
            var dev = new MemoryBlockDevice(img);
            CheckReport y = checker.Check(dev, repair: true);
            Assert.True(y.ExitCode is 0 or 1 or 4, $"seed {seed}: {FfsRepairTests.Describe(y)}");
            CheckReport again = checker.Check(dev, repair: true);
            if (y.ExitCode == 1)
            {
                repaired++;
                Assert.True(again.ExitCode == 0, $"seed {seed}: second -y\n{FfsRepairTests.Describe(again)}\nfirst:\n{FfsRepairTests.Describe(y)}");
            }
            if (again.ExitCode == 0)
            {
                Assert.Equal(Errno.OK, FfsTestMount.TryMount(new MemoryBlockDevice((byte[])img.Clone(), readOnly: true), true, out Mount? mp, out _));
                WalkAll(mp!, $"seed {seed}");
                Assert.Equal(Errno.OK, mp!.Unmount());
            }
        }
        Assert.True(repaired >= 10, $"only {repaired} of 40 damaged images needed and got a repair");
    }

    /// <summary>Every name readdir lists can be looked up, down the whole tree.</summary>
    private static void WalkAll(Mount mp, string what)
    {
        Assert.Equal(Errno.OK, mp.Root(out Vnode? root));
        var stack = new Stack<(Vnode, string)>();
        stack.Push((root!, "/"));
        while (stack.Count > 0)
        {
            (Vnode dir, string path) = stack.Pop();
            var list = new DirEntryList();
            Errno rd = Vop.ReadDir(dir, 0, list);
            Assert.True(rd == Errno.OK, $"{what}: readdir {path}: {rd}; log: {string.Join(" | ", FfsTestMount.LastLog)}");
            foreach (DirEntry d in list.Entries)
            {
                // Garbage may leave any bytes in a name: those that are not UTF-8 come back as
                // escapes and look up as they are (readdir leaves out a name with '/' or NUL).
                if (d.Name is "." or "..")
                {
                    continue;
                }
                Errno e = Vop.Lookup(dir, d.Name, Credentials.Root, out Vnode? child);
                Assert.True(e == Errno.OK, $"{what}: lookup {path}{d.Name} ({string.Join(",", NameEncoding.GetBytes(d.Name))}, ino {d.Ino}): {e}; log: {string.Join(" | ", FfsTestMount.LastLog)}");
                if (d.Type == VType.Directory)
                {
                    stack.Push((child!, path + d.Name + "/"));
                }
                else
                {
                    child!.Release();
                }
            }
            dir.Release();
        }
    }

    private static string Body(string sig) => sig[(sig.IndexOf(' ') + 1)..];
}
