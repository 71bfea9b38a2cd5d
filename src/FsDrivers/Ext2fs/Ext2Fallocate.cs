using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// fallocate(2) mode 0 (posix_fallocate): every block of the range exists afterwards and
/// the size covers it. Holes get new blocks: unwritten extents in an extent-mapped file (they
/// read as zeros, and the first write into them marks them written), zeroed blocks in a
/// block-mapped one, which has no such thing. Blocks already there are left alone.
/// </summary>
internal sealed partial class Ext2Node
{
    public override Errno Allocate(long offset, long length)
    {
        Errno e = CheckGrowth(offset + length);
        if (e != Errno.OK)
        {
            return e;
        }
        e = FillHoles(offset, length, keepSize: false);
        if (e == Errno.OK && GrowSizeTo(offset + length))
        {
            Timespec now = Fs.Clock.Now;
            Din.Mtime = now;
            Din.Ctime = now;
        }
        MarkDirty();
        return e;
    }

    /// <summary>
    /// FALLOC_FL_KEEP_SIZE: unwritten extents, past the end of the file too (e2fsck accepts
    /// those; the kernel leaves the same). A block-mapped file cannot hold blocks past its
    /// end, so it answers EOPNOTSUPP. What was reserved before an ENOSPC stays, as in Linux.
    /// </summary>
    public override Errno Preallocate(long offset, long length)
    {
        if (Type == VType.Regular && !HasInlineData && !UsesExtents)
        {
            return Errno.EOPNOTSUPP;
        }
        Errno e = FillHoles(offset, length, keepSize: true);
        MarkDirty();
        return e;
    }

    /// <summary>Give every hole of the range blocks; on failure without keepSize, blocks past the size go back. The caller marks the inode dirty.</summary>
    private Errno FillHoles(long offset, long length, bool keepSize)
    {
        if (Type != VType.Regular)
        {
            return Type == VType.Directory ? Errno.EISDIR : Errno.ENODEV;
        }
        if (HasInlineData)
        {
            return Errno.ENOTSUP;
        }
        long end = offset + length;
        if (end > MaxFileSize || end < 0)
        {
            return Errno.EFBIG;
        }
        ulong last = (ulong)(end - 1) >> Fs.BlockShift;
        for (ulong lblk = (ulong)offset >> Fs.BlockShift; lblk <= last;)
        {
            int want = (int)Math.Min(65536UL, last - lblk + 1);
            Errno e = Bmap(lblk, want, out ulong pblk, out int run, out _);
            if (e == Errno.OK && pblk == 0)
            {
                e = AllocateRun(lblk, run, out pblk, out run, unwritten: true);
                if (e == Errno.OK && !UsesExtents)
                {
                    e = Fs.Io.WriteZeros((long)pblk << Fs.BlockShift, (long)run << Fs.BlockShift);
                }
            }
            if (e != Errno.OK)
            {
                if (!keepSize)
                {
                    // Like a short write: blocks past the size are given back (initialized
                    // extents past the end would be an e2fsck finding; an earlier KEEP_SIZE
                    // reservation there goes too); holes filled below it stay filled.
                    GiveBackPastSize();
                }
                return e;
            }
            lblk += (ulong)run;
        }
        return Errno.OK;
    }

    /// <summary>Raise the size to <paramref name="end"/> if it is below (a file past 2 GiB sets large_file); true when it grew.</summary>
    private bool GrowSizeTo(long end)
    {
        if (end <= Din.Size)
        {
            return false;
        }
        Din.Size = end;
        if (end > int.MaxValue)
        {
            Fs.NoteLargeFile();
        }
        return true;
    }

    private void GiveBackPastSize()
    {
        ulong first = (ulong)((Din.Size + Fs.BlockSize - 1) >> Fs.BlockShift);
        _ = UsesExtents ? TruncateExtents(first) : TruncateIndirect(first);
    }
}
