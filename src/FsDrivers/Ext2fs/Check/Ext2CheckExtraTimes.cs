using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Times before 1970 that old kernels stored with both epoch bits set (a negative seconds
/// word whose extra field says "add 3 × 2^32"): read as written they land past 2310.
/// e2fsck's check_inode_extra_space clears the epoch bits, so they read as the pre-1970
/// dates they were. Its "no" is allowed (-n does not count it as damage); -y repairs it.
/// Only fields inside i_extra_isize are looked at: past it the bytes are attributes.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private const uint EpochMask = 3;

    private static readonly (int Seconds, int Extra)[] s_extraTimes =
    [
        (Ext2Dinode.Off.Atime, Ext2Dinode.Off.AtimeExtra), (Ext2Dinode.Off.Ctime, Ext2Dinode.Off.CtimeExtra),
        (Ext2Dinode.Off.Crtime, Ext2Dinode.Off.CrtimeExtra), (Ext2Dinode.Off.Mtime, Ext2Dinode.Off.MtimeExtra),
    ];

    private void CheckNegativeEpochTimes(InodeWalk w)
    {
        Ext2Dinode din = w.Din;
        int extraEnd = Ext2Dinode.BaseSize + din.ExtraIsize;
        if (din.InodeSize <= Ext2Dinode.BaseSize || din.ExtraIsize >= din.InodeSize - Ext2Dinode.BaseSize - 4)
        {
            // e2fsck looks no further when no attribute header fits either.
            return;
        }
        // A bit per field: this runs for every inode, so nothing is allocated.
        int wrong = 0;
        for (int i = 0; i < s_extraTimes.Length; i++)
        {
            (int seconds, int extra) = s_extraTimes[i];
            if (extra + 4 <= extraEnd
                && (BinaryPrimitives.ReadUInt32LittleEndian(din.Raw.AsSpan(seconds)) & 0x8000_0000) != 0
                && (BinaryPrimitives.ReadUInt32LittleEndian(din.Raw.AsSpan(extra)) & EpochMask) == EpochMask)
            {
                wrong |= 1 << i;
            }
        }
        if (wrong == 0)
        {
            return;
        }
        if (!_repair)
        {
            Note(Pass1, Ino(w.Ino), "timestamps past 2310 are likely pre-1970 ones stored by old kernels; -y fixes them");
            return;
        }
        Error(Pass1, Ino(w.Ino), "timestamps past 2310 are likely pre-1970 ones stored by old kernels; epoch bits cleared");
        for (int i = 0; i < s_extraTimes.Length; i++)
        {
            if ((wrong & (1 << i)) != 0)
            {
                Span<byte> f = din.Raw.AsSpan(s_extraTimes[i].Extra);
                BinaryPrimitives.WriteUInt32LittleEndian(f, BinaryPrimitives.ReadUInt32LittleEndian(f) & ~EpochMask);
            }
        }
        w.Changed = true;
    }
}
