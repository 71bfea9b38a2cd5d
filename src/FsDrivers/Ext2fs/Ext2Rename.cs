using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>rename(2) for ext2fs (NetBSD's ext2fs_rename): all four vnodes arrive locked, checked by Vop.</summary>
internal sealed partial class Ext2Node
{
    public override Errno Rename(string fromName, Vnode fvp, Vnode tdvp, string toName, Vnode? tvp, RenameFlags flags)
    {
        if ((flags & RenameFlags.Exchange) != 0)
        {
            // Each inode lands in the other's directory: both must stay in their project.
            Errno cross = ((Ext2Node)tdvp).CheckProjectBoundary((Ext2Node)fvp);
            cross = cross != Errno.OK ? cross : CheckProjectBoundary((Ext2Node)tvp!);
            return cross != Errno.OK ? cross : Exchange(fromName, (Ext2Node)fvp, (Ext2Node)tdvp, toName, (Ext2Node)tvp!);
        }
        var tdir = (Ext2Node)tdvp;
        var f = (Ext2Node)fvp;
        Errno boundary = tdir.CheckProjectBoundary(f);
        if (boundary != Errno.OK)
        {
            return boundary;
        }
        var t = tvp as Ext2Node;
        bool isDir = f.Type == VType.Directory;
        bool moveParent = isDir && !ReferenceEquals(this, tdir);
        byte ftype = Ext2DirEntry.FileTypeOf(f.Din.Mode);
        byte[] toBytes = NameBytes(toName);
        byte[] fromBytes = NameBytes(fromName);
        Timespec now = Fs.Clock.Now;
        Errno e;
        if (t is not null)
        {
            if (t.Type == VType.Directory)
            {
                e = t.IsEmptyDir(out bool empty);
                if (e != Errno.OK)
                {
                    return e;
                }
                if (!empty)
                {
                    return Errno.ENOTEMPTY;
                }
            }
            e = tdir.FindEntry(toBytes, out uint tino, out long tpos);
            if (e != Errno.OK)
            {
                return e;
            }
            if (tino != t.Number)
            {
                return Errno.ENOENT;
            }
            e = tdir.RewriteEntry(tpos, f.Number, ftype);
            if (e != Errno.OK)
            {
                return e;
            }
            if (t.Type == VType.Directory)
            {
                t.Din.LinksCount = 0;
                tdir.DecLink();
            }
            else
            {
                t.DecLink();
            }
            t.Din.Ctime = now;
            t.MarkDirty();
        }
        else
        {
            if (moveParent && tdir.Din.LinksCount >= LinkMax && !Fs.DirNlink)
            {
                return Errno.EMLINK;
            }
            e = tdir.AddEntry(toBytes, f.Number, ftype);
            if (e != Errno.OK)
            {
                return e;
            }
            if (moveParent)
            {
                tdir.IncLink();
            }
        }
        e = FindEntry(fromBytes, out uint fino, out long fpos);
        if (e == Errno.OK && fino != f.Number)
        {
            e = Fs.Corrupt(0, $"directory {Number}: rename source changed");
        }
        if (e == Errno.OK)
        {
            e = RemoveEntry(fromBytes, fpos);
        }
        if (e != Errno.OK)
        {
            return e;
        }
        if (moveParent)
        {
            e = f.FindEntry(".."u8, out _, out long dpos);
            if (e == Errno.OK)
            {
                e = f.RewriteEntry(dpos, tdir.Number, 2);
            }
            if (e != Errno.OK)
            {
                return e;
            }
            DecLink();
        }
        f.Din.Ctime = now;
        f.MarkDirty();
        return Errno.OK;
    }

    /// <summary>
    /// renameat2 RENAME_EXCHANGE: the two entries trade inodes in place (names, and so an
    /// htree's hashes, stay). A directory that changes parent takes its ".." and its link
    /// in the parent with it.
    /// </summary>
    private Errno Exchange(string fromName, Ext2Node f, Ext2Node tdir, string toName, Ext2Node t)
    {
        Errno e = FindEntry(NameBytes(fromName), out uint fino, out long fpos);
        if (e == Errno.OK && fino != f.Number)
        {
            e = Fs.Corrupt(0, $"directory {Number}: rename source changed");
        }
        if (e != Errno.OK)
        {
            return e;
        }
        e = tdir.FindEntry(NameBytes(toName), out uint tino, out long tpos);
        if (e == Errno.OK && tino != t.Number)
        {
            e = Fs.Corrupt(0, $"directory {tdir.Number}: rename target changed");
        }
        if (e != Errno.OK)
        {
            return e;
        }
        bool newParents = !ReferenceEquals(this, tdir);
        bool fIsDir = f.Type == VType.Directory, tIsDir = t.Type == VType.Directory;
        if (newParents && !Fs.DirNlink
            && ((fIsDir && !tIsDir && tdir.Din.LinksCount >= LinkMax) || (tIsDir && !fIsDir && Din.LinksCount >= LinkMax)))
        {
            return Errno.EMLINK;
        }
        e = RewriteEntry(fpos, t.Number, Ext2DirEntry.FileTypeOf(t.Din.Mode));
        if (e != Errno.OK)
        {
            return e;
        }
        e = tdir.RewriteEntry(tpos, f.Number, Ext2DirEntry.FileTypeOf(f.Din.Mode));
        if (e != Errno.OK)
        {
            return e;
        }
        if (newParents)
        {
            e = MoveDotDot(f, from: this, to: tdir);
            if (e == Errno.OK)
            {
                e = MoveDotDot(t, from: tdir, to: this);
            }
        }
        Timespec now = Fs.Clock.Now;
        f.Din.Ctime = now;
        f.MarkDirty();
        t.Din.Ctime = now;
        t.MarkDirty();
        return e;
    }

    /// <summary>A directory <paramref name="node"/> now under <paramref name="to"/>: its ".." and the parents' link counts follow.</summary>
    private static Errno MoveDotDot(Ext2Node node, Ext2Node from, Ext2Node to)
    {
        if (node.Type != VType.Directory)
        {
            return Errno.OK;
        }
        Errno e = node.FindEntry(".."u8, out _, out long dpos);
        if (e == Errno.OK)
        {
            e = node.RewriteEntry(dpos, to.Number, 2);
        }
        if (e != Errno.OK)
        {
            return e;
        }
        to.IncLink();
        from.DecLink();
        return Errno.OK;
    }
}
