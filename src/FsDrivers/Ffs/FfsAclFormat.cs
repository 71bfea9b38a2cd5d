using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// How NetBSD 10 (and FreeBSD) keep a POSIX.1e ACL on UFS2: struct oldacl (sys/acl.h), the
/// value of the system-namespace attribute "posix1e.acl_access" or "posix1e.acl_default"
/// (ufs_acl.c). The value is always the whole structure: acl_cnt (int), then
/// <see cref="MaxEntries"/> entries of ae_tag (int), ae_id (uid_t) and ae_perm (mode_t, 32
/// bits on NetBSD), the unused ones zero; ufs_acl.c refuses any other length as a damaged
/// ACL. The kernel writes it in host order, which is the file system's unless FFS_EI swaps,
/// so the file system's order is taken. Tags and permission bits have Linux's values
/// (ACL_USER_OBJ 0x01 ... ACL_OTHER 0x20; read 4, write 2, execute 1), so conversion to
/// the VFS form (posix_acl_xattr: version 2, then tag u16, perm u16, id u32) keeps them.
/// </summary>
internal static class FfsAclFormat
{
    /// <summary>The attribute names, in EXTATTR_NAMESPACE_SYSTEM.</summary>
    public const string AccessName = "posix1e.acl_access";
    public const string DefaultName = "posix1e.acl_default";

    /// <summary>OLDACL_MAX_ENTRIES: changing it would change the on-disk layout.</summary>
    public const int MaxEntries = 32;

    // struct oldacl.
    public const int Count = 0;
    public const int Entries = 4;

    // struct oldacl_entry, from the entry's start.
    public const int EntryTag = 0;
    public const int EntryId = 4;
    public const int EntryPerm = 8;
    public const int EntrySize = 12;

    /// <summary>sizeof(struct oldacl): the only length a stored ACL may have.</summary>
    public const int Size = Entries + (MaxEntries * EntrySize);

    private const uint TagUser = 0x02;
    private const uint TagGroup = 0x08;
    private const uint UndefinedId = uint.MaxValue;
    private const uint VfsVersion = 2;
    private const int VfsHeader = 4;
    private const int VfsEntry = 8;

    private static readonly uint[] s_tags = [0x01, TagUser, 0x04, TagGroup, 0x10, 0x20];

    /// <summary>
    /// The stored form of a VFS-form ACL (which the VFS has already checked); null when it
    /// is not one, or holds more entries than struct oldacl does (ENOSPC for the caller).
    /// </summary>
    public static byte[]? ToDisk(ReadOnlySpan<byte> vfs, FfsByteOrder o, out bool tooMany)
    {
        tooMany = false;
        if (vfs.Length < VfsHeader || (vfs.Length - VfsHeader) % VfsEntry != 0
            || BinaryPrimitives.ReadUInt32LittleEndian(vfs) != VfsVersion)
        {
            return null;
        }
        int n = (vfs.Length - VfsHeader) / VfsEntry;
        if (n > MaxEntries)
        {
            tooMany = true;
            return null;
        }
        byte[] disk = new byte[Size];
        o.W32(disk, Count, n);
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<byte> e = vfs.Slice(VfsHeader + (i * VfsEntry), VfsEntry);
            uint tag = BinaryPrimitives.ReadUInt16LittleEndian(e);
            uint perm = BinaryPrimitives.ReadUInt16LittleEndian(e[2..]);
            uint id = tag is TagUser or TagGroup ? BinaryPrimitives.ReadUInt32LittleEndian(e[4..]) : UndefinedId;
            Span<byte> d = disk.AsSpan(Entries + (i * EntrySize), EntrySize);
            o.WU32(d, EntryTag, tag);
            o.WU32(d, EntryId, id);
            o.WU32(d, EntryPerm, perm);
        }
        return disk;
    }

    /// <summary>
    /// The VFS form of a stored ACL; null with <paramref name="problem"/> set when it is
    /// damaged: a length other than struct oldacl's, a count outside 0..32
    /// (acl_copy_oldacl_into_acl's EINVAL), an unknown tag or permission bits beyond rwx.
    /// </summary>
    public static byte[]? FromDisk(ReadOnlySpan<byte> disk, FfsByteOrder o, out string? problem)
    {
        problem = null;
        if (disk.Length != Size)
        {
            problem = $"{disk.Length} bytes (struct oldacl has {Size})";
            return null;
        }
        int n = o.I32(disk, Count);
        if (n < 0 || n > MaxEntries)
        {
            problem = $"entry count {n} (at most {MaxEntries})";
            return null;
        }
        byte[] vfs = new byte[VfsHeader + (n * VfsEntry)];
        BinaryPrimitives.WriteUInt32LittleEndian(vfs, VfsVersion);
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<byte> d = disk.Slice(Entries + (i * EntrySize), EntrySize);
            uint tag = o.U32(d, EntryTag);
            uint perm = o.U32(d, EntryPerm);
            if (!s_tags.Contains(tag))
            {
                problem = $"entry {i} has unknown tag {tag:x}";
                return null;
            }
            if ((perm & ~7u) != 0)
            {
                problem = $"entry {i} has permission bits {perm:x}";
                return null;
            }
            Span<byte> e = vfs.AsSpan(VfsHeader + (i * VfsEntry), VfsEntry);
            BinaryPrimitives.WriteUInt16LittleEndian(e, (ushort)tag);
            BinaryPrimitives.WriteUInt16LittleEndian(e[2..], (ushort)perm);
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], tag is TagUser or TagGroup ? o.U32(d, EntryId) : UndefinedId);
        }
        return vfs;
    }
}
