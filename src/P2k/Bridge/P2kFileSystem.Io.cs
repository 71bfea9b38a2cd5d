using RumpFs.Kernel;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>Open files: open, read, write, sync, release, preallocation, SEEK_DATA/SEEK_HOLE.</summary>
internal sealed partial class P2kFileSystem
{
    private const uint SEEK_DATA = 3, SEEK_HOLE = 4;

    private void Open(in FuseRequest request, Vnode vp, FuseReply reply, bool directory)
    {
        if (!request.Has(FuseOpenIn.Size))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseOpenIn a = FuseOpenIn.Read(request.Body);
        int flags = (int)a.Flags;
        if (directory && vp.Type != VType.Directory)
        {
            reply.Error(Errno.ENOTDIR);
            return;
        }
        bool appendOnlyWrite = !directory && IsAppendOnlyWriteUnderWriteback(vp, flags);
        Credentials caller = Caller(request);
        Errno e = Vop.Open(vp, appendOnlyWrite ? flags | O_APPEND : flags, caller);
        if (e == Errno.OK && !directory && (a.OpenFlags & FuseOpenIn.KillSuidGid) != 0)
        {
            e = KillSuidGid(vp);
        }
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        ulong fh = _handles.Add(vp, flags, caller);
        // Every change passes through this kernel mount, so cached pages stay valid across opens.
        FuseOpenOut.Write(reply.Payload, fh, directory ? 0 : appendOnlyWrite ? FuseOpenOut.DirectIo : FuseOpenOut.KeepCache);
        reply.Send(FuseOpenOut.Size);
    }

    private void Release(in FuseRequest request, FuseReply reply)
    {
        if (!request.Has(FuseReleaseIn.Size))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        OpenFile? f = _handles.Remove(FuseReleaseIn.Read(request.Body).Fh);
        if (f is null)
        {
            reply.Error(Errno.EBADF);
            return;
        }
        Errno e = Vop.Close(f.Vnode, f.Flags);
        ReclaimAtLastClose(f);
        f.Vnode.Release();
        // After the vnode reference: an UNLINK waiting for this RELEASE then finds the file freed.
        _handles.Released(f);
        reply.Error(e);
    }

    private void Read(in FuseRequest request, FuseReply reply)
    {
        if (!request.Has(FuseIoIn.RecordSize))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseIoIn a = FuseIoIn.Read(request.Body);
        Errno e = _handles.Get(a.Fh, out OpenFile? f);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        if (a.Offset > long.MaxValue)
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        int size = (int)Math.Min(a.Size, (uint)reply.Payload.Length);
        e = Vop.Read(f!.Vnode, (long)a.Offset, reply.Payload[..size], out int n);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        reply.Send(n);
    }

    private void Write(in FuseRequest request, FuseReply reply)
    {
        if (!request.Has(FuseIoIn.RecordSize))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseIoIn a = FuseIoIn.Read(request.Body);
        ReadOnlySpan<byte> data = request.Body[FuseIoIn.RecordSize..];
        if (data.Length < a.Size || a.Offset > long.MaxValue)
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        Errno e = _handles.Get(a.Fh, out OpenFile? f);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        bool writeBack = (a.IoFlags & FuseIoIn.WriteCache) != 0;
        e = writeBack
            ? WriteBack(f!, (long)a.Offset, data[..(int)a.Size], out int written)
            : Vop.Write(f!.Vnode, (long)a.Offset, data[..(int)a.Size], Caller(request), out written);
        // A write(2) is told how much went (a short count); a write-back is not: the kernel
        // takes any success as the whole range written, so a part stored is still a failure.
        if (e != Errno.OK && (written == 0 || writeBack))
        {
            reply.Error(e);
            if (writeBack)
            {
                WriteBackFailed(request.NodeId, (long)a.Offset, e);
            }
            return;
        }
        if ((a.IoFlags & FuseIoIn.WriteKillSuidGid) != 0)
        {
            e = KillSuidGid(f!.Vnode);
            if (e != Errno.OK)
            {
                KernelLog.Warning("p2k", $"dropping setuid/setgid after a write failed: {e.Describe()}");
            }
        }
        FuseSizeOut.Write(reply.Payload, (uint)written);
        reply.Send(FuseSizeOut.Size);
    }

    private static void Fsync(in FuseRequest request, Vnode vp, FuseReply reply)
    {
        if (!request.Has(FuseFsyncIn.Size))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        bool dataOnly = (FuseFsyncIn.Read(request.Body).FsyncFlags & FuseFsyncIn.DataSync) != 0;
        reply.Error(Vop.Fsync(vp, dataOnly));
    }

    private void Fallocate(in FuseRequest request, FuseReply reply)
    {
        if (!request.Has(FuseFallocateIn.Size))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseFallocateIn a = FuseFallocateIn.Read(request.Body);
        // FALLOC_FL_* in linux/falloc.h; COLLAPSE_RANGE, INSERT_RANGE and UNSHARE_RANGE are
        // not offered by the VFS, and Linux takes PUNCH_HOLE only with KEEP_SIZE.
        const uint KeepSize = 0x01, PunchHole = 0x02, ZeroRange = 0x10;
        bool keepSize = (a.Mode & KeepSize) != 0;
        uint kind = a.Mode & ~KeepSize;
        if (kind is not (0 or PunchHole or ZeroRange) || (kind == PunchHole && !keepSize))
        {
            reply.Error(Errno.EOPNOTSUPP);
            return;
        }
        Errno e = _handles.Get(a.Fh, out OpenFile? f);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        if (a.Offset > long.MaxValue || a.Length > long.MaxValue)
        {
            reply.Error(Errno.EFBIG);
            return;
        }
        Vnode vp = f!.Vnode;
        (long offset, long length) = ((long)a.Offset, (long)a.Length);
        reply.Error(kind switch
        {
            PunchHole => Vop.PunchHole(vp, offset, length, Caller(request)),
            ZeroRange => Vop.ZeroRange(vp, offset, length, keepSize, Caller(request)),
            _ when keepSize => Vop.Preallocate(vp, offset, length, Caller(request)),
            _ => Vop.Allocate(vp, offset, length, Caller(request)),
        });
    }

    private void Lseek(in FuseRequest request, FuseReply reply)
    {
        if (!request.Has(FuseLseekIn.Size))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseLseekIn a = FuseLseekIn.Read(request.Body);
        if (a.Whence is not (SEEK_DATA or SEEK_HOLE) || a.Offset > long.MaxValue)
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        Errno e = _handles.Get(a.Fh, out OpenFile? f);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        SeekWhence whence = a.Whence == SEEK_DATA ? SeekWhence.Data : SeekWhence.Hole;
        e = Vop.Seek(f!.Vnode, (long)a.Offset, whence, out long result);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        FuseLseekOut.Write(reply.Payload, result);
        reply.Send(FuseLseekOut.Size);
    }
}
