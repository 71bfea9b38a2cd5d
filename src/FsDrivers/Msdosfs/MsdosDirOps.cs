using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>
/// Namespace operations on a directory vnode (NetBSD's msdosfs_vnops.c: lookup, create,
/// mkdir, remove, rmdir, rename). Hard links, symbolic links and device nodes cannot be
/// stored and fail with EPERM, as Linux's vfat gives.
/// </summary>
internal sealed partial class MsdosNode
{
    public override Errno Lookup(string name, out Vnode? vp)
    {
        vp = null;
        if (Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        if (name == "..")
        {
            if (IsRoot)
            {
                Ref();
                vp = this;
                return Errno.OK;
            }
            Errno pe = ParentCluster(out uint pc);
            if (pe != Errno.OK)
            {
                return pe;
            }
            if (pc == 0)
            {
                return Mp.Root(out vp);
            }
            Vnode? cached = Mp.Vnodes.TryGetCached(Mp.Ids.InoFor(MsdosIds.DirKey(pc)));
            if (cached is not null)
            {
                vp = cached;
                return Errno.OK;
            }
            return Mp.GetDirByCluster(pc, out vp);
        }
        Errno e = FindSlot(name, out DirSlot? slot);
        if (e != Errno.OK)
        {
            return e;
        }
        e = SlotOffset(slot!.Short, out long off);
        if (e != Errno.OK)
        {
            return e;
        }
        e = Mp.ReadEntry(off, out FatDirEntry de);
        return e != Errno.OK ? e : Mp.GetNode(off, de, out vp);
    }

    public override Errno StoredName(string name, out string stored)
    {
        stored = name;
        if (Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        if (name is "." or "..")
        {
            return Errno.OK;
        }
        Errno e = FindSlot(name, out DirSlot? slot);
        if (e == Errno.OK)
        {
            stored = slot!.Name;
        }
        return e;
    }

    /// <summary>The entry <paramref name="name"/> finds in this directory (any case, trailing dots and spaces dropped); ENOENT when none.</summary>
    private Errno FindSlot(string name, out DirSlot? slot)
    {
        slot = null;
        Errno e = DirIndex(out DirIndex? index);
        if (e != Errno.OK)
        {
            return e;
        }
        string key = MsdosConv.StripTail(name);
        slot = key.Length == 0 ? null : index!.Find(key);
        return slot is null ? Errno.ENOENT : Errno.OK;
    }

    private FatDirEntry NewEntry(FatAttr attr)
    {
        var de = new FatDirEntry { Attr = attr };
        MsdosConv.ToDos(Mp.Clock.Now, GmtOff, out de.CDate, out de.CTime, out de.CTimeTenth);
        de.MDate = de.CDate;
        de.MTime = de.CTime;
        de.ADate = de.CDate;
        return de;
    }

    private void DirChanged()
    {
        if (!IsRoot)
        {
            TouchModified();
            Update();
        }
    }

    public override Errno Create(string name, in VAttr va, out Vnode? vp)
    {
        vp = null;
        Errno e = CheckNewName(name, out string n);
        if (e != Errno.OK)
        {
            return e;
        }
        FatDirEntry de = NewEntry((va.Mode & 0x80) != 0 ? FatAttr.Archive : FatAttr.Archive | FatAttr.ReadOnly);
        e = AddEntry(n, de, out _, out long off);
        if (e != Errno.OK)
        {
            return e;
        }
        DirChanged();
        e = Mp.ReadEntry(off, out de);
        return e != Errno.OK ? e : Mp.GetNode(off, de, out vp);
    }

    public override Errno Mkdir(string name, in VAttr va, out Vnode? vp)
    {
        vp = null;
        Errno e = CheckNewName(name, out string n);
        if (e != Errno.OK)
        {
            return e;
        }
        var clusters = new List<uint>(1);
        if (Mp.Fat.Allocate(0, 1, clusters) != 1)
        {
            return Errno.ENOSPC;
        }
        uint c = clusters[0];
        FatDirEntry de = NewEntry(FatAttr.Directory);
        de.Cluster = c;
        e = ZeroCluster(c);
        if (e == Errno.OK)
        {
            FatDirEntry dot = de;
            dot.Name = MsdosConv.Pack(".", "");
            FatDirEntry dotdot = de;
            dotdot.Name = MsdosConv.Pack("..", "");
            dotdot.Cluster = IsRoot ? 0 : Entry.Cluster;
            long at = Mp.Bpb.ClusterOffset(c);
            e = Mp.WriteEntry(at, dot);
            if (e == Errno.OK)
            {
                e = Mp.WriteEntry(at + FatDirEntry.Size, dotdot);
            }
        }
        long off = 0;
        if (e == Errno.OK)
        {
            e = AddEntry(n, de, out _, out off);
        }
        if (e != Errno.OK)
        {
            Mp.Fat.Truncate(clusters, 0, wasDirectory: true);
            return e;
        }
        DirChanged();
        e = Mp.ReadEntry(off, out de);
        return e != Errno.OK ? e : Mp.GetNode(off, de, out vp);
    }

    public override Errno Remove(string name, Vnode vp)
    {
        var child = (MsdosNode)vp;
        Errno e = FindSlotOf(name, child, out DirSlot? slot);
        if (e != Errno.OK)
        {
            return e;
        }
        e = DeleteEntry(slot!);
        if (e != Errno.OK)
        {
            return e;
        }
        child.MarkRemoved();
        DirChanged();
        return Errno.OK;
    }

    public override Errno Rmdir(string name, Vnode vp)
    {
        var child = (MsdosNode)vp;
        Errno e = child.IsEmptyDir(out bool empty);
        if (e != Errno.OK)
        {
            return e;
        }
        if (!empty)
        {
            return Errno.ENOTEMPTY;
        }
        e = FindSlotOf(name, child, out DirSlot? slot);
        if (e != Errno.OK)
        {
            return e;
        }
        e = DeleteEntry(slot!);
        if (e != Errno.OK)
        {
            return e;
        }
        child.MarkRemoved();
        DirChanged();
        return Errno.OK;
    }

    private void MarkRemoved()
    {
        Removed = true;
        long key = Type == VType.Directory ? MsdosIds.DirKey(Entry.Cluster) : MsdosIds.FileKey(EntryOffset);
        Mp.Ids.Gone(Ino, key);
    }

    // The index slot of `name`, which must be the entry of `child` (the caller looked it up).
    private Errno FindSlotOf(string name, MsdosNode child, out DirSlot? slot)
    {
        slot = null;
        Errno e = DirIndex(out DirIndex? index);
        if (e != Errno.OK)
        {
            return e;
        }
        slot = index!.Find(MsdosConv.StripTail(name));
        if (slot is null)
        {
            return Errno.ENOENT;
        }
        e = SlotOffset(slot.Short, out long off);
        if (e != Errno.OK)
        {
            return e;
        }
        return off == child.EntryOffset ? Errno.OK : Errno.ENOENT;
    }

    public override Errno Rename(string fromName, Vnode fvp, Vnode tdvp, string toName, Vnode? tvp, RenameFlags flags)
    {
        if ((flags & RenameFlags.Exchange) != 0)
        {
            return Errno.EINVAL;
        }
        var f = (MsdosNode)fvp;
        var td = (MsdosNode)tdvp;
        var t = (MsdosNode?)tvp;
        Errno e = CheckNewName(toName, out string newName);
        if (e != Errno.OK)
        {
            return e;
        }
        e = FindSlotOf(fromName, f, out DirSlot? fromSlot);
        if (e != Errno.OK)
        {
            return e;
        }
        DirSlot? toSlot = null;
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
            e = td.FindSlotOf(toName, t, out toSlot);
            if (e != Errno.OK)
            {
                return e;
            }
        }

        long newOffset;
        if (t is null && ReferenceEquals(this, td)
            && string.Equals(MsdosConv.Fold(fromSlot!.Name), MsdosConv.Fold(newName), StringComparison.Ordinal))
        {
            // A new spelling of the same name (readme.txt to README.TXT): the old slots go
            // first, or the new name would clash with them.
            e = RespellEntry(fromSlot, newName, f.Entry, out newOffset);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        else
        {
            // The new entry first: if the target directory cannot take it, nothing has changed.
            e = td.AddEntry(newName, f.Entry, out _, out newOffset);
            if (e != Errno.OK)
            {
                return e;
            }
            if (t is not null)
            {
                e = td.DeleteEntry(toSlot!);
                if (e != Errno.OK)
                {
                    return e;
                }
                t.MarkRemoved();
            }
            e = DeleteEntry(fromSlot!);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        long oldOffset = f.EntryOffset;
        f.EntryOffset = newOffset;
        e = Mp.ReadEntry(newOffset, out FatDirEntry written);
        if (e != Errno.OK)
        {
            return e;
        }
        f.Entry.Name = written.Name;
        f.Entry.NtRes = written.NtRes;
        if (f.Type == VType.Regular)
        {
            Mp.Ids.Moved(f.Ino, MsdosIds.FileKey(oldOffset), MsdosIds.FileKey(newOffset));
        }
        else if (!ReferenceEquals(this, td))
        {
            // A directory changing parent: its ".." names the new parent (0 for the root).
            e = f.SetDotDot(td.IsRoot ? 0 : td.Entry.Cluster);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        DirChanged();
        if (!ReferenceEquals(this, td))
        {
            td.DirChanged();
        }
        return Errno.OK;
    }

    /// <summary>
    /// Store <paramref name="slot"/>'s entry under <paramref name="newName"/>, which differs
    /// from its name only in case. Room for the new spelling is made before the old one
    /// goes: a mixed-case name can need a long-name slot more than an all-capitals one, and
    /// a full FAT12/16 root then answers ENOSPC with nothing changed.
    /// </summary>
    private Errno RespellEntry(DirSlot slot, string newName, FatDirEntry de, out long newOffset)
    {
        newOffset = 0;
        Errno e = DirIndex(out DirIndex? index);
        if (e != Errno.OK)
        {
            return e;
        }
        int need = MsdosConv.TryExact83(newName, out _, out _) || Mp.FatOptions.ShortNamesOnly ? 1 : ((newName.Length + 12) / 13) + 1;
        while (need > slot.Short - slot.First + 1 && index!.FindFree(need, SlotCapacity) < 0)
        {
            e = GrowDirectory();
            if (e != Errno.OK)
            {
                return e;
            }
        }
        e = DeleteEntry(slot);
        return e != Errno.OK ? e : AddEntry(newName, de, out _, out newOffset);
    }

    private Errno SetDotDot(uint parentCluster)
    {
        Errno e = LoadChain();
        if (e != Errno.OK)
        {
            return e;
        }
        bool fat32 = Mp.IsFat32;
        return EditSlot(1, s =>
        {
            if (s[0] == (byte)'.' && s[1] == (byte)'.')
            {
                FatDirEntry.WriteCluster(s, parentCluster, fat32);
            }
        });
    }
}
