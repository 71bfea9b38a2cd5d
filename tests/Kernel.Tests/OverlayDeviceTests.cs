using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.Kernel.Tests;

/// <summary>The replay overlay: replaced ranges show through reads of any alignment, nothing reaches the device below until a commit.</summary>
public class OverlayDeviceTests
{
    private static MemoryBlockDevice Filled(int length)
    {
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)(i % 251);
        }
        return new MemoryBlockDevice(data);
    }

    [Fact]
    public void Read_ShowsReplacedRangesOverTheDevice_AtAnyOffsetAndLength()
    {
        MemoryBlockDevice inner = Filled(64 * 1024);
        byte[] expected = (byte[])inner.Contents.Clone();
        var overlay = new OverlayDevice(inner);
        var rng = new Random(4);
        for (int i = 0; i < 40; i++)
        {
            long at = rng.Next(0, 127) * 512L;
            byte[] data = new byte[512];
            rng.NextBytes(data);
            overlay.Put(at, data);
            data.CopyTo(expected, at);
        }
        for (int i = 0; i < 300; i++)
        {
            int off = rng.Next(0, expected.Length - 1);
            int len = rng.Next(1, Math.Min(5000, expected.Length - off));
            byte[] got = new byte[len];
            Assert.Equal(Errno.OK, overlay.Read(off, got));
            Assert.Equal(expected.AsSpan(off, len).ToArray(), got);
        }
        Assert.Equal(0, inner.WriteCount);
    }

    [Fact]
    public void Put_SameOffsetReplaces_WriteIsRefused_CommitWritesAndFlushes()
    {
        MemoryBlockDevice inner = Filled(8192);
        var overlay = new OverlayDevice(inner);
        overlay.Put(1024, [1, 2, 3]);
        overlay.Put(1024, [7, 8, 9, 10]);
        Assert.Equal(1, overlay.Count);
        Assert.True(overlay.IsReadOnly);
        Assert.Equal(Errno.EROFS, overlay.Write(0, new byte[1]));

        var target = new MemoryBlockDevice((byte[])inner.Contents.Clone());
        Assert.Equal(Errno.OK, overlay.CommitTo(target));
        Assert.Equal(new byte[] { 7, 8, 9, 10 }, target.Contents.AsSpan(1024, 4).ToArray());
        Assert.Equal(1, target.FlushCount);
        Assert.Equal(0, inner.WriteCount);

        overlay.Dispose();
        Assert.Equal(Errno.OK, inner.Read(0, new byte[16])); // the device below stays open
    }
}
