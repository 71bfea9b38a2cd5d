using System.Buffers.Binary;
using System.Security.Cryptography;

namespace RumpFs.Kernel;

/// <summary>
/// The rump kernel's random numbers (the hypercall rumpuser_getrandom): inode generation
/// numbers, volume UUIDs, directory hash seeds. The host's by default; a seeded source makes
/// a file system built twice from the same input come out the same, byte for byte.
/// </summary>
public interface IRandomSource
{
    /// <summary>Fill <paramref name="buffer"/> with random bytes.</summary>
    void Fill(Span<byte> buffer);
}

/// <summary>Convenience draws from an <see cref="IRandomSource"/>.</summary>
public static class RandomSourceExtensions
{
    public static uint NextUInt32(this IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        Span<byte> b = stackalloc byte[4];
        random.Fill(b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    /// <summary>A number in [1, int.MaxValue): generation numbers, where 0 means "never set".</summary>
    public static int NextPositiveInt32(this IRandomSource random) =>
        (int)(random.NextUInt32() % (int.MaxValue - 1)) + 1;

    public static byte[] NextBytes(this IRandomSource random, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
        byte[] b = new byte[count];
        random.Fill(b);
        return b;
    }

    /// <summary>
    /// A random (version 4, RFC 4122 variant) UUID in its on-disk byte order, as libuuid's
    /// uuid_generate makes them for mke2fs; blkid and tune2fs show the version digit.
    /// </summary>
    public static byte[] NextUuidV4(this IRandomSource random)
    {
        byte[] b = random.NextBytes(16);
        b[6] = (byte)((b[6] & 0x0F) | 0x40);
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        return b;
    }
}

/// <summary>The host's cryptographic generator.</summary>
public sealed class HostRandom : IRandomSource
{
    public static HostRandom Instance { get; } = new();

    public void Fill(Span<byte> buffer) => RandomNumberGenerator.Fill(buffer);
}

/// <summary>
/// A deterministic stream: SHA-256 of the seed and a block counter. The same seed gives the
/// same numbers in the same order, on every machine (reproducible images).
/// </summary>
public sealed class SeededRandom : IRandomSource
{
    private readonly byte[] _seed;
    private readonly Lock _lock = new();
    private readonly byte[] _block = new byte[32];
    private ulong _counter;
    private int _used = 32;

    public SeededRandom(ReadOnlySpan<byte> seed) => _seed = seed.ToArray();

    public void Fill(Span<byte> buffer)
    {
        lock (_lock)
        {
            while (buffer.Length > 0)
            {
                if (_used == _block.Length)
                {
                    NextBlock();
                }
                int n = Math.Min(buffer.Length, _block.Length - _used);
                _block.AsSpan(_used, n).CopyTo(buffer);
                _used += n;
                buffer = buffer[n..];
            }
        }
    }

    private void NextBlock()
    {
        byte[] input = new byte[_seed.Length + 8];
        _seed.CopyTo(input, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(input.AsSpan(_seed.Length), _counter++);
        SHA256.HashData(input, _block);
        _used = 0;
    }
}
