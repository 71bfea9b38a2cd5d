namespace RumpFs.Vfs;

/// <summary>
/// Linux's generic inode flags, the values of FS_IOC_GETFLAGS and FS_IOC_SETFLAGS (lsattr
/// and chattr). They are the VFS's common form of a file's flags: each driver maps its
/// format's own (ext2's are these very bits; FFS's are the BSD UF_*/SF_* flags), and says
/// which of them it stores.
/// </summary>
[Flags]
public enum FileFlags : uint
{
    None = 0,
    SecureDelete = 0x1,        // s
    Undelete = 0x2,            // u
    Compress = 0x4,            // c
    Sync = 0x8,                // S
    Immutable = 0x10,          // i
    AppendOnly = 0x20,         // a
    NoDump = 0x40,             // d
    NoAtime = 0x80,            // A
    NoCompress = 0x400,        // m
    Encrypted = 0x800,         // E
    Indexed = 0x1000,          // I
    JournalData = 0x4000,      // j
    NoTailMerge = 0x8000,      // t
    DirSync = 0x10000,         // D
    TopDir = 0x20000,          // T
    HugeFile = 0x40000,
    Extents = 0x80000,         // e
    Verity = 0x100000,         // V
    EaInode = 0x200000,
    NoCow = 0x800000,          // C
    Dax = 0x2000000,           // x
    InlineData = 0x10000000,   // N
    ProjectInherit = 0x20000000, // P
    Casefold = 0x40000000,     // F
}
