using RumpFs.Kernel;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Conformance.ConformanceContext;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>Link counts after every operation, and storage kept while a removed file is referenced.</summary>
public class LinkCountConformanceTests
{
    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Mkdir_RaisesParentLinkCount_RmdirLowersIt(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.DirectoryLinkCounts)
        {
            return;
        }
        Ok(c.Fs.Mkdir("/p"), "mkdir p");
        Assert.Equal(2u, c.Fs.StatOk("/p").Nlink);
        Ok(c.Fs.Mkdir("/p/a"), "mkdir a");
        Ok(c.Fs.Mkdir("/p/b"), "mkdir b");
        Ok(c.Fs.Create("/p/f"), "create f");
        Assert.Equal(4u, c.Fs.StatOk("/p").Nlink);
        Assert.Equal(2u, c.Fs.StatOk("/p/a").Nlink);
        Ok(c.Fs.Rmdir("/p/a"), "rmdir a");
        Assert.Equal(3u, c.Fs.StatOk("/p").Nlink);
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Link_RaisesCount_RemoveLowersIt_ContentSurvives(string target)
    {
        using var c = new ConformanceContext(target);
        c.Fs.WriteFileOk("/orig", "shared"u8.ToArray());
        if (!c.Dev.HardLinks)
        {
            Is(c.Dev.UnsupportedErrno, c.Fs.Link("/orig", "/copy"), "link");
            return;
        }
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        Ok(c.Fs.Link("/orig", "/d/second"), "link");
        Assert.Equal(2u, c.Fs.StatOk("/orig").Nlink);
        Assert.Equal(c.Fs.StatOk("/orig").Ino, c.Fs.StatOk("/d/second").Ino);
        Is(Errno.EEXIST, c.Fs.Link("/orig", "/d/second"), "link over existing");
        Ok(c.Fs.Remove("/orig"), "remove orig");
        Assert.Equal(1u, c.Fs.StatOk("/d/second").Nlink);
        Assert.Equal("shared"u8.ToArray(), c.Fs.ReadAllOk("/d/second"));
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Link_Directory_ReturnsEperm(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        Is(Errno.EPERM, c.Fs.Link("/d", "/d2"), "link dir");
        // An existing name is EEXIST before the directory rule, as Linux's do_linkat looks the new name up first.
        c.Fs.WriteFileOk("/f", [1]);
        Is(Errno.EEXIST, c.Fs.Link("/d", "/f"), "link dir over existing");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void RemovedFile_StaysReadableWhileReferenced(string target)
    {
        using var c = new ConformanceContext(target);
        byte[] data = new byte[100_000];
        new Random(7).NextBytes(data);
        c.Fs.WriteFileOk("/victim", data);
        Ok(c.Fs.Resolve("/victim", out Vnode? held), "resolve");
        try
        {
            Ok(c.Fs.Remove("/victim"), "remove");
            Assert.False(c.Fs.Exists("/victim"));
            byte[] back = new byte[data.Length];
            Ok(Vop.Read(held!, 0, back, out int n), "read after unlink");
            Assert.Equal(data.Length, n);
            Assert.Equal(data, back);
            Ok(Vop.GetAttr(held!, out VAttr va), "getattr after unlink");
            Assert.Equal(0u, va.Nlink);
        }
        finally
        {
            held!.Release();
        }
        Ok(c.Fs.Create("/victim"), "name is free again");
    }
}
