using System.Buffers.Binary;

namespace RumpFs.P2k.Protocol;

// Notifications: messages the daemon writes to /dev/fuse unasked. Each is a fuse_out_header
// whose unique is 0 and whose error field carries the notification code, followed by that
// code's record. The kernel acts on it inside the write(2) and returns its result there.

/// <summary>enum fuse_notify_code in linux/fuse.h (the codes this daemon sends).</summary>
internal enum FuseNotifyCode
{
    InvalInode = 2,
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
