namespace RumpFs.Vfs;

/// <summary>File-system statistics, as struct statvfs.</summary>
public struct StatVfs
{
    /// <summary>Preferred block size (f_bsize).</summary>
    public int BlockSize;

    /// <summary>Fundamental block size in which the counts are given (f_frsize).</summary>
    public int FragmentSize;
    public long Blocks;
    public long BlocksFree;

    /// <summary>Free blocks available to unprivileged users (minfree/reserved held back).</summary>
    public long BlocksAvailable;
    public long Files;
    public long FilesFree;
    public long FilesAvailable;
    public ulong FsId;
    public int NameMax;
    public bool ReadOnly;
}
