using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// lsattr/chattr on FFS: the BSD flags in Linux's generic form. Immutable is SF_IMMUTABLE
/// or UF_IMMUTABLE (schg, uchg), append-only SF_APPEND or UF_APPEND (sappnd, uappnd), no-dump
/// UF_NODUMP. chattr +i and +a set the system forms, which Linux's root-only rule matches;
/// a flag left as it was keeps the form it had; every other BSD flag (arch, opaque,
/// snapshot...) stays as it is. Linux flags with no BSD counterpart give EOPNOTSUPP.
/// </summary>
internal sealed partial class FfsNode
{
    private const FileFlags Stored = FileFlags.Immutable | FileFlags.AppendOnly | FileFlags.NoDump;

    public override Errno GetFileFlags(out FileFlags flags)
    {
        uint f = Din.Flags;
        flags = ((f & FfsFlags.Immutable) != 0 ? FileFlags.Immutable : FileFlags.None)
            | ((f & FfsFlags.Append) != 0 ? FileFlags.AppendOnly : FileFlags.None)
            | ((f & FfsFlags.UfNodump) != 0 ? FileFlags.NoDump : FileFlags.None);
        return Errno.OK;
    }

    public override Errno SetFileFlags(FileFlags flags)
    {
        if ((flags & ~Stored) != 0)
        {
            return Errno.EOPNOTSUPP;
        }
        GetFileFlags(out FileFlags old);
        uint f = Din.Flags;
        f = Toggle(f, old, flags, FileFlags.Immutable, FfsFlags.Immutable, FfsFlags.SfImmutable);
        f = Toggle(f, old, flags, FileFlags.AppendOnly, FfsFlags.Append, FfsFlags.SfAppend);
        f = Toggle(f, old, flags, FileFlags.NoDump, FfsFlags.UfNodump, FfsFlags.UfNodump);
        Din.Flags = f;
        Din.Ctime = Mount.Clock.Now;
        MarkDirty();
        SyncIfRequested();
        return Errno.OK;
    }

    /// <summary>The BSD bits for one Linux flag: untouched when unchanged, else all cleared or <paramref name="setAs"/> set.</summary>
    private static uint Toggle(uint bsd, FileFlags old, FileFlags requested, FileFlags flag, uint allForms, uint setAs)
    {
        bool was = (old & flag) != 0;
        bool wanted = (requested & flag) != 0;
        if (was == wanted)
        {
            return bsd;
        }
        return wanted ? bsd | setAs : bsd & ~allForms;
    }
}

/// <summary>The BSD file flags (di_flags) that have a Linux counterpart.</summary>
internal static class FfsFlags
{
    public const uint UfNodump = 0x00000001;
    public const uint SfImmutable = 0x00020000;
    public const uint SfAppend = 0x00040000;
    public const uint Immutable = 0x00000002 | SfImmutable; // UF_IMMUTABLE | SF_IMMUTABLE
    public const uint Append = 0x00000004 | SfAppend;       // UF_APPEND | SF_APPEND

    /// <summary>What the flags forbid, for the VFS, which applies the rules.</summary>
    public static NodeProtection Protection(uint flags) =>
        ((flags & Immutable) != 0 ? NodeProtection.Immutable : NodeProtection.None)
        | ((flags & Append) != 0 ? NodeProtection.AppendOnly : NodeProtection.None);
}
