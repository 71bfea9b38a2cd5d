using System.Buffers.Binary;

namespace RumpFs.P2k.Protocol;

/// <summary>struct fuse_attr: a file's attributes as the kernel caches them (88 bytes).</summary>
internal struct FuseAttr
{
    public const int Size = 88;
    internal const int InoOffset = 0, SizeOffset = 8, BlocksOffset = 16, AtimeOffset = 24, MtimeOffset = 32,
        CtimeOffset = 40, AtimeNsecOffset = 48, MtimeNsecOffset = 52, CtimeNsecOffset = 56, ModeOffset = 60,
        NlinkOffset = 64, UidOffset = 68, GidOffset = 72, RdevOffset = 76, BlkSizeOffset = 80, FlagsOffset = 84;

    public ulong Ino;
    public ulong FileSize;

    /// <summary>512-byte blocks allocated (st_blocks).</summary>
    public ulong Blocks;
    public long Atime, Mtime, Ctime;
    public uint AtimeNsec, MtimeNsec, CtimeNsec;

    /// <summary>st_mode: type and permission bits.</summary>
    public uint Mode;
    public uint Nlink, Uid, Gid, Rdev, BlkSize;

    public readonly void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(b[InoOffset..], Ino);
        BinaryPrimitives.WriteUInt64LittleEndian(b[SizeOffset..], FileSize);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BlocksOffset..], Blocks);
        BinaryPrimitives.WriteInt64LittleEndian(b[AtimeOffset..], Atime);
        BinaryPrimitives.WriteInt64LittleEndian(b[MtimeOffset..], Mtime);
        BinaryPrimitives.WriteInt64LittleEndian(b[CtimeOffset..], Ctime);
        BinaryPrimitives.WriteUInt32LittleEndian(b[AtimeNsecOffset..], AtimeNsec);
        BinaryPrimitives.WriteUInt32LittleEndian(b[MtimeNsecOffset..], MtimeNsec);
        BinaryPrimitives.WriteUInt32LittleEndian(b[CtimeNsecOffset..], CtimeNsec);
        BinaryPrimitives.WriteUInt32LittleEndian(b[ModeOffset..], Mode);
        BinaryPrimitives.WriteUInt32LittleEndian(b[NlinkOffset..], Nlink);
        BinaryPrimitives.WriteUInt32LittleEndian(b[UidOffset..], Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[GidOffset..], Gid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[RdevOffset..], Rdev);
        BinaryPrimitives.WriteUInt32LittleEndian(b[BlkSizeOffset..], BlkSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[FlagsOffset..], 0);
    }

    public static FuseAttr Read(ReadOnlySpan<byte> b) => new()
    {
        Ino = BinaryPrimitives.ReadUInt64LittleEndian(b[InoOffset..]),
        FileSize = BinaryPrimitives.ReadUInt64LittleEndian(b[SizeOffset..]),
        Blocks = BinaryPrimitives.ReadUInt64LittleEndian(b[BlocksOffset..]),
        Mode = BinaryPrimitives.ReadUInt32LittleEndian(b[ModeOffset..]),
        Nlink = BinaryPrimitives.ReadUInt32LittleEndian(b[NlinkOffset..]),
        Uid = BinaryPrimitives.ReadUInt32LittleEndian(b[UidOffset..]),
        Gid = BinaryPrimitives.ReadUInt32LittleEndian(b[GidOffset..]),
    };
}

/// <summary>A cache lifetime as the protocol carries it: seconds plus nanoseconds.</summary>
internal readonly record struct FuseTimeout(ulong Seconds, uint Nanoseconds)
{
    public static FuseTimeout FromSeconds(double seconds)
    {
        if (seconds <= 0)
        {
            return default;
        }
        ulong whole = (ulong)Math.Floor(seconds);
        return new FuseTimeout(whole, (uint)Math.Round((seconds - whole) * 1e9));
    }
}
