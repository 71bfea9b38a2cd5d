using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Tmpfs;

/// <summary>Directory operations of a tmpfs node (called on a locked directory, see <see cref="Vnode"/>).</summary>
internal sealed partial class TmpfsNode
{
    /// <summary>Most links a node may have (LINK_MAX of this file system).</summary>
    public const uint LinkMax = 65000;

    public override Errno Lookup(string name, out Vnode? vp)
    {
        vp = null;
        if (Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        if (name == "..")
        {
            return _mount.VGet(ParentIno, out vp);
        }
        if (!Entries!.TryGet(name, out ulong ino))
        {
            return Errno.ENOENT;
        }
        return _mount.VGet(ino, out vp);
    }

    public override Errno Create(string name, in VAttr va, out Vnode? vp) => MakeChild(name, VType.Regular, va, null, out vp);

    public override Errno Mknod(string name, in VAttr va, out Vnode? vp) => MakeChild(name, va.Type, va, null, out vp);

    public override Errno Symlink(string name, in VAttr va, string target, out Vnode? vp) =>
        MakeChild(name, VType.Symlink, va, target, out vp);

    public override Errno Mkdir(string name, in VAttr va, out Vnode? vp)
    {
        if (Nlink >= LinkMax)
        {
            vp = null;
            return Errno.EMLINK;
        }
        Errno e = MakeChild(name, VType.Directory, va, null, out vp);
        if (e == Errno.OK)
        {
            Nlink++;
        }
        return e;
    }

    private Errno MakeChild(string name, VType type, in VAttr va, string? target, out Vnode? vp)
    {
        vp = null;
        if (Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        if (Entries!.TryGet(name, out _))
        {
            return Errno.EEXIST;
        }
        Errno e = _mount.AllocateNode(type, va, out TmpfsNode? node);
        if (e != Errno.OK)
        {
            return e;
        }
        if (type == VType.Directory)
        {
            node!.Nlink = 2;
            node.ParentIno = Ino;
        }
        node!.SymlinkTarget = target;
        Entries.Add(name, node.Ino, type);
        TouchModified();
        _mount.Vnodes.Insert(node);
        vp = node;
        return Errno.OK;
    }

    public override Errno Remove(string name, Vnode vp)
    {
        var child = (TmpfsNode)vp;
        if (!Entries!.Remove(name))
        {
            return Errno.ENOENT;
        }
        child.Nlink--;
        child.TouchChanged();
        TouchModified();
        return Errno.OK;
    }

    public override Errno Rmdir(string name, Vnode vp)
    {
        var child = (TmpfsNode)vp;
        if (child.Entries!.Count != 0)
        {
            return Errno.ENOTEMPTY;
        }
        if (!Entries!.Remove(name))
        {
            return Errno.ENOENT;
        }
        child.Nlink = 0;
        child.TouchChanged();
        Nlink--;
        TouchModified();
        return Errno.OK;
    }

    public override Errno Link(string name, Vnode vp)
    {
        var target = (TmpfsNode)vp;
        if (target.Nlink >= LinkMax)
        {
            return Errno.EMLINK;
        }
        if (Entries!.TryGet(name, out _))
        {
            return Errno.EEXIST;
        }
        Entries.Add(name, target.Ino, target.Type);
        target.Nlink++;
        target.TouchChanged();
        TouchModified();
        return Errno.OK;
    }

    public override Errno Rename(string fromName, Vnode fvp, Vnode tdvp, string toName, Vnode? tvp, RenameFlags flags)
    {
        var from = (TmpfsNode)fvp;
        var toDir = (TmpfsNode)tdvp;
        var target = (TmpfsNode?)tvp;
        bool moveAcross = !ReferenceEquals(this, toDir);

        if ((flags & RenameFlags.Exchange) != 0)
        {
            return Exchange(fromName, from, toDir, toName, target!);
        }
        if (from.Type == VType.Directory && moveAcross && target is null && toDir.Nlink >= LinkMax)
        {
            return Errno.EMLINK;
        }
        if (target is not null)
        {
            if (target.Type == VType.Directory)
            {
                if (target.Entries!.Count != 0)
                {
                    return Errno.ENOTEMPTY;
                }
                target.Nlink = 0;
                toDir.Nlink--;
            }
            else
            {
                target.Nlink--;
            }
            target.TouchChanged();
            toDir.Entries!.Remove(toName);
        }
        Entries!.Remove(fromName);
        toDir.Entries!.Add(toName, from.Ino, from.Type);
        if (from.Type == VType.Directory && moveAcross)
        {
            Nlink--;
            toDir.Nlink++;
            from.ParentIno = toDir.Ino;
        }
        from.TouchChanged();
        TouchModified();
        if (moveAcross)
        {
            toDir.TouchModified();
        }
        return Errno.OK;
    }

    private Errno Exchange(string fromName, TmpfsNode from, TmpfsNode toDir, string toName, TmpfsNode target)
    {
        Entries!.Replace(fromName, target.Ino, target.Type);
        toDir.Entries!.Replace(toName, from.Ino, from.Type);
        if (!ReferenceEquals(this, toDir))
        {
            if (from.Type == VType.Directory)
            {
                from.ParentIno = toDir.Ino;
                Nlink--;
                toDir.Nlink++;
            }
            if (target.Type == VType.Directory)
            {
                target.ParentIno = Ino;
                toDir.Nlink--;
                Nlink++;
            }
            toDir.TouchModified();
        }
        from.TouchChanged();
        target.TouchChanged();
        TouchModified();
        return Errno.OK;
    }

    public override Errno ReadDir(long cookie, IDirEntrySink sink)
    {
        if (Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        if (cookie < 0)
        {
            return Errno.EINVAL;
        }
        if (cookie == 0 && !sink.Add(new DirEntry(".", Ino, VType.Directory, 1)))
        {
            return Errno.OK;
        }
        if (cookie <= 1 && !sink.Add(new DirEntry("..", ParentIno, VType.Directory, 2)))
        {
            return Errno.OK;
        }
        foreach (var (position, name, ino, type) in Entries!.From(cookie))
        {
            if (!sink.Add(new DirEntry(name, ino, type, position + 1)))
            {
                break;
            }
        }
        if (UpdatesAtime)
        {
            Atime = Now;
        }
        return Errno.OK;
    }
}
