using System.Buffers.Binary;

namespace RumpFs.P2k.Protocol;

// Reply records written after fuse_out_header, as laid out in linux/fuse.h. Each writer
// fills exactly Size bytes.

/// <summary>struct fuse_entry_out (LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE, READDIRPLUS).</summary>
internal static class FuseEntryOut
{
    public const int Size = 40 + FuseAttr.Size;
    internal const int NodeIdOffset = 0, GenerationOffset = 8, EntryValidOffset = 16, AttrValidOffset = 24,
        EntryValidNsecOffset = 32, AttrValidNsecOffset = 36, AttrOffset = 40;

    public static void Write(Span<byte> b, ulong nodeId, ulong generation, FuseTimeout entryValid, FuseTimeout attrValid, in FuseAttr attr)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(b[NodeIdOffset..], nodeId);
        BinaryPrimitives.WriteUInt64LittleEndian(b[GenerationOffset..], generation);
        BinaryPrimitives.WriteUInt64LittleEndian(b[EntryValidOffset..], entryValid.Seconds);
        BinaryPrimitives.WriteUInt64LittleEndian(b[AttrValidOffset..], attrValid.Seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(b[EntryValidNsecOffset..], entryValid.Nanoseconds);
        BinaryPrimitives.WriteUInt32LittleEndian(b[AttrValidNsecOffset..], attrValid.Nanoseconds);
        attr.Write(b[AttrOffset..]);
    }
}

/// <summary>struct fuse_attr_out (GETATTR, SETATTR).</summary>
internal static class FuseAttrOut
{
    public const int Size = 16 + FuseAttr.Size;
    internal const int AttrValidOffset = 0, AttrValidNsecOffset = 8, DummyOffset = 12, AttrOffset = 16;

    public static void Write(Span<byte> b, FuseTimeout attrValid, in FuseAttr attr)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(b[AttrValidOffset..], attrValid.Seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(b[AttrValidNsecOffset..], attrValid.Nanoseconds);
        BinaryPrimitives.WriteUInt32LittleEndian(b[DummyOffset..], 0);
        attr.Write(b[AttrOffset..]);
    }
}

/// <summary>struct fuse_open_out (OPEN, OPENDIR, and after the entry in CREATE).</summary>
internal static class FuseOpenOut
{
    public const int Size = 16;
    internal const int FhOffset = 0, OpenFlagsOffset = 8, BackingIdOffset = 12;

    // FOPEN_* flags.
    public const uint DirectIo = 1 << 0, KeepCache = 1 << 1, NonSeekable = 1 << 2, CacheDir = 1 << 3;

    public static void Write(Span<byte> b, ulong fh, uint openFlags)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(b[FhOffset..], fh);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OpenFlagsOffset..], openFlags);
        BinaryPrimitives.WriteInt32LittleEndian(b[BackingIdOffset..], 0);
    }
}

/// <summary>struct fuse_write_out, and the same shape for fuse_getxattr_out (size, padding).</summary>
internal static class FuseSizeOut
{
    public const int Size = 8;

    public static void Write(Span<byte> b, uint size)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b, size);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], 0);
    }
}

/// <summary>struct fuse_lseek_out.</summary>
/// <summary>struct fuse_ioctl_out (result, flags, in_iovs, out_iovs); the ioctl's output follows it.</summary>
internal static class FuseIoctlOut
{
    public const int Size = 16;

    /// <summary>A finished ioctl returning <paramref name="result"/>: no retry, no iovecs.</summary>
    public static void Write(Span<byte> b, int result)
    {
        BinaryPrimitives.WriteInt32LittleEndian(b, result);
        b[4..Size].Clear();
    }
}

internal static class FuseLseekOut
{
    public const int Size = 8;
    public static void Write(Span<byte> b, long offset) => BinaryPrimitives.WriteInt64LittleEndian(b, offset);
}

/// <summary>struct fuse_statfs_out (a struct fuse_kstatfs).</summary>
internal static class FuseStatfsOut
{
    public const int Size = 80;
    internal const int BlocksOffset = 0, BfreeOffset = 8, BavailOffset = 16, FilesOffset = 24, FfreeOffset = 32,
        BsizeOffset = 40, NamelenOffset = 44, FrsizeOffset = 48, PaddingOffset = 52, SpareOffset = 56;

