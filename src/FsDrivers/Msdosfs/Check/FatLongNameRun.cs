namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// Tracks a run of long-name entries inside one directory: a run starts with the entry
/// flagged "last" (ordinal N | 0x40), counts down to ordinal 1 with the same checksum, and
/// must be followed by the short entry whose name has that checksum. Entries that break
/// the pattern are orphans.
/// </summary>
internal sealed class FatLongNameRun
{
    private readonly List<int> _slots = [];
    private int _next;
    private byte _checksum;

    /// <summary>Indexes of the entries of the run in progress.</summary>
    public IReadOnlyList<int> Slots => _slots;

    public bool Active => _slots.Count > 0;

    /// <summary>
    /// Feed a long-name entry. Returns the indexes of entries that became orphans because of
    /// it (the previous run, or this entry itself), or an empty list.
    /// </summary>
    public List<int> Add(int index, ReadOnlySpan<byte> e)
    {
        var orphans = new List<int>();
        byte ord = e[FatDirRecord.LfnOrdinal];
        int n = ord & 0x3F;
        if ((ord & FatDirRecord.LfnLast) != 0)
        {
            orphans.AddRange(_slots);
            _slots.Clear();
            if (n == 0 || n > 20)
            {
                orphans.Add(index);
                return orphans;
            }
            _slots.Add(index);
            _next = n - 1;
            _checksum = e[FatDirRecord.LfnChecksum];
            return orphans;
        }
        if (Active && n == _next && n > 0 && e[FatDirRecord.LfnChecksum] == _checksum)
        {
            _slots.Add(index);
            _next--;
            return orphans;
        }
        orphans.AddRange(_slots);
        orphans.Add(index);
        _slots.Clear();
        return orphans;
    }

    /// <summary>
    /// A short entry ends the run. Returns the run's entries when they do not belong to it
    /// (unfinished run or checksum mismatch), else an empty list.
    /// </summary>
    public List<int> Finish(ReadOnlySpan<byte> shortEntry, out bool checksumMismatch)
    {
        checksumMismatch = false;
        var result = new List<int>();
        if (!Active)
        {
            return result;
        }
        if (_next != 0)
        {
            result.AddRange(_slots);
        }
        else if (FatDirRecord.ShortNameChecksum(shortEntry) != _checksum)
        {
            checksumMismatch = true;
            result.AddRange(_slots);
        }
        _slots.Clear();
        return result;
    }

    /// <summary>The directory (or a deleted entry) interrupted the run: all of it is orphaned.</summary>
    public List<int> Abandon()
    {
        var result = new List<int>(_slots);
        _slots.Clear();
        return result;
    }
}
