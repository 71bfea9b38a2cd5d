using RumpFs.Kernel;

namespace RumpFs.Vfs.Tests;

public class MountOptionsTests
{
    [Fact]
    public void Parse_SplitsGenericAndDriverOptions()
    {
        Assert.Equal(Errno.OK, MountOptions.Parse("ro,noatime,cache=16M,uid=1000,shortnames", out MountOptions o, out _));
        Assert.True(o.ReadOnly);
        Assert.True(o.NoAtime);
        Assert.Equal(16L << 20, o.CacheBytes);
        Assert.Equal("1000", o.Extra["uid"]);
        Assert.Null(o.Extra["shortnames"]);
    }

    [Fact]
    public void Parse_BadCacheSize_IsEinvalWithMessage()
    {
        Assert.Equal(Errno.EINVAL, MountOptions.Parse("cache=lots", out _, out string? error));
        Assert.Contains("cache", error);
    }

    [Theory]
    [InlineData("512", 512L)]
    [InlineData("64K", 65536L)]
    [InlineData("2g", 2147483648L)]
    public void TryParseSize_AcceptsSuffixes(string text, long expected)
    {
        Assert.True(MountOptions.TryParseSize(text, out long bytes));
        Assert.Equal(expected, bytes);
    }
}
