using System.Buffers.Binary;

namespace RumpFs.P2k.Protocol;

// The fixed argument records that follow fuse_in_header, one per request kind, as laid out
// in linux/fuse.h. Each names its field offsets and its size; names and data that follow a
// record are read by FuseRequest.

/// <summary>struct fuse_init_in (the 7.36 form; older kernels send the first 16 bytes).</summary>
internal readonly record struct FuseInitIn(uint Major, uint Minor, uint MaxReadahead, ulong Flags)
{
    public const int Size = 64;
    public const int CompatSize = 16;
    internal const int MajorOffset = 0, MinorOffset = 4, MaxReadaheadOffset = 8, FlagsOffset = 12, Flags2Offset = 16;

    public static FuseInitIn Read(ReadOnlySpan<byte> b)
    {
        ulong flags = BinaryPrimitives.ReadUInt32LittleEndian(b[FlagsOffset..]);
        if (b.Length >= Flags2Offset + 4 && (flags & FuseInitFlags.InitExt) != 0)
        {
            flags |= (ulong)BinaryPrimitives.ReadUInt32LittleEndian(b[Flags2Offset..]) << 32;
        }
        return new FuseInitIn(
            BinaryPrimitives.ReadUInt32LittleEndian(b[MajorOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[MinorOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[MaxReadaheadOffset..]),
            flags);
    }
}

/// <summary>struct fuse_forget_in.</summary>
internal readonly record struct FuseForgetIn(ulong NLookup)
{
    public const int Size = 8;
    public static FuseForgetIn Read(ReadOnlySpan<byte> b) => new(BinaryPrimitives.ReadUInt64LittleEndian(b));
}

/// <summary>struct fuse_batch_forget_in, followed by <see cref="Count"/> fuse_forget_one records.</summary>
internal readonly record struct FuseBatchForgetIn(uint Count)
{
    public const int Size = 8;
    public const int OneSize = 16;
    public static FuseBatchForgetIn Read(ReadOnlySpan<byte> b) => new(BinaryPrimitives.ReadUInt32LittleEndian(b));

    /// <summary>fuse_forget_one number <paramref name="i"/> of the records after the header.</summary>
    public static (ulong NodeId, ulong NLookup) ReadOne(ReadOnlySpan<byte> records, int i) => (
        BinaryPrimitives.ReadUInt64LittleEndian(records[(i * OneSize)..]),
        BinaryPrimitives.ReadUInt64LittleEndian(records[((i * OneSize) + 8)..]));
}

/// <summary>struct fuse_getattr_in.</summary>
internal readonly record struct FuseGetAttrIn(uint Flags, ulong Fh)
{
    public const int Size = 16;
    public const uint GetAttrFh = 1;
    internal const int FlagsOffset = 0, FhOffset = 8;
    public static FuseGetAttrIn Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(b[FlagsOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[FhOffset..]));
}

/// <summary>struct fuse_setattr_in.</summary>
internal readonly struct FuseSetAttrIn
{
    public const int Size = 88;
    internal const int ValidOffset = 0, FhOffset = 8, SizeOffset = 16, LockOwnerOffset = 24, AtimeOffset = 32,
        MtimeOffset = 40, CtimeOffset = 48, AtimeNsecOffset = 56, MtimeNsecOffset = 60, CtimeNsecOffset = 64,
        ModeOffset = 68, UidOffset = 76, GidOffset = 80;

    // FATTR_* bits of Valid.
    public const uint Mode = 1 << 0, Uid = 1 << 1, Gid = 1 << 2, SizeBit = 1 << 3, Atime = 1 << 4, Mtime = 1 << 5,
        Fh = 1 << 6, AtimeNow = 1 << 7, MtimeNow = 1 << 8, LockOwner = 1 << 9, Ctime = 1 << 10, KillSuidGid = 1 << 11;

    public uint Valid { get; init; }
    public ulong FileHandle { get; init; }
    public ulong NewSize { get; init; }
    public long AtimeSec { get; init; }
    public long MtimeSec { get; init; }
    public long CtimeSec { get; init; }
    public uint AtimeNsec { get; init; }
    public uint MtimeNsec { get; init; }
    public uint CtimeNsec { get; init; }
    public uint NewMode { get; init; }
    public uint NewUid { get; init; }
    public uint NewGid { get; init; }

    public static FuseSetAttrIn Read(ReadOnlySpan<byte> b) => new()
    {
        Valid = BinaryPrimitives.ReadUInt32LittleEndian(b[ValidOffset..]),
        FileHandle = BinaryPrimitives.ReadUInt64LittleEndian(b[FhOffset..]),
        NewSize = BinaryPrimitives.ReadUInt64LittleEndian(b[SizeOffset..]),
        AtimeSec = BinaryPrimitives.ReadInt64LittleEndian(b[AtimeOffset..]),
        MtimeSec = BinaryPrimitives.ReadInt64LittleEndian(b[MtimeOffset..]),
        CtimeSec = BinaryPrimitives.ReadInt64LittleEndian(b[CtimeOffset..]),
        AtimeNsec = BinaryPrimitives.ReadUInt32LittleEndian(b[AtimeNsecOffset..]),
        MtimeNsec = BinaryPrimitives.ReadUInt32LittleEndian(b[MtimeNsecOffset..]),
        CtimeNsec = BinaryPrimitives.ReadUInt32LittleEndian(b[CtimeNsecOffset..]),
        NewMode = BinaryPrimitives.ReadUInt32LittleEndian(b[ModeOffset..]),
        NewUid = BinaryPrimitives.ReadUInt32LittleEndian(b[UidOffset..]),
        NewGid = BinaryPrimitives.ReadUInt32LittleEndian(b[GidOffset..]),
    };
}

/// <summary>struct fuse_mknod_in (mode, rdev, umask, padding).</summary>
internal readonly record struct FuseMknodIn(uint Mode, uint Rdev, uint Umask)
{
    public const int Size = 16;
    internal const int ModeOffset = 0, RdevOffset = 4, UmaskOffset = 8;
    public static FuseMknodIn Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(b[ModeOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[RdevOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[UmaskOffset..]));
}

/// <summary>struct fuse_mkdir_in (mode, umask).</summary>
internal readonly record struct FuseMkdirIn(uint Mode, uint Umask)
{
    public const int Size = 8;
    internal const int ModeOffset = 0, UmaskOffset = 4;
    public static FuseMkdirIn Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(b[ModeOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[UmaskOffset..]));
}

/// <summary>struct fuse_rename_in (RENAME) and fuse_rename2_in (RENAME2: newdir, flags, padding).</summary>
internal readonly record struct FuseRenameIn(ulong NewDir, uint Flags)
{
    public const int Size = 8;
    public const int Size2 = 16;
    internal const int NewDirOffset = 0, FlagsOffset = 8;
    public static FuseRenameIn Read(ReadOnlySpan<byte> b, bool rename2) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(b[NewDirOffset..]),
        rename2 ? BinaryPrimitives.ReadUInt32LittleEndian(b[FlagsOffset..]) : 0);
}

/// <summary>struct fuse_link_in.</summary>
internal readonly record struct FuseLinkIn(ulong OldNodeId)
{
    public const int Size = 8;
    public static FuseLinkIn Read(ReadOnlySpan<byte> b) => new(BinaryPrimitives.ReadUInt64LittleEndian(b));
}

/// <summary>struct fuse_open_in (OPEN, OPENDIR: flags, open_flags) and fuse_create_in (CREATE: flags, mode, umask, open_flags).</summary>
internal readonly record struct FuseOpenIn(uint Flags, uint Mode, uint Umask)
{
    public const int Size = 8;
    public const int CreateSize = 16;
    internal const int FlagsOffset = 0, ModeOffset = 4, UmaskOffset = 8, OpenFlagsOffset = 4, CreateOpenFlagsOffset = 12;

    /// <summary>FUSE_OPEN_KILL_SUIDGID: an O_TRUNC open by a caller without CAP_FSETID.</summary>
    public const uint KillSuidGid = 1 << 0;

    /// <summary>FUSE_OPEN_* bits (open_flags).</summary>
    public uint OpenFlags { get; init; }

    public static FuseOpenIn Read(ReadOnlySpan<byte> b) => new(BinaryPrimitives.ReadUInt32LittleEndian(b[FlagsOffset..]), 0, 0)
    {
        OpenFlags = BinaryPrimitives.ReadUInt32LittleEndian(b[OpenFlagsOffset..]),
    };

    public static FuseOpenIn ReadCreate(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(b[FlagsOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[ModeOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[UmaskOffset..]))
    {
        OpenFlags = BinaryPrimitives.ReadUInt32LittleEndian(b[CreateOpenFlagsOffset..]),
    };
}

/// <summary>struct fuse_release_in (RELEASE, RELEASEDIR) and the leading fh of fuse_flush_in.</summary>
internal readonly record struct FuseReleaseIn(ulong Fh, uint Flags)
{
    public const int Size = 24;
    internal const int FhOffset = 0, FlagsOffset = 8;
    public static FuseReleaseIn Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(b[FhOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[FlagsOffset..]));
}

/// <summary>struct fuse_read_in (READ, READDIR, READDIRPLUS) and fuse_write_in (WRITE): same layout.</summary>
internal readonly record struct FuseIoIn(ulong Fh, ulong Offset, uint Size, uint IoFlags, uint OpenFlags)
{
    /// <summary>FUSE_WRITE_KILL_SUIDGID in write_flags: the writer lacks CAP_FSETID.</summary>
    /// <summary>FUSE_WRITE_CACHE: a write-back of cached pages (writeback cache on), not a write(2) of the caller's.</summary>
    public const uint WriteCache = 1 << 0;

    public const uint WriteKillSuidGid = 1 << 2;

    public const int RecordSize = 40;
    internal const int FhOffset = 0, OffsetOffset = 8, SizeOffset = 16, IoFlagsOffset = 20, LockOwnerOffset = 24,
        OpenFlagsOffset = 32;
    public static FuseIoIn Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(b[FhOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[OffsetOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[SizeOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[IoFlagsOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[OpenFlagsOffset..]));
}

/// <summary>struct fuse_fsync_in (FSYNC, FSYNCDIR).</summary>
internal readonly record struct FuseFsyncIn(ulong Fh, uint FsyncFlags)
{
    public const int Size = 16;
    public const uint DataSync = 1;
    internal const int FhOffset = 0, FlagsOffset = 8;
    public static FuseFsyncIn Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(b[FhOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[FlagsOffset..]));
}

/// <summary>struct fuse_setxattr_in (8 bytes unless FUSE_SETXATTR_EXT was negotiated) and fuse_getxattr_in.</summary>
internal readonly record struct FuseXattrIn(uint Size, uint Flags)
{
    public const int CompatSize = 8;
    internal const int SizeOffset = 0, FlagsOffset = 4;
    public static FuseXattrIn Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(b[SizeOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[FlagsOffset..]));
}

/// <summary>struct fuse_access_in.</summary>
internal readonly record struct FuseAccessIn(uint Mask)
{
    public const int Size = 8;
    public static FuseAccessIn Read(ReadOnlySpan<byte> b) => new(BinaryPrimitives.ReadUInt32LittleEndian(b));
}

/// <summary>struct fuse_interrupt_in.</summary>
internal readonly record struct FuseInterruptIn(ulong Unique)
{
    public const int Size = 8;
    public static FuseInterruptIn Read(ReadOnlySpan<byte> b) => new(BinaryPrimitives.ReadUInt64LittleEndian(b));
}

/// <summary>struct fuse_fallocate_in.</summary>
internal readonly record struct FuseFallocateIn(ulong Fh, ulong Offset, ulong Length, uint Mode)
{
    public const int Size = 32;
    internal const int FhOffset = 0, OffsetOffset = 8, LengthOffset = 16, ModeOffset = 24;
    public static FuseFallocateIn Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(b[FhOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[OffsetOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[LengthOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[ModeOffset..]));
}

/// <summary>struct fuse_lseek_in.</summary>
internal readonly record struct FuseLseekIn(ulong Fh, ulong Offset, uint Whence)
{
    public const int Size = 24;
    internal const int FhOffset = 0, OffsetOffset = 8, WhenceOffset = 16;
    public static FuseLseekIn Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(b[FhOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[OffsetOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[WhenceOffset..]));
}

/// <summary>struct fuse_ioctl_in; the ioctl's input (in_size bytes) follows it.</summary>
internal readonly record struct FuseIoctlIn(ulong Fh, uint Flags, uint Cmd, ulong Arg, uint InSize, uint OutSize)
{
    public const int Size = 32;
    internal const int FhOffset = 0, FlagsOffset = 8, CmdOffset = 12, ArgOffset = 16, InSizeOffset = 24, OutSizeOffset = 28;
    public static FuseIoctlIn Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(b[FhOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[FlagsOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[CmdOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[ArgOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[InSizeOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[OutSizeOffset..]));
}
