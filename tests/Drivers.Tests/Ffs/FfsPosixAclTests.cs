using System.Buffers.Binary;
using System.Text;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.FsDrivers.Ffs.Newfs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>
/// POSIX.1e ACLs on FFSv2ea, as NetBSD 10 keeps them: on when fs_flags has FS_POSIX1EACLS
/// (newfs's posix1eacls, tunefs -p enable) or the mount says -o posix1eacls; set through the
/// VFS, they land in the inode's attribute area as the system attribute posix1e.acl_access
/// or posix1e.acl_default holding a struct oldacl, which these tests read back from the
/// image bytes themselves, record by record and field by field.
/// </summary>
public sealed class FfsPosixAclTests : IDisposable
{
    private const uint Undefined = uint.MaxValue;
    private readonly ScratchDir _dir = new("ffs-acl");

    public void Dispose() => _dir.Dispose();

    private static byte[] NewImage(string options)
    {
        byte[] bytes = new byte[16 << 20];
        using var dev = new MemoryBlockDevice(bytes);
        var dict = options.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(o => o.Split('=')[0], o => o.Contains('=', StringComparison.Ordinal) ? o.Split('=')[1] : null);
        Errno e = new FfsFormatter().Format(dev, dict, out string? message);
        Assert.True(e == Errno.OK, $"newfs {options}: {e} {message}");
        return bytes;
    }

    private static Mount MountRw(byte[] image, bool option = false)
    {
        var options = new MountOptions();
        if (option)
        {
            options.Extra[FfsMount.PosixAclsOption] = null;
        }
        Errno e = FfsTestMount.TryMount(new MemoryBlockDevice(image), false, out Mount? mp, out string? msg, options);
        Assert.True(e == Errno.OK, $"mount: {e} {msg}");
        return mp!;
    }

    private static void PokeFlags(byte[] image, int set)
    {
        FfsSuperblock sb = FfsSmallImagesSb(image);
        Span<byte> s = image.AsSpan((int)sb.Location, FfsSuperblockCheck.ReadSize);
        sb.Order.W32(s, SuperblockFields.Flags, sb.Order.I32(s, SuperblockFields.Flags) | set);
    }

    private static FfsSuperblock FfsSmallImagesSb(byte[] image) =>
        FfsSuperblockCheck.Find(new MemoryBlockDevice(image, readOnly: true), out string? why) ?? throw new InvalidOperationException(why);

    [Fact]
    public void Mount_FlagOrOptionOnFfsv2ea_AclsOn_ElsewhereOff()
    {
        Mount mp = MountRw(NewImage("version=3,posix1eacls"));
        Assert.True(mp.HasPosixAcls);
        Assert.Equal(Errno.OK, mp.Unmount());

        byte[] plainEa = NewImage("version=3");
        mp = MountRw(plainEa);
        Assert.False(mp.HasPosixAcls);
        Assert.Equal(Errno.OK, mp.Unmount());
        mp = MountRw(plainEa, option: true);
        Assert.True(mp.HasPosixAcls);
        Assert.Equal(Errno.OK, mp.Unmount());

        // NFSv4 ACLs on the file system exclude POSIX.1e ones.
        byte[] nfs4 = NewImage("version=3,posix1eacls");
        PokeFlags(nfs4, FfsSuperblock.FlagNfs4Acls);
        mp = MountRw(nfs4);
        Assert.False(mp.HasPosixAcls);
        Assert.Equal(Errno.OK, mp.Unmount());

        // Plain UFS2 and UFS1 have no attribute area to keep them in: the option is refused,
        // the flag (which NetBSD's tunefs sets on UFS1) leaves them off.
        foreach (string version in new[] { "1", "2" })
        {
            byte[] img = NewImage($"version={version}");
            var options = new MountOptions();
            options.Extra[FfsMount.PosixAclsOption] = null;
            Errno e = FfsTestMount.TryMount(new MemoryBlockDevice(img), false, out _, out string? msg, options);
            Assert.Equal(Errno.EINVAL, e);
            Assert.Contains("FFSv2ea", msg ?? "", StringComparison.Ordinal);
            PokeFlags(img, FfsSuperblock.FlagPosix1eAcls);
            mp = MountRw(img);
            Assert.False(mp.HasPosixAcls);
            var h = new VfsHarness(mp);
            Assert.Equal(Errno.OK, h.Create("/f"));
            Assert.Equal(Errno.EOPNOTSUPP, h.WithVnode("/f", true, vp => Vop.SetXattr(vp, PosixAcl.AccessName, Acl(), XattrSetMode.Any, Credentials.Root)));
            Assert.Equal(Errno.OK, mp.Unmount());
        }
    }

