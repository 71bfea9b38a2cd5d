using System.Buffers.Binary;
using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>The entry kinds of a POSIX ACL (ACL_USER_OBJ … ACL_OTHER in linux/posix_acl.h).</summary>
public enum AclTag : ushort
{
    UserObj = 0x01,
    User = 0x02,
    GroupObj = 0x04,
    Group = 0x08,
    Mask = 0x10,
    Other = 0x20,
}

/// <summary>One ACL entry: its kind, rwx bits and, for named users and groups, the id.</summary>
public readonly record struct AclEntry(AclTag Tag, ushort Perm, uint Id);

/// <summary>
/// A POSIX.1e access control list as Linux passes it through the system.posix_acl_access and
/// system.posix_acl_default attributes (posix_acl_xattr.h: a version word, then 8-byte
/// entries), with the rules the kernel applies around it: validity, the permission walk,
/// the mode it is equivalent to, chmod and inheritance at creation.
/// </summary>
public sealed class PosixAcl
{
    /// <summary>The attribute holding a file's access ACL.</summary>
    public const string AccessName = "system.posix_acl_access";

    /// <summary>The attribute holding a directory's default ACL (what new entries inherit).</summary>
    public const string DefaultName = "system.posix_acl_default";

    /// <summary>POSIX_ACL_XATTR_VERSION.</summary>
    public const uint XattrVersion = 2;

    /// <summary>ACL_UNDEFINED_ID: the id field of the entries that name no one.</summary>
    public const uint UndefinedId = uint.MaxValue;

    private const int HeaderSize = 4;
    private const int EntrySize = 8;

    /// <summary>Entries in the canonical order (by tag, then id).</summary>
    public IReadOnlyList<AclEntry> Entries { get; }

    public PosixAcl(IEnumerable<AclEntry> entries)
    {
        Entries = [.. entries.OrderBy(e => e.Tag).ThenBy(e => e.Id)];
    }

    public static bool IsAclName(string name) => name is AccessName or DefaultName;

    /// <summary>
    /// Parse the attribute form. EINVAL for a bad version, a size that is no whole number of
    /// entries, or a list that posix_acl_valid refuses; an empty value is no ACL (null).
    /// </summary>
    public static Errno Parse(ReadOnlySpan<byte> value, out PosixAcl? acl)
    {
        acl = null;
        if (value.Length == 0)
        {
            return Errno.OK;
        }
        if (value.Length < HeaderSize || (value.Length - HeaderSize) % EntrySize != 0
            || BinaryPrimitives.ReadUInt32LittleEndian(value) != XattrVersion)
        {
            return Errno.EINVAL;
        }
        var entries = new List<AclEntry>();
        for (int off = HeaderSize; off < value.Length; off += EntrySize)
        {
            var tag = (AclTag)BinaryPrimitives.ReadUInt16LittleEndian(value[off..]);
            ushort perm = BinaryPrimitives.ReadUInt16LittleEndian(value[(off + 2)..]);
            uint id = BinaryPrimitives.ReadUInt32LittleEndian(value[(off + 4)..]);
            entries.Add(new AclEntry(tag, perm, tag is AclTag.User or AclTag.Group ? id : UndefinedId));
        }
        if (!IsValid(entries))
        {
            return Errno.EINVAL;
        }
        acl = new PosixAcl(entries);
        return Errno.OK;
    }

    /// <summary>
    /// posix_acl_valid: known tags, rwx bits only, one owner, owning-group and other entry,
    /// no named user or group twice, and a mask exactly when named entries exist.
    /// </summary>
    private static bool IsValid(List<AclEntry> entries)
    {
        int userObj = 0, groupObj = 0, other = 0, mask = 0, named = 0;
        var users = new HashSet<uint>();
        var groups = new HashSet<uint>();
        foreach (AclEntry e in entries)
        {
            if ((e.Perm & ~7) != 0)
            {
                return false;
            }
            switch (e.Tag)
            {
                case AclTag.UserObj: userObj++; break;
                case AclTag.GroupObj: groupObj++; break;
                case AclTag.Other: other++; break;
                case AclTag.Mask: mask++; break;
                case AclTag.User:
                    named++;
                    if (!users.Add(e.Id))
                    {
                        return false;
                    }
                    break;
                case AclTag.Group:
                    named++;
                    if (!groups.Add(e.Id))
                    {
                        return false;
                    }
                    break;
                default:
                    return false;
            }
        }
        return userObj == 1 && groupObj == 1 && other == 1 && mask <= 1 && (named == 0 || mask == 1);
    }

