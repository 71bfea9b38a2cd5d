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

    /// <summary>st_mode: type bits | permission bits.</summary>
    public readonly uint StMode => Type.ToModeBits() | (Mode & 0xFFF);

    /// <summary>A SetAttr request for the given mask.</summary>
    public static VAttr ForSet(VAttrMask mask) => new() { Mask = mask };
}
