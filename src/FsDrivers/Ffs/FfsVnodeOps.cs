using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// An FFS vnode (ffs_vnops.c / ufs_vnops.c): the live inode and the vnode operations.
/// Every operation runs with this vnode's lock held (see <see cref="Vnode"/>); allocation
/// state is touched only under the mount's AllocLock.
/// </summary>
internal sealed partial class FfsNode : Vnode
{
    private bool _inodeDirty;

    public FfsNode(FfsMount mount, ulong ino, VType type, FfsDinode din)
        : base(mount, ino, type)
    {
        FfsMount = mount;
        Din = din;
    }

    public FfsMount FfsMount { get; }

    /// <summary>The in-core copy of the on-disk inode.</summary>
    public FfsDinode Din { get; }

    private bool Ufs2 => FfsMount.Sb.IsUfs2;

    /// <summary>Mark the in-core inode modified (written at fsync, sync, reclaim).</summary>
    internal void MarkDirty() => _inodeDirty = true;

    public override Errno GetAttr(out VAttr va)
    {
        va = new VAttr
        {
            Type = Type,
            Mode = Din.Mode & 0xFFFu,
            Nlink = (uint)Math.Max((short)0, Din.Nlink),
            Uid = Din.Uid,
            Gid = Din.Gid,
            Ino = Ino,
            Size = Din.Size,
            BytesUsed = Din.Blocks * 512,
            BlockSize = FfsMount.Sb.Bsize,
            Rdev = Type is VType.CharDevice or VType.BlockDevice ? Din.Rdev : 0,
            Atime = Din.Atime,
            Mtime = Din.Mtime,
            Ctime = Din.Ctime,
            Birthtime = Ufs2 ? Din.Birthtime : default,
            Flags = Din.Flags,
            Generation = (uint)Din.Gen,
            Protection = FfsFlags.Protection(Din.Flags),
        };
        return Errno.OK;
    }

    public override Errno SetAttr(in VAttr va, Credentials cred)
    {
        Timespec now = Mount.Clock.Now;
        if ((va.Mask & VAttrMask.Size) != 0)
        {
            if (Type == VType.Directory)
            {
                return Errno.EISDIR;
            }
            if (Type != VType.Regular)
            {
                return Errno.EINVAL;
            }
            if (va.Size != Din.Size)
            {
                Errno e = Truncate(va.Size);
                if (e != Errno.OK)
                {
                    return e;
                }
                Din.Mtime = now;
            }
            Din.Ctime = now;
        }
        if ((va.Mask & VAttrMask.Mode) != 0)
        {
            Din.Mode = (ushort)((Din.Mode & 0xF000u) | (va.Mode & 0xFFFu));
        }
        if ((va.Mask & VAttrMask.Uid) != 0)
        {
            Din.Uid = va.Uid;
        }
        if ((va.Mask & VAttrMask.Gid) != 0)
        {
            Din.Gid = va.Gid;
        }
        if ((va.Mask & VAttrMask.Atime) != 0)
        {
            Din.Atime = va.Atime;
        }
        if ((va.Mask & VAttrMask.Mtime) != 0)
        {
            Din.Mtime = va.Mtime;
        }
        if ((va.Mask & VAttrMask.Birthtime) != 0 && Ufs2)
        {
            Din.Birthtime = va.Birthtime;
        }
        if ((va.Mask & VAttrMask.Flags) != 0)
        {
            Din.Flags = va.Flags;
        }
        Din.Ctime = (va.Mask & VAttrMask.Ctime) != 0 ? va.Ctime : now;
        MarkDirty();
        return Errno.OK;
    }

    public override Errno Readlink(out string target)
    {
        target = "";
        if (Type != VType.Symlink)
        {
            return Errno.EINVAL;
        }
        if (Din.FastLink is not null)
        {
            target = NameEncoding.GetString(Din.FastLink);
            return Errno.OK;
        }
        if (Din.Size > Vop.PathMax || Din.Size <= 0)
        {
            return KernelLog.CorruptionOnce("ffs", (long)Ino, $"symlink inode {Ino} has size {Din.Size}");
        }
        byte[] buf = new byte[Din.Size];
        Errno e = ReadData(0, buf, out int n);
        if (e != Errno.OK)
        {
            return e;
        }
        target = NameEncoding.GetString(buf.AsSpan(0, n));
        return Errno.OK;
    }

