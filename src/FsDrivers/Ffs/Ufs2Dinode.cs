using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>struct ufs2_dinode (256 bytes): field offsets, decode and encode.</summary>
internal static class Ufs2Dinode
{
    public const int Mode = 0;
    public const int Nlink = 2;
    public const int Uid = 4;
    public const int Gid = 8;
    public const int BlkSize = 12;
    public const int SizeField = 16;
    public const int Blocks = 24;
    public const int Atime = 32;
    public const int Mtime = 40;
    public const int Ctime = 48;
    public const int Birthtime = 56;
    public const int MtimeNsec = 64;
    public const int AtimeNsec = 68;
    public const int CtimeNsec = 72;
    public const int BirthNsec = 76;
    public const int Gen = 80;
    public const int KernFlags = 84;
    public const int Flags = 88;
    public const int ExtSize = 92;
    public const int ExtB = 96;
    public const int Db = 112;
    public const int Ib = 208;
    public const int ModRev = 232;
    public const int Spare = 240;
    public const int Size = 256;

    public const int PointerArea = Ib + (8 * FfsSuperblock.NIAddr) - Db;

    public static void Decode(ReadOnlySpan<byte> b, FfsByteOrder o, FfsDinode d, int maxSymlinkLen)
    {
        d.Mode = o.U16(b, Mode);
        d.Nlink = o.I16(b, Nlink);
        d.Uid = o.U32(b, Uid);
        d.Gid = o.U32(b, Gid);
        d.Size = o.I64(b, SizeField);
        d.Blocks = o.I64(b, Blocks);
        d.Atime = new Timespec(o.I64(b, Atime), o.I32(b, AtimeNsec));
        d.Mtime = new Timespec(o.I64(b, Mtime), o.I32(b, MtimeNsec));
        d.Ctime = new Timespec(o.I64(b, Ctime), o.I32(b, CtimeNsec));
        d.Birthtime = new Timespec(o.I64(b, Birthtime), o.I32(b, BirthNsec));
        d.Gen = o.I32(b, Gen);
        d.Flags = o.U32(b, Flags);
        d.ExtSize = o.I32(b, ExtSize);
        for (int i = 0; i < FfsSuperblock.NXAddr; i++)
        {
            d.ExtB[i] = o.I64(b, ExtB + (8 * i));
        }
        for (int i = 0; i < FfsSuperblock.NDAddr; i++)
        {
            d.Db[i] = o.I64(b, Db + (8 * i));
        }
        for (int i = 0; i < FfsSuperblock.NIAddr; i++)
        {
            d.Ib[i] = o.I64(b, Ib + (8 * i));
        }
        d.FastLink = Ufs1Dinode.IsFastLink(d, maxSymlinkLen) ? b.Slice(Db, (int)d.Size).ToArray() : null;
    }

    public static void Encode(FfsDinode d, Span<byte> b, FfsByteOrder o)
    {
        o.WU16(b, Mode, d.Mode);
        o.W16(b, Nlink, d.Nlink);
        o.WU32(b, Uid, d.Uid);
        o.WU32(b, Gid, d.Gid);
        o.W64(b, SizeField, d.Size);
        o.W64(b, Blocks, d.Blocks);
        o.W64(b, Atime, d.Atime.Seconds);
        o.W32(b, AtimeNsec, d.Atime.Nanoseconds);
        o.W64(b, Mtime, d.Mtime.Seconds);
        o.W32(b, MtimeNsec, d.Mtime.Nanoseconds);
        o.W64(b, Ctime, d.Ctime.Seconds);
        o.W32(b, CtimeNsec, d.Ctime.Nanoseconds);
        o.W64(b, Birthtime, d.Birthtime.Seconds);
        o.W32(b, BirthNsec, d.Birthtime.Nanoseconds);
        o.W32(b, Gen, d.Gen);
        o.WU32(b, Flags, d.Flags);
        o.W32(b, ExtSize, d.ExtSize);
        for (int i = 0; i < FfsSuperblock.NXAddr; i++)
        {
            o.W64(b, ExtB + (8 * i), d.ExtB[i]);
        }
        if (d.FastLink is not null)
        {
            b.Slice(Db, PointerArea).Clear();
            d.FastLink.CopyTo(b[Db..]);
        }
        else
        {
            for (int i = 0; i < FfsSuperblock.NDAddr; i++)
            {
                o.W64(b, Db + (8 * i), d.Db[i]);
            }
            for (int i = 0; i < FfsSuperblock.NIAddr; i++)
            {
                o.W64(b, Ib + (8 * i), d.Ib[i]);
            }
        }
    }
}
