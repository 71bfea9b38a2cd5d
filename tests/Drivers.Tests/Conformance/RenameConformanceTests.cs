using RumpFs.Kernel;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Conformance.ConformanceContext;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>rename(2) in all its POSIX cases.</summary>
public class RenameConformanceTests
{
    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Rename_FileOverFile_ReplacesTarget(string target)
    {
        using var c = new ConformanceContext(target);
        c.Fs.WriteFileOk("/a", "new"u8.ToArray());
        c.Fs.WriteFileOk("/b", "old"u8.ToArray());
        Ok(c.Fs.Rename("/a", "/b"), "rename");
        Assert.False(c.Fs.Exists("/a"));
        Assert.Equal("new"u8.ToArray(), c.Fs.ReadAllOk("/b"));
        Assert.Equal(["b"], c.Fs.ListOk("/"));
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Rename_DirectoryIntoItsOwnChild_ReturnsEinval(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Mkdir("/a"), "mkdir a");
        Ok(c.Fs.Mkdir("/a/b"), "mkdir b");
        Ok(c.Fs.Mkdir("/a/b/c"), "mkdir c");
        Is(Errno.EINVAL, c.Fs.Rename("/a", "/a/b/c/a"), "into grandchild");
        Is(Errno.EINVAL, c.Fs.Rename("/a", "/a/x"), "into child");
        // Onto a file or a directory inside itself: still EINVAL, decided before the types (Linux).
        Ok(c.Fs.Create("/a/b/f"), "create f");
        Is(Errno.EINVAL, c.Fs.Rename("/a", "/a/b/f"), "onto a file inside itself");
        Is(Errno.EINVAL, c.Fs.Rename("/a", "/a/b/c"), "onto a directory inside itself");
        Assert.True(c.Fs.Exists("/a/b/c"));
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Rename_DirectoryOverNonEmptyDirectory_ReturnsEnotempty(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Mkdir("/src"), "mkdir");
        Ok(c.Fs.Mkdir("/dst"), "mkdir");
        Ok(c.Fs.Create("/dst/keep"), "create");
        Is(Errno.ENOTEMPTY, c.Fs.Rename("/src", "/dst"), "rename");
        Ok(c.Fs.Remove("/dst/keep"), "remove");
        Ok(c.Fs.Rename("/src", "/dst"), "rename over empty dir");
        Assert.False(c.Fs.Exists("/src"));
        if (c.Dev.DirectoryLinkCounts)
        {
            Assert.Equal(3u, c.Fs.StatOk("/").Nlink);
        }
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Rename_MismatchedTypes_ReturnEnotdirOrEisdir(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        Ok(c.Fs.Create("/f"), "create");
        Is(Errno.ENOTDIR, c.Fs.Rename("/d", "/f"), "dir over file");
        Is(Errno.EISDIR, c.Fs.Rename("/f", "/d"), "file over dir");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Rename_DirectoryAcrossParents_UpdatesDotDotAndLinkCounts(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Mkdir("/p1"), "mkdir p1");
        Ok(c.Fs.Mkdir("/p2"), "mkdir p2");
        Ok(c.Fs.Mkdir("/p1/moving"), "mkdir moving");
        Ok(c.Fs.Create("/p1/moving/inside"), "create inside");
        Ok(c.Fs.Rename("/p1/moving", "/p2/moved"), "rename");
        Assert.Equal(c.Fs.StatOk("/p2").Ino, c.Fs.StatOk("/p2/moved/..").Ino);
        Assert.True(c.Fs.Exists("/p2/moved/inside"));
        Assert.Empty(c.Fs.ListOk("/p1"));
        if (c.Dev.DirectoryLinkCounts)
        {
            Assert.Equal(2u, c.Fs.StatOk("/p1").Nlink);
            Assert.Equal(3u, c.Fs.StatOk("/p2").Nlink);
        }
        if (c.TryRemount())
        {
            Assert.Equal(c.Fs.StatOk("/p2").Ino, c.Fs.StatOk("/p2/moved/..").Ino);
            Assert.True(c.Fs.Exists("/p2/moved/inside"));
        }
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Rename_HardLinksToSameFile_IsNoOp(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.HardLinks)
        {
            return;
        }
        Ok(c.Fs.Create("/x"), "create");
        Ok(c.Fs.Link("/x", "/y"), "link");
        Ok(c.Fs.Rename("/x", "/y"), "rename onto own link");
        Assert.True(c.Fs.Exists("/x"));
        Assert.True(c.Fs.Exists("/y"));
        Assert.Equal(2u, c.Fs.StatOk("/y").Nlink);
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Rename_NoReplaceOverExisting_ReturnsEexist_MissingSourceEnoent(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Create("/a"), "create");
        Ok(c.Fs.Create("/b"), "create");
        Is(Errno.EEXIST, c.Fs.Rename("/a", "/b", RenameFlags.NoReplace), "noreplace");
        Is(Errno.ENOENT, c.Fs.Rename("/none", "/c"), "missing source");
        Is(Errno.EINVAL, c.Fs.Rename("/a", "/."), "onto dot");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Rename_WithinDirectory_KeepsInodeAndContent(string target)
    {
        using var c = new ConformanceContext(target);
        c.Fs.WriteFileOk("/before", "kept"u8.ToArray());
        ulong ino = c.Fs.StatOk("/before").Ino;
        Ok(c.Fs.Rename("/before", "/after"), "rename");
        Assert.Equal("kept"u8.ToArray(), c.Fs.ReadAllOk("/after"));
        if (c.Target.Name.StartsWith("tmpfs", StringComparison.Ordinal) || c.Dev.HardLinks)
        {
            Assert.Equal(ino, c.Fs.StatOk("/after").Ino);
        }
    }
}
