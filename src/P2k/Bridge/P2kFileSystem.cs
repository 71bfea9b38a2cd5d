using RumpFs.Kernel;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>Cache lifetimes the kernel is given for names and attributes.</summary>
/// <param name="EntryTimeout">Seconds the kernel caches names.</param>
/// <param name="AttrTimeout">Seconds the kernel caches attributes.</param>
/// <param name="WritebackCache">Ask for FUSE_WRITEBACK_CACHE (-o writeback_cache): the kernel keeps written pages, size and mtime and writes back later.</param>
internal sealed record BridgeOptions(double EntryTimeout = 1.0, double AttrTimeout = 1.0, bool WritebackCache = false);

/// <summary>
/// The request-to-vnode mapping (libp2k's role for puffs): each FUSE request becomes calls
/// of <see cref="Vop"/> on the vnodes the node and handle tables name, with the caller's
/// credentials. Split by concern over several files.
/// </summary>
internal sealed partial class P2kFileSystem : IFuseHandler
{
    private readonly Mount _mount;
    private readonly NodeTable _nodes;
    private readonly HandleTable _handles = new();
    private readonly CallerGroups _groups = new();
    private readonly FuseTimeout _entryValid;
    private readonly FuseTimeout _attrValid;
    private readonly Lock _releaseLock = new();
    private bool _released;

    private P2kFileSystem(Mount mount, Vnode root, BridgeOptions options)
    {
        _mount = mount;
        _writebackWanted = options.WritebackCache && !mount.IsReadOnly;
        _nodes = new NodeTable(root);
        _entryValid = FuseTimeout.FromSeconds(options.EntryTimeout);
        _attrValid = FuseTimeout.FromSeconds(options.AttrTimeout);
    }

    public static Errno Create(Mount mount, BridgeOptions options, out P2kFileSystem? fs)
    {
        fs = null;
        Errno e = mount.Root(out Vnode? root);
        if (e != Errno.OK)
        {
            return e;
        }
        fs = new P2kFileSystem(mount, root!, options);
        return Errno.OK;
    }

    public Mount Mount => _mount;

    /// <summary>Nodes the kernel holds, the root included (for tests).</summary>
    public int NodeCount => _nodes.Count;

    public int OpenHandleCount => _handles.Count;

    /// <summary>
    /// With a file system that stores ACLs the kernel enforces them (FUSE_POSIX_ACL: it reads
    /// them through GETXATTR and checks them as default_permissions does) and leaves the
    /// umask to the bridge (FUSE_DONT_MASK), since a parent's default ACL replaces it.
    /// </summary>
    public ulong ExtraInitFlags =>
        (_mount.HasPosixAcls ? FuseInitFlags.PosixAcl | FuseInitFlags.DontMask : 0)
        | (_writebackWanted ? FuseInitFlags.WritebackCache : 0);

    /// <summary>Whether the kernel passes the umask unapplied (FUSE_DONT_MASK granted).</summary>
    private volatile bool _umaskIsOurs;

    /// <summary>-o writeback_cache on a read-write mount (a read-only one has nothing to write back).</summary>
    private readonly bool _writebackWanted;

    public void Initialized(FuseConnection connection, FuseNotifier notifier)
    {
        _notifier = notifier;
        _epochNotify = connection.KernelMinor >= FuseNotifyMinor.IncEpoch;
        _umaskIsOurs = (connection.Flags & FuseInitFlags.DontMask) != 0;
        _writeback = (connection.Flags & FuseInitFlags.WritebackCache) != 0;
        if (_writebackWanted && (connection.Flags & FuseInitFlags.WritebackCache) == 0)
        {
            KernelLog.Warning("p2k", "the kernel does not offer the writeback cache; writes go through at once");
        }
        KernelLog.Debug("p2k", $"FUSE {connection.Major}.{connection.Minor}, flags 0x{connection.Flags:x}");
    }

    /// <summary>The umask the VFS must apply for a create request: none when the kernel applied it.</summary>
    private uint UmaskToApply(uint umask) => _umaskIsOurs ? umask & 0x1FF : 0;

    public void Destroyed() => ReleaseAll();

    /// <summary>
    /// Close every handle and drop every node: the kernel holds nothing any more. Once only;
    /// a second caller waits until the first has finished. The connection's end (a worker
    /// thread, on DESTROY or when the device closes) and the daemon's shutdown both call it,
    /// and the shutdown counts the vnodes still referenced right after: returning while the
    /// other thread is still releasing made it see references about to go, and force the
    /// unmount.
    /// </summary>
    public void ReleaseAll()
    {
        lock (_releaseLock)
        {
            if (_released)
            {
                return;
            }
            _released = true;
            foreach (OpenFile f in _handles.RemoveAll())
            {
                Vop.Close(f.Vnode, f.Flags);
                f.Vnode.Release();
            }
            _nodes.ReleaseAll();
        }
    }

