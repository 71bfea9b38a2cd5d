using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>How SetXattr treats an existing or missing attribute.</summary>
public enum XattrSetMode
{
    /// <summary>Create or replace.</summary>
    Any = 0,

    /// <summary>Fail with EEXIST when it exists (XATTR_CREATE).</summary>
    Create = 1,

    /// <summary>Fail with ENODATA when it does not exist (XATTR_REPLACE).</summary>
    Replace = 2,
}

/// <summary>Rename variants of renameat2(2).</summary>
[Flags]
public enum RenameFlags
{
    None = 0,
    NoReplace = 1,
    Exchange = 2,
}

/// <summary>Where LSEEK looks.</summary>
public enum SeekWhence
{
    Data = 3,
    Hole = 4,
}

/// <summary>
/// An in-core file: the VFS's handle on one inode of one mount. Drivers subclass it and
/// override the operations their format has; every operation not overridden answers with
/// an errno, as genfs_eopnotsupp does.
///
/// <para><b>The calling convention</b> (the prose form of NetBSD's vnode_if.src). Operations
/// are called only through <see cref="Vop"/>, which checks permissions, read-only mounts
/// and argument validity, and holds the locks named here:</para>
/// <list type="bullet">
/// <item>The vnode an operation is called on is referenced and <b>locked</b> (its
/// <see cref="Lock"/> held by the calling thread) on entry and on return.</item>
/// <item>Other vnodes passed in (the child of Remove/Rmdir/Link, the four of Rename) are
/// referenced and locked too. The caller releases them.</item>
/// <item>A vnode returned in an <c>out</c> parameter (Lookup, Create, ...) is
/// <b>referenced and not locked</b>; the caller releases it with <see cref="Release"/>.</item>
/// <item>A driver never takes another vnode's lock itself (it may read its fields, since
/// the caller holds the locks it needs), and never calls Vop. Driver-wide state (allocation
/// bitmaps, summary counters) is under the driver's own lock, taken after vnode locks.</item>
/// <item>The caller's credentials, where an operation has no parameter for them, are in
/// <see cref="CallerCredentials.Current"/> for the duration of the call (root outside Vop),
/// so allocation can keep a root-only reserve.</item>
/// </list>
/// Lock order: Mount.RenameLock, then vnode locks in ascending <see cref="Serial"/> order,
/// then a driver's internal locks, then buffer-cache and vnode-cache locks (leaves).
/// </summary>
public abstract class Vnode
{
    private static long s_nextSerial;

    protected Vnode(Mount mount, ulong ino, VType type)
    {
        Mount = mount;
        Ino = ino;
        Type = type;
        Serial = Interlocked.Increment(ref s_nextSerial);
    }

    public Mount Mount { get; }

    /// <summary>Inode number (unique within the mount while the vnode is cached).</summary>
    public ulong Ino { get; }

    /// <summary>The file type; fixed for the life of the vnode.</summary>
    public VType Type { get; }

    /// <summary>A process-wide unique number; vnode locks are taken in ascending order of it.</summary>
    public long Serial { get; }

    /// <summary>The vnode lock. Callers use <see cref="VnodeLocks"/> to take several at once.</summary>
    public Lock Lock { get; } = new();

    // Life-cycle state, owned by the mount's VnodeCache (under its lock).
    internal int RefCount;
    internal VnodeState State;
    internal LinkedListNode<Vnode>? FreeListNode;

    /// <summary>True while at least one reference is held (for tests and assertions).</summary>
    public bool IsReferenced => Volatile.Read(ref RefCount) > 0;

    /// <summary>Add a reference (the vnode must already be referenced by the caller).</summary>
    public void Ref() => Mount.Vnodes.AddRef(this);

    /// <summary>Drop a reference. The caller must not hold this vnode's lock.</summary>
    public void Release() => Mount.Vnodes.Release(this);

    // ---- Directory operations: called on the directory, locked. -----------------------

    /// <summary>
    /// Find <paramref name="name"/> (never "." — Vop handles it — but ".." is passed through).
    /// Returns the child referenced, unlocked. ENOENT when missing. At the mount root ".."
    /// must return the root itself.
    /// </summary>
    public virtual Errno Lookup(string name, out Vnode? vp)
    {
        vp = null;
        return Errno.ENOTDIR;
    }

    /// <summary>
    /// Create a regular file <paramref name="name"/> (known not to exist) with the mode,
    /// uid and gid in <paramref name="va"/>. Returns it referenced, unlocked.
    /// Updates the directory's mtime/ctime.
    /// </summary>
    public virtual Errno Create(string name, in VAttr va, out Vnode? vp)
    {
        vp = null;
        return Errno.ENOTDIR;
    }

    /// <summary>Create a device node, fifo or socket (<c>va.Type</c>, <c>va.Rdev</c>).</summary>
    public virtual Errno Mknod(string name, in VAttr va, out Vnode? vp)
    {
        vp = null;
        return Errno.EOPNOTSUPP;
    }

