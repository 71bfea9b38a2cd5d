namespace RumpFs.Kernel.Devices;

/// <summary>An in-memory device for tests and scratch file systems. Counts I/O.</summary>
public sealed class MemoryBlockDevice : IBlockDevice
{
    private readonly byte[] _data;
    private long _reads;
    private long _writes;
    private long _flushes;

    public MemoryBlockDevice(long length, bool readOnly = false, int sectorSize = 512)
        : this(new byte[checked((int)length)], readOnly, sectorSize)
    {
    }

    public MemoryBlockDevice(byte[] contents, bool readOnly = false, int sectorSize = 512)
    {
        _data = contents;
        IsReadOnly = readOnly;
        SectorSize = sectorSize;
    }

    public int SectorSize { get; }
    public long Length => _data.Length;
    public bool IsReadOnly { get; }
    public string Name => "memory";

    /// <summary>The backing bytes (tests inspect and damage them).</summary>
    public byte[] Contents => _data;

    public long ReadCount => Interlocked.Read(ref _reads);
    public long WriteCount => Interlocked.Read(ref _writes);
    public long FlushCount => Interlocked.Read(ref _flushes);

    public Errno Read(long offset, Span<byte> buffer)
    {
        if (!BlockDeviceChecks.InRange(offset, buffer.Length, Length))
        {
            return Errno.EIO;
        }
        Interlocked.Increment(ref _reads);
        _data.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
        return Errno.OK;
    }

    public Errno Write(long offset, ReadOnlySpan<byte> data)
    {
        if (IsReadOnly)
        {
            return Errno.EROFS;
        }
        if (!BlockDeviceChecks.InRange(offset, data.Length, Length))
        {
            return Errno.EIO;
        }
        Interlocked.Increment(ref _writes);
        data.CopyTo(_data.AsSpan((int)offset));
        return Errno.OK;
    }

    public Errno Flush()
    {
        Interlocked.Increment(ref _flushes);
        return Errno.OK;
    }

    public void Dispose()
    {
    }
}
