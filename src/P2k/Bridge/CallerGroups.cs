using System.Collections.Concurrent;
using System.Globalization;

namespace RumpFs.P2k.Bridge;

/// <summary>
/// Supplementary groups of the process that made a request, read from the "Groups:" line of
/// /proc/PID/status (FUSE carries only uid, gid and pid). Cached per pid for a short while,
/// since one process usually sends many requests in a row.
/// </summary>
internal sealed class CallerGroups
{
    private const long TtlMilliseconds = 1000;
    private const int MaxEntries = 4096;

    private readonly ConcurrentDictionary<int, Entry> _cache = new();

    public IReadOnlyList<uint> For(int pid, uint uid)
    {
        if (pid <= 0)
        {
            return [];
        }
        long now = Environment.TickCount64;
        if (_cache.TryGetValue(pid, out Entry? e) && e.Uid == uid && now - e.At < TtlMilliseconds)
        {
            return e.Groups;
        }
        uint[] groups = Read(pid);
        if (_cache.Count >= MaxEntries)
        {
            _cache.Clear();
        }
        _cache[pid] = new Entry(uid, now, groups);
        return groups;
    }

    internal static uint[] Read(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("Groups:", StringComparison.Ordinal))
                {
                    continue;
                }
                var result = new List<uint>();
                foreach (string g in line["Groups:".Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
                {
                    if (uint.TryParse(g, NumberStyles.None, CultureInfo.InvariantCulture, out uint gid))
                    {
                        result.Add(gid);
                    }
                }
                return [.. result];
            }
        }
        catch (IOException)
        {
            // The process is gone; it has no groups to check.
        }
        catch (UnauthorizedAccessException)
        {
        }
        return [];
    }

    private sealed record Entry(uint Uid, long At, uint[] Groups);
}
