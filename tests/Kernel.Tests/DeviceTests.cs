using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;

namespace RumpFs.Kernel.Tests;

public class DeviceTests
{
    [Fact]
    public void FileDevice_ReadsAndWritesAtOffsets()
    {
        using var dir = new ScratchDir();
        string path = dir.File("img");
        File.WriteAllBytes(path, new byte[8192]);
        Assert.Equal(Errno.OK, FileBlockDevice.Open(path, readOnly: false, out FileBlockDevice? dev, out _));
        using (dev)
        {
            Assert.Equal(8192, dev!.Length);
            Assert.Equal(Errno.OK, dev.Write(4096, "abc"u8));
            Assert.Equal(Errno.OK, dev.Flush());
            byte[] back = new byte[3];
            Assert.Equal(Errno.OK, dev.Read(4096, back));
            Assert.Equal("abc"u8.ToArray(), back);
        }
        Assert.Equal((byte)'a', File.ReadAllBytes(path)[4096]);
    }

    [Fact]
    public void FileDevice_AccessOutsideTheImage_ReturnsEioAndTouchesNothing()
    {
        using var dir = new ScratchDir();
        string path = dir.File("img");
        File.WriteAllBytes(path, new byte[4096]);
        FileBlockDevice.Open(path, readOnly: false, out FileBlockDevice? dev, out _);
        using (dev)
        {
            Assert.Equal(Errno.EIO, dev!.Read(4000, new byte[200]));
            Assert.Equal(Errno.EIO, dev.Write(4095, "xy"u8));
            Assert.Equal(Errno.EIO, dev.Read(-1, new byte[1]));
        }
        Assert.Equal(4096, new FileInfo(path).Length);
    }

    [Fact]
    public void FileDevice_SecondReadWriteOpen_ReturnsEbusyWithMessage()
    {
        using var dir = new ScratchDir();
        string path = dir.File("img");
        File.WriteAllBytes(path, new byte[4096]);
        Assert.Equal(Errno.OK, FileBlockDevice.Open(path, readOnly: false, out FileBlockDevice? first, out _));
        using (first)
        {
            Assert.Equal(Errno.EBUSY, FileBlockDevice.Open(path, readOnly: false, out _, out string? error));
            Assert.Contains("in use", error);
            Assert.Equal(Errno.EBUSY, FileBlockDevice.Open(path, readOnly: true, out _, out _));
        }
        Assert.Equal(Errno.OK, FileBlockDevice.Open(path, readOnly: false, out FileBlockDevice? again, out _));
        again!.Dispose();
    }

    [Fact]
    public void FileDevice_ReadOnlyOpens_ShareTheImage_AndRefuseWrites()
    {
        using var dir = new ScratchDir();
        string path = dir.File("img");
        File.WriteAllBytes(path, new byte[4096]);
        FileBlockDevice.Open(path, readOnly: true, out FileBlockDevice? a, out _);
        Assert.Equal(Errno.OK, FileBlockDevice.Open(path, readOnly: true, out FileBlockDevice? b, out _));
        using (a)
        using (b)
        {
            Assert.True(a!.IsReadOnly);
            Assert.Equal(Errno.EROFS, a.Write(0, "x"u8));
        }
    }

    [Fact]
    public void FileDevice_MissingImageOrDirectory_GivesClearErrors()
    {
        using var dir = new ScratchDir();
        Assert.Equal(Errno.ENOENT, FileBlockDevice.Open(dir.File("none"), true, out _, out string? e1));
        Assert.Contains("no such file", e1);
        Assert.Equal(Errno.EISDIR, FileBlockDevice.Open(dir.Path, true, out _, out string? e2));
        Assert.Contains("directory", e2);
    }

    [Fact]
    public void WindowDevice_ConfinesEveryAccessToTheWindow()
    {
        var mem = new MemoryBlockDevice(10_000);
        using var win = new WindowBlockDevice(mem, 1000, 2000);
        Assert.Equal(2000, win.Length);
        Assert.Equal(Errno.OK, win.Write(0, "start"u8));
        Assert.Equal(Errno.OK, win.Write(1995, "endxx"u8));
        Assert.Equal(Errno.EIO, win.Write(1996, "endxx"u8));
        Assert.Equal(Errno.EIO, win.Read(2000, new byte[1]));
        Assert.Equal((byte)'s', mem.Contents[1000]);
        Assert.Equal((byte)'x', mem.Contents[2999]);
        Assert.Equal(0, mem.Contents[3000]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new WindowBlockDevice(mem, 9000, 2000));
    }

    [Fact]
    public void FaultDevice_FailsTheNthReadAndTearsTheNthWrite()
    {
        var mem = new MemoryBlockDevice(4096);
        var faulty = new FaultInjectingBlockDevice(mem) { FailReadNumber = 2, FailWriteNumber = 1, WriteFaultKind = WriteFault.Torn };
        Assert.Equal(Errno.OK, faulty.Read(0, new byte[16]));
        Assert.Equal(Errno.EIO, faulty.Read(0, new byte[16]));
        Assert.Equal(Errno.OK, faulty.Read(0, new byte[16]));
        Assert.Equal(Errno.OK, faulty.Write(0, "ABCDEFGH"u8));
        Assert.Equal("ABCD\0\0\0\0"u8.ToArray(), mem.Contents[..8]);
        faulty.FailWriteNumber = 2;
        faulty.WriteFaultKind = WriteFault.Short;
        Assert.Equal(Errno.EIO, faulty.Write(100, "1234"u8));
        Assert.Equal((byte)'1', mem.Contents[100]);
        Assert.Equal(0, mem.Contents[102]);
        faulty.FailAll = true;
        Assert.Equal(Errno.EIO, faulty.Flush());
    }

    [Fact]
    public void MemoryDevice_ReadOnly_RefusesWritesWithErofs()
    {
        var mem = new MemoryBlockDevice(new byte[512], readOnly: true);
        Assert.Equal(Errno.EROFS, mem.Write(0, "x"u8));
    }
}
