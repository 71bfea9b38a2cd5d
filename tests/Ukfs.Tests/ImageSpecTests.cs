using RumpFs.Ukfs.Partitions;

namespace RumpFs.Ukfs.Tests;

public sealed class ImageSpecTests
{
    [Theory]
    [InlineData("disk.img", "disk.img", null, null)]
    [InlineData("disk.img%MBR:2%", "disk.img", PartitionScheme.Mbr, "2")]
    [InlineData("/x/disk%1.img%GPT:13%", "/x/disk%1.img", PartitionScheme.Gpt, "13")]
    [InlineData("disk.img%DISKLABEL:e%", "disk.img", PartitionScheme.Disklabel, "e")]
    [InlineData("disk.img%disklabel:a%", "disk.img", PartitionScheme.Disklabel, "a")]
    public void Parse_SplitsPathAndSelection(string text, string path, PartitionScheme? scheme, string? index)
    {
        ImageSpec s = ImageSpec.Parse(text);
        Assert.Equal(path, s.Path);
        Assert.Equal(scheme, s.Scheme);
        Assert.Equal(index, s.Index);
    }

    [Theory]
    [InlineData("disk.img%MBR:0%")]
    [InlineData("disk.img%MBR:x%")]
    [InlineData("disk.img%GPT:%")]
    [InlineData("disk.img%DISKLABEL:E1%")]
    [InlineData("disk.img%APM:1%")]
    public void Parse_MalformedSelection_Throws(string text) =>
        Assert.Throws<ArgumentException>(() => ImageSpec.Parse(text));

    [Fact]
    public void ToString_RoundTrips() =>
        Assert.Equal("a.img%DISKLABEL:e%", ImageSpec.Parse("a.img%disklabel:e%").ToString());
}
