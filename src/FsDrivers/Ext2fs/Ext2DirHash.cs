namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// An in-core index of one directory (NetBSD's ufs_dirhash): name to byte position of its
/// record, and per block the largest free slot, so that lookups and creates in a large
/// directory are hash probes rather than scans. Built by one scan on first use, then kept in
/// step by every change to the directory. Names are keyed by their bytes (as Latin-1 chars).
/// </summary>
internal sealed class Ext2DirHash
{
    private readonly Dictionary<string, long> _names = new(StringComparer.Ordinal);
    private readonly List<int> _freeByBlock = [];

    public int Count => _names.Count;

    public static string Key(ReadOnlySpan<byte> name) => System.Text.Encoding.Latin1.GetString(name);

    public bool TryGet(string key, out long pos) => _names.TryGetValue(key, out pos);

    public void Add(string key, long pos) => _names[key] = pos;

    public void Remove(string key) => _names.Remove(key);

    /// <summary>
    /// Blocks tracked for free room. A directory block beyond it (only a large_dir directory
    /// reaches that far, 16 GiB at 4 KiB blocks, and in practice only a damaged one) is never
    /// offered for a new entry; its entries are still indexed.
    /// </summary>
    private const long TrackedBlocks = 1L << 22;

    /// <summary>Record the largest free slot of block <paramref name="lblk"/>.</summary>
    public void SetFree(long lblk, int bytes)
    {
        if (lblk >= TrackedBlocks)
        {
            return;
        }
        while (_freeByBlock.Count <= lblk)
        {
            _freeByBlock.Add(0);
        }
        _freeByBlock[(int)lblk] = bytes;
    }

    /// <summary>The first block with a free slot of at least <paramref name="needed"/> bytes, or -1.</summary>
    public long FindBlockWithRoom(int needed)
    {
        for (int i = 0; i < _freeByBlock.Count; i++)
        {
            if (_freeByBlock[i] >= needed)
            {
                return i;
            }
        }
        return -1;
    }
}