    public override Errno Read(long offset, Span<byte> buffer, out int bytesRead)
    {
        bytesRead = 0;
        if (Type == VType.Directory)
        {
            return Errno.EISDIR;
        }
        if (Type != VType.Regular)
        {
            return Errno.EINVAL;
        }
        Errno e = ReadData(offset, buffer, out bytesRead);
        if (e == Errno.OK && !Mount.Options.NoAtime && !Mount.IsReadOnly)
        {
            Din.Atime = Mount.Clock.Now;
            MarkDirty();
        }
        return e;
    }

    /// <summary>
    /// Read file bytes straight from the device into <paramref name="buffer"/>, one
    /// physically contiguous run at a time; holes read as zeros.
    /// </summary>
    internal Errno ReadData(long offset, Span<byte> buffer, out int bytesRead)
    {
        bytesRead = 0;
        if (offset >= Din.Size)
        {
            return Errno.OK;
        }
        FfsSuperblock sb = FfsMount.Sb;
        int total = (int)Math.Min(buffer.Length, Din.Size - offset);
        int pos = 0;
        while (pos < total)
        {
            long at = offset + pos;
            long lbn = sb.LblkNo(at);
            int boff = sb.BlkOff(at);
            int want = total - pos;
            int maxBlocks = (int)Math.Min(MaxRunBlocks, ((long)boff + want + sb.Bsize - 1) >> sb.Bshift);
            Errno e = Bmap(lbn, maxBlocks, out long phys, out int run);
            if (e != Errno.OK)
            {
                return pos > 0 ? Errno.OK : e;
            }
            int bytes = (int)Math.Min(((long)run << sb.Bshift) - boff, want);
            Span<byte> dst = buffer.Slice(pos, bytes);
            if (phys == 0)
            {
                dst.Clear();
            }
            else
            {
                e = FfsMount.Dev.Read(sb.FragToBytes(phys) + boff, dst);
                if (e != Errno.OK)
                {
                    return pos > 0 ? Errno.OK : e;
                }
            }
            pos += bytes;
            bytesRead = pos;
        }
        return Errno.OK;
    }

    public override Errno Fsync(bool dataOnly)
    {
        // File data is written straight to the device; the inode and indirect blocks live
        // in the buffer cache. Flush pushes both (the cache's write-back is global, which
        // is stronger than required).
        Errno e = FlushInode();
        Errno w = FfsMount.Bufs.Flush();
        return e != Errno.OK ? e : w;
    }

    /// <summary>Write the in-core inode into its inode block when modified.</summary>
    internal Errno FlushInode()
    {
        lock (Lock)
        {
            if (!_inodeDirty || Mount.IsReadOnly)
            {
                return Errno.OK;
            }
            _inodeDirty = false;
            return FfsMount.WriteDinode(Ino, Din, sync: false);
        }
    }

    public override Errno Inactive(out bool recycle)
    {
        recycle = false;
        if (Din.Nlink > 0 || Mount.IsReadOnly)
        {
            return Errno.OK;
        }
        // Last reference to an unlinked file: free its storage, then the inode number.
        Errno e = Errno.OK;
        if (Type is VType.Regular or VType.Directory || (Type == VType.Symlink && Din.FastLink is null))
        {
            e = Truncate(0);
        }
        Errno x = FreeExtArea();
        e = e != Errno.OK ? e : x;
        uint mode = Din.Mode;
        Din.Clear();
        Din.Gen++;
        _inodeDirty = false;
        Errno w = FfsMount.WriteDinode(Ino, Din, sync: false);
        FfsMount.FreeInode(Ino, VTypeExtensions.FromModeBits(mode) == VType.Directory);
        recycle = true;
        return e != Errno.OK ? e : w;
    }

    public override void Reclaim()
    {
        Errno e = FlushInode();
        if (e != Errno.OK)
        {
            KernelLog.Warning("ffs", $"writing inode {Ino} at reclaim failed: {e.Describe()}");
        }
        DropDirhash();
    }
}