    public static void Write(Span<byte> b, ulong blocks, ulong bfree, ulong bavail, ulong files, ulong ffree,
        uint bsize, uint namelen, uint frsize)
    {
        b[..Size].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(b[BlocksOffset..], blocks);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BfreeOffset..], bfree);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BavailOffset..], bavail);
        BinaryPrimitives.WriteUInt64LittleEndian(b[FilesOffset..], files);
        BinaryPrimitives.WriteUInt64LittleEndian(b[FfreeOffset..], ffree);
        BinaryPrimitives.WriteUInt32LittleEndian(b[BsizeOffset..], bsize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[NamelenOffset..], namelen);
        BinaryPrimitives.WriteUInt32LittleEndian(b[FrsizeOffset..], frsize);
    }
}

/// <summary>struct fuse_init_out.</summary>
internal static class FuseInitOut
{
    public const int Size = 64;
    internal const int MajorOffset = 0, MinorOffset = 4, MaxReadaheadOffset = 8, FlagsOffset = 12,
        MaxBackgroundOffset = 16, CongestionThresholdOffset = 18, MaxWriteOffset = 20, TimeGranOffset = 24,
        MaxPagesOffset = 28, MapAlignmentOffset = 30, Flags2Offset = 32, MaxStackDepthOffset = 36,
        RequestTimeoutOffset = 40, UnusedOffset = 42;

    public static void Write(Span<byte> b, uint major, uint minor, uint maxReadahead, ulong flags,
        ushort maxBackground, ushort congestionThreshold, uint maxWrite, uint timeGran, ushort maxPages)
    {
        b[..Size].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b[MajorOffset..], major);
        BinaryPrimitives.WriteUInt32LittleEndian(b[MinorOffset..], minor);
        BinaryPrimitives.WriteUInt32LittleEndian(b[MaxReadaheadOffset..], maxReadahead);
        BinaryPrimitives.WriteUInt32LittleEndian(b[FlagsOffset..], (uint)flags);
        BinaryPrimitives.WriteUInt16LittleEndian(b[MaxBackgroundOffset..], maxBackground);
        BinaryPrimitives.WriteUInt16LittleEndian(b[CongestionThresholdOffset..], congestionThreshold);
        BinaryPrimitives.WriteUInt32LittleEndian(b[MaxWriteOffset..], maxWrite);
        BinaryPrimitives.WriteUInt32LittleEndian(b[TimeGranOffset..], timeGran);
        BinaryPrimitives.WriteUInt16LittleEndian(b[MaxPagesOffset..], maxPages);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Flags2Offset..], (uint)(flags >> 32));
    }
}

/// <summary>
/// struct fuse_dirent (READDIR) and fuse_direntplus (READDIRPLUS: a fuse_entry_out, then
/// the dirent). Records are padded to 8 bytes.
/// </summary>
internal static class FuseDirent
{
    public const int NameOffset = 24;
    internal const int InoOffset = 0, OffOffset = 8, NameLenOffset = 16, TypeOffset = 20;

    /// <summary>Bytes one dirent with a name of <paramref name="nameLength"/> bytes takes.</summary>
    public static int RecordSize(int nameLength) => Align8(NameOffset + nameLength);

    public static int PlusRecordSize(int nameLength) => Align8(FuseEntryOut.Size + NameOffset + nameLength);

    /// <summary>Write one dirent; returns its padded size.</summary>
    public static int Write(Span<byte> b, ulong ino, ulong nextOffset, uint type, ReadOnlySpan<byte> name)
    {
        int size = RecordSize(name.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(b[InoOffset..], ino);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffOffset..], nextOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(b[NameLenOffset..], (uint)name.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(b[TypeOffset..], type);
        name.CopyTo(b[NameOffset..]);
        b[(NameOffset + name.Length)..size].Clear();
        return size;
    }

    private static int Align8(int n) => (n + 7) & ~7;
}