    [Fact]
    public void Newfs_Posix1eAclsOnlyWithVersion3()
    {
        foreach (string options in new[] { "version=2,posix1eacls", "version=1,posix1eacls", "version=3,posix1eacls=yes" })
        {
            using var dev = new MemoryBlockDevice(16 << 20);
            var dict = options.Split(',').ToDictionary(o => o.Split('=')[0], o => o.Contains('=', StringComparison.Ordinal) ? o.Split('=')[1] : null);
            Assert.Equal(Errno.EINVAL, new FfsFormatter().Format(dev, dict, out string? message));
            Assert.Contains("posix1eacls", message ?? "", StringComparison.Ordinal);
        }
        byte[] img = NewImage("version=3,posix1eacls");
        Assert.Equal(FfsSuperblock.FlagPosix1eAcls, FfsSmallImagesSb(img).Flags);
    }

    /// <summary>u::rw-, u:1234:rw-, g::GROUP, m::rw-, o::r--.</summary>
    private static byte[] Acl(ushort group = 4) => new PosixAcl(
    [
        new AclEntry(AclTag.UserObj, 6, PosixAcl.UndefinedId), new AclEntry(AclTag.User, 6, 1234),
        new AclEntry(AclTag.GroupObj, group, PosixAcl.UndefinedId), new AclEntry(AclTag.Mask, 6, PosixAcl.UndefinedId),
        new AclEntry(AclTag.Other, 4, PosixAcl.UndefinedId),
    ]).ToXattr();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SetAcl_StoredAsOldaclInTheSystemNamespace_FieldByField(bool bigEndian)
    {
        byte[] img = NewImage("version=3,posix1eacls" + (bigEndian ? ",endian=big" : ""));
        Mount mp = MountRw(img);
        var h = new VfsHarness(mp);
        Assert.Equal(Errno.OK, h.Create("/f", 0x1A0));
        Assert.Equal(Errno.OK, h.WithVnode("/f", true, vp => Vop.SetXattr(vp, PosixAcl.AccessName, Acl(), XattrSetMode.Any, Credentials.Root)));
        Assert.Equal(0x1B4u, h.StatOk("/f").Mode & 0x1FF); // 0664: the mask gives the group bits
        IReadOnlyList<string>? names = null;
        Assert.Equal(Errno.OK, h.WithVnode("/f", true, vp => vp.ListXattr(out names)));
        Assert.Equal([PosixAcl.AccessName], names);
        Assert.Equal(Errno.OK, mp.Unmount());

        (uint Tag, uint Id, uint Perm)[] stored = StoredAcl(img, "/f", FfsAclFormat.AccessName, bigEndian);
        Assert.Equal([(0x01u, Undefined, 6u), (0x02u, 1234u, 6u), (0x04u, Undefined, 4u), (0x10u, Undefined, 6u), (0x20u, Undefined, 4u)], stored);

        mp = MountRw(img);
        byte[]? back = null;
        Assert.Equal(Errno.OK, new VfsHarness(mp).WithVnode("/f", true, vp => Vop.GetXattr(vp, PosixAcl.AccessName, Credentials.Root, out back)));
        Assert.Equal(Acl(), back);
        Assert.Equal(Errno.OK, mp.Unmount());
        AssertClean(img);
    }

    [Fact]
    public void DefaultAcl_InheritedOnCreate_StoredOnTheNewNodes()
    {
        byte[] img = NewImage("version=3,posix1eacls");
        Mount mp = MountRw(img);
        var h = new VfsHarness(mp);
        Assert.Equal(Errno.OK, h.Mkdir("/d", 0x1ED));
        byte[] dflt = new PosixAcl(
        [
            new AclEntry(AclTag.UserObj, 7, PosixAcl.UndefinedId), new AclEntry(AclTag.User, 5, 1234),
            new AclEntry(AclTag.GroupObj, 5, PosixAcl.UndefinedId), new AclEntry(AclTag.Mask, 7, PosixAcl.UndefinedId),
            new AclEntry(AclTag.Other, 0, PosixAcl.UndefinedId),
        ]).ToXattr();
        Assert.Equal(Errno.OK, h.WithVnode("/d", true, vp => Vop.SetXattr(vp, PosixAcl.DefaultName, dflt, XattrSetMode.Any, Credentials.Root)));
        Assert.Equal(Errno.OK, h.Create("/d/f", 0x1B6));
        Assert.Equal(Errno.OK, h.Mkdir("/d/sub", 0x1FF));
        Assert.Equal(0x1B0u, h.StatOk("/d/f").Mode & 0x1FF); // 0666 narrowed by the default ACL: 0660
        Assert.Equal(0x1F8u, h.StatOk("/d/sub").Mode & 0x1FF); // 0777 narrowed: 0770
        Assert.Equal(Errno.OK, mp.Unmount());

        Assert.Equal([(0x01u, Undefined, 6u), (0x02u, 1234u, 5u), (0x04u, Undefined, 5u), (0x10u, Undefined, 6u), (0x20u, Undefined, 0u)],
            StoredAcl(img, "/d/f", FfsAclFormat.AccessName, false));
        Assert.Null(StoredValue(img, "/d/f", FfsAclFormat.DefaultName, false));
        Assert.Equal([(0x01u, Undefined, 7u), (0x02u, 1234u, 5u), (0x04u, Undefined, 5u), (0x10u, Undefined, 7u), (0x20u, Undefined, 0u)],
            StoredAcl(img, "/d/sub", FfsAclFormat.DefaultName, false));
        Assert.NotNull(StoredValue(img, "/d/sub", FfsAclFormat.AccessName, false));
        AssertClean(img);
    }

