using System.Text;

namespace RumpFs.Vfs.Tests;

public class NameEncodingTests
{
    [Theory]
    [InlineData("plain.txt")]
    [InlineData("café")]
    [InlineData("日本語")]
    [InlineData("\U0001F080 and \U0001F600")] // pairs whose low half lies in U+DC80..U+DCFF and outside it
    public void ValidUtf8_DecodesAndEncodesAsUtf8(string name)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(name);
        Assert.Equal(name, NameEncoding.GetString(utf8));
        Assert.Equal(utf8, NameEncoding.GetBytes(name));
        Assert.Equal(utf8.Length, NameEncoding.GetByteCount(name));
    }

    [Fact]
    public void Latin1Name_BecomesEscapesAndComesBackByteForByte()
    {
        byte[] latin1 = [(byte)'c', (byte)'a', (byte)'f', 0xE9];
        string name = NameEncoding.GetString(latin1);
        Assert.Equal("caf\uDCE9", name);
        Assert.Equal(latin1, NameEncoding.GetBytes(name));
        Assert.Equal(4, NameEncoding.GetByteCount(name));
    }

    [Theory]
    [InlineData(new byte[] { 0xC3 })]                   // a sequence cut short
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]       // an encoded surrogate
    [InlineData(new byte[] { 0xC0, 0xAF })]             // an overlong '/'
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })] // past U+10FFFF
    [InlineData(new byte[] { 0x80, 0x41, 0xC3, 0xA9, 0xFF })] // mixed with valid text
    public void InvalidSequences_RoundTrip(byte[] bytes)
    {
        string name = NameEncoding.GetString(bytes);
        Assert.Equal(bytes, NameEncoding.GetBytes(name));
        Assert.Equal(bytes.Length, NameEncoding.GetByteCount(name));
        Span<byte> into = stackalloc byte[bytes.Length];
        Assert.Equal(bytes.Length, NameEncoding.GetBytes(name, into));
        Assert.True(into.SequenceEqual(bytes));
    }

    [Fact]
    public void RandomBytes_AlwaysRoundTrip()
    {
        var rng = new Random(1);
        for (int i = 0; i < 20_000; i++)
        {
            byte[] bytes = new byte[rng.Next(1, 40)];
            rng.NextBytes(bytes);
            Assert.Equal(bytes, NameEncoding.GetBytes(NameEncoding.GetString(bytes)));
        }
    }

    [Fact]
    public void LoneSurrogateThatIsNoEscape_EncodesAsReplacementCharacter()
    {
        Assert.Equal(new byte[] { (byte)'a', 0xEF, 0xBF, 0xBD }, NameEncoding.GetBytes("a\uD800"));
        Assert.Equal(new byte[] { (byte)'a', 0xEF, 0xBF, 0xBD, 0xE9 }, NameEncoding.GetBytes("a\uDC7F\uDCE9"));
    }

    [Fact]
    public void TooSmallDestination_Throws()
    {
        byte[] into = new byte[2];
        Assert.Throws<ArgumentException>(() => NameEncoding.GetBytes("ab\uDCE9", into));
    }
}
