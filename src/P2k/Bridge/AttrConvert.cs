using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>VFS attributes in the kernel's wire form.</summary>
internal static class AttrConvert
{
    public static FuseAttr ToFuse(in VAttr va) => new()
    {
        Ino = va.Ino,
        FileSize = (ulong)Math.Max(0, va.Size),
        Blocks = (ulong)((Math.Max(0, va.BytesUsed) + 511) / 512),
        Atime = va.Atime.Seconds,
        AtimeNsec = (uint)va.Atime.Nanoseconds,
        Mtime = va.Mtime.Seconds,
        MtimeNsec = (uint)va.Mtime.Nanoseconds,
        Ctime = va.Ctime.Seconds,
        CtimeNsec = (uint)va.Ctime.Nanoseconds,
        Mode = va.StMode,
        Nlink = va.Nlink,
        Uid = va.Uid,
        Gid = va.Gid,
        Rdev = (uint)va.Rdev,
        BlkSize = va.BlockSize > 0 ? (uint)va.BlockSize : 4096,
    };
}
