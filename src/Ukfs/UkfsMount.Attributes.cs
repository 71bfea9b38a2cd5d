using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.Ukfs;

/// <summary>Attribute operations and directory listing.</summary>
public sealed partial class UkfsMount
{
    /// <summary>How many entries one ReadDir call asks for.</summary>
    private const int ReadDirBatch = 256;

    /// <summary>Attributes of <paramref name="path"/>, following a final symbolic link (stat).</summary>
    public VAttr Stat(string path) => GetAttr(path, follow: true);

    /// <summary>Attributes of <paramref name="path"/> itself, a symbolic link included (lstat).</summary>
    public VAttr Lstat(string path) => GetAttr(path, follow: false);

    private VAttr GetAttr(string path, bool follow)
    {
        Vnode vp = Resolve(path, follow);
        try
        {
            Check(Vop.GetAttr(vp, out VAttr va), path);
            return va;
        }
        finally
        {
            vp.Release();
        }
    }

    /// <summary>
    /// The entries of directory <paramref name="path"/> without "." and "..", each with its
    /// attributes (not following symbolic links), in the directory's own order.
    /// </summary>
    public IReadOnlyList<UkfsDirEntry> ReadDirectory(string path) => ReadDirectory(path, includeUnreadable: false);

    /// <summary>
    /// The entries of directory <paramref name="path"/> (without "." and ".."), each with its
    /// attributes. With <paramref name="includeUnreadable"/>, an entry whose file cannot be
    /// looked up or read is listed too, with <see cref="UkfsDirEntry.Error"/> set, as ls lists
    /// a name it cannot stat; without it, the first such entry fails the whole listing.
    /// </summary>
    public IReadOnlyList<UkfsDirEntry> ReadDirectory(string path, bool includeUnreadable)
    {
        Vnode dvp = Resolve(path, follow: true);
        try
        {
            Check(dvp.Type == VType.Directory ? Errno.OK : Errno.ENOTDIR, path);
            Check(Vop.CheckAccess(dvp, AccessMode.Read, Credentials), path);
            var result = new List<UkfsDirEntry>();
            long cookie = 0;
            while (true)
            {
                var batch = new DirEntryList(ReadDirBatch);
                Check(Vop.ReadDir(dvp, cookie, batch), path);
                if (batch.Entries.Count == 0)
                {
                    break;
                }
                foreach (DirEntry d in batch.Entries)
                {
                    if (d.Name is "." or "..")
                    {
                        continue;
                    }
                    string child = Combine(path, d.Name);
                    try
                    {
                        result.Add(new UkfsDirEntry(d.Name, EntryAttributes(dvp, d.Name, child)));
                    }
                    catch (UkfsException e) when (includeUnreadable)
                    {
                        result.Add(new UkfsDirEntry(d.Name, new VAttr { Type = d.Type, Ino = d.Ino }) { Error = e });
                    }
                }
                cookie = batch.Entries[^1].NextCookie;
            }
            return result;
        }
        finally
        {
            dvp.Release();
        }
    }

    private VAttr EntryAttributes(Vnode dvp, string name, string child)
    {
        Check(Vop.Lookup(dvp, name, Credentials, out Vnode? vp), child);
        try
        {
            Check(Vop.GetAttr(vp!, out VAttr va), child);
            return va;
        }
        finally
        {
            vp!.Release();
        }
    }

    /// <summary>Change the permission bits (07777) of <paramref name="path"/> (followed).</summary>
    public void Chmod(string path, uint mode)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Mode);
        va.Mode = mode & 0xFFF;
        SetAttr(path, va, follow: true);
    }

    /// <summary>Change owner and/or group; null leaves one unchanged (chown uid:gid).</summary>
    /// <param name="path">The file.</param>
    /// <param name="uid">The new owner, or null.</param>
    /// <param name="gid">The new group, or null.</param>
    /// <param name="follow">Follow a final symbolic link (chown) or change the link itself (lchown).</param>
    public void Chown(string path, uint? uid, uint? gid, bool follow = true)
    {
        VAttr va = VAttr.ForSet(VAttrMask.None);
        if (uid is uint u)
        {
            va.Mask |= VAttrMask.Uid;
            va.Uid = u;
        }
        if (gid is uint g)
        {
            va.Mask |= VAttrMask.Gid;
            va.Gid = g;
        }
        SetAttr(path, va, follow);
    }

    /// <summary>Set access and/or modification time; null leaves one unchanged.</summary>
    /// <param name="path">The file.</param>
    /// <param name="atime">The new access time, or null.</param>
    /// <param name="mtime">The new modification time, or null.</param>
    /// <param name="follow">Follow a final symbolic link (utimes) or change the link itself (lutimes).</param>
    public void SetTimes(string path, Timespec? atime, Timespec? mtime, bool follow = true)
    {
        VAttr va = VAttr.ForSet(VAttrMask.None);
        if (atime is Timespec a)
        {
            va.Mask |= VAttrMask.Atime;
            va.Atime = a;
        }
        if (mtime is Timespec m)
        {
            va.Mask |= VAttrMask.Mtime;
            va.Mtime = m;
        }
        SetAttr(path, va, follow);
    }

    /// <summary>Set access and modification time to now (touch on an existing file).</summary>
    public void Touch(string path)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Atime | VAttrMask.Mtime | VAttrMask.TimesAreNow);
        SetAttr(path, va, follow: true);
    }

    /// <summary>Shorten or extend the regular file <paramref name="path"/> to <paramref name="length"/> bytes.</summary>
    public void Truncate(string path, long length)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Size);
        va.Size = length;
        SetAttr(path, va, follow: true);
    }

    /// <summary>
    /// fallocate(2) mode 0 on the regular file <paramref name="path"/>: storage for
    /// [offset, offset+length), reading as zeros where there was none, and a size that covers
    /// it; with <paramref name="keepSize"/> (FALLOC_FL_KEEP_SIZE) the size stays, which only
    /// ext4 with extents and tmpfs can do past the end (EOPNOTSUPP elsewhere).
    /// </summary>
    public void Allocate(string path, long offset, long length, bool keepSize = false) =>
        OnFile(path, vp => keepSize ? Vop.Preallocate(vp, offset, length, Credentials) : Vop.Allocate(vp, offset, length, Credentials));

    /// <summary>
    /// FALLOC_FL_PUNCH_HOLE: [offset, offset+length) reads as zeros and its whole blocks are
    /// freed; the size stays. EOPNOTSUPP on FAT, which has no holes.
    /// </summary>
    public void PunchHole(string path, long offset, long length) =>
        OnFile(path, vp => Vop.PunchHole(vp, offset, length, Credentials));

    /// <summary>FALLOC_FL_ZERO_RANGE: the range reads as zeros and has storage; the size covers it unless <paramref name="keepSize"/>.</summary>
    public void ZeroRange(string path, long offset, long length, bool keepSize = false) =>
        OnFile(path, vp => Vop.ZeroRange(vp, offset, length, keepSize, Credentials));

    private void OnFile(string path, Func<Vnode, Errno> op) =>
        WithVnode(path, follow: true, vp =>
        {
            Check(op(vp), path);
            return 0;
        });

    private void SetAttr(string path, VAttr request, bool follow)
    {
        Vnode vp = Resolve(path, follow);
        try
        {
            if ((request.Mask & VAttrMask.Size) != 0 && vp.Type != VType.Regular)
            {
                Check(vp.Type == VType.Directory ? Errno.EISDIR : Errno.EINVAL, path);
            }
            Check(Vop.SetAttr(vp, request, Credentials), path);
        }
        finally
        {
            vp.Release();
        }
    }
}
