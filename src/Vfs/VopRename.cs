using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>
/// rename(2) and renameat2(2). Lock order: the mount's RenameLock first (it keeps the
/// directory tree's shape fixed while the "not into its own subtree" walk runs and until the
/// rename is done), then the up to four vnodes in Serial order; names are looked up again
/// under the vnode locks and the attempt is retried if they changed meanwhile.
/// </summary>
public static partial class Vop
{
    public static Errno Rename(Vnode fdvp, string fromName, Vnode tdvp, string toName, Credentials cred,
        RenameFlags flags = RenameFlags.None)
    {
        if (fdvp.Type != VType.Directory || tdvp.Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        if (!ReferenceEquals(fdvp.Mount, tdvp.Mount))
        {
            return Errno.EXDEV;
        }
        if ((flags & RenameFlags.NoReplace) != 0 && (flags & RenameFlags.Exchange) != 0)
        {
            return Errno.EINVAL;
        }
        Errno e = CheckName(fromName);
        if (e == Errno.OK)
        {
            e = CheckName(toName);
        }
        if (e != Errno.OK)
        {
            return e;
        }
        if (IsDot(fromName) || IsDot(toName))
        {
            return Errno.EINVAL;
        }
        Mount mount = fdvp.Mount;
        lock (mount.RenameLock)
        {
            for (int attempt = 0; attempt < MaxRetries; attempt++)
            {
                e = RenameAttempt(fdvp, fromName, tdvp, toName, cred, flags, out bool retry);
                if (!retry)
                {
                    return e;
                }
            }
        }
        return Errno.EAGAIN;
    }

    private static Errno RenameAttempt(Vnode fdvp, string fromName, Vnode tdvp, string toName, Credentials cred,
        RenameFlags flags, out bool retry)
    {
        retry = false;
        Errno e = Lookup(fdvp, fromName, cred, out Vnode? fvp);
        if (e != Errno.OK)
        {
            return e;
        }
        Vnode? tvp = null;
        try
        {
            e = Lookup(tdvp, toName, cred, out tvp);
            if (e == Errno.ENOENT)
            {
                tvp = null;
            }
            else if (e != Errno.OK)
            {
                return e;
            }
            e = CheckRenameShape(fdvp, fvp!, tdvp, tvp, flags);
            // Renaming a node onto itself does nothing (two hard links to one file), except a
            // new spelling of a name where names ignore case (FAT: readme.txt to README.TXT),
            // which the driver gets as a rename to a name that is free.
            bool respelling = ReferenceEquals(fvp, tvp) && ReferenceEquals(fdvp, tdvp)
                && fdvp.Mount.NamesIgnoreCase && !string.Equals(fromName, toName, StringComparison.Ordinal);
            if (e != Errno.OK || (ReferenceEquals(fvp, tvp) && !respelling))
            {
                return e;
            }
            using (VnodeLocks.Take(fdvp, tdvp, fvp, tvp))
            {
                if (!StillNames(fdvp, fromName, fvp) || !StillNames(tdvp, toName, tvp))
                {
                    retry = true;
                    return Errno.EAGAIN;
                }
                if (fdvp.Mount.IsReadOnly)
                {
                    return Errno.EROFS;
                }
                e = CheckRenamePermissions(fdvp, fvp!, tdvp, tvp, cred, flags);
                if (e != Errno.OK)
                {
                    return e;
                }
                if (IsRoot(fvp!) || (tvp is not null && IsRoot(tvp)))
                {
                    return Errno.EBUSY;
                }
                using (CallerCredentials.Enter(cred))
                {
                    e = fdvp.Rename(fromName, fvp!, tdvp, toName, respelling ? null : tvp, flags);
                    e = SyncIfFlagged(fdvp, SyncedEntries, e);
                    return ReferenceEquals(fdvp, tdvp) ? e : SyncIfFlagged(tdvp, SyncedEntries, e);
                }
            }
        }
        finally
        {
            tvp?.Release();
            fvp!.Release();
        }
    }

    private static Errno CheckRenameShape(Vnode fdvp, Vnode fvp, Vnode tdvp, Vnode? tvp, RenameFlags flags)
    {
        if ((flags & RenameFlags.Exchange) != 0)
        {
            if (tvp is null)
            {
                return Errno.ENOENT;
            }
        }
        else if (tvp is not null && (flags & RenameFlags.NoReplace) != 0)
        {
            return Errno.EEXIST;
        }
        // A directory moved below itself is EINVAL whatever the target is, as Linux's
        // renameat2 decides it before the types (mv /d /d/file: EINVAL, not ENOTDIR).
        if (fvp.Type == VType.Directory && !ReferenceEquals(fdvp, tdvp))
        {
            Errno e = CheckNotAncestor(fvp, tdvp);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        if ((flags & RenameFlags.Exchange) != 0)
        {
            return tvp!.Type == VType.Directory && !ReferenceEquals(fdvp, tdvp) ? CheckNotAncestor(tvp, fdvp) : Errno.OK;
        }
        if (tvp is null || ReferenceEquals(fvp, tvp))
        {
            return Errno.OK;
        }
        if (fvp.Type == VType.Directory && tvp.Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        return fvp.Type != VType.Directory && tvp.Type == VType.Directory ? Errno.EISDIR : Errno.OK;
    }

    /// <summary>EINVAL when <paramref name="dir"/> is <paramref name="ancestor"/> or lies below it.</summary>
    private static Errno CheckNotAncestor(Vnode ancestor, Vnode dir)
    {
        Errno e = dir.Mount.Root(out Vnode? root);
        if (e != Errno.OK)
        {
            return e;
        }
        dir.Ref();
        Vnode cur = dir;
        try
        {
            for (int depth = 0; depth < 65536; depth++)
            {
                if (ReferenceEquals(cur, ancestor))
                {
                    return Errno.EINVAL;
                }
                if (ReferenceEquals(cur, root))
                {
                    return Errno.OK;
                }
                Vnode? parent;
                using (VnodeLocks.Take(cur))
                {
                    e = cur.Lookup("..", out parent);
                }
                if (e != Errno.OK)
                {
                    return e;
                }
                cur.Release();
                cur = parent!;
            }
            return Errno.ELOOP;
        }
        finally
        {
            cur.Release();
            root!.Release();
        }
    }

    private static Errno CheckRenamePermissions(Vnode fdvp, Vnode fvp, Vnode tdvp, Vnode? tvp, Credentials cred, RenameFlags flags)
    {
        Errno e = CheckRemovable(fdvp, fvp, cred);
        if (e != Errno.OK)
        {
            return e;
        }
        if (tvp is not null)
        {
            e = CheckRemovable(tdvp, tvp, cred);
        }
        else
        {
            e = tdvp.GetAttr(out VAttr tdva);
            if (e == Errno.OK)
            {
                e = CheckAccess(tdvp, tdva, AccessMode.Write | AccessMode.Execute, cred);
            }
        }
        if (e != Errno.OK)
        {
            return e;
        }
        // Moving a directory to another parent rewrites its "..": it must be writable.
        if (!ReferenceEquals(fdvp, tdvp))
        {
            if (fvp.Type == VType.Directory)
            {
                e = fvp.GetAttr(out VAttr fva);
                if (e == Errno.OK)
                {
                    e = CheckAccess(fvp, fva, AccessMode.Write, cred);
                }
            }
            if (e == Errno.OK && (flags & RenameFlags.Exchange) != 0 && tvp!.Type == VType.Directory)
            {
                e = tvp.GetAttr(out VAttr tva);
                if (e == Errno.OK)
                {
                    e = CheckAccess(tvp, tva, AccessMode.Write, cred);
                }
            }
        }
        return e;
    }
}
