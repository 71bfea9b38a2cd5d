using RumpFs.Kernel;

namespace RumpFs.Kernel.Tests;

/// <summary>The seeded source behind reproducible images: the same seed, the same stream, however it is drawn.</summary>
public class RandomSourceTests
{
    [Fact]
    public void SeededRandom_SameSeedSameStream_WhateverThePieces()
    {
        byte[] seed = [1, 2, 3];
        byte[] whole = new SeededRandom(seed).NextBytes(100);
        var pieces = new SeededRandom(seed);
        byte[] joined = [.. pieces.NextBytes(3), .. pieces.NextBytes(40), .. pieces.NextBytes(57)];
        Assert.Equal(whole, joined);
        Assert.NotEqual(whole, new SeededRandom([1, 2, 4]).NextBytes(100));
        Assert.NotEqual(whole[..32], whole[32..64]); // each block differs
    }

    [Fact]
    public void NextPositiveInt32_NeverZeroOrNegative()
    {
        var r = new SeededRandom([9]);
        for (int i = 0; i < 10_000; i++)
        {
            Assert.InRange(r.NextPositiveInt32(), 1, int.MaxValue - 1);
        }
    }

    [Fact]
    public void FixedClock_AlwaysTheSameTime()
    {
        var clock = new FixedClock(new Timespec(1_700_000_000, 5));
        Assert.Equal(new Timespec(1_700_000_000, 5), clock.Now);
        Assert.Equal(clock.Now, clock.Now);
    }
}
