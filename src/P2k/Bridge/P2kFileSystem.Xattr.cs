using RumpFs.Kernel;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>
/// Extended attributes; a format without them answers ENOTSUP through Vop, and GETXATTR on a
/// mount without any (<see cref="Mount.HasXattrs"/>) answers ENOSYS, which the kernel keeps.
/// </summary>
internal sealed partial class P2kFileSystem
{
    private const uint XATTR_CREATE = 1, XATTR_REPLACE = 2;

    private void GetXattr(in FuseRequest request, Vnode vp, FuseReply reply)
    {
        if (!request.Has(FuseXattrIn.CompatSize) || !request.TryReadName(FuseXattrIn.CompatSize, out string name, out _))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        if (!_mount.HasXattrs)
        {
            // The kernel asks for security.capability before a write whenever a GETATTR has
            // refreshed the file's attributes (it then no longer knows the file to be free of
            // capabilities): an appender that stats after each write pays a GETXATTR round
            // trip per write. ENOSYS is remembered for the connection (fc->no_getxattr) and
            // turned into the EOPNOTSUPP the format would give, so it is asked only once.
            reply.Error(Errno.ENOSYS);
            return;
        }
        uint size = FuseXattrIn.Read(request.Body).Size;
        Errno e = Vop.GetXattr(vp, name, Caller(request), out byte[]? value);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        ReplySized(value ?? [], size, reply);
    }

    private void ListXattr(in FuseRequest request, Vnode vp, FuseReply reply)
    {
        if (!request.Has(FuseXattrIn.CompatSize))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        uint size = FuseXattrIn.Read(request.Body).Size;
        Errno e = Vop.ListXattr(vp, Caller(request), out IReadOnlyList<string> names);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        var list = new List<byte>();
        foreach (string n in names)
        {
            list.AddRange(NameEncoding.GetBytes(n));
            list.Add(0);
        }
        ReplySized([.. list], size, reply);
    }

    /// <summary>
    /// The getxattr/listxattr convention: size 0 asks for the length (fuse_getxattr_out),
    /// otherwise the data, or ERANGE when it does not fit.
    /// </summary>
    private static void ReplySized(byte[] data, uint size, FuseReply reply)
    {
        if (size == 0)
        {
            FuseSizeOut.Write(reply.Payload, (uint)data.Length);
            reply.Send(FuseSizeOut.Size);
            return;
        }
        if (data.Length > size || data.Length > reply.Payload.Length)
        {
            reply.Error(Errno.ERANGE);
            return;
        }
        data.CopyTo(reply.Payload);
        reply.Send(data.Length);
    }

    private void SetXattr(in FuseRequest request, Vnode vp, FuseReply reply)
    {
        // fuse_setxattr_in is the 8-byte form: FUSE_SETXATTR_EXT is not negotiated.
        if (!request.Has(FuseXattrIn.CompatSize) || !request.TryReadName(FuseXattrIn.CompatSize, out string name, out int next))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseXattrIn a = FuseXattrIn.Read(request.Body);
        if (request.Body.Length - next < a.Size)
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        XattrSetMode mode = (a.Flags & XATTR_CREATE) != 0 ? XattrSetMode.Create
            : (a.Flags & XATTR_REPLACE) != 0 ? XattrSetMode.Replace : XattrSetMode.Any;
        reply.Error(Vop.SetXattr(vp, name, request.Body.Slice(next, (int)a.Size), mode, Caller(request)));
    }

    private void RemoveXattr(in FuseRequest request, Vnode vp, FuseReply reply)
    {
        if (!request.TryReadName(0, out string name, out _))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        reply.Error(Vop.RemoveXattr(vp, name, Caller(request)));
    }
}
