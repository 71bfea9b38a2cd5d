using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>
/// fsck -y on damaged makefs images: each damage is found by -n (exit 4, nothing written),
/// repaired by -y (exit 1), a second -n is clean (exit 0), and every file the damage did
/// not destroy reads back through the driver with its contents and link count.
/// </summary>
public class FfsRepairTests
{
    public enum Damage
    {
        SuperblockFreeCount,
        GroupFreeCount,
        UsedBlockMarkedFree,
        FreeBlockMarkedUsed,
        LinkCountTooHigh,
        LinkCountTooLow,
        FileEntryRemoved,
        DirectoryEntryRemoved,
        PointerOutOfRange,
        SharedBlock,
        EntryToFreeInode,
        BadDotDot,
        BadDot,
        BlockPastEndOfFile,
        WrongBlockCount,
        UnknownFileType,
        WrongDirentType,
        MissingDot,
        MissingDotDot,
        DotRecLenTooLong,
        DotDotRenamed,
        GroupHeaderZeroed,
    }

    /// <summary>What the repaired tree should look like next to the original.</summary>
    private sealed class Expect
    {
        public FfsFindingKind Kind;
        public HashSet<string> Gone { get; } = [];
        public Dictionary<string, string> Moved { get; } = [];
        public HashSet<string> NlinkChanges { get; } = [];
    }

    private static readonly string[] s_images = ["ffs1-le-8k-f2", "ffs2-le-8k-f2", "ffs1-be-8k-f2", "ffs2-be-8k-f2"];

    public static TheoryData<string, Damage> Cases()
    {
        var data = new TheoryData<string, Damage>();
        foreach (string image in s_images)
        {
            foreach (Damage d in Enum.GetValues<Damage>())
            {
                data.Add(image, d);
            }
        }
        return data;
    }

    /// <summary>The other block and fragment sizes of the corpus, with the damages that allocate (lost+found) or free.</summary>
    public static TheoryData<string, Damage> GeometryCases()
    {
        var data = new TheoryData<string, Damage>();
        foreach (string image in new[] { "ffs1-le-4k-f1", "ffs1-be-16k-f4", "ffs1-le-64k-f16", "ffs2-le-4k-f2", "ffs2-be-32k-f8", "ffs2-le-64k-f128", "ffs2-be-64k-f16" })
        {
            foreach (Damage d in new[] { Damage.DirectoryEntryRemoved, Damage.SharedBlock, Damage.UsedBlockMarkedFree, Damage.MissingDotDot, Damage.GroupHeaderZeroed })
            {
                data.Add(image, d);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    [MemberData(nameof(GeometryCases))]
    public void Repair_Damage_FoundRepairedThenCleanWithFilesIntact(string image, Damage damage)
    {
        var img = new FfsDamage(Corpus.Get(image).ImagePath);
        Dictionary<string, string> before = Tree(img.Bytes);
        Expect expect = Apply(img, damage);
        byte[] damaged = (byte[])img.Bytes.Clone();

        FfsCheckReport found = FfsCheck.Run(new MemoryBlockDevice(img.Bytes, readOnly: true));
        Assert.True(found.Findings.Any(f => f.Kind == expect.Kind), $"{expect.Kind} expected:\n{found}");

        var checker = new FfsChecker();
        CheckReport n = checker.Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false);
        Assert.True(n.ExitCode == 4, Describe(n));
        Assert.True(damaged.AsSpan().SequenceEqual(img.Bytes), "-n changed the image");

        CheckReport y = checker.Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        CheckReport again = checker.Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false);
        Assert.True(again.ExitCode == 0, Describe(again) + "\nafter repair:\n" + Describe(y));

        Dictionary<string, string> after = Tree(img.Bytes);
        CompareTrees(before, after, expect);
        MountReadWriteAndUnmount(img.Bytes);
        if (image == "ffs1-le-8k-f2")
        {
            SleuthkitReads(img.Bytes, expect);
        }
    }

    [Fact]
    public void Repair_CleanImage_ExitZeroAndNothingWritten()
    {
        var img = new FfsDamage(Corpus.Get("ffs2-le-8k-f2").ImagePath);
        byte[] orig = (byte[])img.Bytes.Clone();
        CheckReport r = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(r.ExitCode == 0, Describe(r));
        Assert.True(orig.AsSpan().SequenceEqual(img.Bytes), "a clean, clean-flagged image was written");
    }

    [Fact]
    public void Repair_ConsistentButLeftMounted_NoteThenMarkedCleanAndMountable()
    {
        byte[] img = File.ReadAllBytes(Corpus.Get("ffs1-le-8k-f2").ImagePath);
        var dev = new MemoryBlockDevice(img);
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(dev, false, out Mount? mp, out _));
        Assert.Equal(Errno.OK, mp!.Root(out Vnode? root));
        Assert.Equal(Errno.OK, Vop.Create(root!, "crash.txt", 0x1A4, Credentials.Root, out Vnode? f));
        Assert.Equal(Errno.OK, Vop.Write(f!, 0, "still mounted"u8, out _));
        f!.Release();
        root!.Release();
        Assert.Equal(Errno.OK, Vop.Sync(mp));
        // The "crash": the image as it is while still mounted read-write.
        byte[] crashed = (byte[])img.Clone();
        Assert.Equal(Errno.OK, mp.Unmount());

        var checker = new FfsChecker();
        CheckReport n = checker.Check(new MemoryBlockDevice(crashed, readOnly: true), repair: false);
        Assert.True(n.ExitCode == 0, Describe(n));
        Assert.Contains(n.Findings, x => x.Severity == CheckSeverity.Note && x.Message.Contains("not marked clean", StringComparison.Ordinal));
        Assert.NotEqual(Errno.OK, FfsTestMount.TryMount(new MemoryBlockDevice((byte[])crashed.Clone()), false, out _, out _));

        CheckReport y = checker.Check(new MemoryBlockDevice(crashed), repair: true);
        Assert.True(y.ExitCode == 0, Describe(y));
        Assert.Empty(checker.Check(new MemoryBlockDevice(crashed, readOnly: true), repair: false).Findings);
        Assert.Equal("1 file:" + FfsTestMount.Sha256("still mounted"u8.ToArray()) + ":100644", Tree(crashed)["crash.txt"]);
        MountReadWriteAndUnmount(crashed);
    }

