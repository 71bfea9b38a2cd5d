using RumpFs.Kernel;
using RumpFs.Ukfs;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>getfacl and setfacl: POSIX ACLs in the acl package's text form; the VFS applies the rules (mode, equivalence, owner only).</summary>
internal static class AclCommands
{
    private const uint SetUid = 0x800, SetGid = 0x400, Sticky = 0x200;

    public static int Getfacl(CommandContext ctx, GetfaclOptions o)
    {
        ctx.ForEach(o.Paths, path =>
        {
            VAttr va = ctx.Mount.Stat(path);
            var lines = new List<string>();
            if (!o.OmitHeader)
            {
                lines.Add($"# file: {path.TrimStart('/')}");
                lines.Add($"# owner: {va.Uid}");
                lines.Add($"# group: {va.Gid}");
                if ((va.Mode & (SetUid | SetGid | Sticky)) != 0)
                {
                    lines.Add("# flags: " + ((va.Mode & SetUid) != 0 ? 's' : '-') + ((va.Mode & SetGid) != 0 ? 's' : '-') + ((va.Mode & Sticky) != 0 ? 't' : '-'));
                }
            }
            if (!o.DefaultOnly)
            {
                lines.AddRange(AclText.Lines(Load(ctx, path, PosixAcl.AccessName) ?? PosixAcl.FromMode(va.Mode), ""));
            }
            if (!o.AccessOnly && va.Type == VType.Directory && Load(ctx, path, PosixAcl.DefaultName) is PosixAcl dflt)
            {
                // getfacl -d prints the default entries without their prefix.
                lines.AddRange(AclText.Lines(dflt, o.DefaultOnly ? "" : "default:"));
            }
            foreach (string line in lines)
            {
                ctx.Out.WriteLine(line);
            }
            ctx.Out.WriteLine();
        });
        return 0;
    }

    public static int Setfacl(CommandContext ctx, SetfaclOptions o)
    {
        ctx.ForEach(o.Paths, path =>
        {
            VAttr va = ctx.Mount.Stat(path);
            PosixAcl access = Load(ctx, path, PosixAcl.AccessName) ?? PosixAcl.FromMode(va.Mode);
            PosixAcl? dflt = va.Type == VType.Directory ? Load(ctx, path, PosixAcl.DefaultName) : null;
            PosixAcl? oldDefault = dflt;
            if (o.RemoveAll)
            {
                access = BaseEntries(access, masked: true);
                dflt = null;
            }
            if (o.RemoveDefault)
            {
                dflt = null;
            }
            List<AclSpecEntry> forAccess = [.. o.Entries.Where(e => !e.Default)];
            List<AclSpecEntry> forDefault = [.. o.Entries.Where(e => e.Default)];
            if (forDefault.Count > 0 && va.Type != VType.Directory)
            {
                // Removing default entries from a file has nothing to remove (setfacl -x is silent there).
                if (o.Remove is null)
                {
                    throw new UkfsException(Errno.EACCES, path, $"{path}: only directories can have default ACLs");
                }
                forDefault.Clear();
            }
            if (o.Set is not null)
            {
                access = forAccess.Count > 0 ? Build(path, forAccess, o.NoMask, "access") : access;
                dflt = forDefault.Count > 0 ? Build(path, forDefault, o.NoMask, "default") : dflt;
            }
            else if (o.Modify is not null)
            {
                access = forAccess.Count > 0 ? Modify(access, forAccess, o.NoMask) : access;
                // A new default ACL begins as the access ACL's user::, group:: and other::, as setfacl begins it.
                dflt = forDefault.Count > 0 ? Modify(dflt ?? BaseEntries(access, masked: false), forDefault, o.NoMask) : dflt;
            }
            else if (o.Remove is not null)
            {
                access = forAccess.Count > 0 ? Remove(path, access, forAccess, o.NoMask) : access;
                dflt = forDefault.Count > 0 && dflt is not null ? Remove(path, dflt, forDefault, o.NoMask) : dflt;
            }
            Store(ctx, path, PosixAcl.AccessName, access, "access");
            if (!ReferenceEquals(dflt, oldDefault))
            {
                Store(ctx, path, PosixAcl.DefaultName, dflt, "default");
            }
        });
        return 0;
    }

    private static PosixAcl? Load(CommandContext ctx, string path, string name)
    {
        byte[] value;
        try
        {
            value = ctx.Mount.GetXattr(path, name);
        }
        catch (UkfsException e) when (e.Errno is Errno.ENODATA or Errno.EOPNOTSUPP)
        {
            return null;
        }
        // A stored ACL that does not parse is an error, not "no ACL": getfacl would show the
        // mode's entries and setfacl would overwrite it unseen (the kernel answers EINVAL).
        if (PosixAcl.Parse(value, out PosixAcl? acl) != Errno.OK)
        {
            string which = name == PosixAcl.AccessName ? "access" : "default";
            throw new UkfsException(Errno.EINVAL, path, $"{path}: the stored {which} ACL is damaged (getfattr -d -m - shows its bytes)");
        }
        return acl;
    }