    [Fact]
    public void Chmod_RewritesTheStoredMask_GroupEntryKept()
    {
        byte[] img = NewImage("version=3,posix1eacls");
        Mount mp = MountRw(img);
        var h = new VfsHarness(mp);
        Assert.Equal(Errno.OK, h.Create("/f", 0x1A4));
        Assert.Equal(Errno.OK, h.WithVnode("/f", true, vp => Vop.SetXattr(vp, PosixAcl.AccessName, Acl(group: 6), XattrSetMode.Any, Credentials.Root)));
        Assert.Equal(Errno.OK, h.Chmod("/f", 0x1C8)); // 0710
        Assert.Equal(Errno.OK, mp.Unmount());
        Assert.Equal([(0x01u, Undefined, 7u), (0x02u, 1234u, 6u), (0x04u, Undefined, 6u), (0x10u, Undefined, 1u), (0x20u, Undefined, 0u)],
            StoredAcl(img, "/f", FfsAclFormat.AccessName, false));
        AssertClean(img);
    }

    [Fact]
    public void RemoveDefaultAcl_RecordGone_AreaFreed()
    {
        byte[] img = NewImage("version=3,posix1eacls");
        Mount mp = MountRw(img);
        var h = new VfsHarness(mp);
        Assert.Equal(Errno.OK, h.Mkdir("/d", 0x1ED));
        Assert.Equal(Errno.OK, h.WithVnode("/d", true, vp => Vop.SetXattr(vp, PosixAcl.DefaultName, Acl(), XattrSetMode.Any, Credentials.Root)));
        Assert.Equal(Errno.OK, h.WithVnode("/d", true, vp => Vop.RemoveXattr(vp, PosixAcl.DefaultName, Credentials.Root)));
        Assert.Equal(Errno.OK, h.WithVnode("/d", true, vp => Vop.RemoveXattr(vp, PosixAcl.DefaultName, Credentials.Root)));
        Assert.Equal(Errno.OK, mp.Unmount());
        Assert.Null(StoredValue(img, "/d", FfsAclFormat.DefaultName, false));
        AssertClean(img);
    }