    [Fact]
    public void Repair_ReadOnlyDevice_IsOperationalError()
    {
        var img = new FfsDamage(Corpus.Get("ffs1-le-8k-f2").ImagePath);
        img.AddSuperblockNbfree(3);
        CheckReport r = new FfsChecker().Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: true);
        Assert.Equal(8, r.ExitCode);
    }

    [Fact]
    public void Repair_UnreferencedEmptyFile_IsCleared()
    {
        var img = new FfsDamage(Corpus.Get("ffs2-le-8k-f2").ImagePath);
        ulong ino = img.Ino("/empty");
        img.RemoveEntry(FfsSuperblock.RootIno, "empty");
        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        Assert.Equal(0, img.Inode(ino).Mode);
        Assert.True(FfsCheck.Run(img.Device).IsClean);
        Assert.DoesNotContain("lost+found", Tree(img.Bytes).Keys);
    }

    [Fact]
    public void Repair_ManyOrphans_GrowLostFoundPastOneChunk()
    {
        var img = new FfsDamage(Corpus.Get("ffs1-le-8k-f2").ImagePath);
        ulong many = img.Ino("/many");
        var lost = new Dictionary<string, ulong>();
        for (int i = 0; i < 80; i++)
        {
            string name = $"f{i:D3}";
            lost[name] = img.Ino("/many/" + name);
            img.RemoveEntry(many, name);
        }
        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 1, Describe(y));
        Assert.True(FfsCheck.Run(img.Device).IsClean, FfsCheck.Run(img.Device).ToString());
        Dictionary<string, string> after = Tree(img.Bytes);
        foreach ((string name, ulong ino) in lost)
        {
            Assert.True(after.ContainsKey($"lost+found/#{ino}"), $"{name} (#{ino}) not in lost+found");
        }
    }

    private static Expect Apply(FfsDamage img, Damage damage)
    {
        var e = new Expect();
        const ulong root = FfsSuperblock.RootIno;
        switch (damage)
        {
            case Damage.SuperblockFreeCount:
                e.Kind = FfsFindingKind.Summary;
                img.AddSuperblockNbfree(5);
                break;
            case Damage.GroupHeaderZeroed:
                // fsck_ffs rebuilds the header from the superblock, and so do we.
                e.Kind = FfsFindingKind.CylinderGroup;
                img.Bytes.AsSpan((int)img.Sb.FragToBytes(img.Sb.CgTod(img.Sb.Ncg - 1)), CgFields.HeaderSize).Clear();
                break;
            case Damage.GroupFreeCount:
                e.Kind = FfsFindingKind.Summary;
                img.WithGroup(0, g => g.Nffree += 3);
                break;
            case Damage.UsedBlockMarkedFree:
                e.Kind = FfsFindingKind.Bitmap;
                img.SetFragFree(img.Inode(img.Ino("/hello.txt")).Db[0], true);
                break;
            case Damage.FreeBlockMarkedUsed:
                e.Kind = FfsFindingKind.Bitmap;
                img.SetFragFree(img.LastFreeFrag(), false);
                break;
            case Damage.LinkCountTooHigh:
                e.Kind = FfsFindingKind.LinkCount;
                img.SetInode(img.Ino("/hello.txt"), d => d.Nlink = 5);
                break;
            case Damage.LinkCountTooLow:
                e.Kind = FfsFindingKind.LinkCount;
                img.SetInode(img.Ino("/links/original"), d => d.Nlink = 1);
                img.SetInode(img.Ino("/nested"), d => d.Nlink = 2);
                break;
            case Damage.FileEntryRemoved:
                {
                    e.Kind = FfsFindingKind.LinkCount;
                    ulong ino = img.Ino("/hello.txt");
                    img.RemoveEntry(root, "hello.txt");
                    e.Moved["hello.txt"] = $"lost+found/#{ino}";
                    break;
                }
            case Damage.DirectoryEntryRemoved:
                {
                    e.Kind = FfsFindingKind.LinkCount;
                    ulong a = img.Ino("/nested/a");
                    img.RemoveEntry(img.Ino("/nested"), "a");
                    e.Moved["nested/a"] = $"lost+found/#{a}";
                    e.NlinkChanges.Add("nested");
                    break;
                }
            case Damage.PointerOutOfRange:
                {
                    e.Kind = FfsFindingKind.BlockMap;
                    img.SetInode(img.Ino("/big/frag-tail.bin"), d => d.Db[3] = img.Sb.Size + 64);
                    e.Gone.Add("big/frag-tail.bin");
                    break;
                }
            case Damage.SharedBlock:
                {
                    e.Kind = FfsFindingKind.BlockMap;
                    ulong x = img.Ino("/hello.txt"), z = img.Ino("/old-file");
                    (ulong lo, ulong hi, string hiPath) = x < z ? (x, z, "old-file") : (z, x, "hello.txt");
                    long shared = img.Inode(lo).Db[0];
                    img.SetInode(hi, d => d.Db[0] = shared);
                    e.Gone.Add(hiPath);
                    break;
                }
            case Damage.EntryToFreeInode:
                e.Kind = FfsFindingKind.Directory;
                img.SetEntryIno(root, "hardlink-at-root", img.FreeInode());
                e.Gone.Add("hardlink-at-root");
                e.NlinkChanges.UnionWith(["links/original", "links/hardlink"]);
                break;
            case Damage.BadDotDot:
                e.Kind = FfsFindingKind.Directory;
                img.SetEntryIno(img.Ino("/nested/a"), "..", root);
                break;
            case Damage.BadDot:
                e.Kind = FfsFindingKind.Directory;
                img.SetEntryIno(img.Ino("/nested/a"), ".", img.Ino("/nested"));
                break;
            case Damage.BlockPastEndOfFile:
                {
                    e.Kind = FfsFindingKind.BlockMap;
                    long free = img.LastFreeFrag();
                    img.SetInode(img.Ino("/hello.txt"), d => d.Db[5] = free);
                    break;
                }
            case Damage.WrongBlockCount:
                e.Kind = FfsFindingKind.BlockMap;
                img.SetInode(img.Ino("/big/frag-tail.bin"), d => d.Blocks += 16);
                break;
            case Damage.UnknownFileType:
                e.Kind = FfsFindingKind.Directory;
                img.SetInode(img.Ino("/old-file"), d => d.Mode = 0x3000 | 0x1A4);
                e.Gone.Add("old-file");
                break;
            case Damage.WrongDirentType:
                e.Kind = FfsFindingKind.Directory;
                img.WithEntry(root, "hello.txt", (b, off, _) => b[off + DirectEntry.Type] = 4);
                break;
            case Damage.MissingDot:
                e.Kind = FfsFindingKind.Directory;
                img.RemoveEntry(img.Ino("/nested/a"), ".");
                break;
            case Damage.MissingDotDot:
                e.Kind = FfsFindingKind.Directory;
                img.RemoveEntry(img.Ino("/nested/a"), "..");
                break;
            case Damage.DotDotRenamed:
                // ".." of a directory with entries after it (no room to move): "ab" names the
                // parent a second time, and ".." is made over it in one repair.
                e.Kind = FfsFindingKind.Directory;
                img.WithEntry(img.Ino("/nested/a"), "..", (b, off, _) => "ab"u8.CopyTo(b[(off + DirectEntry.Name)..]));
                break;
            case Damage.DotRecLenTooLong:
                {
                    // "." claims 16 bytes: the next record starts inside "..", and the rest of
                    // the chunk is lost; its entries reach lost+found, and ".." is made again.
                    e.Kind = FfsFindingKind.Directory;
                    ulong a = img.Ino("/nested/a");
                    foreach ((string name, ulong ino) in img.Entries(a).Where(x => x.Name is not ("." or "..")))
                    {
                        e.Moved[$"nested/a/{name}"] = $"lost+found/#{ino}";
                    }
                    e.NlinkChanges.Add("nested/a");
                    img.SetEntryRecLen(a, ".", 16);
                    break;
                }
        }
        return e;
    }

    private static void CompareTrees(Dictionary<string, string> before, Dictionary<string, string> after, Expect e)
    {
        var expectedPaths = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string path, string sig) in before)
        {
            if (e.Gone.Contains(path))
            {
                Assert.False(after.ContainsKey(path), $"{path} should be gone");
                continue;
            }
            string now = Relocate(path, e);
            expectedPaths.Add(now);
            Assert.True(after.TryGetValue(now, out string? got), $"{path} missing (expected at {now})");
            if (e.NlinkChanges.Contains(path))
            {
                Assert.Equal(sig[(sig.IndexOf(' ') + 1)..], got![(got.IndexOf(' ') + 1)..]);
            }
            else
            {
                Assert.True(sig == got, $"{path}: before {sig}, after {got}");
            }
        }
        foreach (string path in after.Keys)
        {
            Assert.True(expectedPaths.Contains(path) || path == "lost+found", $"unexpected {path} after repair");
        }
    }

    private static string Relocate(string path, Expect e)
    {
        foreach ((string from, string to) in e.Moved)
        {
            if (path == from)
            {
                return to;
            }
            if (path.StartsWith(from + "/", StringComparison.Ordinal))
            {
                return to + path[from.Length..];
            }
        }
        return path;
    }

    /// <summary>Every path with "nlink type:content" read through the driver.</summary>
    internal static Dictionary<string, string> Tree(byte[] image)
    {
        var dev = new MemoryBlockDevice((byte[])image.Clone(), readOnly: true);
        Errno rc = FfsTestMount.TryMount(dev, true, out Mount? mp, out string? msg);
        Assert.True(rc == Errno.OK, $"mount: {rc} {msg}");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (string path in FfsTestMount.Walk(mp!))
            {
                Vnode vp = FfsTestMount.Resolve(mp!, "/" + path);
                try
                {
                    Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
                    string body = va.Type switch
                    {
                        VType.Regular => "file:" + FfsTestMount.Sha256(FfsTestMount.ReadAll(vp)),
                        VType.Directory => "dir",
                        VType.Symlink => "link:" + ReadLink(vp),
                        _ => $"{va.Type}:{va.Rdev}",
                    };
                    result[path] = $"{va.Nlink} {body}:{Convert.ToString(va.StMode, 8)}";
                }
                finally
                {
                    vp.Release();
                }
            }
        }
        finally
        {
            Assert.Equal(Errno.OK, mp!.Unmount());
        }
        return result;
    }

    private static string ReadLink(Vnode vp)
    {
        Assert.Equal(Errno.OK, Vop.Readlink(vp, out string target));
        return target;
    }

    private static void MountReadWriteAndUnmount(byte[] image)
    {
        var dev = new MemoryBlockDevice((byte[])image.Clone());
        Errno rc = FfsTestMount.TryMount(dev, false, out Mount? mp, out string? msg);
        Assert.True(rc == Errno.OK, $"read-write mount after repair: {rc} {msg}");
        Assert.Equal(Errno.OK, mp!.Unmount());
    }

    private static void SleuthkitReads(byte[] image, Expect e)
    {
        using var dir = new ScratchDir("ffsrepair");
        string path = dir.File("repaired.img");
        File.WriteAllBytes(path, image);
        OracleTool.RunExpect(0, "fsstat", path);
        ToolResult fls = OracleTool.RunExpect(0, "fls", "-r", "-p", path);
        foreach (string to in e.Moved.Values)
        {
            Assert.Contains(to, fls.Stdout, StringComparison.Ordinal);
        }
    }

    internal static string Describe(CheckReport r) =>
        $"exit {r.ExitCode} {r.OperationalError}\n" + string.Join('\n', r.Findings.Select(f =>
            $"{f.Phase} {f.Location}: {f.Message} [{(f.Severity == CheckSeverity.Note ? "note" : f.Repaired ? "fixed" : "error")}]"));
}
