using RumpFs.Kernel;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>
/// The writeback cache (-o writeback_cache, FUSE_WRITEBACK_CACHE): the kernel keeps written
/// pages, the size and mtime, and sends WRITEs later, whole pages at a time, marked
/// FUSE_WRITE_CACHE and carrying the flusher's ids rather than the writer's. Two things
/// change for the bridge: such a write is done with the credentials of the handle's opener
/// (so the root reserve and quotas still apply to users), and append-only files, whose
/// O_APPEND the kernel keeps to itself, are written uncached.
/// </summary>
internal sealed partial class P2kFileSystem
{
    private const int O_ACCMODE = 3, O_APPEND = 0x400;

    /// <summary>FUSE_WRITEBACK_CACHE granted by the kernel at INIT.</summary>
    private volatile bool _writeback;

    /// <summary>The session's notifier, given at INIT.</summary>
    private volatile FuseNotifier? _notifier;

    /// <summary>
    /// Whether this OPEN is for writing an append-only file while the writeback cache is on.
    /// The kernel then strips O_APPEND from OPEN (it places appends itself), so the VFS is
    /// told O_APPEND (O_TRUNC is still refused), and the file is opened with
    /// FOPEN_DIRECT_IO: its writes bypass the cache and come at once, uncached, with their
    /// real offsets, so a write below the end fails in write(2) with EPERM as on a kernel file
    /// system. <see cref="WriteBack"/> guards handles opened before the flag was set.
    /// </summary>
    private bool IsAppendOnlyWriteUnderWriteback(Vnode vp, int flags) =>
        _writeback && (flags & O_ACCMODE) != 0 && (flags & O_APPEND) == 0
        && vp.GetAttr(out VAttr va) == Errno.OK && (va.Protection & NodeProtection.AppendOnly) != 0;

    /// <summary>
    /// Whether a SETATTR is the kernel handing over the times its cached writes set
    /// (fuse_flush_times and write_inode under the writeback cache): mtime, with ctime, through
    /// an open file, and nothing else. No system call makes that shape (utimensat names no
    /// file handle, ftruncate sets the size), so it is recorded as the writes' own times, not
    /// checked as a utimes by the caller, who need not own the file.
    /// </summary>
    private bool IsWriteTimesRecord(in FuseSetAttrIn a)
    {
        const uint Allowed = FuseSetAttrIn.Mtime | FuseSetAttrIn.Ctime | FuseSetAttrIn.Fh | FuseSetAttrIn.LockOwner;
        return _writeback && (a.Valid & FuseSetAttrIn.Mtime) != 0 && (a.Valid & FuseSetAttrIn.Fh) != 0
            && (a.Valid & ~Allowed) == 0;
    }

    /// <summary>
    /// A write-back of cached pages, done as the handle's opener, and done whole: the kernel
    /// takes any success as the whole range written and never sends the rest again, so a
    /// short write is continued until it is complete or fails (ENOSPC, say), and the
    /// write-back is then that failure. On an append-only file (cached only by a handle
    /// opened before the flag was set) the part below the current size must be what the
    /// file holds already (a page written back around an append starts before the old end);
    /// only the rest is written, and a change to existing bytes is EPERM, which the kernel
    /// reports to the writer at fsync or close (as EIO).
    /// </summary>
    private static Errno WriteBack(OpenFile f, long offset, ReadOnlySpan<byte> data, out int written)
    {
        written = 0;
        Errno e = f.Vnode.GetAttr(out VAttr va);
        if (e != Errno.OK)
        {
            return e;
        }
        if ((va.Protection & NodeProtection.AppendOnly) == 0 || offset >= va.Size)
        {
            return WriteWhole(f, offset, data, out written);
        }
        int existing = (int)Math.Min(data.Length, va.Size - offset);
        byte[] stored = new byte[existing];
        e = Vop.Read(f.Vnode, offset, stored, out int n);
        if (e != Errno.OK)
        {
            return e;
        }
        if (n != existing || !data[..existing].SequenceEqual(stored))
        {
            KernelLog.Debug("p2k", $"write-back changing bytes of append-only inode {va.Ino} refused");
            return Errno.EPERM;
        }
        if (existing == data.Length)
        {
            written = data.Length;
            return Errno.OK;
        }
        e = WriteWhole(f, va.Size, data[existing..], out int appended);
        written = appended == 0 ? 0 : existing + appended;
        return e;
    }

    /// <summary>Write all of <paramref name="data"/> as the opener, or fail; see <see cref="WriteBack"/>.</summary>
    private static Errno WriteWhole(OpenFile f, long offset, ReadOnlySpan<byte> data, out int written)
    {
        written = 0;
        while (written < data.Length)
        {
            Errno e = Vop.Write(f.Vnode, offset + written, data[written..], f.Opener, out int n);
            written += n;
            if (e != Errno.OK)
            {
                return e;
            }
            if (n == 0)
            {
                // Neither progress nor an error: the driver broke the write contract.
                return Errno.EIO;
            }
        }
        return Errno.OK;
    }

    /// <summary>
    /// After a write-back failed (and its WRITE has been answered): the kernel still holds
    /// the pages it could not write, which the image does not have, and would show them
    /// until the node left its cache. It is told to drop its cached attributes and pages of
    /// the node (FUSE_NOTIFY_INVAL_INODE), so reads come back to the image. (The size stays
    /// the kernel's: under the writeback cache it takes none from GETATTR.) Queued, not
    /// written here: the kernel handles the notification by waiting for the node's
    /// write-backs in flight, which a worker thread must be free to answer.
    /// </summary>
    private void WriteBackFailed(ulong nodeId, long offset, Errno e)
    {
        KernelLog.Debug("p2k", $"write-back of node {nodeId} at {offset} failed ({e.Describe()}); dropping the kernel's cache of it");
        _notifier?.InvalidateInode(nodeId);
    }
}
