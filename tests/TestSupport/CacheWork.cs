using RumpFs.Vfs;

namespace RumpFs.TestSupport;

/// <summary>
/// Counts the metadata work a mount does, as buffer-cache lookups, so a test can tell
/// linear from quadratic behaviour without timing anything (timings depend on the machine).
/// </summary>
public static class CacheWork
{
    /// <summary>Buffer-cache lookups (hits plus misses) since the mount began.</summary>
    public static long Lookups(Mount mount)
    {
        ArgumentNullException.ThrowIfNull(mount);
        var stats = mount.CacheStats ?? throw new InvalidOperationException($"{mount.FsType} has no buffer cache");
        return stats.Hits + stats.Misses;
    }

    /// <summary>Lookups <paramref name="action"/> made on <paramref name="mount"/>.</summary>
    public static long Of(Mount mount, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        long before = Lookups(mount);
        action();
        return Lookups(mount) - before;
    }
}
