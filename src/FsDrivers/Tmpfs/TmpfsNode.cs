using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Tmpfs;

/// <summary>
/// A tmpfs file, directory, symlink or special node; it is its own vnode. Attribute,
/// regular-file and life-cycle operations are here, directory operations in
/// TmpfsNodeDirectory.cs. Every field is guarded by the vnode lock (see <see cref="Vnode"/>),
/// except that a directory operation also updates the link count and times of the child
/// vnodes it was handed locked.
/// </summary>
internal sealed partial class TmpfsNode : Vnode
{
    /// <summary>Largest file size (off_t's limit, less one page).</summary>
    private const long MaxFileSize = long.MaxValue - TmpfsFileData.PageSize;

    private readonly TmpfsMount _mount;
    private Dictionary<string, byte[]>? _xattrs;

    public TmpfsNode(TmpfsMount mount, ulong ino, VType type, uint generation)
        : base(mount, ino, type)
    {
        _mount = mount;
        Generation = generation;
        if (type == VType.Directory)
        {
            Entries = new TmpfsDirEntries();
        }
        else if (type == VType.Regular)
        {
            Data = new TmpfsFileData();
        }
    }

    public uint Mode;
    public uint Uid;
    public uint Gid;
    public uint Nlink;
    public ulong Rdev;

    /// <summary>Linux's generic flags (<see cref="FileFlags"/>), as the host's tmpfs keeps them.</summary>
    public uint Flags;
    public uint Generation;
    public Timespec Atime;
    public Timespec Mtime;
    public Timespec Ctime;
    public Timespec Birthtime;

    /// <summary>For directories: the inode of "..".</summary>
    public ulong ParentIno;

    public TmpfsDirEntries? Entries { get; }

    public TmpfsFileData? Data { get; }

    public string? SymlinkTarget;

    private Timespec Now => _mount.Clock.Now;

    public void SetAllTimes(Timespec t) => Atime = Mtime = Ctime = Birthtime = t;

    public void TouchModified()
    {
        Timespec now = Now;
        Mtime = now;
        Ctime = now;
    }

    public void TouchChanged() => Ctime = Now;

    public override Errno GetAttr(out VAttr va)
    {
        long size = Type switch
        {
            VType.Regular => Data!.Size,
            VType.Directory => (Entries!.Count + 2) * 32L,
            VType.Symlink => NameEncoding.GetByteCount(SymlinkTarget ?? ""),
            _ => 0,
        };
        va = new VAttr
        {
            Type = Type,
            Mode = Mode,
            Nlink = Nlink,
            Uid = Uid,
            Gid = Gid,
            Ino = Ino,
            Size = size,
            BytesUsed = Type == VType.Regular ? Data!.PageCount * TmpfsFileData.PageSize : 0,
            BlockSize = TmpfsFileData.PageSize,
            Rdev = Rdev,
            Atime = Atime,
            Mtime = Mtime,
            Ctime = Ctime,
            Birthtime = Birthtime,
            Flags = Flags,
            Generation = Generation,
            Protection = (((FileFlags)Flags & FileFlags.Immutable) != 0 ? NodeProtection.Immutable : NodeProtection.None)
                | (((FileFlags)Flags & FileFlags.AppendOnly) != 0 ? NodeProtection.AppendOnly : NodeProtection.None),
        };
        return Errno.OK;
    }