    /// <summary>The attribute form (version 2, entries in canonical order).</summary>
    public byte[] ToXattr()
    {
        byte[] b = new byte[HeaderSize + (EntrySize * Entries.Count)];
        BinaryPrimitives.WriteUInt32LittleEndian(b, XattrVersion);
        int off = HeaderSize;
        foreach (AclEntry e in Entries)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(off), (ushort)e.Tag);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(off + 2), e.Perm);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(off + 4), e.Id);
            off += EntrySize;
        }
        return b;
    }

    /// <summary>The three entries a mode alone stands for.</summary>
    public static PosixAcl FromMode(uint mode) => new(
    [
        new AclEntry(AclTag.UserObj, (ushort)((mode >> 6) & 7), UndefinedId),
        new AclEntry(AclTag.GroupObj, (ushort)((mode >> 3) & 7), UndefinedId),
        new AclEntry(AclTag.Other, (ushort)(mode & 7), UndefinedId),
    ]);

    /// <summary>The entry of that kind (the first, for named ones), or null.</summary>
    public AclEntry? Find(AclTag tag) => Entries.Where(e => e.Tag == tag).Select(e => (AclEntry?)e).FirstOrDefault();

    /// <summary>
    /// posix_acl_equiv_mode: the permission bits this ACL sets in the mode (the mask stands for
    /// the group bits when there is one); true when the mode alone says all the ACL says.
    /// </summary>
    public bool IsEquivalentToMode(out uint permBits)
    {
        permBits = 0;
        bool equivalent = true;
        foreach (AclEntry e in Entries)
        {
            switch (e.Tag)
            {
                case AclTag.UserObj: permBits |= (uint)(e.Perm & 7) << 6; break;
                case AclTag.GroupObj: permBits |= (uint)(e.Perm & 7) << 3; break;
                case AclTag.Other: permBits |= (uint)(e.Perm & 7); break;
                case AclTag.User or AclTag.Group: equivalent = false; break;
            }
        }
        if (Find(AclTag.Mask) is AclEntry mask)
        {
            permBits = (permBits & ~0x38u) | ((uint)(mask.Perm & 7) << 3);
            equivalent = false;
        }
        return equivalent;
    }

    /// <summary>posix_acl_chmod: the owner, mask (or owning group) and other entries take the new mode's bits.</summary>
    public PosixAcl WithMode(uint mode)
    {
        bool hasMask = Find(AclTag.Mask) is not null;
        return new PosixAcl(Entries.Select(e => e.Tag switch
        {
            AclTag.UserObj => e with { Perm = (ushort)((mode >> 6) & 7) },
            AclTag.Mask => e with { Perm = (ushort)((mode >> 3) & 7) },
            AclTag.GroupObj when !hasMask => e with { Perm = (ushort)((mode >> 3) & 7) },
            AclTag.Other => e with { Perm = (ushort)(mode & 7) },
            _ => e,
        }));
    }

    /// <summary>
    /// acl_calc_mask (what setfacl does after a change): the mask becomes the union of the
    /// group class (named users, the owning group, named groups). An ACL with neither a
    /// mask nor named entries is returned as it is.
    /// </summary>
    public PosixAcl WithMaskRecomputed()
    {
        bool named = Entries.Any(e => e.Tag is AclTag.User or AclTag.Group);
        if (!named && Find(AclTag.Mask) is null)
        {
            return this;
        }
        ushort union = 0;
        foreach (AclEntry e in Entries.Where(e => e.Tag is AclTag.User or AclTag.GroupObj or AclTag.Group))
        {
            union |= e.Perm;
        }
        return new PosixAcl(Entries.Where(e => e.Tag != AclTag.Mask).Append(new AclEntry(AclTag.Mask, union, UndefinedId)));
    }

    /// <summary>
    /// posix_acl_create_masq: a default ACL inherited by a new node created with
    /// <paramref name="mode"/>. The owner, mask (or owning group) and other entries are
    /// narrowed by the mode, and the mode's permission bits narrowed by them in turn.
    /// </summary>
    public PosixAcl Inherit(ref uint mode)
    {
        uint m = mode;
        bool hasMask = Find(AclTag.Mask) is not null;
        var entries = Entries.Select(e => e.Tag switch
        {
            AclTag.UserObj => e with { Perm = (ushort)(e.Perm & ((m >> 6) & 7)) },
            AclTag.Mask => e with { Perm = (ushort)(e.Perm & ((m >> 3) & 7)) },
            AclTag.GroupObj when !hasMask => e with { Perm = (ushort)(e.Perm & ((m >> 3) & 7)) },
            AclTag.Other => e with { Perm = (ushort)(e.Perm & (m & 7)) },
            _ => e,
        }).ToList();
        var result = new PosixAcl(entries);
        result.IsEquivalentToMode(out uint bits);
        mode = (mode & ~0x1FFu) | bits;
        return result;
    }

    /// <summary>
    /// posix_acl_permission for a caller who is not the owner (the owner's bits are the
    /// mode's): a named user entry, else any matching group entry, else other; named and
    /// group entries are limited by the mask.
    /// </summary>
    public bool Grants(Credentials cred, uint fileGid, AccessMode want)
    {
        uint wanted = (uint)want & 7;
        ushort mask = Find(AclTag.Mask) is AclEntry m ? m.Perm : (ushort)7;
        foreach (AclEntry e in Entries)
        {
            if (e.Tag == AclTag.User && e.Id == cred.Uid)
            {
                return (wanted & ~(uint)(e.Perm & mask)) == 0;
            }
        }
        bool inAGroup = false;
        foreach (AclEntry e in Entries)
        {
            bool member = (e.Tag == AclTag.GroupObj && cred.InGroup(fileGid)) || (e.Tag == AclTag.Group && cred.InGroup(e.Id));
            if (member)
            {
                inAGroup = true;
                if ((wanted & ~(uint)(e.Perm & mask)) == 0)
                {
                    return true;
                }
            }
        }
        if (inAGroup)
        {
            return false;
        }
        return Find(AclTag.Other) is AclEntry other && (wanted & ~(uint)other.Perm) == 0;
    }
}
