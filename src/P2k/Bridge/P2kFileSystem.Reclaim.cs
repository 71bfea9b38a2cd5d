using RumpFs.Kernel;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>
/// Storage of a removed file is free when the unlink returns, as on a kernel file system.
/// The kernel forgets an unlinked node only after the UNLINK is answered (it evicts its
/// inode at the end of the system call), and the FORGET then races with whatever the caller
/// does next: on a full volume, a mkdir right after removing the file that filled it failed
/// with ENOSPC about one time in five, the space coming back 1-10 ms later (FAT, ext2, ext4
/// and FFS alike). The node table's vnode reference was the one keeping the file: so when
/// UNLINK (or a RENAME over a file) leaves a file with no link and no open handle, the node
/// lets go of its vnode before the reply (<see cref="NodeTable.Detach"/>), and the driver's
/// inactive frees the storage there. A RELEASE already read from /dev/fuse (a close just
/// before the unlink: RELEASE is sent asynchronously) is waited for, since its handle holds
/// the file too. A file still open is freed at its last RELEASE instead, the same way. A
/// removed directory keeps its node until FORGET: the kernel may still ask about it as a
/// process's working directory.
/// </summary>
internal sealed partial class P2kFileSystem
{
    /// <summary>Longest wait for RELEASEs being served; they do not block, so this is only a bound.</summary>
    private static readonly TimeSpan ReleaseWait = TimeSpan.FromSeconds(2);

    /// <summary>Longest wait for other workers to pass on a request they have read: a few instructions' worth.</summary>
    private static readonly TimeSpan IntakeWait = TimeSpan.FromMilliseconds(100);

    /// <summary>A RELEASE read from /dev/fuse counts as being served from now on (<see cref="HandleTable.BeginRelease"/>).</summary>
    public void Received(in FuseRequest request)
    {
        if ((request.Opcode is FuseOpcode.Release or FuseOpcode.ReleaseDir) && request.Has(FuseReleaseIn.Size))
        {
            _handles.BeginRelease(FuseReleaseIn.Read(request.Body).Fh);
        }
    }

    /// <summary>
    /// Before a removal: the file <paramref name="name"/> names in <paramref name="dvp"/>
    /// (referenced, for <see cref="ReclaimIfGone"/> to release), which the operation may
    /// leave without a link; null for a directory or when nothing is found.
    /// </summary>
    private static Vnode? FileNamed(Vnode dvp, string name, Credentials cred)
    {
        if (Vop.Lookup(dvp, name, cred, out Vnode? vp) != Errno.OK)
        {
            return null;
        }
        if (vp!.Type != VType.Directory)
        {
            return vp;
        }
        vp.Release();
        return null;
    }

    /// <summary>
    /// After a successful removal (or rename over) of <paramref name="vp"/>: once the
    /// RELEASEs of it being served are done, a file with no link and no open handle lets go
    /// of its node's vnode. Then drops the caller's reference, which may be the last: the
    /// driver frees the storage before the reply.
    /// </summary>
    private void ReclaimIfGone(Vnode? vp, FuseReply reply)
    {
        if (vp is null)
        {
            return;
        }
        ulong id = 0;
        try
        {
            // A RELEASE queued before this request may still be in a worker's hands, read
            // but not yet received (Received marks it); let it be marked first.
            if (_handles.HasOpen(vp))
            {
                reply.WaitForEarlierRequests(IntakeWait);
            }
            if (_handles.WaitUntilClosed(vp, ReleaseWait) && IsUnlinked(vp))
            {
                id = _nodes.Detach(vp);
            }
        }
        finally
        {
            vp.Release();
        }
        // A request on the node answered just before (a stat, say) releases its reference
        // after its reply; the last release, and the inactive with it, may be that one.
        if (id != 0)
        {
            _nodes.WaitIdle(id, ReleaseWait);
        }
    }

    /// <summary>At the end of a RELEASE: the last handle of an unlinked file takes its node's vnode reference with it.</summary>
    private void ReclaimAtLastClose(OpenFile f)
    {
        if (f.Vnode.Type != VType.Directory && _handles.IsLast(f) && IsUnlinked(f.Vnode))
        {
            _ = _nodes.Detach(f.Vnode);
        }
    }

    private static bool IsUnlinked(Vnode vp) => Vop.GetAttr(vp, out VAttr va) == Errno.OK && va.Nlink == 0;
}
