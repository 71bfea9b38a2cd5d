using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>
/// The FS_XFLAG_* form of the file flags (struct fsxattr, FS_IOC_FSGETXATTR), as Linux's
/// fileattr_fill_flags and fileattr_fill_xflags pair them.
/// </summary>
internal static class XflagConvert
{
    private static readonly (FileFlags Flag, uint Xflag)[] Pairs =
    [
        (FileFlags.Immutable, 0x00000008),
        (FileFlags.AppendOnly, 0x00000010),
        (FileFlags.Sync, 0x00000020),
        (FileFlags.NoAtime, 0x00000040),
        (FileFlags.NoDump, 0x00000080),
        (FileFlags.ProjectInherit, 0x00000200),
        (FileFlags.Dax, 0x00008000),
    ];

    /// <summary>The flags an xflags word can say something about.</summary>
    public static FileFlags Expressible { get; } = Pairs.Aggregate(FileFlags.None, (all, p) => all | p.Flag);

    public static uint FromFileFlags(FileFlags flags) =>
        Pairs.Aggregate(0u, (x, p) => (flags & p.Flag) != 0 ? x | p.Xflag : x);

    /// <summary>False when <paramref name="xflags"/> holds a flag with no counterpart (realtime, extent size...).</summary>
    public static bool TryToFileFlags(uint xflags, out FileFlags flags)
    {
        flags = Pairs.Aggregate(FileFlags.None, (f, p) => (xflags & p.Xflag) != 0 ? f | p.Flag : f);
        return (xflags & ~FromFileFlags(Expressible)) == 0;
    }
}
