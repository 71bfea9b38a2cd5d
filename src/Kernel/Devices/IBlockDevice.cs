namespace RumpFs.Kernel.Devices;

/// <summary>
/// A block device as the rump kernel sees the host's disk: an image file, a host block
/// device, a window onto a partition, or memory. All file-system I/O goes through one.
/// Implementations are thread-safe: positional reads and writes may run concurrently.
/// </summary>
public interface IBlockDevice : IDisposable
{
    /// <summary>Logical sector size in bytes (512 for image files).</summary>
    int SectorSize { get; }

    /// <summary>Size in bytes.</summary>
    long Length { get; }

    /// <summary>True when the device was opened without write access.</summary>
    bool IsReadOnly { get; }

    /// <summary>A name for log lines and errors (the image path, "memory", ...).</summary>
    string Name { get; }

    /// <summary>
    /// Read exactly <c>buffer.Length</c> bytes at <paramref name="offset"/>.
    /// A range not wholly inside the device is EIO (and nothing is read).
    /// </summary>
    Errno Read(long offset, Span<byte> buffer);

    /// <summary>
    /// Write all of <paramref name="data"/> at <paramref name="offset"/>. EROFS on a
    /// read-only device, EIO for a range outside the device.
    /// </summary>
    Errno Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Make every completed write durable (fdatasync for files).</summary>
    Errno Flush();
}

/// <summary>Shared range checks for devices.</summary>
public static class BlockDeviceChecks
{
    /// <summary>True when [offset, offset+count) lies inside a device of <paramref name="length"/> bytes.</summary>
    public static bool InRange(long offset, long count, long length) =>
        offset >= 0 && count >= 0 && offset <= length && count <= length - offset;
}
