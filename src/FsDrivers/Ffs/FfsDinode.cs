using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// The decoded fields of an on-disk inode, common to UFS1 and UFS2 (the live copy a vnode
/// holds; NetBSD's struct inode keeps its dinode the same way). Read and written only by
/// <see cref="Ufs1Dinode"/> and <see cref="Ufs2Dinode"/>.
/// </summary>
internal sealed class FfsDinode
{
    /// <summary>st_mode: type and permission bits.</summary>
    public ushort Mode;
    public short Nlink;
    public uint Uid;
    public uint Gid;
    public long Size;

    /// <summary>Storage held, in 512-byte units (di_blocks).</summary>
    public long Blocks;
    public Timespec Atime;
    public Timespec Mtime;
    public Timespec Ctime;
    public Timespec Birthtime;
    public uint Flags;
    public int Gen;
    public readonly long[] Db = new long[FfsSuperblock.NDAddr];
    public readonly long[] Ib = new long[FfsSuperblock.NIAddr];

    /// <summary>UFS2 extended-attribute area: its size in bytes (di_extsize).</summary>
    public int ExtSize;

    /// <summary>UFS2 extended-attribute area: its blocks (di_extb; the last may be fragments).</summary>
    public readonly long[] ExtB = new long[FfsSuperblock.NXAddr];

    /// <summary>The target of a fast symlink, stored where the block pointers are; null otherwise.</summary>
    public byte[]? FastLink;

    public uint Type => Mode & 0xF000u;

    /// <summary>Device number of a device node (kept in di_db[0]).</summary>
    public ulong Rdev
    {
        get => (ulong)Db[0] & (Db[0] < 0 ? 0xFFFFFFFFUL : ulong.MaxValue);
        set => Db[0] = (long)value;
    }

    public void Clear()
    {
        Mode = 0;
        Nlink = 0;
        Uid = Gid = 0;
        Size = Blocks = 0;
        Atime = Mtime = Ctime = Birthtime = default;
        Flags = 0;
        ExtSize = 0;
        Array.Clear(ExtB);
        FastLink = null;
        Array.Clear(Db);
        Array.Clear(Ib);
    }
}
