using System.Diagnostics;
using RumpFs.Kernel.Devices;

namespace RumpFs.Kernel.Tests;

public class StreamingReadAheadTests
{
    private const int MiB = 1 << 20;
    private const long Device = 1L << 30;
    private const long Judge = StreamingReadAhead.WarmUp + StreamingReadAhead.Judged;

    /// <summary>A read that took as long as <paramref name="bytesPerSecond"/> says, and the advice it got.</summary>
    private static (long Offset, long Length) Read(StreamingReadAhead ra, long offset, int length, long bytesPerSecond, long device = Device)
    {
        (long, long) advice = ra.OnRead(offset, length, device);
        ra.OnReadDone(offset, length, (long)((double)length / bytesPerSecond * Stopwatch.Frequency));
        return advice;
    }

    private static (long Offset, long Length) Slow(StreamingReadAhead ra, long offset, int length = MiB, long device = Device) =>
        Read(ra, offset, length, 100L << 20, device);

    private static (long Offset, long Length) Fast(StreamingReadAhead ra, long offset, int length = MiB) =>
        Read(ra, offset, length, 10L << 30);

    /// <summary>Read a stream's warm-up and judged bytes slowly; returns where that ends.</summary>
    private static long SlowStart(StreamingReadAhead ra, long offset)
    {
        for (long end = offset + Judge; offset < end; offset += MiB)
        {
            Assert.Equal(0, Slow(ra, offset).Length);
        }
        return offset;
    }

    [Fact]
    public void AStreamThatKeepsUp_AsksForNothing()
    {
        var ra = new StreamingReadAhead();
        for (long offset = 0; offset < 100L * MiB; offset += MiB)
        {
            Assert.Equal(0, Fast(ra, offset).Length);
        }
    }

    [Fact]
    public void ASlowStream_AsksAheadAsFarAsItHasRead_UpToTheMaximum()
    {
        var ra = new StreamingReadAhead();
        long offset = SlowStart(ra, 0);
        // Judged slow: the next read asks for as much again beyond its end.
        Assert.Equal((offset + MiB, Judge + MiB), Slow(ra, offset));
        long advisedEnd = offset + MiB + Judge + MiB;
        for (offset += MiB; offset < 200L * MiB; offset += MiB)
        {
            (long from, long length) = Slow(ra, offset);
            if (length > 0)
            {
                // Each piece starts where the last ended and never reaches past the cap.
                Assert.Equal(advisedEnd, from);
                advisedEnd = from + length;
                Assert.True(advisedEnd <= offset + MiB + StreamingReadAhead.MaxAhead);
            }
        }
        // Deep in the stream the whole window is asked for, give or take one piece.
        Assert.True(advisedEnd >= offset + StreamingReadAhead.MaxAhead - StreamingReadAhead.MinAdvice);
    }

    [Fact]
    public void ASlowStream_StaysAdvisedWhenItsReadsBecomeFast()
    {
        var ra = new StreamingReadAhead();
        long offset = SlowStart(ra, 0);
        long advised = 0;
        for (; offset < 64L * MiB; offset += MiB)
        {
            advised += Fast(ra, offset).Length;
        }
        Assert.True(advised > 0);
    }

    [Fact]
    public void AStreamThatFallsBehindLater_IsAdvisedFromThen()
    {
        var ra = new StreamingReadAhead();
        long offset = 0;
        for (; offset < 64L * MiB; offset += MiB)
        {
            Assert.Equal(0, Fast(ra, offset).Length);
        }
        long advised = 0;
        for (; offset < 64L * MiB + Judge; offset += MiB)
        {
            advised += Slow(ra, offset).Length;
        }
        Assert.True(advised > 0);
    }

    [Fact]
    public void ShortSlowFile_AsksForNoMoreThanTwiceItself()
    {
        var ra = new StreamingReadAhead();
        long end = SlowStart(ra, 0) + 3L * MiB;
        long advisedEnd = 0;
        for (long offset = Judge; offset < end; offset += MiB)
        {
            (long from, long length) = Slow(ra, offset);
            advisedEnd = Math.Max(advisedEnd, from + length);
        }
        Assert.True(advisedEnd <= 2 * end, $"advised up to {advisedEnd} for {end}");
    }

    [Fact]
    public void SmallReads_NeitherBreakNorExtendAStream()
    {
        var ra = new StreamingReadAhead();
        long offset = SlowStart(ra, 0);
        Assert.Equal(0, Slow(ra, 500L * MiB, 4096).Length);
        Assert.NotEqual(0, Slow(ra, offset).Length);
    }

    [Fact]
    public void ARandomLargeRead_StartsANewStream_JudgedAfresh()
    {
        var ra = new StreamingReadAhead();
        long offset = SlowStart(ra, 0);
        Assert.NotEqual(0, Slow(ra, offset).Length);
        Assert.Equal(0, Slow(ra, 700L * MiB).Length);
        // The new stream keeps up: no advice, however long it runs.
        for (long o = 100L * MiB; o < 150L * MiB; o += MiB)
        {
            Assert.Equal(0, Fast(ra, o).Length);
        }
    }

    [Fact]
    public void ASkipIntoTheAskedForRange_ContinuesTheStream()
    {
        var ra = new StreamingReadAhead();
        long offset = SlowStart(ra, 0);
        (long from, long length) = Slow(ra, offset); // asks as far again as the stream has read
        long advisedEnd = from + length;
        // The next extent starts a little further on, inside what was asked for.
        (long nextFrom, long nextLength) = Slow(ra, offset + 4L * MiB);
        Assert.Equal(advisedEnd, nextFrom);
        Assert.True(nextLength > 0);
    }

    [Fact]
    public void Advice_StopsAtTheEndOfTheDevice()
    {
        var ra = new StreamingReadAhead();
        long device = Judge + 6L * MiB;
        long advisedEnd = 0;
        for (long offset = 0; offset < device; offset += MiB)
        {
            (long from, long length) = Slow(ra, offset, MiB, device);
            advisedEnd = Math.Max(advisedEnd, from + length);
        }
        Assert.Equal(device, advisedEnd);
    }
}
