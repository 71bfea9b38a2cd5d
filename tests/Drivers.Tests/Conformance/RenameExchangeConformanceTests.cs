using RumpFs.Kernel;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Conformance.ConformanceContext;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>renameat2(RENAME_EXCHANGE): two names trade the nodes they name, atomically.</summary>
public class RenameExchangeConformanceTests
{
    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Exchange_TwoFilesInOneFolder_SwapsThem(string target)
    {
        using var c = new ConformanceContext(target);
        c.Fs.WriteFileOk("/a", "A"u8.ToArray());
        c.Fs.WriteFileOk("/b", "B"u8.ToArray());
        (ulong inoA, ulong inoB) = (c.Fs.StatOk("/a").Ino, c.Fs.StatOk("/b").Ino);
        Errno e = c.Fs.Rename("/a", "/b", RenameFlags.Exchange);
        if (!c.Dev.RenameExchange)
        {
            Is(Errno.EINVAL, e, "exchange");
            return;
        }
        Ok(e, "exchange");
        Assert.Equal("B"u8.ToArray(), c.Fs.ReadAllOk("/a"));
        Assert.Equal("A"u8.ToArray(), c.Fs.ReadAllOk("/b"));
        Assert.Equal((inoB, inoA), (c.Fs.StatOk("/a").Ino, c.Fs.StatOk("/b").Ino));
        Assert.Equal((1u, 1u), (c.Fs.StatOk("/a").Nlink, c.Fs.StatOk("/b").Nlink));
        Is(Errno.ENOENT, c.Fs.Rename("/a", "/none", RenameFlags.Exchange), "exchange with a missing name");
        if (c.TryRemount())
        {
            Assert.Equal("B"u8.ToArray(), c.Fs.ReadAllOk("/a"));
            Assert.Equal("A"u8.ToArray(), c.Fs.ReadAllOk("/b"));
        }
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Exchange_FileAndFolderAcrossParents_MovesDotDotAndLinkCounts(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.RenameExchange)
        {
            return;
        }
        Ok(c.Fs.Mkdir("/p1"), "mkdir p1");
        Ok(c.Fs.Mkdir("/p2"), "mkdir p2");
        c.Fs.WriteFileOk("/p1/file", "data"u8.ToArray());
        Ok(c.Fs.Mkdir("/p2/dir"), "mkdir dir");
        c.Fs.WriteFileOk("/p2/dir/inner", "inner"u8.ToArray());
        Is(Errno.EINVAL, c.Fs.Rename("/p2", "/p2/dir/inner", RenameFlags.Exchange), "exchange a folder with a name below it");

        Ok(c.Fs.Rename("/p1/file", "/p2/dir", RenameFlags.Exchange), "exchange");
        AssertShape(c);
        if (c.TryRemount())
        {
            AssertShape(c);
        }
    }

    private static void AssertShape(ConformanceContext c)
    {
        Assert.Equal("inner"u8.ToArray(), c.Fs.ReadAllOk("/p1/file/inner"));
        Assert.Equal("data"u8.ToArray(), c.Fs.ReadAllOk("/p2/dir"));
        Assert.Equal(c.Fs.StatOk("/p1").Ino, c.Fs.StatOk("/p1/file/..").Ino);
        if (c.Dev.DirectoryLinkCounts)
        {
            Assert.Equal(3u, c.Fs.StatOk("/p1").Nlink);
            Assert.Equal(2u, c.Fs.StatOk("/p2").Nlink);
            Assert.Equal(2u, c.Fs.StatOk("/p1/file").Nlink);
        }
    }
}
