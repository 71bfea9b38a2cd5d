using System.Buffers.Binary;
using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>
/// struct oldacl as sys/acl.h lays it out (acl_cnt, then 32 entries of ae_tag, ae_id,
/// ae_perm, four bytes each) and its conversion to and from the VFS's ACL attribute. The
/// stored bytes are built here from that layout, never by the converter under test.
/// </summary>
public sealed class FfsAclFormatTests
{
    [Fact]
    public void Layout_OffsetsAddUpToStructOldacl()
    {
        Assert.Equal(4, FfsAclFormat.Entries - FfsAclFormat.Count);
        Assert.Equal(FfsAclFormat.EntryId, FfsAclFormat.EntryTag + 4);
        Assert.Equal(FfsAclFormat.EntryPerm, FfsAclFormat.EntryId + 4);
        Assert.Equal(FfsAclFormat.EntrySize, FfsAclFormat.EntryPerm + 4);
        Assert.Equal(32, FfsAclFormat.MaxEntries);
        Assert.Equal(4 + (32 * 12), FfsAclFormat.Size);
        Assert.Equal(FfsAclFormat.Size, FfsAclFormat.Entries + (FfsAclFormat.MaxEntries * FfsAclFormat.EntrySize));
    }

    /// <summary>(tag, id, perm) triples as stored: ACL_USER_OBJ 1, ACL_USER 2, ACL_GROUP_OBJ 4, ACL_MASK 0x10, ACL_OTHER 0x20.</summary>
    private static readonly (uint Tag, uint Id, uint Perm)[] s_entries =
    [
        (0x01, uint.MaxValue, 6), (0x02, 1234, 6), (0x04, uint.MaxValue, 4), (0x08, 77, 5), (0x10, uint.MaxValue, 6), (0x20, uint.MaxValue, 0),
    ];

    /// <summary>A struct oldacl from the spec's layout: count, then 12-byte entries, the rest zero.</summary>
    internal static byte[] Oldacl(bool bigEndian, int count, IEnumerable<(uint Tag, uint Id, uint Perm)> entries, int length = 388)
    {
        byte[] b = new byte[length];
        void W(int off, uint v)
        {
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(off), v);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(off), v);
            }
        }
        W(0, (uint)count);
        int at = 4;
        foreach ((uint tag, uint id, uint perm) in entries)
        {
            W(at, tag);
            W(at + 4, id);
            W(at + 8, perm);
            at += 12;
        }
        return b;
    }

    private static byte[] VfsForm() => new PosixAcl(s_entries.Select(e => new AclEntry((AclTag)e.Tag, (ushort)e.Perm, e.Id))).ToXattr();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FromDisk_SpecBytes_GiveTheVfsForm(bool bigEndian)
    {
        FfsByteOrder o = bigEndian ? FfsByteOrder.Big : FfsByteOrder.Little;
        byte[]? vfs = FfsAclFormat.FromDisk(Oldacl(bigEndian, s_entries.Length, s_entries), o, out string? problem);
        Assert.True(vfs is not null, problem);
        Assert.Equal(VfsForm(), vfs);
        Assert.Equal(Errno.OK, PosixAcl.Parse(vfs, out PosixAcl? acl));
        Assert.Equal(1234u, acl!.Entries.Single(e => e.Tag == AclTag.User).Id);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ToDisk_GivesTheSpecBytes_UnusedEntriesZero(bool bigEndian)
    {
        FfsByteOrder o = bigEndian ? FfsByteOrder.Big : FfsByteOrder.Little;
        byte[]? disk = FfsAclFormat.ToDisk(VfsForm(), o, out bool tooMany);
        Assert.False(tooMany);
        Assert.Equal(Oldacl(bigEndian, s_entries.Length, s_entries), disk);
    }

    [Fact]
    public void ToDisk_MoreEntriesThanOldaclHolds_TooMany()
    {
        var many = new List<AclEntry>
        {
            new(AclTag.UserObj, 7, PosixAcl.UndefinedId), new(AclTag.GroupObj, 5, PosixAcl.UndefinedId),
            new(AclTag.Mask, 7, PosixAcl.UndefinedId), new(AclTag.Other, 0, PosixAcl.UndefinedId),
        };
        many.AddRange(Enumerable.Range(100, 29).Select(i => new AclEntry(AclTag.User, 4, (uint)i)));
        Assert.NotNull(FfsAclFormat.ToDisk(new PosixAcl(many.Take(32)).ToXattr(), FfsByteOrder.Little, out _));
        Assert.Null(FfsAclFormat.ToDisk(new PosixAcl(many).ToXattr(), FfsByteOrder.Little, out bool tooMany));
        Assert.True(tooMany);
    }

    public static TheoryData<string, byte[]> Damaged => new()
    {
        { "count -1", Oldacl(false, -1, s_entries) },
        { "count 33", Oldacl(false, 33, s_entries) },
        { "unknown tag 0x40", Oldacl(false, 3, [(0x01, uint.MaxValue, 6), (0x40, uint.MaxValue, 4), (0x20, uint.MaxValue, 4)]) },
        { "tag 0", Oldacl(false, 4, s_entries.Take(3)) },
        { "perm 8", Oldacl(false, 3, [(0x01, uint.MaxValue, 8), (0x04, uint.MaxValue, 4), (0x20, uint.MaxValue, 4)]) },
        { "short", Oldacl(false, 3, s_entries.Take(3), length: 40) },
        { "long", Oldacl(false, 3, s_entries.Take(3), length: 392) },
    };

    [Theory]
    [MemberData(nameof(Damaged))]
    public void FromDisk_Damaged_NullWithAReason(string what, byte[] stored)
    {
        Assert.Null(FfsAclFormat.FromDisk(stored, FfsByteOrder.Little, out string? problem));
        Assert.False(string.IsNullOrEmpty(problem), what);
    }
}
