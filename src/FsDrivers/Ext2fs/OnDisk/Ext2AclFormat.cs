using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>
/// How ext2/3/4 store a POSIX ACL in system.posix_acl_access and _default (ext4_acl_header,
/// ext4_acl_entry): a version word 1, then entries of 4 bytes (tag, perm) for the owner,
/// owning group, mask and other, and of 8 bytes (tag, perm, id) for named users and groups.
/// The VFS form (posix_acl_xattr.h) gives every entry 8 bytes after a version word 2.
/// </summary>
internal static class Ext2AclFormat
{
    public const uint DiskVersion = 1;
    public const uint VfsVersion = 2;

    private const ushort TagUser = 0x02;
    private const ushort TagGroup = 0x08;

    /// <summary>Name indexes of the two ACL attributes.</summary>
    public const int AccessIndex = 2;
    public const int DefaultIndex = 3;

    private static bool Named(ushort tag) => tag is TagUser or TagGroup;

    /// <summary>The on-disk form of a VFS-form ACL; null when the value is not one.</summary>
    public static byte[]? ToDisk(ReadOnlySpan<byte> vfs)
    {
        if (vfs.Length < 4 || (vfs.Length - 4) % 8 != 0 || BinaryPrimitives.ReadUInt32LittleEndian(vfs) != VfsVersion)
        {
            return null;
        }
        var disk = new List<byte>(vfs.Length);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(word, DiskVersion);
        disk.AddRange(word);
        for (int off = 4; off < vfs.Length; off += 8)
        {
            ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(vfs[off..]);
            disk.AddRange(vfs.Slice(off, Named(tag) ? 8 : 4));
        }
        return [.. disk];
    }

    /// <summary>The VFS form of an on-disk ACL; null when the stored value is damaged.</summary>
    public static byte[]? FromDisk(ReadOnlySpan<byte> disk)
    {
        if (disk.Length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(disk) != DiskVersion)
        {
            return null;
        }
        var vfs = new List<byte>(disk.Length * 2);
        Span<byte> entry = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, VfsVersion);
        vfs.AddRange(entry[..4]);
        int off = 4;
        while (off < disk.Length)
        {
            if (off + 4 > disk.Length)
            {
                return null;
            }
            ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(disk[off..]);
            int size = Named(tag) ? 8 : 4;
            if (off + size > disk.Length)
            {
                return null;
            }
            entry.Clear();
            disk.Slice(off, 4).CopyTo(entry);
            if (Named(tag))
            {
                disk.Slice(off + 4, 4).CopyTo(entry[4..]);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], uint.MaxValue);
            }
            vfs.AddRange(entry);
            off += size;
        }
        return [.. vfs];
    }
}
