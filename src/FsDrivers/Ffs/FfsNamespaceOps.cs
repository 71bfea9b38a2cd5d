using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// The vnode operations that change names (ufs_vnops.c: create, mknod, mkdir, symlink,
/// link, remove, rmdir, rename). Called on the directory, locked, with the other vnodes
/// locked by Vop; new vnodes are returned referenced and unlocked.
/// </summary>
internal sealed partial class FfsNode
{
    /// <summary>LINK_MAX of FFS (di_nlink is a signed 16-bit field).</summary>
    internal const int LinkMax = 32767;

    public override Errno Create(string name, in VAttr va, out Vnode? vp) => MakeEntry(name, va, null, out vp);

    public override Errno Mknod(string name, in VAttr va, out Vnode? vp) => MakeEntry(name, va, null, out vp);

    public override Errno Symlink(string name, in VAttr va, string target, out Vnode? vp) => MakeEntry(name, va, target, out vp);

    public override Errno Mkdir(string name, in VAttr va, out Vnode? vp)
    {
        vp = null;
        if (Din.Nlink >= LinkMax)
        {
            return Errno.EMLINK;
        }
        return MakeEntry(name, va, null, out vp);
    }

    /// <summary>
    /// An inode number the group's map gives as free, with its on-disk record. A damaged map
    /// can give one that is in use (NetBSD panics with "dup alloc" there): that one stays
    /// marked in use, a log line names it, and the next free one is taken.
    /// </summary>
    private Errno AllocFreeInode(bool dir, out ulong ino, out FfsDinode din)
    {
        din = new FfsDinode();
        for (int attempt = 0; ; attempt++)
        {
            Errno e = FfsMount.AllocInode(Ino, dir, out ino);
            if (e != Errno.OK)
            {
                return e;
            }
            e = FfsMount.ReadDinode(ino, din);
            if (e != Errno.OK)
            {
                FfsMount.FreeInode(ino, dir);
                return e;
            }
            // A cached node of a freed inode has a cleared record; a live one does not.
            if (din.Mode == 0 && Mount.Vnodes.Peek(ino) is not FfsNode { Din.Mode: not 0 })
            {
                return Errno.OK;
            }
            e = FfsMount.KeepLiveInode(ino, dir);
            if (e != Errno.OK)
            {
                return e;
            }
            Errno corrupt = KernelLog.CorruptionOnce("ffs", (long)ino,
                $"inode {ino} is free in its cylinder group's map but in use (mode {Convert.ToString(din.Mode, 8)}); left in use");
            if (attempt == 7)
            {
                return corrupt;
            }
        }
    }