    public override Errno SetAttr(in VAttr va, Credentials cred)
    {
        VAttrMask m = va.Mask;
        if ((m & VAttrMask.Size) != 0)
        {
            Errno e = Truncate(va.Size);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        if ((m & VAttrMask.Mode) != 0)
        {
            Mode = va.Mode & 0xFFF;
        }
        if ((m & VAttrMask.Uid) != 0)
        {
            Uid = va.Uid;
        }
        if ((m & VAttrMask.Gid) != 0)
        {
            Gid = va.Gid;
        }
        if ((m & VAttrMask.Atime) != 0)
        {
            Atime = va.Atime;
        }
        if ((m & VAttrMask.Mtime) != 0)
        {
            Mtime = va.Mtime;
        }
        if ((m & VAttrMask.Birthtime) != 0)
        {
            Birthtime = va.Birthtime;
        }
        if ((m & VAttrMask.Flags) != 0)
        {
            Flags = va.Flags;
        }
        Ctime = (m & VAttrMask.Ctime) != 0 ? va.Ctime : Now;
        return Errno.OK;
    }

    private Errno Truncate(long size)
    {
        if (Type != VType.Regular)
        {
            return Type == VType.Directory ? Errno.EISDIR : Errno.EINVAL;
        }
        if (size > MaxFileSize)
        {
            return Errno.EFBIG;
        }
        long before = Data!.PageCount;
        Data.Truncate(size);
        _mount.ReleasePages(before - Data.PageCount);
        TouchModified();
        return Errno.OK;
    }

    public override Errno Read(long offset, Span<byte> buffer, out int bytesRead)
    {
        bytesRead = Data!.Read(offset, buffer);
        if (UpdatesAtime)
        {
            Atime = Now;
        }
        return Errno.OK;
    }

    public override Errno Write(long offset, ReadOnlySpan<byte> data, out int written)
    {
        written = 0;
        if (offset >= MaxFileSize)
        {
            return Errno.EFBIG;
        }
        if (offset + data.Length > MaxFileSize)
        {
            data = data[..(int)(MaxFileSize - offset)];
        }
        long needed = Data!.PagesNeeded(offset, data.Length);
        if (!_mount.ReservePages(needed))
        {
            // Write what fits, page by page, as a disk file system would before ENOSPC.
            int fit = 0;
            while (fit < data.Length)
            {
                int n = Math.Min(TmpfsFileData.PageSize - (int)((offset + fit) % TmpfsFileData.PageSize), data.Length - fit);
                if (!_mount.ReservePages(Data.PagesNeeded(offset + fit, n)))
                {
                    break;
                }
                Data.Write(offset + fit, data.Slice(fit, n));
                fit += n;
            }
            written = fit;
            if (fit > 0)
            {
                TouchModified();
                return Errno.OK;
            }
            return Errno.ENOSPC;
        }
        Data.Write(offset, data);
        written = data.Length;
        TouchModified();
        return Errno.OK;
    }

    public override Errno Allocate(long offset, long length) => Reserve(offset, length, keepSize: false);

    /// <summary>FALLOC_FL_KEEP_SIZE: pages past the end are kept until a truncation or the file's removal.</summary>
    public override Errno Preallocate(long offset, long length) => Reserve(offset, length, keepSize: true);

    private Errno Reserve(long offset, long length, bool keepSize)
    {
        if (offset + length > MaxFileSize || offset + length < 0)
        {
            return Errno.EFBIG;
        }
        if (!_mount.ReservePages(Data!.PagesNeeded(offset, length)))
        {
            return Errno.ENOSPC;
        }
        Data.Preallocate(offset, length, keepSize);
        TouchChanged();
        return Errno.OK;
    }

    public override Errno PunchHole(long offset, long length)
    {
        _mount.ReleasePages(Data!.PunchHole(offset, length));
        TouchModified();
        return Errno.OK;
    }

    public override Errno Seek(long offset, SeekWhence whence, out long result)
    {
        result = 0;
        if (Type != VType.Regular)
        {
            return base.Seek(offset, whence, out result);
        }
        if (offset >= Data!.Size)
        {
            return Errno.ENXIO;
        }
        result = whence == SeekWhence.Data ? Data.NextData(offset) : Data.NextHole(offset);
        return result < 0 ? Errno.ENXIO : Errno.OK;
    }

    public override Errno Readlink(out string target)
    {
        target = SymlinkTarget ?? "";
        if (UpdatesAtime)
        {
            Atime = Now;
        }
        return Errno.OK;
    }

    public override Errno GetXattr(string name, out byte[]? value)
    {
        value = null;
        if (_xattrs is null || !_xattrs.TryGetValue(name, out byte[]? stored))
        {
            return Errno.ENODATA;
        }
        value = (byte[])stored.Clone();
        return Errno.OK;
    }

    public override Errno SetXattr(string name, ReadOnlySpan<byte> value, XattrSetMode mode)
    {
        _xattrs ??= new Dictionary<string, byte[]>(StringComparer.Ordinal);
        bool exists = _xattrs.ContainsKey(name);
        if (mode == XattrSetMode.Create && exists)
        {
            return Errno.EEXIST;
        }
        if (mode == XattrSetMode.Replace && !exists)
        {
            return Errno.ENODATA;
        }
        _xattrs[name] = value.ToArray();
        TouchChanged();
        return Errno.OK;
    }

    public override Errno ListXattr(out IReadOnlyList<string> names)
    {
        names = _xattrs is null ? [] : [.. _xattrs.Keys.Order(StringComparer.Ordinal)];
        return Errno.OK;
    }

    public override Errno RemoveXattr(string name)
    {
        if (_xattrs is null || !_xattrs.Remove(name))
        {
            return Errno.ENODATA;
        }
        TouchChanged();
        return Errno.OK;
    }

    public override Errno Inactive(out bool recycle)
    {
        recycle = Nlink == 0;
        if (recycle)
        {
            if (Data is not null)
            {
                _mount.ReleasePages(Data.PageCount);
                Data.Clear();
            }
            _xattrs = null;
            _mount.FreeNode(this);
        }
        return Errno.OK;
    }
}
