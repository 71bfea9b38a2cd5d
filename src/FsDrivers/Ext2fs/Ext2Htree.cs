using System.Numerics;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// The directory-index name hashes of ext3/ext4 (legacy, half-MD4 and TEA, each in a signed
/// and an unsigned-char variant), as the kernel's ext4fs_dirhash computes them.
/// </summary>
internal static class Ext2Htree
{
    public const int HashLegacy = 0;
    public const int HashHalfMd4 = 1;
    public const int HashTea = 2;
    public const int HashLegacyUnsigned = 3;
    public const int HashHalfMd4Unsigned = 4;
    public const int HashTeaUnsigned = 5;

    private static readonly uint[] s_defaultSeed = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

    /// <summary>The major hash (low bit clear) of <paramref name="name"/>; -1 for an unknown version.</summary>
    public static long Hash(ReadOnlySpan<byte> name, int version, ReadOnlySpan<uint> seed) =>
        Hashes(name, version, seed, out uint major, out _) ? major : -1;

    /// <summary>
    /// The major hash (low bit clear) and the minor hash of <paramref name="name"/>, as
    /// ext4fs_dirhash gives them (the minor is 0 for the legacy hash); false for an unknown
    /// version. e2fsck orders names of equal major hash by the minor one.
    /// </summary>
    public static bool Hashes(ReadOnlySpan<byte> name, int version, ReadOnlySpan<uint> seed, out uint major, out uint minor)
    {
        uint hash;
        minor = 0;
        bool unsignedChars = version >= HashLegacyUnsigned;
        Span<uint> buf = stackalloc uint[4];
        bool seeded = false;
        foreach (uint s in seed)
        {
            seeded |= s != 0;
        }
        (seeded ? seed : s_defaultSeed).CopyTo(buf);
        Span<uint> input = stackalloc uint[8];
        switch (version)
        {
            case HashLegacy:
            case HashLegacyUnsigned:
                hash = DxHackHash(name, unsignedChars);
                break;
            case HashHalfMd4:
            case HashHalfMd4Unsigned:
                for (int p = 0; p < name.Length || p == 0; p += 32)
                {
                    StrToHashBuf(name[Math.Min(p, name.Length)..], input, 8, unsignedChars);
                    HalfMd4Transform(buf, input);
                    if (name.Length == 0)
                    {
                        break;
                    }
                }
                hash = buf[1];
                minor = buf[2];
                break;
            case HashTea:
            case HashTeaUnsigned:
                for (int p = 0; p < name.Length || p == 0; p += 16)
                {
                    StrToHashBuf(name[Math.Min(p, name.Length)..], input, 4, unsignedChars);
                    TeaTransform(buf, input);
                    if (name.Length == 0)
                    {
                        break;
                    }
                }
                hash = buf[0];
                minor = buf[1];
                break;
            default:
                major = 0;
                return false;
        }
        hash &= ~1u;
        if (hash == 0x7fffffffu << 1)
        {
            hash = (0x7fffffffu - 1) << 1;
        }
        major = hash;
        return true;
    }

    private static int Char(byte b, bool unsignedChars) => unsignedChars ? b : (sbyte)b;

    private static uint DxHackHash(ReadOnlySpan<byte> name, bool unsignedChars)
    {
        uint hash0 = 0x12a3fe2d, hash1 = 0x37abe8f9;
        foreach (byte b in name)
        {
            uint hash = hash1 + (hash0 ^ (uint)(Char(b, unsignedChars) * 7152373));
            if ((hash & 0x80000000) != 0)
            {
                hash -= 0x7fffffff;
            }
            hash1 = hash0;
            hash0 = hash;
        }
        return hash0 << 1;
    }

