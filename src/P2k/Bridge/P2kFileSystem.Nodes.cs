using RumpFs.Kernel;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>Name lookup, node life cycle and attributes.</summary>
internal sealed partial class P2kFileSystem
{
    private void Lookup(in FuseRequest request, Vnode dvp, FuseReply reply)
    {
        if (!request.TryReadName(0, out string name, out _))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        Errno e = Vop.Lookup(dvp, name, Caller(request), out Vnode? vp);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        try
        {
            ReplyEntry(vp!, reply, EntryValid(dvp, name));
        }
        finally
        {
            vp!.Release();
        }
    }

    private void Forget(in FuseRequest request, FuseReply reply)
    {
        if (request.Has(FuseForgetIn.Size))
        {
            _nodes.Forget(request.NodeId, FuseForgetIn.Read(request.Body).NLookup);
        }
        reply.NoReply();
    }

    private void BatchForget(in FuseRequest request, FuseReply reply)
    {
        if (request.Has(FuseBatchForgetIn.Size))
        {
            uint count = FuseBatchForgetIn.Read(request.Body).Count;
            ReadOnlySpan<byte> records = request.Body[FuseBatchForgetIn.Size..];
            int n = (int)Math.Min(count, (uint)(records.Length / FuseBatchForgetIn.OneSize));
            for (int i = 0; i < n; i++)
            {
                (ulong nodeId, ulong nlookup) = FuseBatchForgetIn.ReadOne(records, i);
                _nodes.Forget(nodeId, nlookup);
            }
        }
        reply.NoReply();
    }

    private void GetAttr(Vnode vp, FuseReply reply) => ReplyAttr(vp, reply);

    private void SetAttr(in FuseRequest request, Vnode vp, FuseReply reply)
    {
        if (!request.Has(FuseSetAttrIn.Size))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseSetAttrIn a = FuseSetAttrIn.Read(request.Body);
        if (IsWriteTimesRecord(a))
        {
            Errno w = Vop.SetWriteTimes(vp, new Timespec(a.MtimeSec, (int)a.MtimeNsec),
                (a.Valid & FuseSetAttrIn.Ctime) != 0 ? new Timespec(a.CtimeSec, (int)a.CtimeNsec) : null);
            if (w != Errno.OK)
            {
                reply.Error(w);
                return;
            }
            ReplyAttr(vp, reply);
            return;
        }
        var va = VAttr.ForSet(VAttrMask.None);
        if ((a.Valid & FuseSetAttrIn.Mode) != 0)
        {
            va.Mask |= VAttrMask.Mode;
            va.Mode = a.NewMode & 0xFFF;
        }
        if ((a.Valid & FuseSetAttrIn.Uid) != 0)
        {
            va.Mask |= VAttrMask.Uid;
            va.Uid = a.NewUid;
        }
        if ((a.Valid & FuseSetAttrIn.Gid) != 0)
        {
            va.Mask |= VAttrMask.Gid;
            va.Gid = a.NewGid;
        }
        if ((a.Valid & FuseSetAttrIn.SizeBit) != 0)
        {
            if (a.NewSize > long.MaxValue)
            {
                reply.Error(Errno.EFBIG);
                return;
            }
            va.Mask |= VAttrMask.Size;
            va.Size = (long)a.NewSize;
        }
        SetTimes(a, ref va);
        if ((a.Valid & FuseSetAttrIn.Ctime) != 0)
        {
            va.Mask |= VAttrMask.Ctime;
            va.Ctime = new Timespec(a.CtimeSec, (int)a.CtimeNsec);
        }

        // ftruncate(2) through a handle opened for writing needs no write permission now.
        bool viaWritableHandle = (a.Valid & FuseSetAttrIn.Fh) != 0
            && _handles.Get(a.FileHandle, out OpenFile? file) == Errno.OK && file!.Writable;
        Errno e = Vop.SetAttr(vp, va, Caller(request), viaWritableHandle);
        if (e == Errno.OK && (a.Valid & FuseSetAttrIn.KillSuidGid) != 0 && (a.Valid & FuseSetAttrIn.Mode) == 0)
        {
            e = KillSuidGid(vp);
        }
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        ReplyAttr(vp, reply);
    }

    /// <summary>
    /// atime/mtime. Both UTIME_NOW is the case where write access suffices (TimesAreNow),
    /// as utimensat(2) has it; when only one is "now" (the other omitted or given), the time
    /// is taken here and the owner rule applies.
    /// </summary>
    private void SetTimes(in FuseSetAttrIn a, ref VAttr va)
    {
        bool atime = (a.Valid & (FuseSetAttrIn.Atime | FuseSetAttrIn.AtimeNow)) != 0;
        bool mtime = (a.Valid & (FuseSetAttrIn.Mtime | FuseSetAttrIn.MtimeNow)) != 0;
        bool atimeNow = (a.Valid & FuseSetAttrIn.AtimeNow) != 0;
        bool mtimeNow = (a.Valid & FuseSetAttrIn.MtimeNow) != 0;
        Timespec now = _mount.Clock.Now;
        if (atime)
        {
            va.Mask |= VAttrMask.Atime;
            va.Atime = atimeNow ? now : new Timespec(a.AtimeSec, (int)a.AtimeNsec);
        }
        if (mtime)
        {
            va.Mask |= VAttrMask.Mtime;
            va.Mtime = mtimeNow ? now : new Timespec(a.MtimeSec, (int)a.MtimeNsec);
        }
        if (atimeNow && mtimeNow)
        {
            va.Mask |= VAttrMask.TimesAreNow;
        }
    }

    private static void ReadLink(Vnode vp, FuseReply reply)
    {
        Errno e = Vop.Readlink(vp, out string target);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        int n = NameEncoding.GetBytes(target, reply.Payload);
        reply.Send(n);
    }

    private void Access(in FuseRequest request, Vnode vp, FuseReply reply)
    {
        if (!request.Has(FuseAccessIn.Size))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        // R_OK, W_OK, X_OK have the values of AccessMode.
        var mode = (AccessMode)(FuseAccessIn.Read(request.Body).Mask & 7);
        reply.Error(Vop.CheckAccess(vp, mode, Caller(request)));
    }
}
