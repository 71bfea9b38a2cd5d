using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>
/// The entry points to vnode operations (the kernel's VOP_* wrappers plus the checks of
/// the system-call layer). Every front end (P2k, Ukfs, tests) calls these, never the
/// driver's methods: they validate names, refuse changes on read-only mounts with EROFS,
/// apply the POSIX permission rules for <see cref="Credentials"/>, and take vnode locks in
/// the order documented on <see cref="Vnode"/>. Vnodes passed in must be referenced and
/// unlocked; vnodes returned are referenced and unlocked.
/// </summary>
public static partial class Vop
{
    /// <summary>Longest name in bytes (NAME_MAX).</summary>
    public const int NameMax = 255;

    /// <summary>Longest path in bytes including the terminating NUL (PATH_MAX).</summary>
    public const int PathMax = 4096;

    private const uint S_ISUID = 0x800;
    private const uint S_ISGID = 0x400;

    /// <summary>A valid single name: ENOENT when empty, EINVAL with '/' or NUL, ENAMETOOLONG over 255 bytes.</summary>
    public static Errno CheckName(string name)
    {
        if (name.Length == 0)
        {
            return Errno.ENOENT;
        }
        if (name.Contains('/', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            return Errno.EINVAL;
        }
        if (name.Length > NameMax / 3 && NameEncoding.GetByteCount(name) > NameMax)
        {
            return Errno.ENAMETOOLONG;
        }
        return Errno.OK;
    }

    private static bool IsDot(string name) => name is "." or "..";

    public static Errno GetAttr(Vnode vp, out VAttr va)
    {
        using (VnodeLocks.Take(vp))
        {
            return vp.GetAttr(out va);
        }
    }

    /// <summary>Look <paramref name="name"/> up in <paramref name="dvp"/>; needs search (x) permission.</summary>
    public static Errno Lookup(Vnode dvp, string name, Credentials cred, out Vnode? vp)
    {
        vp = null;
        if (dvp.Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        Errno e = CheckName(name);
        if (e != Errno.OK)
        {
            return e;
        }
        using (VnodeLocks.Take(dvp))
        {
            e = dvp.GetAttr(out VAttr dva);
            if (e != Errno.OK)
            {
                return e;
            }
            e = CheckAccess(dvp, dva, AccessMode.Execute, cred);
            if (e != Errno.OK)
            {
                return e;
            }
            if (name == ".")
            {
                dvp.Ref();
                vp = dvp;
                return Errno.OK;
            }
            return dvp.Lookup(name, out vp);
        }
    }

    /// <summary>access(2): EROFS for write on a read-only mount, else the permission rules.</summary>
    public static Errno CheckAccess(Vnode vp, AccessMode mode, Credentials cred)
    {
        Errno e = GetAttr(vp, out VAttr va);
        if (e != Errno.OK)
        {
            return e;
        }
        if ((mode & AccessMode.Write) != 0 && vp.Mount.IsReadOnly && IsStoredType(va.Type))
        {
            return Errno.EROFS;
        }
        return CheckAccess(vp, va, mode, cred);
    }

    private static bool IsStoredType(VType t) => t is VType.Regular or VType.Directory or VType.Symlink;

    /// <summary>
    /// open(2) checks for flags <paramref name="openFlags"/> (O_ACCMODE, O_TRUNC, O_APPEND),
    /// then the driver's Open; O_TRUNC truncates to zero. An append-only file opens for
    /// writing only with O_APPEND and never with O_TRUNC (EPERM, as Linux's may_open).
    /// </summary>
    public static Errno Open(Vnode vp, int openFlags, Credentials cred)
    {
        const int O_ACCMODE = 3, O_WRONLY = 1, O_RDWR = 2, O_TRUNC = 0x200, O_APPEND = 0x400;
        int acc = openFlags & O_ACCMODE;
        bool write = acc is O_WRONLY or O_RDWR || (openFlags & O_TRUNC) != 0;
        AccessMode mode = acc switch
        {
            O_WRONLY => AccessMode.Write,
            O_RDWR => AccessMode.Read | AccessMode.Write,
            _ => AccessMode.Read,
        };
        if ((openFlags & O_TRUNC) != 0)
        {
            mode |= AccessMode.Write;
        }
        using (VnodeLocks.Take(vp))
        {
            Errno e = vp.GetAttr(out VAttr va);
            if (e != Errno.OK)
            {
                return e;
            }
            if (write && va.Type == VType.Directory)
            {
                return Errno.EISDIR;
            }
            if (write && vp.Mount.IsReadOnly && IsStoredType(va.Type))
            {
                return Errno.EROFS;
            }
            e = CheckAccess(vp, va, mode, cred);
            if (e != Errno.OK)
            {
                return e;
            }
            if (write && (va.Protection & NodeProtection.AppendOnly) != 0
                && ((openFlags & O_APPEND) == 0 || (openFlags & O_TRUNC) != 0))
            {
                return Errno.EPERM;
            }
            e = vp.Open(openFlags);
            if (e != Errno.OK)
            {
                return e;
            }
            if ((openFlags & O_TRUNC) != 0 && va.Type == VType.Regular && va.Size != 0)
            {
                VAttr trunc = VAttr.ForSet(VAttrMask.Size);
                trunc.Size = 0;
                using (CallerCredentials.Enter(cred))
                {
                    e = vp.SetAttr(trunc, cred);
                }
            }
            return e;
        }
    }

    public static Errno Close(Vnode vp, int openFlags)
    {
        using (VnodeLocks.Take(vp))
        {
            return vp.Close(openFlags);
        }
    }

    /// <summary>
    /// Change attributes. <paramref name="viaWritableHandle"/>: the size change comes through
    /// a file opened for writing (ftruncate), so no write permission check is needed.
    /// </summary>
    public static Errno SetAttr(Vnode vp, VAttr request, Credentials cred, bool viaWritableHandle = false)
    {
        if (request.Mask == VAttrMask.None)
        {
            return Errno.OK;
        }
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
            e = Access.CheckSetAttr(current, ref request, cred);
            if (e != Errno.OK)
            {
                return e;
            }
            if ((request.Mask & VAttrMask.Size) != 0 && !viaWritableHandle)
            {
                e = CheckAccess(vp, current, AccessMode.Write, cred);
                if (e != Errno.OK)
                {
                    return e;
                }
            }
            if ((request.Mask & VAttrMask.Size) != 0 && request.Size < 0)
            {
                return Errno.EINVAL;
            }
            if ((request.Mask & VAttrMask.TimesAreNow) != 0)
            {
                Timespec now = vp.Mount.Clock.Now;
                request.Atime = (request.Mask & VAttrMask.Atime) != 0 ? now : request.Atime;
                request.Mtime = (request.Mask & VAttrMask.Mtime) != 0 ? now : request.Mtime;
            }
            // chown of a regular file drops setuid, and setgid when group-executable (Linux).
            bool ownerChange = ((request.Mask & VAttrMask.Uid) != 0 && request.Uid != current.Uid)
                || ((request.Mask & VAttrMask.Gid) != 0 && request.Gid != current.Gid);
            if (ownerChange && current.Type == VType.Regular && (request.Mask & VAttrMask.Mode) == 0
                && (current.Mode & (S_ISUID | S_ISGID)) != 0)
            {
                request.Mask |= VAttrMask.Mode;
                request.Mode = current.Mode & ~S_ISUID;
                if ((current.Mode & 0x8) != 0)
                {
                    request.Mode &= ~S_ISGID;
                }
            }
            if ((request.Mask & (VAttrMask.Size | VAttrMask.Uid | VAttrMask.Gid)) != 0 && current.Type != VType.Directory)
            {
                e = DropCapability(vp);
                if (e != Errno.OK)
                {
                    return e;
                }
            }
            using (CallerCredentials.Enter(cred))
            {
                e = vp.SetAttr(request, cred);
                if (e == Errno.OK && (request.Mask & VAttrMask.Mode) != 0)
                {
                    e = ChmodAcl(vp, current.Type, request.Mode);
                }
                return SyncIfFlagged(vp, FileFlags.Sync, e);
            }
        }
    }

    /// <summary>Read at <paramref name="offset"/>; EISDIR for directories, EINVAL for other non-files.</summary>
    public static Errno Read(Vnode vp, long offset, Span<byte> buffer, out int bytesRead)
    {
        bytesRead = 0;
        if (vp.Type == VType.Directory)
        {
            return Errno.EISDIR;
        }
        if (vp.Type != VType.Regular || offset < 0)
        {
            return Errno.EINVAL;
        }
        if (buffer.IsEmpty)
        {
            return Errno.OK;
        }
        using (VnodeLocks.Take(vp))
        {
            return vp.Read(offset, buffer, out bytesRead);
        }
    }

    /// <summary>Write as root (internal writers, tools); see the overload with credentials.</summary>
    public static Errno Write(Vnode vp, long offset, ReadOnlySpan<byte> data, out int written) =>
        Write(vp, offset, data, Credentials.Root, out written);

    /// <summary>
    /// Write for <paramref name="cred"/>: the permission check was made at open, but the
    /// driver's allocator sees the writer (<see cref="CallerCredentials"/>) to keep a
    /// root-only reserve (FFS minfree, ext2 reserved blocks) from non-root writers.
    /// </summary>
    public static Errno Write(Vnode vp, long offset, ReadOnlySpan<byte> data, Credentials cred, out int written)
    {
        written = 0;
        if (vp.Type == VType.Directory)
        {
            return Errno.EISDIR;
        }
        if (vp.Type != VType.Regular || offset < 0)
        {
            return Errno.EINVAL;
        }
        if (vp.Mount.IsReadOnly)
        {
            return Errno.EROFS;
        }
        if (data.IsEmpty)
        {
            return Errno.OK;
        }
        using (VnodeLocks.Take(vp))
        using (CallerCredentials.Enter(cred))
        {
            Errno e = CheckWritable(vp, offset);
            if (e == Errno.OK)
            {
                e = DropCapability(vp);
            }
            if (e != Errno.OK)
            {
                return e;
            }
            e = vp.Write(offset, data, out written);
            if (e == Errno.OK && vp.Mount.Options.Synchronous)
            {
                e = vp.Fsync(false);
            }
            return SyncIfFlagged(vp, FileFlags.Sync, e);
        }
    }

    /// <summary>
    /// An immutable file takes no data, an append-only one only at its end. The check at
    /// open is not enough: a writer may hold the file open from before the flag was set, and
    /// a FUSE write names its offset itself.
    /// </summary>
    private static Errno CheckWritable(Vnode vp, long offset)
    {
        Errno e = vp.GetAttr(out VAttr va);
        if (e != Errno.OK)
        {
            return e;
        }
        bool refused = (va.Protection & NodeProtection.Immutable) != 0
            || ((va.Protection & NodeProtection.AppendOnly) != 0 && offset < va.Size);
        return refused ? Errno.EPERM : Errno.OK;
    }

    public static Errno Fsync(Vnode vp, bool dataOnly)
    {
        if (vp.Mount.IsReadOnly)
        {
            return Errno.OK;
        }
        using (VnodeLocks.Take(vp))
        {
            return vp.Fsync(dataOnly);
        }
    }

    /// <summary>Preallocate as root; see the overload with credentials.</summary>
    public static Errno Allocate(Vnode vp, long offset, long length) => Allocate(vp, offset, length, Credentials.Root);

    /// <summary>fallocate(2) mode 0 for <paramref name="cred"/>, who is subject to the root-only reserve.</summary>
    public static Errno Allocate(Vnode vp, long offset, long length, Credentials cred) =>
        Allocate(vp, offset, length, cred, keepSize: false);

    /// <summary>fallocate(2) with FALLOC_FL_KEEP_SIZE: storage reserved, the size left alone.</summary>
    public static Errno Preallocate(Vnode vp, long offset, long length, Credentials cred) =>
        Allocate(vp, offset, length, cred, keepSize: true);

    private static Errno Allocate(Vnode vp, long offset, long length, Credentials cred, bool keepSize) =>
        Fallocate(vp, offset, length, cred, removesData: false, () => keepSize ? vp.Preallocate(offset, length) : vp.Allocate(offset, length));

    /// <summary>fallocate(2) with FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE: see <see cref="Vnode.PunchHole"/>.</summary>
    public static Errno PunchHole(Vnode vp, long offset, long length, Credentials cred) =>
        Fallocate(vp, offset, length, cred, removesData: true, () => vp.PunchHole(offset, length));

    /// <summary>
    /// fallocate(2) with FALLOC_FL_ZERO_RANGE: the range reads as zeros and has storage, and
    /// the size covers it unless <paramref name="keepSize"/>. Built from a punched hole (no
    /// old data is rewritten) and an allocation (on ext4, unwritten extents); a format without
    /// holes gives EOPNOTSUPP, as Linux's vfat does.
    /// </summary>
    public static Errno ZeroRange(Vnode vp, long offset, long length, bool keepSize, Credentials cred) =>
        Fallocate(vp, offset, length, cred, removesData: true,
            () => keepSize ? ZeroRangeKeepingSize(vp, offset, length) : ZeroRangeGrowing(vp, offset, length));

    private static Errno ZeroRangeGrowing(Vnode vp, long offset, long length)
    {
        Errno e = vp.PunchHole(offset, length);
        return e != Errno.OK ? e : vp.Allocate(offset, length);
    }

    // Storage past the end first: a format that cannot hold it refuses before anything
    // changed. Inside the size, mode 0 allocation leaves the size alone.
    private static Errno ZeroRangeKeepingSize(Vnode vp, long offset, long length)
    {
        Errno e = vp.GetAttr(out VAttr va);
        if (e != Errno.OK)
        {
            return e;
        }
        long end = offset + length;
        if (end > va.Size)
        {
            long from = Math.Max(offset, va.Size);
            e = vp.Preallocate(from, end - from);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        long inside = Math.Min(end, va.Size) - offset;
        if (inside <= 0)
        {
            return Errno.OK;
        }
        e = vp.PunchHole(offset, inside);
        return e != Errno.OK ? e : vp.Allocate(offset, inside);
    }

    /// <summary>
    /// The fallocate family: arguments and file checked, then <paramref name="op"/> under the
    /// vnode lock as <paramref name="cred"/>. An immutable file refuses all of it, an
    /// append-only one whatever <paramref name="removesData"/> (vfs_fallocate).
    /// </summary>
    private static Errno Fallocate(Vnode vp, long offset, long length, Credentials cred, bool removesData, Func<Errno> op)
    {
        Errno e = CheckFallocate(vp, offset, length);
        if (e != Errno.OK)
        {
            return e;
        }
        using (VnodeLocks.Take(vp))
        using (CallerCredentials.Enter(cred))
        {
            e = vp.GetAttr(out VAttr va);
            if (e != Errno.OK)
            {
                return e;
            }
            if ((va.Protection & NodeProtection.Immutable) != 0
                || ((va.Protection & NodeProtection.AppendOnly) != 0 && removesData))
            {
                return Errno.EPERM;
            }
            return SyncIfFlagged(vp, FileFlags.Sync, op());
        }
    }

    private static Errno CheckFallocate(Vnode vp, long offset, long length)
    {
        if (offset < 0 || length <= 0)
        {
            return Errno.EINVAL;
        }
        if (offset > long.MaxValue - length)
        {
            return Errno.EFBIG;
        }
        if (vp.Type == VType.Directory)
        {
            return Errno.EISDIR;
        }
        if (vp.Type != VType.Regular)
        {
            return Errno.ENODEV;
        }
        return vp.Mount.IsReadOnly ? Errno.EROFS : Errno.OK;
    }

    public static Errno Seek(Vnode vp, long offset, SeekWhence whence, out long result)
    {
        result = 0;
        if (offset < 0)
        {
            return Errno.ENXIO;
        }
        using (VnodeLocks.Take(vp))
        {
            return vp.Seek(offset, whence, out result);
        }
    }

    public static Errno ReadDir(Vnode dvp, long cookie, IDirEntrySink sink)
    {
        if (dvp.Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        using (VnodeLocks.Take(dvp))
        {
            return dvp.ReadDir(cookie, new UsableNamesSink(dvp, sink));
        }
    }

    /// <summary>
    /// Passes on the entries a caller can use. A damaged directory can hold a name with a '/'
    /// or a NUL, or an empty one: no lookup can reach it, and one such name in a FUSE reply
    /// makes the host kernel fail the whole listing with EIO. It is skipped with a log line.
    /// </summary>
    private sealed class UsableNamesSink(Vnode dvp, IDirEntrySink inner) : IDirEntrySink
    {
        public bool Add(in DirEntry entry)
        {
            if (entry.Name.Length > 0 && entry.Name.AsSpan().IndexOfAny('/', '\0') < 0)
            {
                return inner.Add(entry);
            }
            KernelLog.Warning("vfs", $"{dvp.Mount}: directory {dvp}: entry {entry.Ino} skipped: its name is empty or holds '/' or NUL (damaged directory?)");
            return true;
        }
    }

    public static Errno Readlink(Vnode vp, out string target)
    {
        target = "";
        if (vp.Type != VType.Symlink)
        {
            return Errno.EINVAL;
        }
        using (VnodeLocks.Take(vp))
        {
            return vp.Readlink(out target);
        }
    }

    public static Errno Statvfs(Mount mount, out StatVfs st)
    {
        Errno e = mount.Statvfs(out st);
        st.ReadOnly |= mount.IsReadOnly;
        return e;
    }

    public static Errno Sync(Mount mount) => mount.IsReadOnly ? Errno.OK : mount.Sync();
}
