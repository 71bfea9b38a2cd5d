namespace RumpFs.Kernel.Devices;

/// <summary>
/// A window (offset, length) onto another device: a partition. Every access is checked
/// against the window, so nothing reads or writes outside the chosen partition.
/// Disposing the window does not dispose the underlying device unless asked to.
/// </summary>
public sealed class WindowBlockDevice : IBlockDevice
{
    private readonly IBlockDevice _inner;
    private readonly long _offset;
    private readonly bool _ownsInner;

    public WindowBlockDevice(IBlockDevice inner, long offset, long length, bool ownsInner = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (!BlockDeviceChecks.InRange(offset, length, inner.Length))
        {
            throw new ArgumentOutOfRangeException(nameof(length), "window lies outside the device");
        }
        _inner = inner;
        _offset = offset;
        Length = length;
        _ownsInner = ownsInner;
    }

    public int SectorSize => _inner.SectorSize;
    public long Length { get; }
    public bool IsReadOnly => _inner.IsReadOnly;
    public string Name => $"{_inner.Name}@{_offset}+{Length}";

    public Errno Read(long offset, Span<byte> buffer) =>
        BlockDeviceChecks.InRange(offset, buffer.Length, Length)
            ? _inner.Read(_offset + offset, buffer)
            : Errno.EIO;

    public Errno Write(long offset, ReadOnlySpan<byte> data)
    {
        if (IsReadOnly)
        {
            return Errno.EROFS;
        }
        return BlockDeviceChecks.InRange(offset, data.Length, Length)
            ? _inner.Write(_offset + offset, data)
            : Errno.EIO;
    }

    public Errno Flush() => _inner.Flush();

    public void Dispose()
    {
        if (_ownsInner)
        {
            _inner.Dispose();
        }
    }
}
