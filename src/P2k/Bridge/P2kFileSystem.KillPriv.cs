using RumpFs.Kernel;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>
/// setuid/setgid removal the kernel delegates with FUSE_HANDLE_KILLPRIV_V2: a WRITE, a
/// SETATTR (truncate, chown) or an O_TRUNC OPEN carries a kill flag, and the bridge applies
/// Linux's rule (should_remove_suid): setuid goes, setgid goes only when the file is
/// group-executable (otherwise it marks mandatory locking, not privilege).
/// </summary>
internal sealed partial class P2kFileSystem
{
    private const uint S_ISUID = 0x800, S_ISGID = 0x400, S_IXGRP = 0x8;

    /// <summary>The mode with the privilege bits the rule removes cleared.</summary>
    internal static uint KilledMode(uint mode)
    {
        uint m = mode & ~S_ISUID;
        if ((mode & S_IXGRP) != 0)
        {
            m &= ~S_ISGID;
        }
        return m;
    }

    /// <summary>
    /// Drop the bits from a regular file. The operation that asked for it has already passed
    /// its own permission check; the mode change is the kernel's consequence of it, not a
    /// chmod by the caller, so it runs with full rights (the kernel's ATTR_FORCE).
    /// </summary>
    private static Errno KillSuidGid(Vnode vp)
    {
        Errno e = Vop.GetAttr(vp, out VAttr va);
        if (e != Errno.OK || va.Type != VType.Regular)
        {
            return e;
        }
        uint mode = va.Mode & 0xFFF;
        uint killed = KilledMode(mode);
        if (killed == mode)
        {
            return Errno.OK;
        }
        var set = VAttr.ForSet(VAttrMask.Mode);
        set.Mode = killed;
        return Vop.SetAttr(vp, set, Credentials.Root);
    }
}
