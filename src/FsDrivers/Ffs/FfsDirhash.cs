using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// The in-core directory hash (ufs_dirhash.c): name to entry offset, plus the free bytes of
/// every DIRBLKSIZ chunk, so that lookups and creates in a directory of 100,000 entries
/// are a probe, not a scan. Built on first use, kept exact by every entry change, dropped
/// at reclaim. Guarded by the directory's vnode lock.
/// </summary>
internal sealed partial class FfsNode
{
    private Dictionary<string, long>? _dirhash;

    /// <summary>Per chunk: bytes that a compaction could give a new entry.</summary>
    private List<int>? _chunkFree;

    /// <summary>Chunks before this index are known to have less room than any entry needs.</summary>
    private int _firstRoomyChunk;

    /// <summary>
    /// Directories larger than this are searched through the hash (ufs_dirhash's default
    /// minimum, five DIRBLKSIZ chunks); smaller ones are scanned, which is as quick there.
    /// </summary>
    private const int DirhashMinSize = 5 * FfsSuperblock.DirBlkSiz;

    /// <summary>Search and enter through the hash: the directory is large enough, or the hash already exists.</summary>
    private bool UseDirhash => Din.Size > DirhashMinSize || _dirhash is not null;

    internal void DropDirhash()
    {
        _dirhash = null;
        _chunkFree = null;
        _firstRoomyChunk = 0;
    }

    private Errno EnsureDirhash()
    {
        if (_dirhash is not null)
        {
            return Errno.OK;
        }
        var hash = new Dictionary<string, long>(StringComparer.Ordinal);
        // Sized by what the directory holds, not by di_size: a damaged size must not turn
        // into a giant (or negative) allocation before the scan meets the damage.
        var free = new List<int>((int)Math.Clamp(Math.Min(Din.Size, Din.Blocks * 512) / Chunk, 0, 1 << 20));
        // A chunk the walk passes over (damaged) gets no room, so no entry is put there.
        Errno e = WalkDirectory(0, (in DirSlot s, ReadOnlySpan<byte> name, bool usable) =>
        {
            int chunk = (int)(s.Offset / Chunk);
            while (free.Count <= chunk)
            {
                free.Add(0);
            }
            if (s.Ino == 0)
            {
                free[chunk] += s.RecLen;
            }
            else
            {
                // A name whose inode number is past the last stays findable, so that its
                // lookup fails with EIO as in a small directory; its chunk never takes an insert.
                hash[NameEncoding.GetString(name)] = s.Offset;
                free[chunk] += usable ? s.RecLen - DirectEntry.SizeFor(s.NamLen) : -Chunk;
            }
            return true;
        }, skipped =>
        {
            while (free.Count <= (int)(skipped / Chunk))
            {
                free.Add(0);
            }
        });
        if (e != Errno.OK)
        {
            return e;
        }
        _dirhash = hash;
        _chunkFree = free;
        _firstRoomyChunk = 0;
        return Errno.OK;
    }

    /// <summary>A chunk with at least <paramref name="need"/> free bytes, or -1 (only when the hash exists).</summary>
    private int HashFindRoom(int need)
    {
        List<int> free = _chunkFree!;
        for (int i = _firstRoomyChunk; i < free.Count; i++)
        {
            if (free[i] >= need)
            {
                return i;
            }
        }
        // Any entry needs at least 12 bytes: skip chunks with less next time.
        int first = _firstRoomyChunk;
        while (first < free.Count && free[first] < DirectEntry.SizeFor(1))
        {
            first++;
        }
        _firstRoomyChunk = first;
        return -1;
    }

    private void HashSetChunkFree(long chunkOffset, int slack)
    {
        if (_chunkFree is null)
        {
            return;
        }
        int i = (int)(chunkOffset / Chunk);
        while (_chunkFree.Count <= i)
        {
            _chunkFree.Add(0);
        }
        _chunkFree[i] = slack;
        if (slack >= DirectEntry.SizeFor(1) && i < _firstRoomyChunk)
        {
            _firstRoomyChunk = i;
        }
    }

    private void HashAdd(string name, long offset)
    {
        if (_dirhash is not null)
        {
            _dirhash[name] = offset;
        }
    }

    private void HashRemove(string name) => _dirhash?.Remove(name);
}
