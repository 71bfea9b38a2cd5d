using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Newfs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// The checker and an FFSv2ea inode's extended-attribute area (fuzz round 20 faults 4 and
/// 5). On an image from our newfs (version=3), /a and /b hold data and user attributes set
/// through the driver; the damage is computed from the inodes and the area's records. Each
/// case makes the one-run round (FfsOneRunRepair) and is then read back through the driver:
/// a clean verdict means listxattr and getxattr work and no file lost its data.
/// </summary>
public sealed class FfsExtAreaRepairTests : IDisposable
{
    private static readonly (string Name, byte[] Value)[] s_aAttrs =
    [
        ("user.one", "first value"u8.ToArray()),
        ("user.two", "second"u8.ToArray()),
        ("user.three", [.. Enumerable.Range(0, 300).Select(i => (byte)i)]),
    ];

    private static readonly (string Name, byte[] Value)[] s_bAttrs = [("user.b", "b's own"u8.ToArray())];

    private readonly ScratchDir _dir = new("ffs-ea-repair");

    public void Dispose() => _dir.Dispose();

    /// <summary>The image: /a (three blocks and a tail, three attributes), then /b (two blocks and a tail, one attribute).</summary>
    private FfsDamage Image(out byte[] aData, out byte[] bData)
    {
        byte[] bytes = new byte[16 << 20];
        using (var dev = new MemoryBlockDevice(bytes))
        {
            Errno e = new FfsFormatter().Format(dev, new Dictionary<string, string?> { ["version"] = "3" }, out string? message);
            Assert.True(e == Errno.OK, $"newfs: {e} {message}");
        }
        FfsSuperblock sb = FfsSuperblockCheck.Find(new MemoryBlockDevice(bytes, readOnly: true), out _)!;
        aData = new byte[(3 * sb.Bsize) + 100];
        bData = new byte[(2 * sb.Bsize) + 100];
        new Random(20).NextBytes(aData);
        new Random(21).NextBytes(bData);
        Errno rc = FfsTestMount.TryMount(new MemoryBlockDevice(bytes), false, out Mount? mp, out string? msg);
        Assert.True(rc == Errno.OK, $"mount: {rc} {msg}");
        MakeFile(mp!, "a", aData, s_aAttrs);
        MakeFile(mp!, "b", bData, s_bAttrs);
        Assert.Equal(Errno.OK, mp!.Unmount());
        string path = _dir.File($"ea-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, bytes);
        var img = new FfsDamage(path);
        Assert.True(img.Ino("/a") < img.Ino("/b"), "the area's inode must come first for the claim order to matter");
        return img;
    }

    private static void MakeFile(Mount mp, string name, byte[] data, (string Name, byte[] Value)[] attrs)
    {
        Assert.Equal(Errno.OK, mp.Root(out Vnode? root));
        Assert.Equal(Errno.OK, Vop.Create(root!, name, 0x1A4, Credentials.Root, out Vnode? vp));
        root!.Release();
        Assert.Equal(Errno.OK, Vop.Write(vp!, 0, data, out _));
        foreach ((string n, byte[] v) in attrs)
        {
            Assert.Equal(Errno.OK, Vop.SetXattr(vp!, n, v, XattrSetMode.Create, Credentials.Root));
        }
        vp!.Release();
    }

    /// <summary>Where record <paramref name="index"/> of the inode's area starts in the image.</summary>
    private static int RecordAt(FfsDamage img, FfsDinode d, int index)
    {
        int at = (int)img.Sb.FragToBytes(d.ExtB[0]);
        for (int i = 0; i < index; i++)
        {
            at += (int)img.Sb.Order.U32(img.Bytes, at + FfsExtAttrRecord.Length);
        }
        return at;
    }

    /// <summary>The attributes of a file, read through the driver; every getxattr must succeed.</summary>
    private static List<(string Name, byte[] Value)> Attrs(Mount mp, string path)
    {
        Vnode vp = FfsTestMount.Resolve(mp, path);
        try
        {
            Errno e = Vop.ListXattr(vp, Credentials.Root, out IReadOnlyList<string> names);
            Assert.True(e == Errno.OK, $"listxattr {path}: {e}; log: {string.Join(" | ", FfsTestMount.LastLog)}");
            var list = new List<(string, byte[])>();
            foreach (string n in names)
            {
                Assert.Equal(Errno.OK, Vop.GetXattr(vp, n, Credentials.Root, out byte[]? v));
                list.Add((n, v!));
            }
            Assert.Equal(Errno.ENODATA, Vop.GetXattr(vp, "user.missing", Credentials.Root, out _));
            return list;
        }
        finally
        {
            vp.Release();
        }
    }

    /// <summary>Read the repaired image: /a's attributes are <paramref name="aAttrs"/>, both files' data and /b's attributes are whole.</summary>
    private static void ReadBack(FfsDamage img, byte[] aData, byte[] bData, (string Name, byte[] Value)[] aAttrs)
    {
        byte[] copy = (byte[])img.Bytes.Clone();
        Errno rc = FfsTestMount.TryMount(new MemoryBlockDevice(copy), false, out Mount? mp, out string? msg);
        Assert.True(rc == Errno.OK, $"mount: {rc} {msg}");
        try
        {
            Assert.Equal(aAttrs.Select(a => (a.Name, Convert.ToHexString(a.Value))), Attrs(mp!, "/a").Select(a => (a.Name, Convert.ToHexString(a.Value))));
            Assert.Equal(s_bAttrs.Select(a => (a.Name, Convert.ToHexString(a.Value))), Attrs(mp!, "/b").Select(a => (a.Name, Convert.ToHexString(a.Value))));
            Assert.Equal(FfsTestMount.Sha256(aData), Content(mp!, "/a"));
            Assert.Equal(FfsTestMount.Sha256(bData), Content(mp!, "/b"));
            // The area left is one the driver also writes: a new attribute lands beside what was kept.
            Vnode a = FfsTestMount.Resolve(mp!, "/a");
            Assert.Equal(Errno.OK, Vop.SetXattr(a, "user.new", "after repair"u8, XattrSetMode.Create, Credentials.Root));
            a.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, mp!.Unmount());
        }
        Assert.Equal(0, new FsDrivers.Ffs.Check.FfsChecker().Check(new MemoryBlockDevice(copy, readOnly: true), repair: false).ExitCode);
    }

