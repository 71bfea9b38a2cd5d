using System.Buffers.Binary;
using System.Text;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>
/// UFS2 extended-attribute areas (FreeBSD's UFS2, NetBSD 10's FFSv2ea): read as xattrs,
/// freed with their inode, counted by the checker. Debian's makefs writes neither, so the
/// images are makefs UFS2 whose file /f has its one block moved from di_db[0] to di_extb[0]:
/// the block then holds the area, written here from extattr.h's record layout.
/// </summary>
public sealed class FfsExtAttrTests : IDisposable
{
    private static readonly byte[] s_acl = [.. Enumerable.Range(1, 20).Select(i => (byte)i)];
    private readonly ScratchDir _dir = new("ffs-ea");

    public void Dispose() => _dir.Dispose();

    /// <summary>One struct extattr record: length, name space, pad, name length, name, value at the next 8 bytes.</summary>
    private static byte[] Record(bool bigEndian, byte nameSpace, string name, byte[] value)
    {
        byte[] n = Encoding.ASCII.GetBytes(name);
        int valueAt = (7 + n.Length + 7) & ~7;
        int length = (valueAt + value.Length + 7) & ~7;
        byte[] r = new byte[length];
        if (bigEndian)
        {
            BinaryPrimitives.WriteUInt32BigEndian(r, (uint)length);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(r, (uint)length);
        }
        r[4] = nameSpace;
        r[5] = (byte)(length - valueAt - value.Length);
        r[6] = (byte)n.Length;
        n.CopyTo(r, 7);
        value.CopyTo(r, valueAt);
        return r;
    }

    private static byte[] Area(bool bigEndian) =>
    [
        .. Record(bigEndian, 1, "comment", "hello world"u8.ToArray()),
        .. Record(bigEndian, 2, "posix1e.acl_access", s_acl),
        .. Record(bigEndian, 1, "empty", []),
    ];

    /// <summary>A makefs UFS2 image whose /f has an extended-attribute area of <paramref name="area"/> and no data.</summary>
    private FfsDamage Image(bool bigEndian, bool eaMagic, byte[] area, out ulong ino)
    {
        string tree = _dir.File($"tree-{bigEndian}-{eaMagic}");
        Directory.CreateDirectory(Path.Combine(tree, "d"));
        File.WriteAllBytes(Path.Combine(tree, "f"), area);
        File.WriteAllText(Path.Combine(tree, "d", "g"), "plain file");
        string path = _dir.File($"ea-{bigEndian}-{eaMagic}.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-B", bigEndian ? "be" : "le", "-o", "version=2", "-s", "8m", path, tree);
        var img = new FfsDamage(path);
        ino = img.Ino("/f");
        img.SetInode(ino, d =>
        {
            d.ExtB[0] = d.Db[0];
            d.ExtSize = (int)d.Size;
            d.Db[0] = 0;
            d.Size = 0;
        });
        if (eaMagic)
        {
            Span<byte> magic = img.Bytes.AsSpan((int)img.Sb.Location + SuperblockFields.Magic, 4);
            if (bigEndian)
            {
                BinaryPrimitives.WriteInt32BigEndian(magic, FfsSuperblock.Ufs2EaMagic);
            }
            else
            {
                BinaryPrimitives.WriteInt32LittleEndian(magic, FfsSuperblock.Ufs2EaMagic);
            }
        }
        return img;
    }

