using System.Buffers.Binary;
using RumpFs.Kernel;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>
/// FUSE_IOCTL: the file flags of lsattr and chattr (FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, and
/// their FS_XFLAG_* form FS_IOC_FSGETXATTR/FSSETXATTR, which carry the project id of
/// lsattr -p and chattr -p too), which the kernel passes on for
/// regular files and directories. Every other ioctl is ENOTTY, as a file system without
/// it answers.
/// </summary>
internal sealed partial class P2kFileSystem
{
    // _IOR('f', 1, long) and _IOW('f', 2, long), and the 32-bit forms with an int; the value
    // is an int in every form.
    private const uint FsIocGetFlags = 0x80086601, FsIocSetFlags = 0x40086602;
    private const uint FsIoc32GetFlags = 0x80046601, FsIoc32SetFlags = 0x40046602;

    // _IOR('X', 31, struct fsxattr) and _IOW('X', 32, struct fsxattr): the same flags in the
    // FS_XFLAG_* form. The kernel reads them this way before every chattr, to compare.
    private const uint FsIocFsGetXattr = 0x801c581f, FsIocFsSetXattr = 0x401c5820;
    private const int FsxattrSize = 28;

    // struct fsxattr: fsx_xflags at 0, then these; fsx_nextents (8) is only ever answered.
    private const int FsxExtsize = 4, FsxProjid = 12, FsxCowextsize = 16;

    private void Ioctl(in FuseRequest request, Vnode vp, FuseReply reply)
    {
        if (!request.Has(FuseIoctlIn.Size))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseIoctlIn a = FuseIoctlIn.Read(request.Body);
        switch (a.Cmd)
        {
            case FsIocGetFlags or FsIoc32GetFlags:
                GetFileFlags(a, vp, reply);
                break;
            case FsIocSetFlags or FsIoc32SetFlags:
                SetFileFlags(request, a, vp, reply);
                break;
            case FsIocFsGetXattr:
                GetXflags(a, vp, reply);
                break;
            case FsIocFsSetXattr:
                SetXflags(request, a, vp, reply);
                break;
            default:
                KernelLog.Debug("p2k", $"ioctl 0x{a.Cmd:x8} (flags 0x{a.Flags:x}, in {a.InSize}, out {a.OutSize}): not offered");
                reply.Error(Errno.ENOTTY);
                break;
        }
    }

    /// <summary>The flags for a GET ioctl whose answer takes <paramref name="size"/> bytes; false when the error is already answered.</summary>
    private static bool FlagsToAnswer(in FuseIoctlIn a, int size, Vnode vp, FuseReply reply, out FileFlags flags)
    {
        flags = FileFlags.None;
        Errno e = a.OutSize < size ? Errno.EINVAL : Vop.GetFileFlags(vp, out flags);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return false;
        }
        FuseIoctlOut.Write(reply.Payload, 0);
        return true;
    }

    private static void GetFileFlags(in FuseIoctlIn a, Vnode vp, FuseReply reply)
    {
        if (!FlagsToAnswer(a, sizeof(uint), vp, reply, out FileFlags flags))
        {
            return;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(reply.Payload[FuseIoctlOut.Size..], (uint)flags);
        reply.Send(FuseIoctlOut.Size + sizeof(uint));
    }

    private void SetFileFlags(in FuseRequest request, in FuseIoctlIn a, Vnode vp, FuseReply reply)
    {
        if (a.InSize < sizeof(uint) || !request.Has(FuseIoctlIn.Size + sizeof(uint)))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        var flags = (FileFlags)BinaryPrimitives.ReadUInt32LittleEndian(request.Body[FuseIoctlIn.Size..]);
        Errno e = Vop.SetFileFlags(vp, flags, Caller(request));
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        FuseIoctlOut.Write(reply.Payload, 0);
        reply.Send(FuseIoctlOut.Size);
    }

    private static void GetXflags(in FuseIoctlIn a, Vnode vp, FuseReply reply)
    {
        uint projectId = 0;
        FileFlags flags = FileFlags.None;
        Errno e = a.OutSize < FsxattrSize ? Errno.EINVAL : Vop.GetFileAttr(vp, out flags, out projectId);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        FuseIoctlOut.Write(reply.Payload, 0);
        Span<byte> fsxattr = reply.Payload.Slice(FuseIoctlOut.Size, FsxattrSize);
        fsxattr.Clear(); // no extent size hint, extent count or CoW hint
        BinaryPrimitives.WriteUInt32LittleEndian(fsxattr, XflagConvert.FromFileFlags(flags));
        BinaryPrimitives.WriteUInt32LittleEndian(fsxattr[FsxProjid..], projectId);
        reply.Send(FuseIoctlOut.Size + FsxattrSize);
    }

    /// <summary>
    /// The xflags replace the flags they can express; the others (ext4's extents...) stay.
    /// fsx_projid moves the file to that project when it differs (the kernel fills it from
    /// our FSGETXATTR answer when the caller changes only flags).
    /// </summary>
    private void SetXflags(in FuseRequest request, in FuseIoctlIn a, Vnode vp, FuseReply reply)
    {
        if (a.InSize < FsxattrSize || !request.Has(FuseIoctlIn.Size + FsxattrSize))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        ReadOnlySpan<byte> fsxattr = request.Body.Slice(FuseIoctlIn.Size, FsxattrSize);
        uint xflags = BinaryPrimitives.ReadUInt32LittleEndian(fsxattr);
        uint projectId = BinaryPrimitives.ReadUInt32LittleEndian(fsxattr[FsxProjid..]);
        // Extent size hints and CoW hints are not stored anywhere here.
        bool hints = BinaryPrimitives.ReadUInt32LittleEndian(fsxattr[FsxExtsize..]) != 0
            || BinaryPrimitives.ReadUInt32LittleEndian(fsxattr[FsxCowextsize..]) != 0;
        if (hints || !XflagConvert.TryToFileFlags(xflags, out FileFlags expressed))
        {
            reply.Error(Errno.EOPNOTSUPP);
            return;
        }
        Errno e = Vop.GetFileFlags(vp, out FileFlags old);
        if (e == Errno.OK)
        {
            e = Vop.SetFileAttr(vp, (old & ~XflagConvert.Expressible) | expressed, projectId, Caller(request));
        }
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        FuseIoctlOut.Write(reply.Payload, 0);
        reply.Send(FuseIoctlOut.Size);
    }
}
