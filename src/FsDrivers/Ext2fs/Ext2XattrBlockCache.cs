namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// The attribute blocks this mount has read or written, by their h_hash (ext4's mbcache):
/// a file whose attributes come out identical to another's shares that block (one more
/// reference) instead of taking a block of its own, as ext4_xattr_block_set does. Only an
/// index: a candidate is read back and compared before it is shared. Entries leave when
/// their block is freed or rewritten, so a block that became file data is never offered.
/// </summary>
internal sealed class Ext2XattrBlockCache
{
    /// <summary>EXT4_XATTR_REFCOUNT_MAX: a block already this shared is not offered again.</summary>
    public const uint MaxRefCount = 1024;

    /// <summary>Bound on the blocks remembered; past it the index starts afresh (sharing is an economy, not a duty).</summary>
    private const int MaxEntries = 1 << 16;

    private readonly Dictionary<uint, List<ulong>> _byHash = [];
    private readonly Dictionary<ulong, uint> _hashOf = [];

    /// <summary>Held across a look-up and the reference count changes that follow it, and by every count change.</summary>
    public object SyncRoot { get; } = new();

    /// <summary>Note that <paramref name="block"/> holds attributes hashing to <paramref name="hash"/> (0: not shareable).</summary>
    public void Remember(ulong block, uint hash)
    {
        lock (SyncRoot)
        {
            Forget(block);
            if (hash == 0)
            {
                return;
            }
            if (_hashOf.Count >= MaxEntries)
            {
                _byHash.Clear();
                _hashOf.Clear();
            }
            _hashOf[block] = hash;
            if (!_byHash.TryGetValue(hash, out List<ulong>? blocks))
            {
                _byHash[hash] = blocks = [];
            }
            blocks.Add(block);
        }
    }

    /// <summary>Drop <paramref name="block"/> (freed, or about to be rewritten).</summary>
    public void Forget(ulong block)
    {
        lock (SyncRoot)
        {
            if (!_hashOf.Remove(block, out uint hash))
            {
                return;
            }
            List<ulong> blocks = _byHash[hash];
            blocks.Remove(block);
            if (blocks.Count == 0)
            {
                _byHash.Remove(hash);
            }
        }
    }

    /// <summary>The blocks remembered under <paramref name="hash"/>, newest last.</summary>
    public ulong[] Candidates(uint hash)
    {
        lock (SyncRoot)
        {
            return hash != 0 && _byHash.TryGetValue(hash, out List<ulong>? blocks) ? [.. blocks] : [];
        }
    }
}
