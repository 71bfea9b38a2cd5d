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

/// <summary>Operations every device gets from its positional writes.</summary>
public static class BlockDeviceExtensions
{
    // Shared and never written: a source of zeros for any number of writers.
    private static readonly byte[] s_zeros = new byte[1 << 20];

    /// <summary>Write <paramref name="length"/> zero bytes at <paramref name="offset"/>, 1 MiB at a time.</summary>
    public static Errno WriteZeros(this IBlockDevice device, long offset, long length)
    {
        ArgumentNullException.ThrowIfNull(device);
        while (length > 0)
        {
            int n = (int)Math.Min(length, s_zeros.Length);
            Errno e = device.Write(offset, s_zeros.AsSpan(0, n));
            if (e != Errno.OK)
            {
                return e;
            }
            offset += n;
            length -= n;
        }
        return Errno.OK;
    }
}

/// <summary>Shared range checks for devices.</summary>
public static class BlockDeviceChecks
{
    /// <summary>True when [offset, offset+count) lies inside a device of <paramref name="length"/> bytes.</summary>
    public static bool InRange(long offset, long count, long length) =>
        offset >= 0 && count >= 0 && offset <= length && count <= length - offset;
}
