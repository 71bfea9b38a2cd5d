using System.Buffers.Binary;
using System.Numerics;

namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>
/// The checksums of ext4 metadata. crc32c is used as the kernel's ext4_chksum uses it: the
/// running value is passed on from call to call and never inverted at the end (a checksum
/// "seeded" with ~0 is the raw register). crc16 is the ANSI one of uninit_bg descriptors.
/// </summary>
internal static class Ext2Crc
{
    private static readonly ushort[] s_crc16Table = BuildCrc16Table();

    /// <summary>Continue a crc32c over <paramref name="data"/> from <paramref name="crc"/>.</summary>
    public static uint Crc32c(uint crc, ReadOnlySpan<byte> data)
    {
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        }
        for (; i < data.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, data[i]);
        }
        return crc;
    }

    /// <summary>Continue a crc32c over one little-endian 32-bit value.</summary>
    public static uint Crc32c(uint crc, uint value) => BitOperations.Crc32C(crc, value);

    /// <summary>Continue a crc32c over <paramref name="count"/> zero bytes (a checksum field being skipped).</summary>
    public static uint Crc32cZeros(uint crc, int count)
    {
        for (int i = 0; i < count; i++)
        {
            crc = BitOperations.Crc32C(crc, (byte)0);
        }
        return crc;
    }

    /// <summary>crc16 (poly 0x8005 reflected), continued from <paramref name="crc"/>.</summary>
    public static ushort Crc16(ushort crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc = (ushort)((crc >> 8) ^ s_crc16Table[(crc ^ b) & 0xFF]);
        }
        return crc;
    }

    private static ushort[] BuildCrc16Table()
    {
        var table = new ushort[256];
        for (int i = 0; i < 256; i++)
        {
            uint c = (uint)i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ 0xA001 : c >> 1;
            }
            table[i] = (ushort)c;
        }
        return table;
    }
}
