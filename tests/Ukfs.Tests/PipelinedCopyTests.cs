using RumpFs.Tools.Ukfs;

namespace RumpFs.Ukfs.Tests;

public class PipelinedCopyTests
{
    private const int Chunk = PipelinedCopy.ChunkSize;

    /// <summary>A source of <paramref name="length"/> bytes numbered by position, read in uneven pieces.</summary>
    private sealed class Source(long length)
    {
        private long _position;

        public int ReaderThreadId { get; private set; }

        public int Read(Memory<byte> buffer)
        {
            ReaderThreadId = Environment.CurrentManagedThreadId;
            // Short reads now and then, as a stream may give.
            int n = (int)Math.Min(Math.Min(buffer.Length, (_position % 3 == 0) ? buffer.Length : 70_001), length - _position);
            Span<byte> span = buffer.Span;
            for (int i = 0; i < n; i++)
            {
                span[i] = (byte)((_position + i) % 251);
            }
            _position += n;
            return n;
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Chunk + 17)]
    [InlineData((20L * Chunk) + 12345)]
    public void Copy_DeliversEveryByteInOrder(long length)
    {
        var source = new Source(length);
        long written = 0;
        new PipelinedCopy().Run(length, source.Read, chunk =>
        {
            ReadOnlySpan<byte> span = chunk.Span;
            for (int i = 0; i < span.Length; i++)
            {
                Assert.Equal((byte)((written + i) % 251), span[i]);
            }
            written += span.Length;
        });
        Assert.Equal(length, written);
    }

    [Fact]
    public void SmallCopy_RunsOnTheCallingThread()
    {
        // A thread per small file made a get of 2,000 small files ten times slower.
        var source = new Source(PipelinedCopy.InlineUpTo);
        new PipelinedCopy().Run(PipelinedCopy.InlineUpTo, source.Read, _ => { });
        Assert.Equal(Environment.CurrentManagedThreadId, source.ReaderThreadId);
    }

    [Fact]
    public void LargeCopy_ReadsOnAnotherThread()
    {
        var source = new Source(8L * Chunk);
        new PipelinedCopy().Run(8L * Chunk, source.Read, _ => { });
        Assert.NotEqual(Environment.CurrentManagedThreadId, source.ReaderThreadId);
    }

    [Fact]
    public void ReadFailure_IsRethrownToTheCaller()
    {
        int reads = 0;
        var e = Assert.Throws<IOException>(() => new PipelinedCopy().Run(100L * Chunk, buffer =>
        {
            if (++reads == 5)
            {
                throw new IOException("bad block");
            }
            return buffer.Length;
        }, _ => { }));
        Assert.Equal("bad block", e.Message);
    }

    [Fact]
    public void WriteFailure_StopsTheReaderBeforeReturning()
    {
        int reads = 0;
        bool readAfterReturn = false;
        bool returned = false;
        Assert.Throws<IOException>(() => new PipelinedCopy().Run(1000L * Chunk, buffer =>
        {
            readAfterReturn |= Volatile.Read(ref returned);
            Interlocked.Increment(ref reads);
            return buffer.Length;
        }, _ => throw new IOException("disk full")));
        Volatile.Write(ref returned, true);
        int readsAtReturn = Volatile.Read(ref reads);
        Thread.Sleep(50);
        Assert.Equal(readsAtReturn, Volatile.Read(ref reads));
        Assert.False(readAfterReturn);
        // The reader ran at most a pipeline ahead of the failed write.
        Assert.True(readsAtReturn <= PipelinedCopy.Depth + 1, $"{readsAtReturn} reads");
    }
}