    public void Handle(in FuseRequest request, FuseReply reply)
    {
        switch (request.Opcode)
        {
            case FuseOpcode.Forget:
                Forget(request, reply);
                return;
            case FuseOpcode.BatchForget:
                BatchForget(request, reply);
                return;
            case FuseOpcode.StatFs:
                StatFs(reply);
                return;
            case FuseOpcode.SyncFs:
                reply.Error(Vop.Sync(_mount));
                return;
            case FuseOpcode.Release:
            case FuseOpcode.ReleaseDir:
                Release(request, reply);
                return;
            case FuseOpcode.Flush:
                // Data and metadata reach the drivers on WRITE and SETATTR already, so close has
                // nothing to push. ENOSYS tells the kernel so once (fc->no_flush): it stops
                // sending FLUSH, which saves a round trip per close (one in ~16 requests of an untar).
                reply.Error(Errno.ENOSYS);
                return;
        }

        // Everything else acts on the vnode of the request's node id.
        Errno e = _nodes.Get(request.NodeId, out Vnode? vp);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        try
        {
            Dispatch(request, vp!, reply);
        }
        finally
        {
            vp!.Release();
            _nodes.Put(request.NodeId);
        }
    }

    private void Dispatch(in FuseRequest request, Vnode vp, FuseReply reply)
    {
        switch (request.Opcode)
        {
            case FuseOpcode.Lookup: Lookup(request, vp, reply); break;
            case FuseOpcode.GetAttr: GetAttr(vp, reply); break;
            case FuseOpcode.SetAttr: SetAttr(request, vp, reply); break;
            case FuseOpcode.ReadLink: ReadLink(vp, reply); break;
            case FuseOpcode.Symlink: Symlink(request, vp, reply); break;
            case FuseOpcode.Mknod: Mknod(request, vp, reply); break;
            case FuseOpcode.Mkdir: Mkdir(request, vp, reply); break;
            case FuseOpcode.Unlink: Remove(request, vp, reply, directory: false); break;
            case FuseOpcode.Rmdir: Remove(request, vp, reply, directory: true); break;
            case FuseOpcode.Rename: Rename(request, vp, reply, rename2: false); break;
            case FuseOpcode.Rename2: Rename(request, vp, reply, rename2: true); break;
            case FuseOpcode.Link: Link(request, vp, reply); break;
            case FuseOpcode.Open: Open(request, vp, reply, directory: false); break;
            case FuseOpcode.OpenDir: Open(request, vp, reply, directory: true); break;
            case FuseOpcode.Create: Create(request, vp, reply); break;
            case FuseOpcode.Read: Read(request, reply); break;
            case FuseOpcode.Write: Write(request, reply); break;
            case FuseOpcode.Fsync:
            case FuseOpcode.FsyncDir: Fsync(request, vp, reply); break;
            case FuseOpcode.ReadDir: ReadDir(request, vp, reply, plus: false); break;
            case FuseOpcode.ReadDirPlus: ReadDir(request, vp, reply, plus: true); break;
            case FuseOpcode.Access: Access(request, vp, reply); break;
            case FuseOpcode.GetXattr: GetXattr(request, vp, reply); break;
            case FuseOpcode.ListXattr: ListXattr(request, vp, reply); break;
            case FuseOpcode.SetXattr: SetXattr(request, vp, reply); break;
            case FuseOpcode.RemoveXattr: RemoveXattr(request, vp, reply); break;
            case FuseOpcode.Fallocate: Fallocate(request, reply); break;
            case FuseOpcode.Lseek: Lseek(request, reply); break;
            case FuseOpcode.Ioctl: Ioctl(request, vp, reply); break;
            default: reply.Error(Errno.ENOSYS); break;
        }
    }

    private Credentials Caller(in FuseRequest request) =>
        new(request.Header.Uid, request.Header.Gid, _groups.For((int)request.Header.Pid, request.Header.Uid),
            (int)request.Header.Pid);

    private void StatFs(FuseReply reply)
    {
        Errno e = Vop.Statvfs(_mount, out StatVfs st);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        FuseStatfsOut.Write(reply.Payload, (ulong)st.Blocks, (ulong)st.BlocksFree, (ulong)st.BlocksAvailable,
            (ulong)st.Files, (ulong)st.FilesFree, (uint)st.BlockSize, (uint)(st.NameMax > 0 ? st.NameMax : Vop.NameMax),
            (uint)(st.FragmentSize > 0 ? st.FragmentSize : st.BlockSize));
        reply.Send(FuseStatfsOut.Size);
    }

    /// <summary>
    /// Answer with a fuse_entry_out for <paramref name="vp"/>, counting one lookup; the
    /// kernel caches the name for <paramref name="entryValid"/> (<see cref="EntryValid"/>).
    /// </summary>
    private void ReplyEntry(Vnode vp, FuseReply reply, FuseTimeout entryValid, int extra = 0)
    {
        Errno e = Vop.GetAttr(vp, out VAttr va);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        (ulong id, ulong gen) = _nodes.Remember(vp);
        FuseEntryOut.Write(reply.Payload, id, gen, entryValid, _attrValid, AttrConvert.ToFuse(va));
        reply.Send(FuseEntryOut.Size + extra);
    }

    private void ReplyAttr(Vnode vp, FuseReply reply)
    {
        Errno e = Vop.GetAttr(vp, out VAttr va);
        if (e != Errno.OK)
        {
            reply.Error(e);
            return;
        }
        FuseAttrOut.Write(reply.Payload, _attrValid, AttrConvert.ToFuse(va));
        reply.Send(FuseAttrOut.Size);
    }
}
