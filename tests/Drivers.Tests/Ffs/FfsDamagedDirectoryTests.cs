using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>
/// One damaged entry costs the names of its DIRBLKSIZ chunk, not the directory, as
/// ufs_lookup skips a bad chunk after ufs_dirbad: in a directory scanned entry by entry
/// (/mid, three chunks) and in one searched through the hash (/many, 600 entries), on UFS1
/// and UFS2 images made by makefs. An entry naming an inode past the last fails only its
/// own name (fuzz round 20 fault 3), and one naming the root or its own directory is EIO with a
/// log line rather than a loop (fault 10).
/// </summary>
public sealed class FfsDamagedDirectoryTests : IDisposable
{
    private readonly ScratchDir _dir = new("ffs-damaged-dir");

    public void Dispose() => _dir.Dispose();

    private FfsDamage Image(int version)
    {
        string tree = _dir.File("tree" + version);
        foreach ((string dir, int count) in new[] { ("mid", 60), ("many", 600) })
        {
            Directory.CreateDirectory(Path.Combine(tree, dir));
            for (int i = 0; i < count; i++)
            {
                File.WriteAllText(Path.Combine(tree, dir, Name(i)), $"{dir} {i}\n");
            }
        }
        string img = _dir.File($"ufs{version}.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", $"version={version}", "-s", "16m", img, tree);
        return new FfsDamage(img);
    }

    private static string Name(int i) => $"entry_{i:D4}";

    private static Mount MountOf(FfsDamage img)
    {
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(new MemoryBlockDevice(img.Bytes, readOnly: true), true, out Mount? mp, out string? msg));
        return mp!;
    }

    private static List<string> Listed(Vnode dir)
    {
        var list = new DirEntryList();
        Assert.Equal(Errno.OK, Vop.ReadDir(dir, 0, list));
        return [.. list.Entries.Select(e => e.Name).Where(n => n is not ("." or ".."))];
    }

    [Theory]
    [InlineData(1, "mid", 60)]
    [InlineData(2, "mid", 60)]
    [InlineData(1, "many", 600)]
    [InlineData(2, "many", 600)]
    public void BadEntry_OnlyItsChunkIsPassedOver(int version, string dir, int count)
    {
        FfsDamage img = Image(version);
        ulong dirIno = img.Ino("/" + dir);
        // A NUL as the first byte of a name fails ufs_dirbadentry for that chunk.
        int victim = count / 2;
        img.WithEntry(dirIno, Name(victim), (b, off, _) => b[off + DirectEntry.Name] = 0);

        Mount mp = MountOf(img);
        Vnode dirVp = FfsTestMount.Resolve(mp, "/" + dir);
        List<string> listed = Listed(dirVp);
        Assert.DoesNotContain(Name(victim), listed);
        Assert.InRange(listed.Count, count - (FfsSuperblock.DirBlkSiz / DirectEntry.SizeFor(Name(0).Length)), count - 1);
        for (int i = 0; i < count; i++)
        {
            Errno e = Vop.Lookup(dirVp, Name(i), Credentials.Root, out Vnode? vp);
            if (!listed.Contains(Name(i)))
            {
                Assert.Equal(Errno.ENOENT, e);
                continue;
            }
            Assert.Equal(Errno.OK, e);
            Assert.Equal($"{dir} {i}\n", System.Text.Encoding.ASCII.GetString(FfsTestMount.ReadAll(vp!)));
            vp!.Release();
        }
        dirVp.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
    }

    [Theory]
    [InlineData(1, "mid", 60)]
    [InlineData(2, "many", 600)]
    public void EntryNamingAnInodePastTheLast_FailsOnlyItsName(int version, string dir, int count)
    {
        FfsDamage img = Image(version);
        ulong dirIno = img.Ino("/" + dir);
        int victim = count / 3;
        img.WithEntry(dirIno, Name(victim), (b, off, _) => DirectEntry.WriteIno(b, off, img.Sb.Order, (uint)img.Sb.TotalInodes + 7));

        Mount mp = MountOf(img);
        Vnode dirVp = FfsTestMount.Resolve(mp, "/" + dir);
        List<string> listed = Listed(dirVp);
        Assert.Equal(count - 1, listed.Count);
        Assert.DoesNotContain(Name(victim), listed);
        Assert.Equal(Errno.EIO, Vop.Lookup(dirVp, Name(victim), Credentials.Root, out _));
        foreach (int i in new[] { 0, victim - 1, victim + 1, count - 1 })
        {
            Assert.Equal(Errno.OK, Vop.Lookup(dirVp, Name(i), Credentials.Root, out Vnode? vp));
            vp!.Release();
        }
        dirVp.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, false)]
    public void EntryNamingTheRootOrItsOwnDirectory_Eio_DotDotStillLeadsUp(int version, bool toRoot)
    {
        FfsDamage img = Image(version);
        ulong dirIno = img.Ino("/mid");
        uint target = toRoot ? FfsSuperblock.RootIno : (uint)dirIno;
        img.WithEntry(dirIno, Name(5), (b, off, _) => DirectEntry.WriteIno(b, off, img.Sb.Order, target));

        Mount mp = MountOf(img);
        Vnode dirVp = FfsTestMount.Resolve(mp, "/mid");
        Assert.Equal(Errno.EIO, Vop.Lookup(dirVp, Name(5), Credentials.Root, out _));
        Assert.Equal(Errno.OK, Vop.Lookup(dirVp, "..", Credentials.Root, out Vnode? up));
        Assert.Equal((ulong)FfsSuperblock.RootIno, up!.Ino);
        up.Release();
        Assert.Equal(Errno.OK, Vop.Lookup(dirVp, Name(6), Credentials.Root, out Vnode? next));
        next!.Release();
        dirVp.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
    }

    [Fact]
    public void SizeBeyondTheDirectorysBlocks_RefusedWithEio()
    {
        FfsDamage img = Image(2);
        ulong dirIno = img.Ino("/mid");
        img.SetInode(dirIno, d => d.Size = 1L << 40);
        Mount mp = MountOf(img);
        Assert.Equal(Errno.OK, mp.Root(out Vnode? root));
        Errno e = Vop.Lookup(root!, "mid", Credentials.Root, out Vnode? dirVp);
        if (e == Errno.OK)
        {
            Assert.Equal(Errno.EIO, Vop.ReadDir(dirVp!, 0, new DirEntryList()));
            Assert.Equal(Errno.EIO, Vop.Lookup(dirVp!, Name(1), Credentials.Root, out _));
            dirVp!.Release();
        }
        else
        {
            Assert.Equal(Errno.EIO, e);
        }
        root!.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
    }
}