    /// <summary>The SHA-256 of a file's contents, read through the driver.</summary>
    private static string Content(Mount mp, string path)
    {
        Vnode vp = FfsTestMount.Resolve(mp, path);
        try
        {
            return FfsTestMount.Sha256(FfsTestMount.ReadAll(vp));
        }
        finally
        {
            vp.Release();
        }
    }

    [Theory]
    [InlineData("size-1", 0)] // di_extsize → 1: the first record is truncated, nothing to keep
    [InlineData("first-length-ffffffff", 0)] // the first record's length is garbage
    [InlineData("second-length-0", 1)] // the second record's length is 0: a reader would loop; the first record stays
    [InlineData("size+1", 3)] // one byte past the last record: cut back, everything stays
    [InlineData("extb0-zero", 0)] // the area's block pointer gone, its size kept: the area must go, not point nowhere
    public void AreaTheDriverRefuses_FoundAndCutOrDropped_AttributesReadable(string damage, int kept)
    {
        FfsDamage img = Image(out byte[] aData, out byte[] bData);
        ulong ino = img.Ino("/a");
        FfsDinode before = img.Inode(ino);
        FfsByteOrder o = img.Sb.Order;
        switch (damage)
        {
            case "size-1":
                img.SetInode(ino, d => d.ExtSize = 1);
                break;
            case "first-length-ffffffff":
                o.WU32(img.Bytes, RecordAt(img, before, 0) + FfsExtAttrRecord.Length, 0xffffffff);
                break;
            case "second-length-0":
                o.WU32(img.Bytes, RecordAt(img, before, 1) + FfsExtAttrRecord.Length, 0);
                break;
            case "size+1":
                img.SetInode(ino, d => d.ExtSize++);
                break;
            case "extb0-zero":
                img.SetInode(ino, d => d.ExtB[0] = 0);
                break;
        }

        (CheckReport found, CheckReport fixedIt) = FfsOneRunRepair.Run(img);
        Assert.Contains(found.Findings, f => f.Location == $"inode {ino}" && f.Message.Contains("extended-attribute", StringComparison.Ordinal));
        Assert.Contains(fixedIt.Findings, f => f.Message.Contains(kept == 0 ? "extended attributes dropped" : "area cut", StringComparison.Ordinal));

        FfsDinode after = img.Inode(ino);
        int dataFrags = (int)img.Sb.NumFrags(aData.Length % img.Sb.Bsize) + (3 * img.Sb.Frag);
        if (kept == 0)
        {
            Assert.Equal(0, after.ExtSize);
            Assert.All(after.ExtB, p => Assert.Equal(0, p));
            Assert.Equal(dataFrags * (img.Sb.Fsize / 512), after.Blocks);
        }
        else
        {
            Assert.Equal(before.ExtB[0], after.ExtB[0]);
            Assert.Equal(dataFrags + img.Sb.NumFrags(after.ExtSize), after.Blocks / (img.Sb.Fsize / 512));
        }
        ReadBack(img, aData, bData, s_aAttrs[..kept]);
    }

