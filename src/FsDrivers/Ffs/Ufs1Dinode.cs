using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>struct ufs1_dinode (128 bytes): field offsets, decode and encode.</summary>
internal static class Ufs1Dinode
{
    public const int Mode = 0;
    public const int Nlink = 2;
    public const int OldIds = 4;
    public const int SizeField = 8;
    public const int Atime = 16;
    public const int AtimeNsec = 20;
    public const int Mtime = 24;
    public const int MtimeNsec = 28;
    public const int Ctime = 32;
    public const int CtimeNsec = 36;
    public const int Db = 40;
    public const int Ib = 88;
    public const int Flags = 100;
    public const int Blocks = 104;
    public const int Gen = 108;
    public const int Uid = 112;
    public const int Gid = 116;
    public const int ModRev = 120;
    public const int Size = 128;

    /// <summary>Bytes of the pointer area, which holds a fast symlink's target.</summary>
    public const int PointerArea = Ib + (4 * FfsSuperblock.NIAddr) - Db;

    public static void Decode(ReadOnlySpan<byte> b, FfsByteOrder o, FfsDinode d, int maxSymlinkLen)
    {
        d.Mode = o.U16(b, Mode);
        d.Nlink = o.I16(b, Nlink);
        d.Size = o.I64(b, SizeField);
        d.Atime = new Timespec(o.I32(b, Atime), o.I32(b, AtimeNsec));
        d.Mtime = new Timespec(o.I32(b, Mtime), o.I32(b, MtimeNsec));
        d.Ctime = new Timespec(o.I32(b, Ctime), o.I32(b, CtimeNsec));
        d.Birthtime = default;
        d.Flags = o.U32(b, Flags);
        d.Blocks = o.I32(b, Blocks); // int32_t di_blocks: negative when damaged
        d.Gen = o.I32(b, Gen);
        d.Uid = o.U32(b, Uid);
        d.Gid = o.U32(b, Gid);
        d.ExtSize = 0;
        Array.Clear(d.ExtB);
        for (int i = 0; i < FfsSuperblock.NDAddr; i++)
        {
            d.Db[i] = o.I32(b, Db + (4 * i));
        }
        for (int i = 0; i < FfsSuperblock.NIAddr; i++)
        {
            d.Ib[i] = o.I32(b, Ib + (4 * i));
        }
        d.FastLink = IsFastLink(d, maxSymlinkLen) ? b.Slice(Db, (int)d.Size).ToArray() : null;
    }

    public static void Encode(FfsDinode d, Span<byte> b, FfsByteOrder o)
    {
        o.WU16(b, Mode, d.Mode);
        o.W16(b, Nlink, d.Nlink);
        o.W32(b, OldIds, 0);
        o.W64(b, SizeField, d.Size);
        o.W32(b, Atime, (int)d.Atime.Seconds);
        o.W32(b, AtimeNsec, d.Atime.Nanoseconds);
        o.W32(b, Mtime, (int)d.Mtime.Seconds);
        o.W32(b, MtimeNsec, d.Mtime.Nanoseconds);
        o.W32(b, Ctime, (int)d.Ctime.Seconds);
        o.W32(b, CtimeNsec, d.Ctime.Nanoseconds);
        if (d.FastLink is not null)
        {
            b.Slice(Db, PointerArea).Clear();
            d.FastLink.CopyTo(b[Db..]);
        }
        else
        {
            for (int i = 0; i < FfsSuperblock.NDAddr; i++)
            {
                o.W32(b, Db + (4 * i), (int)d.Db[i]);
            }
            for (int i = 0; i < FfsSuperblock.NIAddr; i++)
            {
                o.W32(b, Ib + (4 * i), (int)d.Ib[i]);
            }
        }
        o.WU32(b, Flags, d.Flags);
        o.WU32(b, Blocks, (uint)d.Blocks);
        o.W32(b, Gen, d.Gen);
        o.WU32(b, Uid, d.Uid);
        o.WU32(b, Gid, d.Gid);
    }

    /// <summary>A symlink whose target lives in the inode (ufs_readlink's test).</summary>
    internal static bool IsFastLink(FfsDinode d, int maxSymlinkLen) =>
        d.Type == 0xA000 && d.Size < maxSymlinkLen && d.Size >= 0 && d.Blocks == 0;
}
