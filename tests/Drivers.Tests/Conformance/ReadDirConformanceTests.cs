using RumpFs.Kernel;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Conformance.ConformanceContext;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>readdir cookies: complete listings in small batches, stable while entries go away.</summary>
public class ReadDirConformanceTests
{
    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void ReadDir_InSmallBatches_ListsEveryEntryOnce(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Mkdir("/many"), "mkdir");
        var expected = new List<string>();
        for (int i = 0; i < 300; i++)
        {
            string name = $"entry-{i:D4}-{new string('x', i % 40)}";
            Ok(c.Fs.Create("/many/" + name), "create " + name);
            expected.Add(name);
        }
        Ok(c.Fs.ReadDir("/many", out List<DirEntry> entries, batch: 7), "readdir");
        var names = entries.Select(e => e.Name).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains(".", names);
        Assert.Contains("..", names);
        Assert.Equal(expected.Order(StringComparer.Ordinal), names.Where(n => n is not "." and not "..").Order(StringComparer.Ordinal));
        Assert.All(entries.Where(e => e.Name.StartsWith("entry", StringComparison.Ordinal)), e => Assert.Equal(VType.Regular, e.Type));
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void ReadDir_WhileEntriesAreRemovedConcurrently_NeverRepeatsAndKeepsSurvivors(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Mkdir("/churn"), "mkdir");
        for (int i = 0; i < 400; i++)
        {
            Ok(c.Fs.Create($"/churn/f{i:D4}"), "create");
        }
        Ok(c.Fs.Resolve("/churn", out Vnode? dir), "resolve");
        try
        {
            var seen = new List<string>();
            using var stop = new CancellationTokenSource();
            var remover = new Thread(() =>
            {
                // Remove the odd entries while the listing runs.
                for (int i = 1; i < 400 && !stop.IsCancellationRequested; i += 2)
                {
                    c.Fs.Remove($"/churn/f{i:D4}");
                }
            });
            remover.Start();
            long cookie = 0;
            while (true)
            {
                var sink = new DirEntryList(5);
                Ok(Vop.ReadDir(dir!, cookie, sink), "readdir");
                if (sink.Entries.Count == 0)
                {
                    break;
                }
                seen.AddRange(sink.Entries.Select(e => e.Name));
                cookie = sink.Entries[^1].NextCookie;
            }
            stop.Cancel();
            Assert.True(remover.Join(TimeSpan.FromSeconds(60)), "remover hung");
            Assert.Equal(seen.Count, seen.Distinct(StringComparer.Ordinal).Count());
            for (int i = 0; i < 400; i += 2)
            {
                Assert.Contains($"f{i:D4}", seen);
            }
        }
        finally
        {
            dir!.Release();
        }
    }
}
