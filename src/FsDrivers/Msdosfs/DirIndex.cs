namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>One live entry of a directory: its slots (long-name pieces, then the short entry).</summary>
internal sealed class DirSlot
{
    public int First;
    public int Short;
    public string Name = "";
    public string ShortKey = "";
    public bool IsDir;
    public uint Cluster;
}

/// <summary>
/// The in-core index of one directory (the part of NetBSD's msdosfs name cache and
/// ufs_dirhash that FAT needs): names to entries, short names in use (for ~N generation
/// without collisions), and a map of free slots, so that lookup and create in a large
/// directory are hash probes, not scans. Built by one scan on first use and kept up to date
/// by every change, under the directory's vnode lock.
/// </summary>
internal sealed class DirIndex
{
    private readonly Dictionary<string, DirSlot> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DirSlot> _byShort = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _tails = new(StringComparer.Ordinal);
    private readonly List<bool> _used = [];

    /// <summary>Slots at and beyond this are free (the end marker).</summary>
    public int HighWater { get; private set; }

    /// <summary>Free slots below <see cref="HighWater"/> (deleted entries).</summary>
    public int Holes { get; private set; }

    private int _freeHint;

    public int Subdirs { get; private set; }

    /// <summary>Live entries, not counting "." and "..".</summary>
    public int Count { get; private set; }

    public string? VolumeLabel { get; set; }

    public DirSlot? Find(string name)
    {
        if (_byName.TryGetValue(MsdosConv.Fold(name), out DirSlot? s))
        {
            return s;
        }
        if (MsdosConv.TryExact83(name.ToUpperInvariant(), out byte[] sn, out _)
            && _byShort.TryGetValue(MsdosConv.Key(sn), out s))
        {
            return s;
        }
        return null;
    }

    public bool ShortNameTaken(byte[] shortName) => _byShort.ContainsKey(MsdosConv.Key(shortName));

    /// <summary>The next ~N to try for a basis, remembered so that many similar names stay linear.</summary>
    public int NextTail(string basisKey) => _tails.GetValueOrDefault(basisKey, 1);

    public void SetNextTail(string basisKey, int n) => _tails[basisKey] = n;

    /// <summary>Record a slot seen in use during the scan (dots, volume label, orphaned pieces).</summary>
    public void MarkUsed(int first, int count)
    {
        while (_used.Count < first + count)
        {
            _used.Add(false);
        }
        for (int i = first; i < first + count; i++)
        {
            if (!_used[i] && i < HighWater)
            {
                Holes--;
            }
            _used[i] = true;
        }
        if (first + count > HighWater)
        {
            // Slots skipped between the old end and this run are holes now.
            for (int i = HighWater; i < first; i++)
            {
                if (!_used[i])
                {
                    Holes++;
                }
            }
            HighWater = first + count;
        }
    }

    /// <summary>
    /// Add an entry. A scan keeps the first of two entries with one name (a damaged
    /// directory); <paramref name="replace"/> lets a new entry take the name over from one
    /// about to be deleted (rename over an existing file).
    /// </summary>
    public void Add(DirSlot s, bool replace = false)
    {
        MarkUsed(s.First, s.Short - s.First + 1);
        if (replace)
        {
            _byName[MsdosConv.Fold(s.Name)] = s;
            _byShort[s.ShortKey] = s;
        }
        else
        {
            _byName.TryAdd(MsdosConv.Fold(s.Name), s);
            _byShort.TryAdd(s.ShortKey, s);
        }
        Count++;
        if (s.IsDir)
        {
            Subdirs++;
        }
    }

    public void Remove(DirSlot s)
    {
        if (_byName.TryGetValue(MsdosConv.Fold(s.Name), out DirSlot? a) && ReferenceEquals(a, s))
        {
            _byName.Remove(MsdosConv.Fold(s.Name));
        }
        if (_byShort.TryGetValue(s.ShortKey, out DirSlot? b) && ReferenceEquals(b, s))
        {
            _byShort.Remove(s.ShortKey);
        }
        for (int i = s.First; i <= s.Short; i++)
        {
            _used[i] = false;
            Holes++;
        }
        _freeHint = Math.Min(_freeHint, s.First);
        Count--;
        if (s.IsDir)
        {
            Subdirs--;
        }
    }

    /// <summary>
    /// The first slot of a free run of <paramref name="n"/> slots below
    /// <paramref name="capacity"/>, or -1 when the directory must grow. Holes are searched
    /// only when there are enough of them, from the lowest one.
    /// </summary>
    public int FindFree(int n, int capacity)
    {
        if (Holes >= n)
        {
            int run = 0;
            for (int i = _freeHint; i < capacity; i++)
            {
                bool free = i >= _used.Count || !_used[i];
                if (free)
                {
                    if (++run == n)
                    {
                        return i - n + 1;
                    }
                }
                else
                {
                    if (run == 0 && i == _freeHint)
                    {
                        _freeHint = i + 1;
                    }
                    run = 0;
                }
                if (i >= HighWater)
                {
                    break; // the rest is the free tail, handled below
                }
            }
        }
        return HighWater + n <= capacity ? HighWater : -1;
    }
}
