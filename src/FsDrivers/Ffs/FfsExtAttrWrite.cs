using System.Text;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Setting and removing extended attributes (ffs_setextattr, ffs_deleteextattr): the area
/// is rebuilt in memory, written to its blocks and the inode updated. As NetBSD 10, only
/// FFSv2ea gets written areas (on plain UFS2 an older NetBSD kernel would leak their
/// blocks), only the user name space is writable (the system one is the kernel's) but for
/// the two POSIX.1e ACLs on a mount with ACLs on, stored as ufs_acl.c stores them
/// (FfsAclFormat), and an area is at most two blocks (ENOSPC beyond).
/// </summary>
internal sealed partial class FfsNode
{
    public override Errno SetXattr(string name, ReadOnlySpan<byte> value, XattrSetMode mode) =>
        ChangeExtAttr(name, value.ToArray(), mode);

    public override Errno RemoveXattr(string name) => ChangeExtAttr(name, null, XattrSetMode.Replace);

    private Errno ChangeExtAttr(string name, byte[]? value, XattrSetMode mode)
    {
        if (!Ufs2 || !KnownNamespace(name) || FfsMount.Sb.Magic != FfsSuperblock.Ufs2EaMagic)
        {
            return Errno.EOPNOTSUPP;
        }
        if (StoredAclName(name) is { } aclName)
        {
            if (value is not null)
            {
                value = FfsAclFormat.ToDisk(value, FfsMount.Order, out bool tooMany);
                if (value is null)
                {
                    return tooMany ? Errno.ENOSPC : Errno.EINVAL;
                }
            }
            return ChangeExtAttr(FfsExtAttr.SystemNamespace, Encoding.UTF8.GetBytes(aclName), value, mode);
        }
        const string User = "user.";
        if (!name.StartsWith(User, StringComparison.Ordinal))
        {
            return Errno.EPERM;
        }
        byte[] key = NameEncoding.GetBytes(name[User.Length..]);
        return key.Length == 0 ? Errno.EINVAL : ChangeExtAttr(FfsExtAttr.UserNamespace, key, value, mode);
    }

    /// <summary>Set (<paramref name="value"/> not null) or remove one record of the area.</summary>
    private Errno ChangeExtAttr(byte nameSpace, byte[] key, byte[]? value, XattrSetMode mode)
    {
        Errno e = ReadExtAttrs(out List<FfsExtAttr> attrs);
        if (e != Errno.OK)
        {
            return e;
        }
        int at = attrs.FindIndex(a => a.Namespace == nameSpace && a.Name.AsSpan().SequenceEqual(key));
        if (at < 0 && (value is null || mode == XattrSetMode.Replace))
        {
            return Errno.ENODATA;
        }
        if (at >= 0 && mode == XattrSetMode.Create)
        {
            return Errno.EEXIST;
        }
        if (value is null)
        {
            attrs.RemoveAt(at);
        }
        else if (at >= 0)
        {
            attrs[at] = attrs[at] with { Value = value };
        }
        else
        {
            attrs.Add(new FfsExtAttr(nameSpace, key, value));
        }
        byte[] area = FfsExtAttrRecord.Encode(attrs, FfsMount.Order);
        if (area.Length > FfsExtArea.MaxSize(FfsMount.Sb))
        {
            return Errno.ENOSPC;
        }
        e = WriteExtArea(area);
        if (e != Errno.OK)
        {
            return e;
        }
        Din.Ctime = Mount.Clock.Now;
        MarkDirty();
        SyncIfRequested();
        return Errno.OK;
    }

    /// <summary>
    /// Put <paramref name="area"/> in the inode's area blocks: a block whose fragment count
    /// stays is rewritten where it is; one that grows or shrinks moves to new fragments,
    /// written before the old ones are freed. Nothing changes when an allocation fails.
    /// </summary>
    private Errno WriteExtArea(byte[] area)
    {
        FfsSuperblock sb = FfsMount.Sb;
        long[] placed = new long[FfsSuperblock.NXAddr];
        bool[] fresh = new bool[FfsSuperblock.NXAddr];
        Errno e = Errno.OK;
        for (int i = 0; i < FfsSuperblock.NXAddr && e == Errno.OK; i++)
        {
            int n = FfsExtArea.FragsOf(sb, area.Length, i);
            if (n == 0)
            {
                continue;
            }
            if (Din.ExtB[i] != 0 && FfsExtArea.FragsOf(sb, Din.ExtSize, i) == n)
            {
                placed[i] = Din.ExtB[i];
                continue;
            }
            e = FfsMount.Alloc(BlkPref(i > 0 ? placed[i - 1] : 0), n, out placed[i]);
            fresh[i] = e == Errno.OK;
        }
        for (int i = 0; i < FfsSuperblock.NXAddr && e == Errno.OK; i++)
        {
            if (placed[i] != 0)
            {
                int start = i << sb.Bshift;
                byte[] block = new byte[FfsExtArea.FragsOf(sb, area.Length, i) << sb.Fshift];
                area.AsSpan(start, Math.Min(block.Length, area.Length - start)).CopyTo(block);
                e = FfsMount.Dev.Write(sb.FragToBytes(placed[i]), block);
            }
        }
        if (e != Errno.OK)
        {
            for (int i = 0; i < FfsSuperblock.NXAddr; i++)
            {
                if (fresh[i])
                {
                    FfsMount.Free(placed[i], FfsExtArea.FragsOf(sb, area.Length, i));
                }
            }
            return e;
        }
        Errno first = Errno.OK;
        for (int i = 0; i < FfsSuperblock.NXAddr; i++)
        {
            long old = Din.ExtB[i];
            int oldN = FfsExtArea.FragsOf(sb, Din.ExtSize, i);
            if (old != 0 && old != placed[i] && oldN > 0)
            {
                // ReadExtAttrs has checked every pointer inside the old area; one past its end
                // is garbage and left alone.
                Errno f = FreeData(old, oldN);
                first = first == Errno.OK ? f : first;
            }
            if (fresh[i])
            {
                Din.Blocks += FragsToSectors(FfsExtArea.FragsOf(sb, area.Length, i));
            }
            Din.ExtB[i] = placed[i];
        }
        Din.ExtSize = area.Length;
        return first;
    }
}
