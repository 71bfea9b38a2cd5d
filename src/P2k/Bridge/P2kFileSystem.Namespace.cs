using RumpFs.Kernel;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>Operations that add, remove and move directory entries.</summary>
internal sealed partial class P2kFileSystem
{
    // renameat2(2) flags.
    private const uint RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2;
    private const int O_EXCL = 0x80, O_TRUNC = 0x200;

    /// <summary>Reply with the new node <paramref name="name"/> of a create-like call, then drop the caller's reference.</summary>
    private void ReplyCreated(Errno e, Vnode dvp, string name, Vnode? vp, FuseReply reply)
    {
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

    private void Symlink(in FuseRequest request, Vnode dvp, FuseReply reply)
    {
        if (!request.TryReadName(0, out string name, out int next) || !request.TryReadName(next, out string target, out _))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        Errno e = Vop.Symlink(dvp, name, target, Caller(request), out Vnode? vp);
        ReplyCreated(e, dvp, name, vp, reply);
    }

    private void Mknod(in FuseRequest request, Vnode dvp, FuseReply reply)
    {
        if (!request.Has(FuseMknodIn.Size) || !request.TryReadName(FuseMknodIn.Size, out string name, out _))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseMknodIn a = FuseMknodIn.Read(request.Body);
        VType type = VTypeExtensions.FromModeBits(a.Mode);
        Errno e = Vop.Mknod(dvp, name, type, a.Mode & 0xFFF, a.Rdev, Caller(request), out Vnode? vp, UmaskToApply(a.Umask));
        ReplyCreated(e, dvp, name, vp, reply);
    }

    private void Mkdir(in FuseRequest request, Vnode dvp, FuseReply reply)
    {
        if (!request.Has(FuseMkdirIn.Size) || !request.TryReadName(FuseMkdirIn.Size, out string name, out _))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        // The kernel has applied the umask unless FUSE_DONT_MASK was granted (UmaskToApply).
        FuseMkdirIn a = FuseMkdirIn.Read(request.Body);
        Errno e = Vop.Mkdir(dvp, name, a.Mode & 0xFFF, Caller(request), out Vnode? vp, UmaskToApply(a.Umask));
        ReplyCreated(e, dvp, name, vp, reply);
    }

    private void Remove(in FuseRequest request, Vnode dvp, FuseReply reply, bool directory)
    {
        if (!request.TryReadName(0, out string name, out _))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        Credentials cred = Caller(request);
        // Removed under another spelling: the stored one may be cached (P2kFileSystem.Spellings.cs).
        string? stored = OtherStoredSpelling(dvp, name);
        // The file, so that its storage is free when the reply goes (P2kFileSystem.Reclaim.cs).
        Vnode? file = directory ? null : FileNamed(dvp, name, cred);
        Errno e = directory ? Vop.Rmdir(dvp, name, cred) : Vop.Remove(dvp, name, cred);
        if (e == Errno.OK)
        {
            ReclaimIfGone(file, reply);
        }
        else
        {
            file?.Release();
        }
        List<(ulong, string)> later = e == Errno.OK && stored is not null
            ? DropStaleNames([(request.NodeId, stored)]) : [];
        reply.Error(e);
        DropStaleNamesLater(later);
    }

    private void Rename(in FuseRequest request, Vnode fdvp, FuseReply reply, bool rename2)
    {
        int size = rename2 ? FuseRenameIn.Size2 : FuseRenameIn.Size;
        if (!request.Has(size) || !request.TryReadName(size, out string from, out int next)
            || !request.TryReadName(next, out string to, out _))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseRenameIn a = FuseRenameIn.Read(request.Body, rename2);
        if ((a.Flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0)
        {
            // RENAME_WHITEOUT and anything newer.
            reply.Error(Errno.EINVAL);
            return;
        }
        RenameFlags flags = ((a.Flags & RENAME_NOREPLACE) != 0 ? RenameFlags.NoReplace : RenameFlags.None)
            | ((a.Flags & RENAME_EXCHANGE) != 0 ? RenameFlags.Exchange : RenameFlags.None);
        Errno e = _nodes.Get(a.NewDir, out Vnode? tdvp);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        try
        {
            // Spellings other than the stored ones, before and after (P2kFileSystem.Spellings.cs).
            string? fromStored = OtherStoredSpelling(fdvp, from);
            string? toStored = OtherStoredSpelling(tdvp!, to);
            // A file replaced by the rename is freed before the reply (P2kFileSystem.Reclaim.cs).
            Vnode? replaced = (flags & RenameFlags.Exchange) == 0 ? FileNamed(tdvp!, to, Caller(request)) : null;
            e = Vop.Rename(fdvp, from, tdvp!, to, Caller(request), flags);
            if (e == Errno.OK)
            {
                ReclaimIfGone(replaced, reply);
            }
            else
            {
                replaced?.Release();
            }
            List<(ulong, string)> later = [];
            if (e == Errno.OK && _mount.NamesIgnoreCase)
            {
                List<(ulong, string)> stale = [];
                if (fromStored is not null)
                {
                    stale.Add((request.NodeId, fromStored));
                }
                if (toStored is not null)
                {
                    stale.Add((a.NewDir, toStored));
                }
                // The kernel moves its dentry to the name it gave; if the entry is stored
                // under another spelling, that dentry must not keep its lifetime.
                if (OtherStoredSpelling(tdvp!, to) is not null)
                {
                    stale.Add((a.NewDir, to));
                }
                if ((flags & RenameFlags.Exchange) != 0 && OtherStoredSpelling(fdvp, from) is not null)
                {
                    stale.Add((request.NodeId, from));
                }
                later = DropStaleNames(stale);
            }
            reply.Error(e);
            DropStaleNamesLater(later);
        }
        finally
        {
            tdvp!.Release();
            _nodes.Put(a.NewDir);
        }
    }

    private void Link(in FuseRequest request, Vnode dvp, FuseReply reply)
    {
        if (!request.Has(FuseLinkIn.Size) || !request.TryReadName(FuseLinkIn.Size, out string name, out _))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        ulong oldNode = FuseLinkIn.Read(request.Body).OldNodeId;
        Errno e = _nodes.Get(oldNode, out Vnode? vp);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        try
        {
            e = Vop.Link(vp!, dvp, name, Caller(request));
            if (e != Errno.OK)
            {
                reply.Error(e);
                return;
            }
            ReplyEntry(vp!, reply, EntryValid(dvp, name));
        }
        finally
        {
            vp!.Release();
            _nodes.Put(oldNode);
        }
    }

    /// <summary>CREATE: create (or, without O_EXCL, open an existing file) and open in one step.</summary>
    private void Create(in FuseRequest request, Vnode dvp, FuseReply reply)
    {
        if (!request.Has(FuseOpenIn.CreateSize) || !request.TryReadName(FuseOpenIn.CreateSize, out string name, out _))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseOpenIn a = FuseOpenIn.ReadCreate(request.Body);
        int flags = (int)a.Flags;
        Credentials cred = Caller(request);
        Errno e = Vop.Create(dvp, name, a.Mode & 0xFFF, cred, out Vnode? vp, UmaskToApply(a.Umask));
        if (e == Errno.OK)
        {
            // A file just created may be opened for writing whatever its mode says (open(2)
            // with O_CREAT): skip the permission check, still give the driver its open call.
            e = Vop.Open(vp!, flags & ~O_TRUNC, Credentials.Root);
        }
        else if (e == Errno.EEXIST && (flags & O_EXCL) == 0)
        {
            e = Vop.Lookup(dvp, name, cred, out vp);
            if (e == Errno.OK)
            {
                e = vp!.Type == VType.Directory ? Errno.EISDIR : Vop.Open(vp, flags, cred);
                if (e == Errno.OK && (a.OpenFlags & FuseOpenIn.KillSuidGid) != 0)
                {
                    e = KillSuidGid(vp);
                }
            }
        }
        if (e != Errno.OK)
        {
            vp?.Release();
            reply.Error(e);
            return;
        }
        try
        {
            e = Vop.GetAttr(vp!, out VAttr va);
            if (e != Errno.OK)
            {
                Vop.Close(vp!, flags);
                reply.Error(e);
                return;
            }
            ulong fh = _handles.Add(vp!, flags, cred);
            (ulong id, ulong gen) = _nodes.Remember(vp!);
            FuseEntryOut.Write(reply.Payload, id, gen, EntryValid(dvp, name), _attrValid, AttrConvert.ToFuse(va));
            FuseOpenOut.Write(reply.Payload[FuseEntryOut.Size..], fh, FuseOpenOut.KeepCache);
            reply.Send(FuseEntryOut.Size + FuseOpenOut.Size);
        }
        finally
        {
            vp!.Release();
        }
    }
}