    private static void Store(CommandContext ctx, string path, string name, PosixAcl? acl, string which)
    {
        try
        {
            if (acl is null)
            {
                ctx.Mount.RemoveXattr(path, name);
                return;
            }
            byte[] value = acl.ToXattr();
            if (PosixAcl.Parse(value, out _) != Errno.OK)
            {
                throw new UkfsException(Errno.EINVAL, path, $"{path}: malformed {which} ACL '{string.Join(",", AclText.Lines(acl, ""))}'");
            }
            ctx.Mount.SetXattr(path, name, value);
        }
        catch (UkfsException e) when (e.Errno is Errno.ENODATA && acl is null)
        {
            // nothing to remove
        }
        catch (UkfsException e) when (e.Errno is Errno.EOPNOTSUPP or Errno.EPERM && e.Path == path)
        {
            throw new UkfsException(e.Errno, path, $"{path}: {(e.Errno == Errno.EOPNOTSUPP ? "this file system keeps no ACLs" : "only the owner or root changes an ACL")}");
        }
    }

    /// <summary>
    /// The user::, group:: and other:: entries of <paramref name="acl"/>; with
    /// <paramref name="masked"/> the group's rights narrowed by the mask, as setfacl -b keeps
    /// them (remove_extended_entries), so no right the mask withheld comes back.
    /// </summary>
    private static PosixAcl BaseEntries(PosixAcl acl, bool masked)
    {
        ushort mask = masked && acl.Find(AclTag.Mask) is AclEntry m ? m.Perm : (ushort)7;
        return new PosixAcl(acl.Entries
            .Where(e => e.Tag is AclTag.UserObj or AclTag.GroupObj or AclTag.Other)
            .Select(e => e.Tag == AclTag.GroupObj ? e with { Perm = (ushort)(e.Perm & mask) } : e));
    }

    /// <summary>With -n no mask is recomputed, but one a named entry needs is still added, as setfacl adds it.</summary>
    private static PosixAcl WithMaskIfNeeded(PosixAcl acl, bool noMask, List<AclSpecEntry> spec)
    {
        if (spec.Any(e => e.Tag == AclTag.Mask))
        {
            return acl;
        }
        bool needsMask = acl.Find(AclTag.Mask) is null && acl.Entries.Any(e => e.Tag is AclTag.User or AclTag.Group);
        return !noMask || needsMask ? acl.WithMaskRecomputed() : acl;
    }

    private static PosixAcl Build(string path, List<AclSpecEntry> spec, bool noMask, string which)
    {
        // The same entry named twice: the last one counts, as in setfacl.
        var entries = new List<AclEntry>();
        foreach (AclSpecEntry e in spec)
        {
            entries.RemoveAll(x => x.Tag == e.Tag && x.Id == e.Id);
            entries.Add(new AclEntry(e.Tag, e.Perm!.Value, e.Id));
        }
        var acl = new PosixAcl(entries);
        if (!spec.Any(e => e.Tag == AclTag.UserObj) || !spec.Any(e => e.Tag == AclTag.GroupObj) || !spec.Any(e => e.Tag == AclTag.Other))
        {
            throw new UkfsException(Errno.EINVAL, path, $"{path}: --set needs user::, group:: and other:: entries for the {which} ACL");
        }
        return WithMaskIfNeeded(acl, noMask, spec);
    }

    private static PosixAcl Modify(PosixAcl acl, List<AclSpecEntry> spec, bool noMask)
    {
        var entries = acl.Entries.ToList();
        foreach (AclSpecEntry e in spec)
        {
            entries.RemoveAll(x => x.Tag == e.Tag && x.Id == e.Id);
            entries.Add(new AclEntry(e.Tag, e.Perm!.Value, e.Id));
        }
        return WithMaskIfNeeded(new PosixAcl(entries), noMask, spec);
    }

    private static PosixAcl Remove(string path, PosixAcl acl, List<AclSpecEntry> spec, bool noMask)
    {
        if (spec.Any(e => e.Tag is AclTag.UserObj or AclTag.GroupObj or AclTag.Other))
        {
            throw new UkfsException(Errno.EINVAL, path, $"{path}: the user::, group:: and other:: entries cannot be removed");
        }
        return WithMaskIfNeeded(new PosixAcl(acl.Entries.Where(x => !spec.Any(e => e.Tag == x.Tag && e.Id == x.Id))), noMask, spec);
    }
}
