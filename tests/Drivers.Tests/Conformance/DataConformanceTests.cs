using RumpFs.Kernel;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Conformance.ConformanceContext;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>File contents: writes, reads, truncation up and down, holes, statvfs accounting.</summary>
public class DataConformanceTests
{
    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Write_ThenRead_ReturnsSameBytes_AcrossOddSizes(string target)
    {
        using var c = new ConformanceContext(target);
        var rng = new Random(42);
        foreach (int size in new[] { 1, 511, 4096, 4097, 65_537, 1_048_576 + 3 })
        {
            byte[] data = new byte[size];
            rng.NextBytes(data);
            string path = $"/data-{size}";
            c.Fs.WriteFileOk(path, data);
            Assert.Equal(size, c.Fs.StatOk(path).Size);
            Assert.Equal(data, c.Fs.ReadAllOk(path, chunk: 10_000));
        }
        if (c.TryRemount())
        {
            var again = new Random(42);
            foreach (int size in new[] { 1, 511, 4096, 4097, 65_537, 1_048_576 + 3 })
            {
                byte[] data = new byte[size];
                again.NextBytes(data);
                Assert.Equal(data, c.Fs.ReadAllOk($"/data-{size}"));
            }
        }
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Truncate_UpThenDown_HolesReadAsZeros(string target)
    {
        using var c = new ConformanceContext(target);
        byte[] data = Enumerable.Repeat((byte)0xAB, 10_000).ToArray();
        c.Fs.WriteFileOk("/t", data);
        Ok(c.Fs.Truncate("/t", 3_000), "truncate down");
        Assert.Equal(3_000, c.Fs.StatOk("/t").Size);
        Ok(c.Fs.Truncate("/t", 200_000), "truncate up");
        byte[] back = c.Fs.ReadAllOk("/t");
        Assert.Equal(200_000, back.Length);
        Assert.All(back[..3_000], b => Assert.Equal(0xAB, b));
        Assert.All(back[3_000..], b => Assert.Equal(0, b));
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Write_PastEnd_LeavesZeroFilledGap(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Create("/gap"), "create");
        Ok(c.Fs.Write("/gap", 0, "head"u8), "write head");
        Ok(c.Fs.Write("/gap", 5_000_000, "tail"u8), "write tail");
        Assert.Equal(5_000_004, c.Fs.StatOk("/gap").Size);
        Ok(c.Fs.Read("/gap", 4_000_000, 4096, out byte[] middle), "read hole");
        Assert.Equal(4096, middle.Length);
        Assert.All(middle, b => Assert.Equal(0, b));
        Ok(c.Fs.Read("/gap", 4_999_998, 100, out byte[] end), "read tail");
        Assert.Equal([0, 0, (byte)'t', (byte)'a', (byte)'i', (byte)'l'], end);
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Read_DirectoryOrPastEnd_GivesEisdirOrNothing(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        Is(Errno.EISDIR, c.Fs.Read("/d", 0, 10, out _), "read dir");
        Is(Errno.EISDIR, c.Fs.Write("/d", 0, "x"u8), "write dir");
        c.Fs.WriteFileOk("/f", "abc"u8.ToArray());
        Ok(c.Fs.Read("/f", 100, 10, out byte[] none), "read past end");
        Assert.Empty(none);
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Statvfs_FreeSpaceDropsAfterWrite_AndReturnsAfterRemove(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(Vop.Statvfs(c.Fs.Mount, out StatVfs before), "statvfs");
        Assert.True(before.Blocks > 0 && before.BlocksFree <= before.Blocks);
        c.Fs.WriteFileOk("/big", new byte[4 << 20]);
        Ok(Vop.Statvfs(c.Fs.Mount, out StatVfs during), "statvfs");
        long usedBytes = (before.BlocksFree - during.BlocksFree) * during.FragmentSize;
        Assert.InRange(usedBytes, 4 << 20, 5 << 20);
        Ok(c.Fs.Remove("/big"), "remove");
        Ok(Vop.Statvfs(c.Fs.Mount, out StatVfs after), "statvfs");
        Assert.Equal(before.BlocksFree, after.BlocksFree);
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Write_UntilFull_ReturnsEnospc_AndSpaceComesBack(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(Vop.Statvfs(c.Fs.Mount, out StatVfs st), "statvfs");
        long capacity = st.BlocksFree * st.FragmentSize;
        Assert.True(capacity < 1L << 30, "target should be small enough to fill");
        Ok(c.Fs.Create("/fill"), "create");
        byte[] chunk = new byte[1 << 20];
        long offset = 0;
        Errno e = Errno.OK;
        while (offset <= capacity + (1 << 20))
        {
            e = c.Fs.Write("/fill", offset, chunk);
            if (e != Errno.OK)
            {
                break;
            }
            offset += chunk.Length;
        }
        Assert.True(e is Errno.ENOSPC or Errno.EIO, $"expected ENOSPC when full, got {e}");
        Ok(c.Fs.Remove("/fill"), "remove");
        c.Fs.WriteFileOk("/after", new byte[1 << 20]);
    }
}
