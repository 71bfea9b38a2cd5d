using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>Which fields of a <see cref="VAttr"/> a SetAttr call changes.</summary>
[Flags]
public enum VAttrMask
{
    None = 0,
    Mode = 1 << 0,
    Uid = 1 << 1,
    Gid = 1 << 2,
    Size = 1 << 3,
    Atime = 1 << 4,
    Mtime = 1 << 5,
    Ctime = 1 << 6,
    Birthtime = 1 << 7,
    Flags = 1 << 8,

    /// <summary>Atime/Mtime were given as UTIME_NOW (the permission rule is then write access).</summary>
    TimesAreNow = 1 << 9,
}

/// <summary>
/// What a file's immutable and append-only flags forbid, in the VFS's terms: each format
/// keeps them in flags of its own (SF/UF_IMMUTABLE and SF/UF_APPEND on FFS, EXT2_IMMUTABLE_FL
/// and EXT2_APPEND_FL on ext2), and the driver's GetAttr reports them here so that the
/// rules are applied in one place for every driver and front end.
/// </summary>
[Flags]
public enum NodeProtection
{
    None = 0,

    /// <summary>No change at all: data, attributes, names (link, unlink, rename), entries of a directory.</summary>
    Immutable = 1 << 0,

    /// <summary>Data may only be added at the end; no other change; a directory's entries may be added, not removed.</summary>
    AppendOnly = 1 << 1,
}

/// <summary>
/// File attributes, as the kernel's struct vattr. GetAttr fills every field; SetAttr reads
/// only those named in <see cref="Mask"/>. <see cref="Mode"/> holds the permission bits
/// (07777) only; the type is <see cref="Type"/>.
/// </summary>
public struct VAttr
{
    public VAttrMask Mask;
    public VType Type;

    /// <summary>Permission bits incl. setuid (04000), setgid (02000), sticky (01000).</summary>
    public uint Mode;
    public uint Nlink;
    public uint Uid;
    public uint Gid;

    /// <summary>The file id (inode number) reported to users.</summary>
    public ulong Ino;
    public long Size;

    /// <summary>Bytes of storage allocated (st_blocks * 512).</summary>
    public long BytesUsed;

    /// <summary>Preferred I/O size (st_blksize).</summary>
    public int BlockSize;

    /// <summary>Device number for device nodes, Linux encoding (major &lt;&lt; 8 | minor, with the high bits of makedev).</summary>
    public ulong Rdev;
    public Timespec Atime;
    public Timespec Mtime;
    public Timespec Ctime;
    public Timespec Birthtime;

    /// <summary>Format-specific file flags (UF_*/SF_* on FFS, EXT2_*_FL on ext2); 0 where none.</summary>
    public uint Flags;
    public uint Generation;

    /// <summary>The immutable and append-only flags among <see cref="Flags"/>; reported by GetAttr, never set through SetAttr.</summary>
    public NodeProtection Protection;

    /// <summary>st_mode: type bits | permission bits.</summary>
    public readonly uint StMode => Type.ToModeBits() | (Mode & 0xFFF);

    /// <summary>A SetAttr request for the given mask.</summary>
    public static VAttr ForSet(VAttrMask mask) => new() { Mask = mask };
}
