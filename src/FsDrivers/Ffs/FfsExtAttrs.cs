using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Extended attributes of UFS2 (FreeBSD's, NetBSD 10's FFSv2ea), read from the inode's
/// extended-attribute area: the user name space as "user.NAME", the system one as
/// "system.NAME". On a mount with POSIX.1e ACLs on, the system attributes holding them
/// ("posix1e.acl_access", "posix1e.acl_default") are Linux's system.posix_acl_access and
/// system.posix_acl_default, converted from struct oldacl (FfsAclFormat). Writing is in
/// FfsExtAttrWrite.cs. UFS1 has no such area: NetBSD keeps UFS1 attributes in backing files
/// this driver does not read.
/// </summary>
internal sealed partial class FfsNode
{
    public override Errno GetXattr(string name, out byte[]? value)
    {
        value = null;
        if (!Ufs2 || !KnownNamespace(name))
        {
            return Errno.EOPNOTSUPP;
        }
        Errno e = ReadExtAttrs(out List<FfsExtAttr> attrs);
        if (e != Errno.OK)
        {
            return e;
        }
        if (StoredAclName(name) is { } aclName)
        {
            byte[]? stored = attrs.Find(a => a.Namespace == FfsExtAttr.SystemNamespace && a.LinuxName == "system." + aclName)?.Value;
            if (stored is null)
            {
                return Errno.ENODATA;
            }
            value = FfsAclFormat.FromDisk(stored, FfsMount.Order, out string? problem);
            return value is not null ? Errno.OK
                : KernelLog.CorruptionOnce("ffs", (long)Ino, $"inode {Ino}: damaged ACL {aclName}: {problem}");
        }
        value = attrs.Find(a => a.LinuxName == name)?.Value;
        return value is null ? Errno.ENODATA : Errno.OK;
    }

    public override Errno ListXattr(out IReadOnlyList<string> names)
    {
        names = [];
        if (!Ufs2)
        {
            return Errno.OK;
        }
        Errno e = ReadExtAttrs(out List<FfsExtAttr> attrs);
        if (e == Errno.OK)
        {
            names = [.. attrs.Select(a => ListedName(a)).OfType<string>().Distinct(StringComparer.Ordinal)];
        }
        return e;
    }

    /// <summary>The stored attribute (in the system name space) behind an ACL name, when this mount keeps ACLs; else null.</summary>
    private string? StoredAclName(string name) => !FfsMount.HasPosixAcls ? null : name switch
    {
        PosixAcl.AccessName => FfsAclFormat.AccessName,
        PosixAcl.DefaultName => FfsAclFormat.DefaultName,
        _ => null,
    };

    /// <summary>The name listxattr gives a record: its Linux name, an ACL's under Linux's name when ACLs are on.</summary>
    private string? ListedName(FfsExtAttr a)
    {
        if (FfsMount.HasPosixAcls && a.Namespace == FfsExtAttr.SystemNamespace)
        {
            string? linux = a.LinuxName;
            if (linux == "system." + FfsAclFormat.AccessName)
            {
                return PosixAcl.AccessName;
            }
            if (linux == "system." + FfsAclFormat.DefaultName)
            {
                return PosixAcl.DefaultName;
            }
        }
        return a.LinuxName;
    }

    private static bool KnownNamespace(string name) =>
        name.StartsWith("user.", StringComparison.Ordinal) || name.StartsWith("system.", StringComparison.Ordinal);

    /// <summary>The records of the inode's area (none when it has none); EIO, logged, when the area is damaged.</summary>
    private Errno ReadExtAttrs(out List<FfsExtAttr> attrs)
    {
        attrs = [];
        FfsSuperblock sb = FfsMount.Sb;
        if (Din.ExtSize == 0)
        {
            return Errno.OK;
        }
        if (FfsExtArea.SizeProblem(sb, Din) is { } bad)
        {
            return KernelLog.CorruptionOnce("ffs", (long)Ino, $"inode {Ino}: {bad}");
        }
        byte[] area = new byte[Din.ExtSize];
        for (int i = 0; i < FfsSuperblock.NXAddr; i++)
        {
            int n = FfsExtArea.FragsOf(sb, Din.ExtSize, i);
            if (n == 0)
            {
                break;
            }
            long p = Din.ExtB[i];
            if (p == 0 || !FfsMount.PointerValid(p, n))
            {
                return KernelLog.CorruptionOnce("ffs", (long)Ino, $"inode {Ino}: extended-attribute block {i} at {p} is not in the data area");
            }
            int start = i << sb.Bshift;
            int count = Math.Min(sb.Bsize, Din.ExtSize - start);
            Errno e = FfsMount.Dev.Read(sb.FragToBytes(p), area.AsSpan(start, count));
            if (e != Errno.OK)
            {
                return e;
            }
        }
        List<FfsExtAttr>? list = FfsExtAttrRecord.Decode(area, FfsMount.Order, out string? problem);
        if (list is null)
        {
            return KernelLog.CorruptionOnce("ffs", (long)Ino, $"inode {Ino}: extended-attribute area: {problem}");
        }
        attrs = list;
        return Errno.OK;
    }

    /// <summary>
    /// Free the inode's extended-attribute area (the release of an unlinked inode, as
    /// ffs_truncate with IO_EXT). A pointer that does not fit the area is left, and logged:
    /// freeing garbage would mark another file's blocks free.
    /// </summary>
    private Errno FreeExtArea()
    {
        FfsSuperblock sb = FfsMount.Sb;
        if (!Ufs2 || !FfsExtArea.Present(Din))
        {
            return Errno.OK;
        }
        if (FfsExtArea.SizeProblem(sb, Din) is { } bad)
        {
            return KernelLog.CorruptionOnce("ffs", (long)Ino, $"inode {Ino}: {bad}; its blocks are not freed");
        }
        Errno first = Errno.OK;
        for (int i = 0; i < FfsSuperblock.NXAddr; i++)
        {
            long p = Din.ExtB[i];
            int n = FfsExtArea.FragsOf(sb, Din.ExtSize, i);
            Din.ExtB[i] = 0;
            if (p == 0)
            {
                continue;
            }
            Errno e = n == 0
                ? KernelLog.CorruptionOnce("ffs", (long)Ino, $"inode {Ino}: extended-attribute block {i} past the end of the area; not freed")
                : FreeData(p, n);
            first = first == Errno.OK ? e : first;
        }
        Din.ExtSize = 0;
        MarkDirty();
        return first;
    }
}
