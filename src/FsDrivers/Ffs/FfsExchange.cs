using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// renameat2 RENAME_EXCHANGE on FFS: the two entries trade inode numbers in place. A
/// directory that changes parent takes its ".." and its link in the parent with it. Each
/// entry is rewritten, never removed, so at no point does either name go missing.
/// </summary>
internal sealed partial class FfsNode
{
    private Errno Exchange(string fromName, FfsNode f, FfsNode td, string toName, FfsNode t)
    {
        bool newParents = !ReferenceEquals(td, this);
        bool fIsDir = f.Type == VType.Directory, tIsDir = t.Type == VType.Directory;
        if (newParents && ((fIsDir && !tIsDir && td.Din.Nlink >= LinkMax) || (tIsDir && !fIsDir && Din.Nlink >= LinkMax)))
        {
            return Errno.EMLINK;
        }
        Errno e = DirRewrite(fromName, t.Ino, t.Type);
        if (e != Errno.OK)
        {
            return e;
        }
        e = td.DirRewrite(toName, f.Ino, f.Type);
        if (e != Errno.OK)
        {
            DirRewrite(fromName, f.Ino, f.Type); // put the first entry back
            return e;
        }
        if (newParents)
        {
            e = MoveDotDot(f, from: this, to: td);
            if (e == Errno.OK)
            {
                e = MoveDotDot(t, from: td, to: this);
            }
        }
        Timespec now = Mount.Clock.Now;
        f.Din.Ctime = now;
        f.MarkDirty();
        t.Din.Ctime = now;
        t.MarkDirty();
        SyncIfRequested(f, td, t);
        return e;
    }

    /// <summary>A directory <paramref name="node"/> now under <paramref name="to"/>: its ".." and the parents' link counts follow.</summary>
    private static Errno MoveDotDot(FfsNode node, FfsNode from, FfsNode to)
    {
        if (node.Type != VType.Directory)
        {
            return Errno.OK;
        }
        Errno e = node.DirRewrite("..", to.Ino, VType.Directory, touch: false);
        if (e != Errno.OK)
        {
            return e;
        }
        to.Din.Nlink++;
        to.MarkDirty();
        from.Din.Nlink--;
        from.MarkDirty();
        return Errno.OK;
    }
}
