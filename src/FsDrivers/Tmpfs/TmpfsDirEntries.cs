namespace RumpFs.FsDrivers.Tmpfs;

/// <summary>
/// The entries of a directory, by name for lookup and by a position that never repeats for
/// readdir cookies: each entry gets the next position when it is added, and a listing
/// resumes at the first position not below its cookie, so entries removed or added
/// meanwhile never make it repeat or skip one that stayed. Positions 0 and 1 are "." and
/// "..". Not thread-safe: the directory vnode's lock guards it.
/// </summary>
internal sealed class TmpfsDirEntries
{
    public const long FirstEntryPosition = 2;

    private readonly Dictionary<string, (ulong Ino, long Position, RumpFs.Vfs.VType Type)> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<long, string> _byPosition = [];
    private readonly SortedSet<long> _positions = [];
    private long _nextPosition = FirstEntryPosition;

    public int Count => _byName.Count;

    public bool TryGet(string name, out ulong ino)
    {
        if (_byName.TryGetValue(name, out var e))
        {
            ino = e.Ino;
            return true;
        }
        ino = 0;
        return false;
    }

    public void Add(string name, ulong ino, RumpFs.Vfs.VType type)
    {
        long pos = _nextPosition++;
        _byName.Add(name, (ino, pos, type));
        _byPosition.Add(pos, name);
        _positions.Add(pos);
    }

    /// <summary>Point an existing name at another inode, keeping its position (rename over, exchange).</summary>
    public void Replace(string name, ulong ino, RumpFs.Vfs.VType type)
    {
        var e = _byName[name];
        _byName[name] = (ino, e.Position, type);
    }

    public bool Remove(string name)
    {
        if (!_byName.Remove(name, out var e))
        {
            return false;
        }
        _byPosition.Remove(e.Position);
        _positions.Remove(e.Position);
        return true;
    }

    /// <summary>
    /// Entries at positions not below <paramref name="position"/>, in order. The directory
    /// must not change while the result is enumerated (the caller holds its lock).
    /// </summary>
    public IEnumerable<(long Position, string Name, ulong Ino, RumpFs.Vfs.VType Type)> From(long position)
    {
        if (_positions.Count == 0 || position > _positions.Max)
        {
            yield break;
        }
        foreach (long pos in _positions.GetViewBetween(Math.Max(position, FirstEntryPosition), _positions.Max))
        {
            if (_byPosition.TryGetValue(pos, out string? name) && _byName.TryGetValue(name, out var e))
            {
                yield return (pos, name, e.Ino, e.Type);
            }
        }
    }
}
