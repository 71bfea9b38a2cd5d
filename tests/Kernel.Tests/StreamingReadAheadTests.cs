using RumpFs.Kernel.Devices;

namespace RumpFs.Kernel.Tests;

public class StreamingReadAheadTests
{
    private const int MiB = 1 << 20;
    private const long Device = 1L << 30;

    [Fact]
    public void FirstLargeRead_AsksForNothing()
    {
        var ra = new StreamingReadAhead();
        Assert.Equal(0, ra.OnRead(0, MiB, Device).Length);
    }

    [Fact]
    public void SequentialReads_AskAheadDoublingUpToTheMaximum()
    {
        var ra = new StreamingReadAhead();
        ra.OnRead(0, MiB, Device);
        // Two MiB read so far: two MiB ahead of the end.
        Assert.Equal((2L * MiB, 2L * MiB), ra.OnRead(MiB, MiB, Device));
        long advisedEnd = 4L * MiB;
        long offset = 2L * MiB;
        for (; offset < 200L * MiB; offset += MiB)
        {
            (long from, long length) = ra.OnRead(offset, MiB, Device);
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
    public void ShortFile_AsksForLittleMoreThanItself()
    {
        var ra = new StreamingReadAhead();
        long advisedEnd = 0;
        for (long offset = 0; offset < 3L * MiB; offset += MiB)
        {
            (long from, long length) = ra.OnRead(offset, MiB, Device);
            advisedEnd = Math.Max(advisedEnd, from + length);
        }
        // At most twice what was read.
        Assert.True(advisedEnd <= 6L * MiB, $"advised up to {advisedEnd}");
    }

    [Fact]
    public void SmallReads_NeitherBreakNorExtendAStream()
    {
        var ra = new StreamingReadAhead();
        ra.OnRead(0, MiB, Device);
        Assert.Equal(0, ra.OnRead(500L * MiB, 4096, Device).Length);
        Assert.NotEqual(0, ra.OnRead(MiB, MiB, Device).Length);
    }

    [Fact]
    public void ARandomLargeRead_StartsANewStream()
    {
        var ra = new StreamingReadAhead();
        ra.OnRead(0, MiB, Device);
        ra.OnRead(MiB, MiB, Device);
        Assert.Equal(0, ra.OnRead(700L * MiB, MiB, Device).Length);
        Assert.Equal(0, ra.OnRead(100L * MiB, MiB, Device).Length);
        (long from, long length) = ra.OnRead(101L * MiB, MiB, Device);
        Assert.Equal(102L * MiB, from);
        Assert.Equal(2L * MiB, length);
    }

    [Fact]
    public void ASkipIntoTheAskedForRange_ContinuesTheStream()
    {
        var ra = new StreamingReadAhead();
        ra.OnRead(0, MiB, Device);
        ra.OnRead(MiB, MiB, Device); // asks up to 4 MiB
        // The next extent starts a little further on, inside what was asked for.
        (long from, long length) = ra.OnRead(3L * MiB, MiB, Device);
        Assert.Equal(4L * MiB, from);
        Assert.Equal(4L * MiB, length);
    }

    [Fact]
    public void Advice_StopsAtTheEndOfTheDevice()
    {
        var ra = new StreamingReadAhead();
        long device = 6L * MiB;
        long advisedEnd = 0;
        for (long offset = 0; offset < device; offset += MiB)
        {
            (long from, long length) = ra.OnRead(offset, MiB, device);
            advisedEnd = Math.Max(advisedEnd, from + length);
        }
        Assert.Equal(device, advisedEnd);
    }
}
