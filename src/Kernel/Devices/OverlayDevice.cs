namespace RumpFs.Kernel.Devices;

/// <summary>
/// A read-only device that shows replacement byte ranges on top of another device without
/// writing them: a journal or log replay fills it, a read-only mount of a file system that
/// needs recovery then reads the recovered state while the image stays untouched, and a
/// read-write mount commits it with <see cref="CommitTo"/>. Ranges put at the same offset
/// replace each other; ranges at different offsets must not overlap (each replay writes
/// whole blocks of one size). Disposing it leaves the device below alone: whoever opened
/// that one closes it.
/// </summary>
public class OverlayDevice : IBlockDevice
{
    private readonly IBlockDevice _inner;
    private readonly SortedDictionary<long, byte[]> _ranges = [];
    private long[]? _starts; // sorted keys for the reads, rebuilt after a Put
    private int _longest;

    public OverlayDevice(IBlockDevice inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    public int SectorSize => _inner.SectorSize;
    public long Length => _inner.Length;
    public bool IsReadOnly => true;
    public string Name => _inner.Name;

    /// <summary>Ranges replaced.</summary>
    public int Count => _ranges.Count;

    /// <summary>Replace the bytes at <paramref name="offset"/> with <paramref name="data"/>.</summary>
    public void Put(long offset, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        lock (_ranges)
        {
            _ranges[offset] = data;
            _longest = Math.Max(_longest, data.Length);
            _starts = null;
        }
    }

    public Errno Read(long offset, Span<byte> buffer)
    {
        Errno e = _inner.Read(offset, buffer);
        if (e != Errno.OK)
        {
            return e;
        }
        long[] starts;
        lock (_ranges)
        {
            if (_ranges.Count == 0)
            {
                return Errno.OK;
            }
            starts = _starts ??= [.. _ranges.Keys];
        }
        long end = offset + buffer.Length;
        // The first range that can reach the buffer starts at most one range length before it.
        int i = Array.BinarySearch(starts, offset - _longest + 1);
        for (i = i < 0 ? ~i : i; i < starts.Length && starts[i] < end; i++)
        {
            byte[] data;
            lock (_ranges)
            {
                data = _ranges[starts[i]];
            }
            long from = Math.Max(starts[i], offset);
            long to = Math.Min(starts[i] + data.Length, end);
            if (from < to)
            {
                data.AsSpan((int)(from - starts[i]), (int)(to - from)).CopyTo(buffer[(int)(from - offset)..]);
            }
        }
        return Errno.OK;
    }

    public Errno Write(long offset, ReadOnlySpan<byte> data) => Errno.EROFS;

    public Errno Flush() => Errno.OK;

    /// <summary>Write every replaced range to <paramref name="device"/>, in offset order, and flush it.</summary>
    public Errno CommitTo(IBlockDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        foreach ((long at, byte[] data) in _ranges)
        {
            Errno e = device.Write(at, data);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        return device.Flush();
    }

    public void Dispose() => GC.SuppressFinalize(this);
}