    private static Mount MountOf(byte[] bytes, bool readOnly)
    {
        Errno e = FfsTestMount.TryMount(new MemoryBlockDevice(bytes, readOnly), readOnly, out Mount? mp, out string? msg);
        Assert.True(e == Errno.OK, $"mount: {e} {msg}");
        return mp!;
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void ExtAttrArea_ReadAsXattrs_CountedByTheChecker(bool bigEndian, bool eaMagic)
    {
        FfsDamage img = Image(bigEndian, eaMagic, Area(bigEndian), out ulong ino);
        long frags = img.Sb.NumFrags(Area(bigEndian).Length);
        Mount mp = MountOf(img.Bytes, readOnly: true);
        try
        {
            Assert.Equal(eaMagic ? "UFS2ea" : "UFS2", mp.Describe().Single(kv => kv.Key == "format").Value);
            Vnode vp = FfsTestMount.Resolve(mp, "/f");
            Assert.Equal(Errno.OK, Vop.ListXattr(vp, Credentials.Root, out IReadOnlyList<string> names));
            Assert.Equal(["user.comment", "system.posix1e.acl_access", "user.empty"], names);
            Assert.Equal(Errno.OK, Vop.GetXattr(vp, "user.comment", Credentials.Root, out byte[]? v));
            Assert.Equal("hello world"u8.ToArray(), v);
            Assert.Equal(Errno.OK, Vop.GetXattr(vp, "system.posix1e.acl_access", Credentials.Root, out v));
            Assert.Equal(s_acl, v);
            Assert.Equal(Errno.OK, Vop.GetXattr(vp, "user.empty", Credentials.Root, out v));
            Assert.Empty(v!);
            Assert.Equal(Errno.ENODATA, Vop.GetXattr(vp, "user.missing", Credentials.Root, out _));
            Assert.Equal(Errno.EOPNOTSUPP, Vop.GetXattr(vp, "trusted.x", Credentials.Root, out _));
            Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
            Assert.Equal(0, va.Size);
            Assert.Equal(frags * img.Sb.Fsize, va.BytesUsed);
            vp.Release();

            Vnode g = FfsTestMount.Resolve(mp, "/d/g");
            Assert.Equal(Errno.OK, Vop.ListXattr(g, Credentials.Root, out names));
            Assert.Empty(names);
            Assert.Equal(Errno.ENODATA, Vop.GetXattr(g, "user.comment", Credentials.Root, out _));
            g.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, mp.Unmount());
        }
        FfsCheckReport report = FfsCheck.Run(new MemoryBlockDevice(img.Bytes, readOnly: true));
        Assert.True(report.IsClean, report.ToString());
        Assert.Equal(0, new FfsChecker().Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false).ExitCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RemoveAFileWithAnArea_FreesItsBlocks(bool eaMagic)
    {
        FfsDamage img = Image(false, eaMagic, Area(false), out ulong ino);
        long extBlock = img.Inode(ino).ExtB[0];
        Assert.False(img.FragFree(extBlock));
        Mount mp = MountOf(img.Bytes, readOnly: false);
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs before));
        Assert.Equal(Errno.OK, mp.Root(out Vnode? root));
        Assert.Equal(Errno.OK, Vop.Remove(root!, "f", Credentials.Root));
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs after));
        root!.Release();
        Assert.Equal(Errno.OK, mp.Unmount());

        Assert.Equal(img.Sb.NumFrags(Area(false).Length) * img.Sb.Fsize, (after.BlocksFree - before.BlocksFree) * before.FragmentSize);
        var check = new FfsDamage(WriteBack(img));
        Assert.True(check.FragFree(extBlock));
        FfsCheckReport report = FfsCheck.Run(check.Device);
        Assert.True(report.IsClean, report.ToString());
    }

    private string WriteBack(FfsDamage img)
    {
        string path = _dir.File($"back-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, img.Bytes);
        return path;
    }

    [Fact]
    public void DamagedAreaRecords_GetXattrIsEio_TheFileStaysReadable()
    {
        byte[] area = Area(false);
        area[0] = 0; // the first record's length: zero would loop a reader forever
        area[1] = 0;
        FfsDamage img = Image(false, true, area, out _);
        Mount mp = MountOf(img.Bytes, readOnly: true);
        try
        {
            Vnode vp = FfsTestMount.Resolve(mp, "/f");
            Assert.Equal(Errno.EIO, Vop.GetXattr(vp, "user.comment", Credentials.Root, out _));
            Assert.Equal(Errno.EIO, Vop.ListXattr(vp, Credentials.Root, out _));
            Assert.Equal(Errno.OK, Vop.GetAttr(vp, out _));
            vp.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, mp.Unmount());
        }
    }

    [Fact]
    public void AreaBlockOutsideTheDataArea_FoundAndDroppedByRepair_FileKept()
    {
        FfsDamage img = Image(false, true, Area(false), out ulong ino);
        long outside = img.Sb.Size + 64;
        img.SetInode(ino, d => d.ExtB[1] = d.ExtB[0]);
        img.SetInode(ino, d =>
        {
            d.ExtB[0] = outside;
            d.ExtSize = img.Sb.Bsize + Area(false).Length;
        });
        FfsCheckReport found = FfsCheck.Run(new MemoryBlockDevice(img.Bytes, readOnly: true));
        Assert.Contains(found.Findings, f => f.Message.Contains($"extended-attribute block 0 at {outside} outside the data area", StringComparison.Ordinal));

        CheckReport y = new FfsChecker().Check(img.Device, repair: true);
        Assert.Equal(1, y.ExitCode);
        Assert.Contains(y.Findings, f => f.Message.Contains("extended attributes dropped", StringComparison.Ordinal));
        CheckReport again = new FfsChecker().Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false);
        Assert.Equal(0, again.ExitCode);
        FfsDinode d = img.Inode(ino);
        Assert.Equal(0, d.ExtSize);
        Assert.Equal(0, d.Blocks);
        Mount mp = MountOf(img.Bytes, readOnly: true);
        try
        {
            Vnode vp = FfsTestMount.Resolve(mp, "/f");
            Assert.Equal(Errno.ENODATA, Vop.GetXattr(vp, "user.comment", Credentials.Root, out _));
            vp.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, mp.Unmount());
        }
    }

    /// <summary>
    /// On FFSv2ea user attributes are written: a new area, a second one that grows past a
    /// block (two blocks, the last in fragments), replaced, removed down to nothing. Each
    /// state survives a remount, the checker finds every block accounted, and at the end the
    /// free space is what it was.
    /// </summary>
    [Fact]
    public void SetAndRemove_OnUfs2Ea_AreasGrowShrinkAndFreeTheirBlocks()
    {
        FfsDamage img = Image(false, true, Area(false), out _);
        int bsize = img.Sb.Bsize;
        byte[] big = new byte[bsize + 100];
        new Random(3).NextBytes(big);
        long freeAtStart = FreeFrags(img.Bytes);

        void OnG(Action<Vnode> act)
        {
            Mount mp = MountOf(img.Bytes, readOnly: false);
            Vnode g = FfsTestMount.Resolve(mp, "/d/g");
            act(g);
            g.Release();
            Assert.Equal(Errno.OK, mp.Unmount());
            FfsCheckReport report = FfsCheck.Run(new MemoryBlockDevice(img.Bytes, readOnly: true));
            Assert.True(report.IsClean, report.ToString());
        }

        OnG(g =>
        {
            Assert.Equal(Errno.OK, Vop.SetXattr(g, "user.a", "1"u8, XattrSetMode.Create, Credentials.Root));
            Assert.Equal(Errno.EEXIST, Vop.SetXattr(g, "user.a", "2"u8, XattrSetMode.Create, Credentials.Root));
            Assert.Equal(Errno.ENODATA, Vop.SetXattr(g, "user.b", "2"u8, XattrSetMode.Replace, Credentials.Root));
            Assert.Equal(Errno.ENODATA, Vop.RemoveXattr(g, "user.b", Credentials.Root));
            Assert.Equal(Errno.EPERM, Vop.SetXattr(g, "system.x", "2"u8, XattrSetMode.Any, Credentials.Root));
            Assert.Equal(Errno.ENOSPC, Vop.SetXattr(g, "user.huge", new byte[(2 * bsize) + 1], XattrSetMode.Any, Credentials.Root));
        });
        Assert.Equal(freeAtStart - 1, FreeFrags(img.Bytes));
        OnG(g =>
        {
            Assert.Equal(Errno.OK, Vop.GetXattr(g, "user.a", Credentials.Root, out byte[]? v));
            Assert.Equal("1"u8.ToArray(), v);
            Assert.Equal(Errno.OK, Vop.SetXattr(g, "user.big", big, XattrSetMode.Any, Credentials.Root));
            Assert.Equal(Errno.OK, Vop.SetXattr(g, "user.a", "replaced"u8, XattrSetMode.Replace, Credentials.Root));
        });
        OnG(g =>
        {
            Assert.Equal(Errno.OK, Vop.ListXattr(g, Credentials.Root, out IReadOnlyList<string> names));
            Assert.Equal(["user.a", "user.big"], names);
            Assert.Equal(Errno.OK, Vop.GetXattr(g, "user.big", Credentials.Root, out byte[]? v));
            Assert.Equal(big, v);
            Assert.Equal(Errno.OK, Vop.GetXattr(g, "user.a", Credentials.Root, out v));
            Assert.Equal("replaced"u8.ToArray(), v);
            Assert.Equal(Errno.OK, Vop.RemoveXattr(g, "user.big", Credentials.Root));
        });
        Assert.Equal(freeAtStart - 1, FreeFrags(img.Bytes));
        OnG(g =>
        {
            Assert.Equal(Errno.OK, Vop.ListXattr(g, Credentials.Root, out IReadOnlyList<string> names));
            Assert.Equal(["user.a"], names);
            Assert.Equal(Errno.OK, Vop.RemoveXattr(g, "user.a", Credentials.Root));
            Assert.Equal(Errno.OK, Vop.GetAttr(g, out VAttr va));
            Assert.Equal(img.Sb.Fsize, va.BytesUsed); // only the file's own fragment is left
        });
        Assert.Equal(freeAtStart, FreeFrags(img.Bytes));
    }

    [Fact]
    public void Set_OnPlainUfs2_IsNotSupported()
    {
        FfsDamage img = Image(false, false, Area(false), out _);
        Mount mp = MountOf(img.Bytes, readOnly: false);
        try
        {
            Vnode f = FfsTestMount.Resolve(mp, "/f");
            Assert.Equal(Errno.EOPNOTSUPP, Vop.SetXattr(f, "user.comment", "x"u8, XattrSetMode.Any, Credentials.Root));
            Assert.Equal(Errno.EOPNOTSUPP, Vop.RemoveXattr(f, "user.comment", Credentials.Root));
            f.Release();
        }
        finally
        {
            Assert.Equal(Errno.OK, mp.Unmount());
        }
    }

    private static long FreeFrags(byte[] bytes)
    {
        Mount mp = MountOf((byte[])bytes.Clone(), readOnly: true);
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs st));
        Assert.Equal(Errno.OK, mp.Unmount());
        return st.BlocksFree;
    }

    [Fact]
    public void UnclaimedAreaBlock_CheckerNamesTheInodesBlockCount()
    {
        // Before areas were counted, a FreeBSD image's ext blocks were "in use but unreferenced",
        // and repair freed them under a live inode. The block count is the tell.
        FfsDamage img = Image(false, false, Area(false), out ulong ino);
        img.SetInode(ino, d => d.Blocks += img.Sb.Fsize / 512);
        FfsCheckReport found = FfsCheck.Run(new MemoryBlockDevice(img.Bytes, readOnly: true));
        Assert.Contains(found.Findings, f => f.Message.Contains("blocks found", StringComparison.Ordinal));
        Assert.DoesNotContain(found.Findings, f => f.Kind == FfsFindingKind.Bitmap);
    }
}