    /// <summary>A stored ACL that does not decode (bad count, unknown tag, wrong length) is EIO, logged; the owner and root still use the file, others are refused with the error (check_acl).</summary>
    [Theory]
    [InlineData("count")]
    [InlineData("tag")]
    [InlineData("length")]
    public void DamagedStoredAcl_GetIsEio_FileStillReadable(string damage)
    {
        string path = _dir.File($"damaged-{damage}.img");
        byte[] fresh = NewImage("version=3,posix1eacls");
        Mount mp = MountRw(fresh);
        var h = new VfsHarness(mp);
        Assert.Equal(Errno.OK, h.Create("/f", 0x1A4));
        Assert.Equal(Errno.OK, h.WithVnode("/f", true, vp => Vop.SetXattr(vp, PosixAcl.AccessName, Acl(), XattrSetMode.Any, Credentials.Root)));
        Assert.Equal(Errno.OK, mp.Unmount());
        File.WriteAllBytes(path, fresh);
        var img = new FfsDamage(path);
        (int valueAt, int valueLength, int recordAt) = FindRecord(img.Bytes, img.Inode(img.Ino("/f")), img.Sb, FfsAclFormat.AccessName);
        FfsByteOrder o = img.Sb.Order;
        switch (damage)
        {
            case "count":
                o.W32(img.Bytes, valueAt, 33);
                break;
            case "tag":
                o.W32(img.Bytes, valueAt + 4 + 12, 0x40);
                break;
            default:
                // The record one byte of value shorter: ea_contentpadlen grows by one.
                img.Bytes[recordAt + 5]++;
                break;
        }

        Errno rc = FfsTestMount.TryMount(new MemoryBlockDevice(img.Bytes), true, out Mount? ro, out string? msg);
        Assert.True(rc == Errno.OK, $"mount: {rc} {msg}");
        var r = new VfsHarness(ro!);
        Assert.Equal(Errno.EIO, r.WithVnode("/f", true, vp => Vop.GetXattr(vp, PosixAcl.AccessName, Credentials.Root, out _)));
        Assert.Contains(FfsTestMount.LastLog, l => l.Contains("damaged ACL posix1e.acl_access", StringComparison.Ordinal));
        Assert.Equal(0x1B4u, r.StatOk("/f").Mode & 0x1FF);
        // A caller who is not the owner is refused with the error when the ACL cannot be read, as Linux's check_acl.
        Assert.Equal(Errno.EIO, r.WithVnode("/f", true, vp => Vop.CheckAccess(vp, AccessMode.Read, VfsHarness.OtherUser)));
        Assert.Equal(Errno.OK, ro!.Unmount());
        Assert.True(valueLength == FfsAclFormat.Size);
    }

    private static void AssertClean(byte[] img)
    {
        FfsCheckReport r = FfsCheck.Run(new MemoryBlockDevice(img, readOnly: true));
        Assert.True(r.IsClean, r.ToString());
        CheckReport c = new FfsChecker().Check(new MemoryBlockDevice(img, readOnly: true), repair: false);
        Assert.True(c.ExitCode == 0, FfsRepairTests.Describe(c));
    }

    /// <summary>The entries of the struct oldacl stored under <paramref name="name"/>, read by hand from sys/acl.h's layout.</summary>
    private (uint Tag, uint Id, uint Perm)[] StoredAcl(byte[] image, string file, string name, bool bigEndian)
    {
        byte[]? v = StoredValue(image, file, name, bigEndian);
        Assert.NotNull(v);
        Assert.Equal(4 + (32 * 12), v.Length);
        uint U32(int off) => bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(v.AsSpan(off)) : BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(off));
        int count = (int)U32(0);
        Assert.InRange(count, 0, 32);
        Assert.All(v.Skip(4 + (count * 12)), b => Assert.Equal(0, b));
        return [.. Enumerable.Range(0, count).Select(i => (U32(4 + (i * 12)), U32(8 + (i * 12)), U32(12 + (i * 12))))];
    }

    private byte[]? StoredValue(byte[] image, string file, string name, bool bigEndian)
    {
        string path = _dir.File($"read-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, image);
        var img = new FfsDamage(path);
        Assert.Equal(bigEndian, img.Sb.Order.IsBigEndian);
        (int at, int length, _) = FindRecord(img.Bytes, img.Inode(img.Ino(file)), img.Sb, name);
        return at < 0 ? null : img.Bytes.AsSpan(at, length).ToArray();
    }

    /// <summary>
    /// Walk the inode's attribute area (struct extattr records: ea_length, ea_namespace,
    /// ea_contentpadlen, ea_namelength, the name, the value from the next 8-byte boundary) for
    /// the system-namespace record <paramref name="name"/>: where its value starts in the
    /// image, its length and where the record starts; -1 when absent.
    /// </summary>
    private static (int ValueAt, int Length, int RecordAt) FindRecord(byte[] image, FfsDinode d, FfsSuperblock sb, string name)
    {
        Assert.InRange(d.ExtSize, 0, sb.Bsize); // one block is enough for these tests
        if (d.ExtSize == 0)
        {
            return (-1, 0, -1);
        }
        int area = (int)sb.FragToBytes(d.ExtB[0]);
        int at = 0;
        while (at < d.ExtSize)
        {
            int rec = area + at;
            int length = (int)sb.Order.U32(image, rec);
            Assert.True(length >= 8 && length % 8 == 0, $"record length {length}");
            int nameLength = image[rec + 6];
            int valueAt = (7 + nameLength + 7) & ~7;
            string recName = Encoding.ASCII.GetString(image, rec + 7, nameLength);
            if (image[rec + 4] == 2 && recName == name)
            {
                return (rec + valueAt, length - valueAt - image[rec + 5], rec);
            }
            at += length;
        }
        return (-1, 0, -1);
    }
}
