namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>
/// File ids. FAT has no inode numbers, so, as NetBSD's msdosfs does, a file is known by
/// where its directory entry lies (its "key": the byte offset of the short entry on the
/// volume) and a directory by its first cluster, which never changes. The natural inode
/// number is derived from the key. A rename moves a file's entry, so the vnode keeps its
/// number and the new location becomes an alias of it; a removed file still open keeps its
/// number reserved until reclaimed. A new entry whose natural number is held by such a
/// vnode gets a synthetic number. Aliases live as long as the mount, so a file renamed
/// once keeps its number while mounted.
/// </summary>
internal sealed class MsdosIds
{
    public const ulong RootIno = 1;
    private const ulong DirBase = 1UL << 40;
    private const ulong SyntheticBase = 1UL << 41;
    private const long NoKey = long.MinValue;

    private readonly Lock _lock = new();
    private readonly Dictionary<long, ulong> _aliases = [];
    private readonly Dictionary<ulong, long> _displaced = [];
    private ulong _nextSynthetic = SyntheticBase;

    public static long FileKey(long entryOffset) => entryOffset;

    public static long DirKey(uint cluster) => -(long)cluster - 1;

    public static bool IsDirIno(ulong ino) => ino is >= DirBase and < SyntheticBase;

    public static ulong Natural(long key) => key >= 0 ? 16 + ((ulong)key / 32) : DirBase | (uint)(-(key + 1));

    /// <summary>The key an inode number names now, if any (for VGet).</summary>
    public bool TryKeyOf(ulong ino, out long key)
    {
        lock (_lock)
        {
            if (_displaced.TryGetValue(ino, out key))
            {
                return key != NoKey;
            }
            if (ino >= SyntheticBase || ino < 16)
            {
                return false;
            }
            key = ino >= DirBase ? DirKey((uint)(ino & 0xFFFFFFFF)) : (long)(ino - 16) * 32;
            return !_aliases.TryGetValue(key, out ulong other) || other == ino;
        }
    }

    public ulong InoFor(long key)
    {
        lock (_lock)
        {
            if (_aliases.TryGetValue(key, out ulong ino))
            {
                return ino;
            }
            ulong nat = Natural(key);
            if (!_displaced.ContainsKey(nat))
            {
                return nat;
            }
            ulong syn = _nextSynthetic++;
            _aliases[key] = syn;
            _displaced[syn] = key;
            return syn;
        }
    }

    /// <summary>The entry of <paramref name="ino"/> moved from <paramref name="oldKey"/> to <paramref name="newKey"/>.</summary>
    public void Moved(ulong ino, long oldKey, long newKey)
    {
        lock (_lock)
        {
            if (_aliases.TryGetValue(oldKey, out ulong a) && a == ino)
            {
                _aliases.Remove(oldKey);
            }
            if (Natural(newKey) == ino)
            {
                _displaced.Remove(ino);
                return;
            }
            _aliases[newKey] = ino;
            _displaced[ino] = newKey;
        }
    }

    /// <summary>The entry of <paramref name="ino"/> at <paramref name="key"/> was removed; the number stays reserved.</summary>
    public void Gone(ulong ino, long key)
    {
        lock (_lock)
        {
            if (_aliases.TryGetValue(key, out ulong a) && a == ino)
            {
                _aliases.Remove(key);
            }
            _displaced[ino] = NoKey;
        }
    }

    /// <summary>A removed file's vnode left the cache: its number is free again.</summary>
    public void Released(ulong ino)
    {
        lock (_lock)
        {
            if (_displaced.TryGetValue(ino, out long k) && k == NoKey)
            {
                _displaced.Remove(ino);
            }
        }
    }
}
