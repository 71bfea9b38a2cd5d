namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// On-disk layout of NetBSD's write-ahead physical block log (WAPBL, sys/sys/wapbl_replay.h)
/// and of the superblock fields that locate it (fs_journal_*). The log starts with two
/// commit headers, one log block each (the one with the higher generation is current),
/// followed by a circular area of records: each record begins with a type and a length,
/// and lengths are whole log blocks. Offsets below are bytes within a record.
/// </summary>
internal static class FfsWapblLayout
{
    /// <summary>fs_journal_version of a recorded log.</summary>
    public const int Version = 1;

    // fs_journal_location.
    public const int LocationEndOfPartition = 1;
    public const int LocationInFileSystem = 2;

    // fs_journallocs[] indexes: address and count in units of the block size, then the inode
    // (in-file-system logs only).
    public const int LocAddress = 0;
    public const int LocCount = 1;
    public const int LocBlockSize = 2;
    public const int LocInode = 3;

    /// <summary>di_flags of the inode that holds an in-file-system log (SF_LOG).</summary>
    public const uint LogInodeFlag = 0x00400000;

    // Record types ("WABL" and the three that follow it).
    public const uint TypeHeader = 0x5741424c;
    public const uint TypeInodes = TypeHeader + 1;
    public const uint TypeRevocations = TypeHeader + 2;
    public const uint TypeBlocks = TypeHeader + 3;

    // Every record: type (u32), length (i32).
    public const int RecType = 0;
    public const int RecLength = 4;

    // Commit header.
    public const int HdrGeneration = 12;
    public const int HdrLogDevBshift = 40;
    public const int HdrFsDevBshift = 44;
    public const int HdrHead = 48;
    public const int HdrTail = 56;
    public const int HdrCircOff = 64;
    public const int HdrCircSize = 72;
    public const int HeaderBytes = 80;

    // Block list (blocks and revocations): count (i32), unused, then entries of
    // daddr (i64, in 512-byte units), unused (i32), length in bytes (i32).
    public const int ListCount = 8;
    public const int ListEntries = 16;
    public const int BlockEntryBytes = 16;
    public const int EntryAddress = 0;
    public const int EntryLength = 12;

    // Inode list: count (i32), clear (i32: forget inodes listed before), then entries of
    // inode number (u32) and mode (u32).
    public const int InodeClear = 12;
    public const int InodeEntryBytes = 8;

    /// <summary>Block addresses in the log count 512-byte units (DEV_BSIZE).</summary>
    public const int DevBlockShift = 9;
}