    /// <summary>Create a directory with "." and ".."; the parent's link count grows by one.</summary>
    public virtual Errno Mkdir(string name, in VAttr va, out Vnode? vp)
    {
        vp = null;
        return Errno.ENOTDIR;
    }

    /// <summary>Create a symbolic link to <paramref name="target"/>.</summary>
    public virtual Errno Symlink(string name, in VAttr va, string target, out Vnode? vp)
    {
        vp = null;
        return Errno.EOPNOTSUPP;
    }

    /// <summary>
    /// The name under which this directory stores the entry that <paramref name="name"/>
    /// finds, as <see cref="ReadDir"/> lists it; ENOENT when none. Only a mount whose
    /// <see cref="Mount.NamesIgnoreCase"/> finds entries under other spellings (FAT: another
    /// case, trailing dots or spaces, the 8.3 alias of a long name); elsewhere the name
    /// itself, without a search.
    /// </summary>
    public virtual Errno StoredName(string name, out string stored)
    {
        stored = name;
        return Errno.OK;
    }

    /// <summary>
    /// Remove the entry <paramref name="name"/>, which refers to <paramref name="vp"/> (locked,
    /// not a directory). Decrements its link count; storage is freed at Inactive.
    /// </summary>
    public virtual Errno Remove(string name, Vnode vp) => Errno.ENOTDIR;

    /// <summary>Remove the empty directory <paramref name="vp"/> (locked); ENOTEMPTY otherwise.</summary>
    public virtual Errno Rmdir(string name, Vnode vp) => Errno.ENOTDIR;

    /// <summary>Add a hard link <paramref name="name"/> to <paramref name="vp"/> (locked, not a directory). EMLINK at the format's limit.</summary>
    public virtual Errno Link(string name, Vnode vp) => Errno.EOPNOTSUPP;

    /// <summary>
    /// Rename <paramref name="fromName"/> (referring to <paramref name="fvp"/>) in this directory
    /// to <paramref name="toName"/> in <paramref name="tdvp"/>, replacing <paramref name="tvp"/>
    /// when not null. All four vnodes are locked. Vop has already checked: the names are not
    /// "." or "..", fvp != tvp, the types are compatible (dir over dir, non-dir over non-dir),
    /// a directory is not moved into its own subtree, permissions and sticky bits. The driver
    /// checks that a replaced directory is empty (ENOTEMPTY) and updates ".." and link counts
    /// when a directory changes parent. <see cref="RenameFlags.Exchange"/> swaps the two
    /// entries; a driver that cannot do so returns EINVAL.
    /// </summary>
    public virtual Errno Rename(string fromName, Vnode fvp, Vnode tdvp, string toName, Vnode? tvp, RenameFlags flags) =>
        Errno.ENOTDIR;

    /// <summary>
    /// List entries starting at <paramref name="cookie"/> (0: the beginning, which reports "."
    /// and ".." first). Stops when the sink is full or the directory ends; an end is
    /// recognised by the caller from a call that adds nothing.
    /// </summary>
    public virtual Errno ReadDir(long cookie, IDirEntrySink sink) => Errno.ENOTDIR;

    // ---- Operations on any vnode, called with it locked. -----------------------------

    public virtual Errno GetAttr(out VAttr va)
    {
        va = default;
        return Errno.EOPNOTSUPP;
    }

    /// <summary>
    /// Change the attributes named in <c>va.Mask</c>. Vop has checked the permission rules
    /// (owner/root, chown by root) and turned UTIME_NOW into clock times. A size change
    /// truncates or extends (holes read as zeros) and updates mtime/ctime; every change
    /// updates ctime. Formats that cannot store a change return the kernel's errno (EPERM).
    /// </summary>
    public virtual Errno SetAttr(in VAttr va, Credentials cred) => Errno.EOPNOTSUPP;

    public virtual Errno Readlink(out string target)
    {
        target = "";
        return Errno.EINVAL;
    }

    /// <summary>
    /// Read up to <c>buffer.Length</c> bytes at <paramref name="offset"/>; short only at end of
    /// file. Holes read as zeros. Updates atime unless the mount is noatime.
    /// </summary>
    public virtual Errno Read(long offset, Span<byte> buffer, out int bytesRead)
    {
        bytesRead = 0;
        return Type == VType.Directory ? Errno.EISDIR : Errno.EOPNOTSUPP;
    }

    /// <summary>
    /// Write all of <paramref name="data"/> at <paramref name="offset"/>, extending the file
    /// (a gap becomes a hole or zeros). ENOSPC/EFBIG may leave a partial write, reported in
    /// <paramref name="written"/> with OK when anything was written. Updates mtime/ctime.
    /// </summary>
    public virtual Errno Write(long offset, ReadOnlySpan<byte> data, out int written)
    {
        written = 0;
        return Type == VType.Directory ? Errno.EISDIR : Errno.EOPNOTSUPP;
    }

    /// <summary>Write this file's data and metadata to the device and flush it.</summary>
    public virtual Errno Fsync(bool dataOnly) => Errno.OK;

