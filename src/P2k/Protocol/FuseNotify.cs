using System.Buffers.Binary;

namespace RumpFs.P2k.Protocol;

// Notifications: messages the daemon writes to /dev/fuse unasked. Each is a fuse_out_header
// whose unique is 0 and whose error field carries the notification code, followed by that
// code's record. The kernel acts on it inside the write(2) and returns its result there.

/// <summary>enum fuse_notify_code in linux/fuse.h (the codes this daemon sends).</summary>
internal enum FuseNotifyCode
{
    InvalInode = 2,
    InvalEntry = 3,

    /// <summary>FUSE_NOTIFY_INC_EPOCH (7.44, Linux 6.16): no record follows the header.</summary>
    IncEpoch = 8,
}

/// <summary>Protocol minors that brought the notifications sent here.</summary>
internal static class FuseNotifyMinor
{
    /// <summary>FUSE_NOTIFY_INC_EPOCH.</summary>
    public const uint IncEpoch = 44;
}

/// <summary>struct fuse_notify_inval_inode_out: drop the kernel's cached attributes and pages of a node.</summary>
internal static class FuseNotifyInvalInodeOut
{
    public const int Size = 24;
    internal const int InoOffset = 0, OffOffset = 8, LenOffset = 16;

    /// <summary>
    /// <paramref name="offset"/> negative: the attributes only; otherwise the pages from
    /// <paramref name="offset"/> on, <paramref name="length"/> bytes of them, or all the rest
    /// when it is 0 or negative (fuse_reverse_inval_inode). The attributes always go.
    /// </summary>
    public static void Write(Span<byte> b, ulong nodeId, long offset, long length)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(b[InoOffset..], nodeId);
        BinaryPrimitives.WriteInt64LittleEndian(b[OffOffset..], offset);
        BinaryPrimitives.WriteInt64LittleEndian(b[LenOffset..], length);
    }
}

/// <summary>
/// struct fuse_notify_inval_entry_out: drop the kernel's cached entry for a name in a
/// directory. The name follows the record, with a terminating NUL that the length does not
/// count.
/// </summary>
internal static class FuseNotifyInvalEntryOut
{
    public const int Size = 16;
    internal const int ParentOffset = 0, NameLenOffset = 8, FlagsOffset = 12;

    /// <summary>Bytes of the record with a name of <paramref name="nameLength"/> bytes.</summary>
    public static int SizeWith(int nameLength) => Size + nameLength + 1;

    /// <summary>Write the record and <paramref name="name"/> (UTF-8, with its NUL); flags 0: drop the entry.</summary>
    public static void Write(Span<byte> b, ulong parent, ReadOnlySpan<byte> name)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(b[ParentOffset..], parent);
        BinaryPrimitives.WriteUInt32LittleEndian(b[NameLenOffset..], (uint)name.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(b[FlagsOffset..], 0);
        name.CopyTo(b[Size..]);
        b[Size + name.Length] = 0;
    }
}
