namespace RumpFs.Kernel.Devices;

/// <summary>What a <see cref="FaultInjectingBlockDevice"/> does to the write it fails.</summary>
public enum WriteFault
{
    /// <summary>Nothing reaches the device; the write reports EIO.</summary>
    Error,

    /// <summary>Only the first half of the data reaches the device; the write reports EIO.</summary>
    Short,

    /// <summary>The first half reaches the device and the write reports success (a torn write).</summary>
    Torn,
}

/// <summary>
/// Wraps a device and fails chosen operations, for testing the error paths of drivers:
/// the Nth read or write (1-based, counted from creation or the last <see cref="Reset"/>).
/// </summary>
public sealed class FaultInjectingBlockDevice(IBlockDevice inner) : IBlockDevice
{
    private long _reads;
    private long _writes;

    /// <summary>Fail the read with this number with EIO (0: never).</summary>
    public long FailReadNumber { get; set; }

    /// <summary>Fail the write with this number (0: never), in the way <see cref="WriteFaultKind"/> says.</summary>
    public long FailWriteNumber { get; set; }

    /// <summary>Fail every read and write from now on (a disk that went away).</summary>
    public bool FailAll { get; set; }

    public WriteFault WriteFaultKind { get; set; } = WriteFault.Error;

    public int SectorSize => inner.SectorSize;
    public long Length => inner.Length;
    public bool IsReadOnly => inner.IsReadOnly;
    public string Name => inner.Name;

    public void Reset()
    {
        Interlocked.Exchange(ref _reads, 0);
        Interlocked.Exchange(ref _writes, 0);
    }

    public Errno Read(long offset, Span<byte> buffer)
    {
        long n = Interlocked.Increment(ref _reads);
        if (FailAll || n == FailReadNumber)
        {
            return Errno.EIO;
        }
        return inner.Read(offset, buffer);
    }

    public Errno Write(long offset, ReadOnlySpan<byte> data)
    {
        long n = Interlocked.Increment(ref _writes);
        if (FailAll)
        {
            return Errno.EIO;
        }
        if (n != FailWriteNumber)
        {
            return inner.Write(offset, data);
        }
        switch (WriteFaultKind)
        {
            case WriteFault.Short:
                inner.Write(offset, data[..(data.Length / 2)]);
                return Errno.EIO;
            case WriteFault.Torn:
                return inner.Write(offset, data[..(data.Length / 2)]);
            default:
                return Errno.EIO;
        }
    }

    public Errno Flush() => FailAll ? Errno.EIO : inner.Flush();

    public void Dispose() => inner.Dispose();
}