    /// <summary>Allocate and initialise an inode (ufs_makeinode), then enter it in this directory.</summary>
    private Errno MakeEntry(string name, in VAttr va, string? target, out Vnode? vp)
    {
        vp = null;
        if (Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        if (NameEncoding.GetByteCount(name) > DirectEntry.MaxNameLen)
        {
            return Errno.ENAMETOOLONG;
        }
        bool dir = va.Type == VType.Directory;
        Errno e = AllocFreeInode(dir, out ulong ino, out FfsDinode din);
        if (e != Errno.OK)
        {
            return e;
        }
        int gen = din.Gen == 0 ? Mount.Random.NextPositiveInt32() : din.Gen;
        din.Clear();
        din.Gen = gen;
        din.Mode = (ushort)(va.Type.ToModeBits() | (va.Mode & 0xFFF));
        din.Nlink = (short)(dir ? 2 : 1);
        din.Uid = va.Uid;
        din.Gid = va.Gid;
        din.Atime = va.Atime;
        din.Mtime = va.Mtime;
        din.Ctime = va.Ctime;
        din.Birthtime = va.Birthtime;
        if (va.Type is VType.CharDevice or VType.BlockDevice)
        {
            din.Rdev = va.Rdev;
        }
        var node = new FfsNode(FfsMount, ino, va.Type, din);
        node.MarkDirty();
        Mount.Vnodes.Insert(node);

        e = InitNewNode(node, target);
        if (e == Errno.OK)
        {
            e = DirEnter(name, ino, va.Type);
        }
        if (e != Errno.OK)
        {
            // Undo: the inode is freed when its last reference goes.
            node.Din.Nlink = 0;
            node.Release();
            return e;
        }
        if (dir)
        {
            Din.Nlink++;
            MarkDirty();
        }
        node.FlushInode();
        SyncIfRequested();
        vp = node;
        return Errno.OK;
    }

    private Errno InitNewNode(FfsNode node, string? target)
    {
        if (node.Type == VType.Directory)
        {
            return node.InitDirectory(Ino);
        }
        if (node.Type == VType.Symlink && target is not null)
        {
            byte[] t = NameEncoding.GetBytes(target);
            if (t.Length < FfsMount.Sb.MaxSymlinkLen)
            {
                node.Din.FastLink = t;
                node.Din.Size = t.Length;
                return Errno.OK;
            }
            return node.WriteData(0, t, out _);
        }
        return Errno.OK;
    }

    /// <summary>Write "." and ".." into a new directory's first chunk (ufs_mkdir).</summary>
    private Errno InitDirectory(ulong parent)
    {
        FfsSuperblock sb = FfsMount.Sb;
        Errno e = Balloc(0, BlockSizeAt(0, Chunk), willOverwrite: true, out long phys);
        if (e != Errno.OK)
        {
            return e;
        }
        Din.Size = Chunk;
        Buffer bp = FfsMount.Bufs.Get(sb.FragToBytes(phys), BlockSize(0));
        lock (bp.SyncRoot)
        {
            bp.Data.Clear();
            int dot = DirectEntry.SizeFor(1);
            DirectEntry.Write(bp.Data, 0, FfsMount.Order, Types, (uint)Ino, dot, VType.Directory.ToDirentType(), "."u8);
            DirectEntry.Write(bp.Data, dot, FfsMount.Order, Types, (uint)parent, Chunk - dot, VType.Directory.ToDirentType(), ".."u8);
            // Chunks past the first in this block stay empty entries of full length.
            for (int c = Chunk; c < bp.Size; c += Chunk)
            {
                DirectEntry.WriteRecLen(bp.Data, c, FfsMount.Order, Chunk);
            }
        }
        bp.MarkDirty();
        bp.Release();
        MarkDirty();
        return Errno.OK;
    }

    public override Errno Link(string name, Vnode vp)
    {
        var n = (FfsNode)vp;
        if (n.Din.Nlink >= LinkMax)
        {
            return Errno.EMLINK;
        }
        Errno e = DirEnter(name, n.Ino, n.Type);
        if (e != Errno.OK)
        {
            return e;
        }
        n.Din.Nlink++;
        n.Din.Ctime = Mount.Clock.Now;
        n.MarkDirty();
        SyncIfRequested(n);
        return Errno.OK;
    }

    public override Errno Remove(string name, Vnode vp)
    {
        var n = (FfsNode)vp;
        Errno e = DirRemove(name);
        if (e != Errno.OK)
        {
            return e;
        }
        n.Din.Nlink--;
        n.Din.Ctime = Mount.Clock.Now;
        n.MarkDirty();
        SyncIfRequested(n);
        return Errno.OK;
    }

    public override Errno Rmdir(string name, Vnode vp)
    {
        var n = (FfsNode)vp;
        Errno e = n.DirEmpty(out bool empty);
        if (e != Errno.OK)
        {
            return e;
        }
        if (!empty)
        {
            return Errno.ENOTEMPTY;
        }
        e = DirRemove(name);
        if (e != Errno.OK)
        {
            return e;
        }
        // The child's ".." no longer counts against us; the child itself goes away.
        Din.Nlink--;
        MarkDirty();
        n.Din.Nlink = 0;
        n.Din.Ctime = Mount.Clock.Now;
        n.MarkDirty();
        SyncIfRequested(n);
        return Errno.OK;
    }

    public override Errno Rename(string fromName, Vnode fvp, Vnode tdvp, string toName, Vnode? tvp, RenameFlags flags)
    {
        if ((flags & RenameFlags.Exchange) != 0)
        {
            return Exchange(fromName, (FfsNode)fvp, (FfsNode)tdvp, toName, (FfsNode)tvp!);
        }
        var f = (FfsNode)fvp;
        var td = (FfsNode)tdvp;
        var t = tvp as FfsNode;
        bool isDir = f.Type == VType.Directory;
        bool newParent = !ReferenceEquals(td, this);
        if (t is not null && t.Type == VType.Directory)
        {
            Errno ee = t.DirEmpty(out bool empty);
            if (ee != Errno.OK)
            {
                return ee;
            }
            if (!empty)
            {
                return Errno.ENOTEMPTY;
            }
        }
        if (isDir && newParent && t is null && td.Din.Nlink >= LinkMax)
        {
            return Errno.EMLINK;
        }
        // Count the new link first, so a failure part-way never leaves an entry
        // without a link count behind it (ufs_rename).
        f.Din.Nlink++;
        f.MarkDirty();
        Errno e = t is null ? td.DirEnter(toName, f.Ino, f.Type) : td.DirRewrite(toName, f.Ino, f.Type);
        if (e != Errno.OK)
        {
            f.Din.Nlink--;
            return e;
        }
        if (t is not null)
        {
            if (t.Type == VType.Directory)
            {
                t.Din.Nlink = 0;
                td.Din.Nlink--;
                td.MarkDirty();
            }
            else
            {
                t.Din.Nlink--;
            }
            t.Din.Ctime = Mount.Clock.Now;
            t.MarkDirty();
        }
        e = DirRemove(fromName);
        f.Din.Nlink--;
        f.Din.Ctime = Mount.Clock.Now;
        if (e != Errno.OK)
        {
            return e;
        }
        if (isDir && newParent)
        {
            e = f.DirRewrite("..", td.Ino, VType.Directory, touch: false);
            Din.Nlink--;
            MarkDirty();
            td.Din.Nlink++;
            td.MarkDirty();
        }
        SyncIfRequested(f, td, t);
        return e;
    }

    /// <summary>Under -o sync, push this directory and the named inodes to the device now.</summary>
    private void SyncIfRequested(params FfsNode?[] others)
    {
        if (!Mount.Options.Synchronous)
        {
            return;
        }
        FlushInode();
        foreach (FfsNode? n in others)
        {
            n?.FlushInode();
        }
        FfsMount.Bufs.Flush();
    }
}
