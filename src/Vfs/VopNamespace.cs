using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>Operations that change directories: create, link, remove, rename.</summary>
public static partial class Vop
{
    private const int MaxRetries = 64;

    /// <summary>Create a regular file (EEXIST when the name is taken).</summary>
    /// <remarks>
    /// <paramref name="umask"/> is applied here, unless a default ACL of the parent decides
    /// the permission bits instead (a caller that applied it already passes 0).
    /// </remarks>
    public static Errno Create(Vnode dvp, string name, uint mode, Credentials cred, out Vnode? vp, uint umask = 0) =>
        MakeNode(dvp, name, VType.Regular, mode, 0, null, cred, umask, out vp);

    /// <summary>Make a directory; <paramref name="umask"/> as for <see cref="Create"/>.</summary>
    public static Errno Mkdir(Vnode dvp, string name, uint mode, Credentials cred, out Vnode? vp, uint umask = 0) =>
        MakeNode(dvp, name, VType.Directory, mode, 0, null, cred, umask, out vp);

    /// <summary>mknod(2): device nodes need root (EPERM); fifos and sockets do not. <paramref name="umask"/> as for <see cref="Create"/>.</summary>
    public static Errno Mknod(Vnode dvp, string name, VType type, uint mode, ulong rdev, Credentials cred, out Vnode? vp,
        uint umask = 0)
    {
        vp = null;
        if (type is VType.CharDevice or VType.BlockDevice)
        {
            if (!cred.IsRoot)
            {
                return Errno.EPERM;
            }
        }
        else if (type == VType.Regular)
        {
            return Create(dvp, name, mode, cred, out vp, umask);
        }
        else if (type is not (VType.Fifo or VType.Socket))
        {
            return Errno.EINVAL;
        }
        return MakeNode(dvp, name, type, mode, rdev, null, cred, umask, out vp);
    }

    public static Errno Symlink(Vnode dvp, string name, string target, Credentials cred, out Vnode? vp)
    {
        vp = null;
        if (target.Length == 0)
        {
            return Errno.ENOENT;
        }
        if (NameEncoding.GetByteCount(target) >= PathMax)
        {
            return Errno.ENAMETOOLONG;
        }
        return MakeNode(dvp, name, VType.Symlink, 0x1FF, 0, target, cred, 0, out vp);
    }

