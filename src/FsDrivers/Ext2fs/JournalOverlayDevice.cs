using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// A device that shows the blocks a journal replay would write on top of the real device,
/// without writing them: read-only mounts of a file system that needs recovery see the
/// recovered state while the image stays untouched. Read-write mounts commit it.
/// </summary>
internal sealed class JournalOverlayDevice : IBlockDevice
{
    private readonly IBlockDevice _inner;
    private readonly SortedDictionary<long, byte[]> _blocks = [];

    public JournalOverlayDevice(IBlockDevice inner) => _inner = inner;

    public int SectorSize => _inner.SectorSize;
    public long Length => _inner.Length;
    public bool IsReadOnly => true;
    public string Name => _inner.Name;

    /// <summary>Blocks replaced by the replay.</summary>
    public int Count => _blocks.Count;

    /// <summary>The journal sequence that follows the last replayed transaction.</summary>
    public uint NextSequence { get; set; }

    /// <summary>Replace the bytes at <paramref name="offset"/> (a whole file-system block).</summary>
    public void Put(long offset, byte[] block) => _blocks[offset] = block;

    public Errno Read(long offset, Span<byte> buffer)
    {
        Errno e = _inner.Read(offset, buffer);
        if (e != Errno.OK || _blocks.Count == 0)
        {
            return e;
        }
        long end = offset + buffer.Length;
        foreach ((long at, byte[] data) in _blocks)
        {
            if (at >= end)
            {
                break;
            }
            long blockEnd = at + data.Length;
            if (blockEnd <= offset)
            {
                continue;
            }
            long from = Math.Max(at, offset);
            long to = Math.Min(blockEnd, end);
            data.AsSpan((int)(from - at), (int)(to - from)).CopyTo(buffer[(int)(from - offset)..]);
        }
        return Errno.OK;
    }

    public Errno Write(long offset, ReadOnlySpan<byte> data) => Errno.EROFS;

    public Errno Flush() => Errno.OK;

    /// <summary>Write every replayed block to <paramref name="device"/> and flush it.</summary>
    public Errno CommitTo(IBlockDevice device)
    {
        foreach ((long at, byte[] data) in _blocks)
        {
            Errno e = device.Write(at, data);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        return device.Flush();
    }

    /// <summary>The mount that wraps this device owns the real one.</summary>
    public void Dispose()
    {
    }
}
