using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>Times that a write gave a file, recorded after the write by a front end that caches writes.</summary>
public static partial class Vop
{
    /// <summary>
    /// Record the modification (and change) time that writes gave <paramref name="vp"/>. A
    /// front end that caches written pages keeps these times itself and hands them over at
    /// write-back (FUSE's writeback cache does, in a SETATTR naming the writer's open file).
    /// No ownership rule applies, the writes themselves having been checked; an append-only
    /// file takes them as a write would give them, an immutable one none (EPERM).
    /// </summary>
    /// <param name="vp">The file (referenced, unlocked; locked here).</param>
    /// <param name="mtime">The modification time the writes set.</param>
    /// <param name="ctime">The change time they set; null to let the driver's clock stand.</param>
    public static Errno SetWriteTimes(Vnode vp, Timespec mtime, Timespec? ctime)
    {
        if (vp.Mount.IsReadOnly)
        {
            return Errno.EROFS;
        }
        using (VnodeLocks.Take(vp))
        {
            Errno e = vp.GetAttr(out VAttr current);
            if (e != Errno.OK)
            {
                return e;
            }
            if ((current.Protection & NodeProtection.Immutable) != 0)
            {
                return Errno.EPERM;
            }
            VAttr times = VAttr.ForSet(VAttrMask.Mtime);
            times.Mtime = mtime;
            if (ctime is Timespec c)
            {
                times.Mask |= VAttrMask.Ctime;
                times.Ctime = c;
            }
            using (CallerCredentials.Enter(Credentials.Root))
            {
                return SyncIfFlagged(vp, FileFlags.Sync, vp.SetAttr(times, Credentials.Root));
            }
        }
    }
}