    private static Errno MakeNode(Vnode dvp, string name, VType type, uint mode, ulong rdev, string? target,
        Credentials cred, uint umask, out Vnode? vp)
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
        if (IsDot(name))
        {
            return Errno.EEXIST;
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
            if (dva.Nlink == 0)
            {
                return Errno.ENOENT;
            }
            e = dvp.Lookup(name, out Vnode? existing);
            if (e == Errno.OK)
            {
                existing!.Release();
                return Errno.EEXIST;
            }
            if (e != Errno.ENOENT)
            {
                return e;
            }
            if (dvp.Mount.IsReadOnly)
            {
                return Errno.EROFS;
            }
            e = CheckAccess(dvp, dva, AccessMode.Write | AccessMode.Execute, cred);
            if (e != Errno.OK)
            {
                return e;
            }
            mode &= 0xFFF;
            e = InheritAcls(dvp, type, ref mode, umask, out (PosixAcl? Access, PosixAcl? Default) acls);
            if (e != Errno.OK)
            {
                return e;
            }
            var va = new VAttr
            {
                Type = type,
                Mode = mode,
                Uid = cred.Uid,
                Rdev = rdev,
            };
            bool setgidDir = (dva.Mode & S_ISGID) != 0;
            va.Gid = setgidDir ? dva.Gid : cred.Gid;
            if (type == VType.Directory && setgidDir)
            {
                va.Mode |= S_ISGID;
            }
            else if (type != VType.Directory && (va.Mode & S_ISGID) != 0 && !cred.IsRoot && !cred.InGroup(va.Gid))
            {
                va.Mode &= ~S_ISGID;
            }
            Timespec now = dvp.Mount.Clock.Now;
            va.Atime = va.Mtime = va.Ctime = va.Birthtime = now;
            using CallerCredentials.Scope scope = CallerCredentials.Enter(cred);
            Errno made = type switch
            {
                VType.Regular => dvp.Create(name, va, out vp),
                VType.Directory => dvp.Mkdir(name, va, out vp),
                VType.Symlink => dvp.Symlink(name, va, target!, out vp),
                _ => dvp.Mknod(name, va, out vp),
            };
            if (made == Errno.OK && (acls.Access is not null || acls.Default is not null))
            {
                made = StoreInheritedAcls(vp!, acls);
                if (made != Errno.OK)
                {
                    // As a file system that cannot give a new inode its ACLs: no node at all.
                    Vnode node = vp!;
                    vp = null;
                    Errno undone = type == VType.Directory ? dvp.Rmdir(name, node) : dvp.Remove(name, node);
                    node.Release();
                    if (undone != Errno.OK)
                    {
                        KernelLog.Error("vfs", $"{name}: its inherited ACL could not be stored ({made}) nor the node removed ({undone})");
                    }
                }
            }
            return SyncIfFlagged(dvp, SyncedEntries, made);
        }
    }

    /// <summary>
    /// link(2): EXDEV across mounts, EPERM for directories. As Linux's do_linkat, a name that
    /// exists is EEXIST before either (filename_create comes first), and EXDEV and EPERM
    /// come after the read-only and permission checks.
    /// </summary>
    public static Errno Link(Vnode vp, Vnode dvp, string name, Credentials cred)
    {
        if (dvp.Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        Errno e = CheckName(name);
        if (e != Errno.OK)
        {
            return e;
        }
        if (IsDot(name))
        {
            return Errno.EEXIST;
        }
        using (VnodeLocks.Take(dvp, vp))
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
            e = dvp.Lookup(name, out Vnode? existing);
            if (e == Errno.OK)
            {
                existing!.Release();
                return Errno.EEXIST;
            }
            if (e != Errno.ENOENT)
            {
                return e;
            }
            if (dvp.Mount.IsReadOnly)
            {
                return Errno.EROFS;
            }
            if (!ReferenceEquals(vp.Mount, dvp.Mount))
            {
                return Errno.EXDEV;
            }
            e = CheckAccess(dvp, dva, AccessMode.Write | AccessMode.Execute, cred);
            if (e != Errno.OK)
            {
                return e;
            }
            if (vp.Type == VType.Directory)
            {
                return Errno.EPERM;
            }
            e = vp.GetAttr(out VAttr va);
            if (e != Errno.OK)
            {
                return e;
            }
            if (va.Nlink == 0)
            {
                return Errno.ENOENT;
            }
            // A new name changes the file's link count: not for an immutable or append-only file (vfs_link).
            if (va.Protection != NodeProtection.None)
            {
                return Errno.EPERM;
            }
            using (CallerCredentials.Enter(cred))
            {
                return SyncIfFlagged(dvp, SyncedEntries, dvp.Link(name, vp));
            }
        }
    }

    /// <summary>unlink(2): EISDIR for a directory, EPERM in a sticky directory for non-owners.</summary>
    public static Errno Remove(Vnode dvp, string name, Credentials cred) => RemoveEntry(dvp, name, cred, directory: false);

    /// <summary>rmdir(2): EINVAL for ".", ENOTEMPTY for "..", EBUSY for a mount root.</summary>
    public static Errno Rmdir(Vnode dvp, string name, Credentials cred) => RemoveEntry(dvp, name, cred, directory: true);

    private static Errno RemoveEntry(Vnode dvp, string name, Credentials cred, bool directory)
    {
        if (dvp.Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        Errno e = CheckName(name);
        if (e != Errno.OK)
        {
            return e;
        }
        if (name == ".")
        {
            return directory ? Errno.EINVAL : Errno.EISDIR;
        }
        if (name == "..")
        {
            return directory ? Errno.ENOTEMPTY : Errno.EISDIR;
        }
        for (int attempt = 0; attempt < MaxRetries; attempt++)
        {
            e = Lookup(dvp, name, cred, out Vnode? vp);
            if (e != Errno.OK)
            {
                return e;
            }
            try
            {
                using (VnodeLocks.Take(dvp, vp))
                {
                    if (!StillNames(dvp, name, vp!))
                    {
                        continue;
                    }
                    if (directory && vp!.Type != VType.Directory)
                    {
                        return Errno.ENOTDIR;
                    }
                    if (!directory && vp!.Type == VType.Directory)
                    {
                        return Errno.EISDIR;
                    }
                    if (dvp.Mount.IsReadOnly)
                    {
                        return Errno.EROFS;
                    }
                    e = CheckRemovable(dvp, vp!, cred);
                    if (e != Errno.OK)
                    {
                        return e;
                    }
                    if (directory && IsRoot(vp!))
                    {
                        return Errno.EBUSY;
                    }
                    return SyncIfFlagged(dvp, SyncedEntries, directory ? dvp.Rmdir(name, vp!) : dvp.Remove(name, vp!));
                }
            }
            finally
            {
                vp!.Release();
            }
        }
        return Errno.EAGAIN;
    }

    /// <summary>Write+search on the directory, the immutable and append-only flags, and the sticky rule for the entry.</summary>
    private static Errno CheckRemovable(Vnode dvp, Vnode vp, Credentials cred)
    {
        Errno e = dvp.GetAttr(out VAttr dva);
        if (e != Errno.OK)
        {
            return e;
        }
        e = CheckAccess(dvp, dva, AccessMode.Write | AccessMode.Execute, cred);
        if (e != Errno.OK)
        {
            return e;
        }
        e = vp.GetAttr(out VAttr va);
        if (e != Errno.OK)
        {
            return e;
        }
        e = Access.CheckRemovableProtection(dva, va);
        return e != Errno.OK ? e : Access.CheckSticky(dva, va, cred);
    }

    /// <summary>With <paramref name="dvp"/> locked: does <paramref name="name"/> still refer to <paramref name="vp"/>?</summary>
    private static bool StillNames(Vnode dvp, string name, Vnode? vp)
    {
        Errno e = dvp.Lookup(name, out Vnode? now);
        if (e != Errno.OK)
        {
            return vp is null && e == Errno.ENOENT;
        }
        bool same = ReferenceEquals(now, vp);
        now!.Release();
        return same;
    }

    private static bool IsRoot(Vnode vp)
    {
        if (vp.Mount.Root(out Vnode? root) != Errno.OK)
        {
            return false;
        }
        bool same = ReferenceEquals(root, vp);
        root!.Release();
        return same;
    }
}