    private static void StrToHashBuf(ReadOnlySpan<byte> msg, Span<uint> buf, int num, bool unsignedChars)
    {
        int len = msg.Length;
        uint pad = (uint)len | ((uint)len << 8);
        pad |= pad << 16;
        uint val = pad;
        if (len > num * 4)
        {
            len = num * 4;
        }
        int o = 0;
        for (int i = 0; i < len; i++)
        {
            val = (uint)Char(msg[i], unsignedChars) + (val << 8);
            if ((i % 4) == 3)
            {
                buf[o++] = val;
                val = pad;
                num--;
            }
        }
        if (--num >= 0)
        {
            buf[o++] = val;
        }
        while (--num >= 0)
        {
            buf[o++] = pad;
        }
    }

    private static void TeaTransform(Span<uint> buf, ReadOnlySpan<uint> input)
    {
        uint sum = 0;
        uint b0 = buf[0], b1 = buf[1];
        uint a = input[0], b = input[1], c = input[2], d = input[3];
        for (int n = 0; n < 16; n++)
        {
            sum += 0x9E3779B9;
            b0 += ((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >> 5) + b);
            b1 += ((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >> 5) + d);
        }
        buf[0] += b0;
        buf[1] += b1;
    }

    private static uint F(uint x, uint y, uint z) => z ^ (x & (y ^ z));
    private static uint G(uint x, uint y, uint z) => (x & y) + ((x ^ y) & z);
    private static uint H(uint x, uint y, uint z) => x ^ y ^ z;

    private static void HalfMd4Transform(Span<uint> buf, ReadOnlySpan<uint> x)
    {
        const uint K2 = 0x5A827999, K3 = 0x6ED9EBA1;
        uint a = buf[0], b = buf[1], c = buf[2], d = buf[3];

        a = BitOperations.RotateLeft(a + F(b, c, d) + x[0], 3);
        d = BitOperations.RotateLeft(d + F(a, b, c) + x[1], 7);
        c = BitOperations.RotateLeft(c + F(d, a, b) + x[2], 11);
        b = BitOperations.RotateLeft(b + F(c, d, a) + x[3], 19);
        a = BitOperations.RotateLeft(a + F(b, c, d) + x[4], 3);
        d = BitOperations.RotateLeft(d + F(a, b, c) + x[5], 7);
        c = BitOperations.RotateLeft(c + F(d, a, b) + x[6], 11);
        b = BitOperations.RotateLeft(b + F(c, d, a) + x[7], 19);

        a = BitOperations.RotateLeft(a + G(b, c, d) + x[1] + K2, 3);
        d = BitOperations.RotateLeft(d + G(a, b, c) + x[3] + K2, 5);
        c = BitOperations.RotateLeft(c + G(d, a, b) + x[5] + K2, 9);
        b = BitOperations.RotateLeft(b + G(c, d, a) + x[7] + K2, 13);
        a = BitOperations.RotateLeft(a + G(b, c, d) + x[0] + K2, 3);
        d = BitOperations.RotateLeft(d + G(a, b, c) + x[2] + K2, 5);
        c = BitOperations.RotateLeft(c + G(d, a, b) + x[4] + K2, 9);
        b = BitOperations.RotateLeft(b + G(c, d, a) + x[6] + K2, 13);

        a = BitOperations.RotateLeft(a + H(b, c, d) + x[3] + K3, 3);
        d = BitOperations.RotateLeft(d + H(a, b, c) + x[7] + K3, 9);
        c = BitOperations.RotateLeft(c + H(d, a, b) + x[2] + K3, 11);
        b = BitOperations.RotateLeft(b + H(c, d, a) + x[6] + K3, 15);
        a = BitOperations.RotateLeft(a + H(b, c, d) + x[1] + K3, 3);
        d = BitOperations.RotateLeft(d + H(a, b, c) + x[5] + K3, 9);
        c = BitOperations.RotateLeft(c + H(d, a, b) + x[0] + K3, 11);
        b = BitOperations.RotateLeft(b + H(c, d, a) + x[4] + K3, 15);

        buf[0] += a;
        buf[1] += b;
        buf[2] += c;
        buf[3] += d;
    }
}