    /// <summary>Preallocate [offset, offset+length) (fallocate mode 0).</summary>
    public virtual Errno Allocate(long offset, long length) => Errno.EOPNOTSUPP;

    /// <summary>
    /// Reserve storage for [offset, offset+length) without changing the size
    /// (fallocate FALLOC_FL_KEEP_SIZE); a format that cannot hold blocks past the end of a
    /// file gives EOPNOTSUPP.
    /// </summary>
    public virtual Errno Preallocate(long offset, long length) => Errno.EOPNOTSUPP;

    /// <summary>
    /// Make [offset, offset+length) read as zeros and give back the storage of the whole
    /// blocks inside it, leaving a hole; the size stays (fallocate FALLOC_FL_PUNCH_HOLE, which
    /// Linux only takes with KEEP_SIZE). Storage reserved past the end goes too. A format
    /// without holes gives EOPNOTSUPP.
    /// </summary>
    public virtual Errno PunchHole(long offset, long length) => Errno.EOPNOTSUPP;

    /// <summary>
    /// SEEK_DATA / SEEK_HOLE from <paramref name="offset"/>. The default treats the whole
    /// file as data, which POSIX allows.
    /// </summary>
    public virtual Errno Seek(long offset, SeekWhence whence, out long result)
    {
        result = 0;
        Errno e = GetAttr(out VAttr va);
        if (e != Errno.OK)
        {
            return e;
        }
        if (offset < 0 || offset >= va.Size)
        {
            return Errno.ENXIO;
        }
        result = whence == SeekWhence.Data ? offset : va.Size;
        return Errno.OK;
    }

    /// <summary>Called by Vop.Open after the permission check; formats may refuse (ETXTBSY...).</summary>
    public virtual Errno Open(int openFlags) => Errno.OK;

    /// <summary>Called when an open handle is closed.</summary>
    public virtual Errno Close(int openFlags) => Errno.OK;

    public virtual Errno GetXattr(string name, out byte[]? value)
    {
        value = null;
        return Errno.EOPNOTSUPP;
    }

    public virtual Errno SetXattr(string name, ReadOnlySpan<byte> value, XattrSetMode mode) => Errno.EOPNOTSUPP;

    public virtual Errno ListXattr(out IReadOnlyList<string> names)
    {
        names = [];
        return Errno.OK;
    }

    public virtual Errno RemoveXattr(string name) => Errno.EOPNOTSUPP;

    /// <summary>
    /// FS_IOC_GETFLAGS: the file's flags in Linux's generic form (<see cref="FileFlags"/>).
    /// ENOTTY (the default) where the format keeps none, as Linux answers for vfat.
    /// </summary>
    public virtual Errno GetFileFlags(out FileFlags flags)
    {
        flags = FileFlags.None;
        return Errno.ENOTTY;
    }

    /// <summary>
    /// FS_IOC_SETFLAGS: store <paramref name="flags"/> and update ctime. Vop has checked who
    /// may change them. EOPNOTSUPP when a flag the format cannot store is changed; flags
    /// that describe the format's own layout (ext4's extents) are kept as they are.
    /// </summary>
    public virtual Errno SetFileFlags(FileFlags flags) => Errno.ENOTTY;

    /// <summary>
    /// FS_IOC_FSGETXATTR's fsx_projid: the file's project id (ext4's i_projid). EOPNOTSUPP
    /// (the default) where the file system keeps none; the caller then shows project 0, as
    /// Linux does for such file systems.
    /// </summary>
    public virtual Errno GetProjectId(out uint projectId)
    {
        projectId = 0;
        return Errno.EOPNOTSUPP;
    }

    /// <summary>
    /// FS_IOC_FSSETXATTR's fsx_projid: move the file to project <paramref name="projectId"/>
    /// and update ctime. Called with the vnode locked, only when the id differs from the
    /// current one, after Vop has checked who may change it. EOPNOTSUPP (the default) where
    /// the file system keeps no project ids.
    /// </summary>
    public virtual Errno SetProjectId(uint projectId) => Errno.EOPNOTSUPP;

    // ---- Life cycle, called by the VnodeCache. ----------------------------------------

    /// <summary>
    /// The last reference went away (called locked). A file whose link count is zero frees
    /// its storage here and sets <paramref name="recycle"/> so the vnode is reclaimed at once.
    /// Free the inode number itself as the very last step: once it is free another thread
    /// may allocate it, and the cache then waits for this call to return.
    /// </summary>
    public virtual Errno Inactive(out bool recycle)
    {
        recycle = false;
        return Errno.OK;
    }

    /// <summary>
    /// The vnode leaves the cache (unreferenced, not locked by anyone). Write back a dirty
    /// in-core inode and drop per-file state.
    /// </summary>
    public virtual void Reclaim()
    {
    }

    public override string ToString() => $"{Mount.FsType}:{Ino}({Type})";
}

/// <summary>Life-cycle state of a cached vnode.</summary>
internal enum VnodeState
{
    Loading,
    Active,
    Inactivating,
    Reclaimed,
}
