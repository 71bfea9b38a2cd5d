using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.Vfs.Tests;

public class BufferCacheTests
{
    private static MemoryBlockDevice Device(int blocks = 256)
    {
        var dev = new MemoryBlockDevice(blocks * 4096L);
        for (int i = 0; i < blocks; i++)
        {
            dev.Contents[i * 4096] = (byte)i;
        }
        return dev;
    }

    [Fact]
    public void Read_SecondTime_IsACacheHit()
    {
        var dev = Device();
        var cache = new BufferCache(dev, 1 << 20);
        Assert.Equal(Errno.OK, cache.Read(4096 * 3, 4096, out Buffer? a));
        Assert.Equal(3, a!.Data[0]);
        a.Release();
        Assert.Equal(Errno.OK, cache.Read(4096 * 3, 4096, out Buffer? b));
        b!.Release();
        Assert.Equal(1, dev.ReadCount);
        Assert.Equal(1, cache.Stats.Hits);
        Assert.Equal(1, cache.Stats.Misses);
    }

    [Fact]
    public void ConcurrentReadsOfOneBlock_CauseOneDeviceRead()
    {
        var slow = new SlowDevice(Device());
        var cache = new BufferCache(slow, 1 << 20);
        var threads = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            Assert.Equal(Errno.OK, cache.Read(8192, 4096, out Buffer? bp));
            Assert.Equal(2, bp!.Data[0]);
            bp.Release();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(30))));
        Assert.Equal(1, slow.Reads);
    }

    [Fact]
    public void DelayedWrite_ReachesDeviceOnlyAtFlush()
    {
        var dev = Device();
        var cache = new BufferCache(dev, 1 << 20);
        cache.Read(0, 4096, out Buffer? bp);
        bp!.Data[1] = 0x77;
        bp.MarkDirty();
        bp.Release();
        Assert.Equal(0, dev.Contents[1]);
        Assert.Equal(4096, cache.Stats.DirtyBytes);
        Assert.Equal(Errno.OK, cache.Flush());
        Assert.Equal(0x77, dev.Contents[1]);
        Assert.Equal(1, dev.FlushCount);
        Assert.Equal(0, cache.Stats.DirtyBytes);
    }

    [Fact]
    public void OverTheBound_LeastRecentlyUsedCleanBuffersAreEvicted()
    {
        var dev = Device();
        var cache = new BufferCache(dev, 16 * 4096);
        for (int i = 0; i < 64; i++)
        {
            cache.Read(i * 4096L, 4096, out Buffer? bp);
            bp!.Release();
        }
        Assert.True(cache.Stats.CachedBytes <= 16 * 4096, $"cached {cache.Stats.CachedBytes}");
        Assert.True(cache.Stats.Evictions >= 48);
        long reads = dev.ReadCount;
        cache.Read(63 * 4096L, 4096, out Buffer? recent);
        recent!.Release();
        Assert.Equal(reads, dev.ReadCount);
        cache.Read(0, 4096, out Buffer? old);
        old!.Release();
        Assert.Equal(reads + 1, dev.ReadCount);
    }

    [Fact]
    public void TooMuchDirtyData_IsWrittenBackWithoutFlush()
    {
        var dev = Device();
        var cache = new BufferCache(dev, 16 * 4096);
        for (int i = 0; i < 32; i++)
        {
            Buffer bp = cache.Get(i * 4096L, 4096);
            bp.Data[0] = 0xEE;
            bp.MarkDirty();
            bp.Release();
        }
        Assert.True(dev.WriteCount > 0, "write-back should have started");
        Assert.True(cache.Stats.DirtyBytes <= 8 * 4096);
        cache.Flush();
        Assert.All(Enumerable.Range(0, 32), i => Assert.Equal(0xEE, dev.Contents[i * 4096]));
    }

    [Fact]
    public void Discard_DropsDirtyDataSoItNeverReachesTheDevice()
    {
        var dev = Device();
        var cache = new BufferCache(dev, 1 << 20);
        Buffer bp = cache.Get(4096 * 10, 4096);
        bp.Data[5] = 0x55;
        bp.MarkDirty();
        bp.Release();
        cache.Discard(4096 * 10, 4096);
        cache.Flush();
        Assert.Equal(0, dev.Contents[(4096 * 10) + 5]);
        Assert.Equal(0, dev.WriteCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Discard_RemovesExactlyTheBuffersThatOverlapTheRange(bool oneUnalignedBuffer)
    {
        // Many buffers of mixed sizes: Discard looks up the starts a range can touch (or,
        // with a buffer off the sector grid, scans). Either way it must drop exactly the
        // buffers that overlap, no more and no fewer.
        var dev = new MemoryBlockDevice(8L << 20);
        var cache = new BufferCache(dev, 64L << 20);
        var rng = new Random(17);
        int[] sizes = [512, 1024, 2048, 4096, 8192, 32768];
        var present = new Dictionary<long, int>();
        while (present.Count < 600)
        {
            long offset = rng.Next(0, (8 << 20) / 512 - 64) * 512L;
            if (present.ContainsKey(offset))
            {
                continue;
            }
            int size = sizes[rng.Next(sizes.Length)];
            Assert.Equal(Errno.OK, cache.Read(offset, size, out Buffer? bp));
            bp!.Release();
            present[offset] = size;
        }
        if (oneUnalignedBuffer)
        {
            Assert.Equal(Errno.OK, cache.Read(1000, 24, out Buffer? odd));
            odd!.Release();
            present[1000] = 24;
        }
        void Discard(long offset, long length)
        {
            cache.Discard(offset, length);
            foreach (long gone in present.Where(p => p.Key < offset + length && offset < p.Key + p.Value).Select(p => p.Key).ToList())
            {
                present.Remove(gone);
            }
        }
        var all = new Dictionary<long, int>(present);
        for (int i = 0; i < 200; i++)
        {
            Discard(rng.Next(0, (8 << 20) / 512) * 512L, sizes[rng.Next(sizes.Length)] * (long)rng.Next(1, 4));
        }
        Discard(0, 1024);

        // What is still cached is a hit, what was discarded a miss.
        Assert.True(present.Count is > 100 and < 600, $"{present.Count} buffers left: the discards should hit some and miss some");
        foreach ((long offset, int size) in all)
        {
            long misses = cache.Stats.Misses;
            Assert.Equal(Errno.OK, cache.Read(offset, size, out Buffer? bp));
            bp!.Release();
            Assert.True(present.ContainsKey(offset) == (cache.Stats.Misses == misses), $"buffer {offset}+{size}: cached {cache.Stats.Misses == misses}, expected {present.ContainsKey(offset)}");
        }
    }

    [Fact]
    public void Read_OutsideTheDevice_ReturnsEio_AndDeviceErrorsPropagate()
    {
        var dev = Device(4);
        var cache = new BufferCache(new FaultInjectingBlockDevice(dev) { FailReadNumber = 1 }, 1 << 20);
        Assert.Equal(Errno.EIO, cache.Read(4 * 4096, 4096, out _));
        Assert.Equal(Errno.EIO, cache.Read(0, 4096, out _));
        Assert.Equal(Errno.OK, cache.Read(0, 4096, out Buffer? ok));
        ok!.Release();
    }

    [Fact]
    public void SameAddressAtAnotherSize_SeesTheLatestBytes()
    {
        var dev = Device();
        var cache = new BufferCache(dev, 1 << 20);
        cache.Read(0, 1024, out Buffer? small);
        small!.Data[10] = 0x42;
        small.MarkDirty();
        small.Release();
        cache.Read(0, 4096, out Buffer? large);
        Assert.Equal(0x42, large!.Data[10]);
        large.Release();
    }

    private sealed class SlowDevice(IBlockDevice inner) : IBlockDevice
    {
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);
        public int SectorSize => inner.SectorSize;
        public long Length => inner.Length;
        public bool IsReadOnly => inner.IsReadOnly;
        public string Name => "slow";

        public Errno Read(long offset, Span<byte> buffer)
        {
            Interlocked.Increment(ref _reads);
            Thread.Sleep(100);
            return inner.Read(offset, buffer);
        }

        public Errno Write(long offset, ReadOnlySpan<byte> data) => inner.Write(offset, data);
        public Errno Flush() => inner.Flush();
        public void Dispose() => inner.Dispose();
    }
}
