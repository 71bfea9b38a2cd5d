using System.Buffers.Binary;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.Vfs.Tests;

/// <summary>The ACL form and rules of fs/posix_acl.c: validity, equivalence with a mode, chmod, inheritance, permission.</summary>
public sealed class PosixAclTests
{
    private const uint None = PosixAcl.UndefinedId;

    private static byte[] Raw(uint version, params (ushort Tag, ushort Perm, uint Id)[] entries)
    {
        byte[] b = new byte[4 + (8 * entries.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(b, version);
        for (int i = 0; i < entries.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4 + (8 * i)), entries[i].Tag);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(6 + (8 * i)), entries[i].Perm);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8 + (8 * i)), entries[i].Id);
        }
        return b;
    }

    private static PosixAcl Parse(byte[] raw)
    {
        Assert.Equal(Errno.OK, PosixAcl.Parse(raw, out PosixAcl? acl));
        return acl!;
    }

    private static readonly byte[] Extended = Raw(2, (1, 6, None), (2, 4, 1234), (4, 0, None), (8, 6, 55), (0x10, 6, None), (0x20, 0, None));

    [Fact]
    public void Parse_AcceptsTheKernelsForm_AndWritesItBackUnchanged()
    {
        Assert.Equal(Extended, Parse(Extended).ToXattr());
        Assert.Equal(Errno.OK, PosixAcl.Parse([], out PosixAcl? none));
        Assert.Null(none);
    }

    public static TheoryData<byte[]> Malformed => new()
    {
        Raw(1, (1, 6, None), (4, 0, None), (0x20, 0, None)),                       // version
        Raw(2, (1, 6, None), (4, 0, None)),                                         // no other
        Raw(2, (1, 6, None), (1, 6, None), (4, 0, None), (0x20, 0, None)),          // two owners
        Raw(2, (1, 6, None), (2, 4, 7), (4, 0, None), (0x20, 0, None)),             // named user, no mask
        Raw(2, (1, 6, None), (2, 4, 7), (2, 6, 7), (4, 0, None), (0x10, 6, None), (0x20, 0, None)), // user twice
        Raw(2, (1, 8, None), (4, 0, None), (0x20, 0, None)),                        // perm beyond rwx
        Raw(2, (1, 6, None), (0x40, 0, None), (4, 0, None), (0x20, 0, None)),       // unknown tag
        new byte[] { 2, 0, 0, 0, 1, 0 },                                                       // torn entry
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Parse_RefusesWhatPosixAclValidRefuses(byte[] raw) =>
        Assert.Equal(Errno.EINVAL, PosixAcl.Parse(raw, out _));

    [Fact]
    public void Equivalence_ThreeEntriesAreAMode_AMaskStandsForTheGroupBits()
    {
        Assert.True(PosixAcl.FromMode(0x1E8).IsEquivalentToMode(out uint bits)); // 0750
        Assert.Equal(0x1E8u, bits);
        Assert.False(Parse(Extended).IsEquivalentToMode(out bits));
        Assert.Equal(0x1B0u, bits); // 0660: owner rw-, mask rw-, other ---
    }

    [Fact]
    public void WithMode_SetsOwnerMaskAndOther_KeepsNamedEntriesAndTheOwningGroup()
    {
        PosixAcl acl = Parse(Extended).WithMode(0x1E4); // 0744
        Assert.Equal(7, acl.Entries.Single(e => e.Tag == AclTag.UserObj).Perm);
        Assert.Equal(4, acl.Entries.Single(e => e.Tag == AclTag.Mask).Perm);
        Assert.Equal(0, acl.Entries.Single(e => e.Tag == AclTag.GroupObj).Perm);
        Assert.Equal(4, acl.Entries.Single(e => e.Tag == AclTag.Other).Perm);
        Assert.Equal(6, acl.Entries.Single(e => e.Tag == AclTag.Group).Perm);
        // Without a mask the owning group takes the group bits.
        Assert.Equal(5, PosixAcl.FromMode(0x1C0).WithMode(0x1ED).Entries.Single(e => e.Tag == AclTag.GroupObj).Perm);
    }

    [Fact]
    public void Inherit_NarrowsBothTheAclAndTheMode()
    {
        PosixAcl dflt = Parse(Raw(2, (1, 7, None), (2, 7, 1234), (4, 5, None), (0x10, 7, None), (0x20, 5, None)));
        uint mode = 0x81B6; // a regular file asked for with 0666
        PosixAcl access = dflt.Inherit(ref mode);
        Assert.Equal(0x81B4u, mode); // 0664
        Assert.Equal(Raw(2, (1, 6, None), (2, 7, 1234), (4, 5, None), (0x10, 6, None), (0x20, 4, None)), access.ToXattr());
    }

    [Theory]
    [InlineData(1234u, 1234u, AccessMode.Read, true)]    // named user, within the mask
    [InlineData(1234u, 55u, AccessMode.Write, false)]    // the named entry decides, not the group's rw-
    [InlineData(77u, 55u, AccessMode.Write, true)]       // named group
    [InlineData(77u, 88u, AccessMode.Read, false)]       // in the owning group (---)
    [InlineData(77u, 99u, AccessMode.Read, false)]       // other
    public void Grants_FollowsPosixAclPermission(uint uid, uint gid, AccessMode want, bool granted)
    {
        PosixAcl acl = Parse(Extended);
        Assert.Equal(granted, acl.Grants(new Credentials(uid, gid), fileGid: 88, want));
    }

    [Fact]
    public void Grants_TheMaskLimitsNamedEntries()
    {
        PosixAcl acl = Parse(Extended).WithMode(0x180); // 0600: mask ---
        Assert.False(acl.Grants(new Credentials(1234, 1234), 88, AccessMode.Read));
        Assert.False(acl.Grants(new Credentials(77, 55), 88, AccessMode.Read));
    }
}
