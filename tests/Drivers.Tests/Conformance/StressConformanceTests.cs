using RumpFs.Kernel;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Conformance.ConformanceContext;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>
/// Several threads creating, renaming across directories and removing in one tree for a
/// bounded time: no deadlock, and afterwards every directory's entries and link count agree.
/// </summary>
public class StressConformanceTests
{
    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void ConcurrentCreateRenameRemove_EndsConsistent(string target)
    {
        using var c = new ConformanceContext(target);
        const int Dirs = 4;
        for (int d = 0; d < Dirs; d++)
        {
            Ok(c.Fs.Mkdir($"/d{d}"), "mkdir");
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        var workers = Enumerable.Range(0, 4).Select(w => new Thread(() =>
        {
            var rng = new Random(w);
            int ops = 0;
            while (DateTime.UtcNow < deadline && ops < 20_000)
            {
                ops++;
                string a = $"/d{rng.Next(Dirs)}/n{rng.Next(40)}";
                string b = $"/d{rng.Next(Dirs)}/n{rng.Next(40)}";
                switch (rng.Next(6))
                {
                    case 0: c.Fs.Create(a); break;
                    case 1: c.Fs.Mkdir(a); break;
                    case 2: c.Fs.Remove(a); break;
                    case 3: c.Fs.Rmdir(a); break;
                    case 4: c.Fs.Rename(a, b); break;
                    default: c.Fs.Rename($"/d{rng.Next(Dirs)}", $"/d{rng.Next(Dirs)}/sub{rng.Next(3)}"); break;
                }
            }
        })).ToArray();
        foreach (Thread t in workers)
        {
            t.Start();
        }
        var joinDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        foreach (Thread t in workers)
        {
            TimeSpan left = joinDeadline - DateTime.UtcNow;
            Assert.True(t.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero), "workers deadlocked");
        }
        CheckTree(c, "/");
    }

    /// <summary>Every entry resolves, ".." points back, and link counts match the entries.</summary>
    private static void CheckTree(ConformanceContext c, string path)
    {
        VAttr dir = c.Fs.StatOk(path);
        Ok(c.Fs.ReadDir(path, out List<DirEntry> entries), "readdir " + path);
        int subdirs = 0;
        foreach (DirEntry e in entries.Where(e => e.Name is not "." and not ".."))
        {
            string child = path.TrimEnd('/') + "/" + e.Name;
            VAttr va = c.Fs.StatOk(child, follow: false);
            Assert.Equal(va.Type, e.Type);
            if (va.Type == VType.Directory)
            {
                subdirs++;
                Assert.Equal(dir.Ino, c.Fs.StatOk(child + "/..").Ino);
                CheckTree(c, child);
            }
        }
        if (c.Dev.DirectoryLinkCounts)
        {
            Assert.Equal((uint)(2 + subdirs), dir.Nlink);
        }
    }
}
