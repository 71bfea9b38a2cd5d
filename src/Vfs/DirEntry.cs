namespace RumpFs.Vfs;

/// <summary>
/// One directory entry as ReadDir reports it. <see cref="NextCookie"/> resumes the listing
/// right after this entry: passing it to a later ReadDir continues there, even when other
/// entries were added or removed in between (an entry removed meanwhile is not repeated,
/// one never reported twice).
/// </summary>
public readonly record struct DirEntry(string Name, ulong Ino, VType Type, long NextCookie);

/// <summary>Receives entries from ReadDir until it is full.</summary>
public interface IDirEntrySink
{
    /// <summary>Take one entry; false when there is no room (the entry was not taken).</summary>
    bool Add(in DirEntry entry);
}

/// <summary>A sink that collects every entry into a list (for Ukfs and tests).</summary>
public sealed class DirEntryList : IDirEntrySink
{
    private readonly int _max;

    public DirEntryList(int max = int.MaxValue) => _max = max;

    public List<DirEntry> Entries { get; } = [];

    public bool Add(in DirEntry entry)
    {
        if (Entries.Count >= _max)
        {
            return false;
        }
        Entries.Add(entry);
        return true;
    }
}