    [Theory]
    [InlineData(false)] // into /b's first data block (a later inode): /b used to be cleared
    [InlineData(true)] // into /a's own second data block: /a itself used to be cleared
    public void AreaBlockOnData_TheAreaIsDropped_TheDataKept(bool own)
    {
        FfsDamage img = Image(out byte[] aData, out byte[] bData);
        ulong a = img.Ino("/a"), b = img.Ino("/b");
        long target = own ? img.Inode(a).Db[1] : img.Inode(b).Db[0];
        img.SetInode(a, d => d.ExtB[0] = target);

        (CheckReport found, CheckReport fixedIt) = FfsOneRunRepair.Run(img);
        string with = own ? "the file's own data" : "another inode's blocks";
        Assert.Contains(found.Findings, f => f.Location == $"inode {a}" && f.Message.Contains(with, StringComparison.Ordinal));
        Assert.Contains(fixedIt.Findings, f => f.Message.Contains($"inode {a}: extended-attribute block 0 at {target} shares fragments with {with}; extended attributes dropped", StringComparison.Ordinal));
        Assert.DoesNotContain(fixedIt.Findings, f => f.Message.Contains("cleared", StringComparison.Ordinal) || f.Message.Contains("earlier inode", StringComparison.Ordinal));
        Assert.Equal(0, img.Inode(a).ExtSize);
        Assert.Equal(target, own ? img.Inode(a).Db[1] : img.Inode(b).Db[0]);
        ReadBack(img, aData, bData, []);
    }

    [Fact]
    public void TwoAreasShareABlock_BothDropped_DataKept()
    {
        FfsDamage img = Image(out byte[] aData, out byte[] bData);
        ulong a = img.Ino("/a"), b = img.Ino("/b");
        long bArea = img.Inode(b).ExtB[0];
        img.SetInode(a, d => d.ExtB[0] = bArea);

        (CheckReport found, CheckReport fixedIt) = FfsOneRunRepair.Run(img);
        Assert.Contains(found.Findings, f => f.Location == $"inode {a}" && f.Message.Contains($"area of inode {b}", StringComparison.Ordinal));
        Assert.DoesNotContain(fixedIt.Findings, f => f.Message.Contains("cleared", StringComparison.Ordinal));
        Assert.Equal(0, img.Inode(a).ExtSize);
        Assert.Equal(0, img.Inode(b).ExtSize);
        Errno rc = FfsTestMount.TryMount(new MemoryBlockDevice((byte[])img.Bytes.Clone(), readOnly: true), true, out Mount? mp, out string? msg);
        Assert.True(rc == Errno.OK, $"mount: {rc} {msg}");
        try
        {
            Assert.Empty(Attrs(mp!, "/a"));
            Assert.Empty(Attrs(mp!, "/b"));
            Assert.Equal(FfsTestMount.Sha256(aData), Content(mp!, "/a"));
            Assert.Equal(FfsTestMount.Sha256(bData), Content(mp!, "/b"));
        }
        finally
        {
            Assert.Equal(Errno.OK, mp!.Unmount());
        }
    }

    /// <summary>
    /// Fault 5 as found: the damaged pointer's area covers the last fragment of another
    /// file's data and, after it, that file's own (healthy) area. The damaged area goes;
    /// the other file keeps its data and its attributes.
    /// </summary>
    [Fact]
    public void AreaOverDataAndAHealthyArea_OnlyTheDamagedAreaIsDropped()
    {
        FfsDamage img = Image(out byte[] aData, out byte[] bData);
        ulong a = img.Ino("/a"), b = img.Ino("/b");
        long tail = img.Inode(b).Db[2];
        long bArea = img.Inode(b).ExtB[0];
        if (bArea != tail + 1)
        {
            // Put /b's area right after its data's last fragment, then let a repair set the maps.
            Assert.True(img.FragFree(tail + 1) && (tail + 1) % img.Sb.Frag != 0, $"fragment {tail + 1} after /b's tail is not free in the same block");
            int fsize = img.Sb.Fsize;
            img.Bytes.AsSpan((int)img.Sb.FragToBytes(bArea), fsize).CopyTo(img.Bytes.AsSpan((int)img.Sb.FragToBytes(tail + 1), fsize));
            img.SetInode(b, d => d.ExtB[0] = tail + 1);
            new FsDrivers.Ffs.Check.FfsChecker().Check(img.Device, repair: true);
            Assert.Equal(0, new FsDrivers.Ffs.Check.FfsChecker().Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false).ExitCode);
        }
        Assert.Equal(1, img.Sb.NumFrags(img.Inode(b).ExtSize));
        img.SetInode(a, d =>
        {
            d.ExtB[0] = tail;
            d.ExtSize = img.Sb.Fsize + 8; // two fragments: /b's last data fragment and /b's area
        });

        (CheckReport found, CheckReport fixedIt) = FfsOneRunRepair.Run(img);
        Assert.Contains(found.Findings, f => f.Location == $"inode {a}" && f.Message.Contains("another inode's blocks", StringComparison.Ordinal));
        Assert.DoesNotContain(found.Findings, f => f.Location == $"inode {b}");
        Assert.DoesNotContain(fixedIt.Findings, f => f.Message.Contains($"inode {b}", StringComparison.Ordinal));
        Assert.Equal(0, img.Inode(a).ExtSize);
        Assert.Equal(tail + 1, img.Inode(b).ExtB[0]);
        ReadBack(img, aData, bData, []);
    }
}
