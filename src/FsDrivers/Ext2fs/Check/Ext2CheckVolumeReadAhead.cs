using System.Diagnostics.CodeAnalysis;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Read-ahead for the checker's long sequential reads (pass 1 walks every inode table): one
/// run of blocks comes in with a single device read and <see cref="Read"/> serves its blocks
/// from memory, instead of one device read per inode. Changed blocks still win over it.
/// </summary>
internal sealed partial class Ext2CheckVolume
{
    /// <summary>Largest run read at once, in bytes.</summary>
    private const int MaxReadAheadBytes = 1 << 20;

    /// <summary>Largest run read at once, in blocks (at least one).</summary>
    public int MaxReadAheadBlocks => Math.Max(1, MaxReadAheadBytes >> BlockShift);

    private byte[] _ahead = [];
    private ulong _aheadStart;
    private int _aheadCount;

    /// <summary>True when <paramref name="blk"/> is in the current read-ahead run.</summary>
    public bool InReadAhead(ulong blk) => blk - _aheadStart < (ulong)_aheadCount;

    /// <summary>
    /// Read blocks <paramref name="start"/> .. + <paramref name="count"/> (at most
    /// <see cref="MaxReadAheadBlocks"/>, clipped at the end of the file system) into the run.
    /// A failed read drops the run, so the block reads that follow report their own errors.
    /// </summary>
    public void ReadAhead(ulong start, int count)
    {
        _aheadCount = 0;
        if (start >= BlocksCount || count <= 0)
        {
            return;
        }
        count = (int)Math.Min((ulong)Math.Min(count, MaxReadAheadBlocks), BlocksCount - start);
        int bytes = count << BlockShift;
        if (_ahead.Length < bytes)
        {
            _ahead = new byte[bytes];
        }
        if (Device.Read((long)start << BlockShift, _ahead.AsSpan(0, bytes)) != Errno.OK)
        {
            return;
        }
        _aheadStart = start;
        _aheadCount = count;
    }

    /// <summary>Copy <paramref name="blk"/> from the run into <paramref name="data"/> when the run holds it.</summary>
    private bool TryReadAhead(ulong blk, byte[] data)
    {
        if (!InReadAhead(blk))
        {
            return false;
        }
        _ahead.AsSpan((int)(blk - _aheadStart) << BlockShift, BlockSize).CopyTo(data);
        return true;
    }

    /// <summary>
    /// A copy of <paramref name="length"/> bytes at <paramref name="offset"/> in block
    /// <paramref name="blk"/> when the run holds it (an inode, without copying its whole block).
    /// </summary>
    private bool TrySliceReadAhead(ulong blk, int offset, int length, [NotNullWhen(true)] out byte[]? bytes)
    {
        bytes = null;
        if (!InReadAhead(blk))
        {
            return false;
        }
        bytes = _ahead.AsSpan(((int)(blk - _aheadStart) << BlockShift) + offset, length).ToArray();
        return true;
    }

    /// <summary>Forget the run (the device was written behind it).</summary>
    private void DropReadAhead() => _aheadCount = 0;
}
