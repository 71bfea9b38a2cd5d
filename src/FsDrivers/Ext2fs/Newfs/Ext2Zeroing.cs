using System.Buffers;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>
/// Zeroing of inode tables and the journal that writes only what is not zero already. A
/// new image is usually a sparse file: its holes read as zeros at no cost, and writing
/// zeros over them would allocate hundreds of megabytes on a large volume for nothing.
/// </summary>
internal static class Ext2Zeroing
{
    private const int Chunk = 1 << 20;

    public static Errno Zero(IBlockDevice device, long offset, long length)
    {
        byte[] buf = ArrayPool<byte>.Shared.Rent(Chunk);
        try
        {
            while (length > 0)
            {
                int n = (int)Math.Min(length, Chunk);
                Span<byte> span = buf.AsSpan(0, n);
                Errno rc = device.Read(offset, span);
                if (rc != 0)
                {
                    return rc;
                }
                if (span.ContainsAnyExcept((byte)0))
                {
                    rc = device.WriteZeros(offset, n);
                    if (rc != 0)
                    {
                        return rc;
                    }
                }
                offset += n;
                length -= n;
            }
            return Errno.OK;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }
}
