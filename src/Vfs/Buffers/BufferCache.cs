using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.Vfs.Buffers;

/// <summary>
/// The metadata buffer cache of one device (NetBSD's vfs_bio): bread, getblk, bdwrite and
/// bwrite over blocks keyed by byte offset. Bounded by bytes: beyond the bound the least
/// recently used clean, unreferenced buffers are evicted, and dirty ones are written back
/// first when nothing clean is left. Concurrent reads of one block cause one device read.
///
/// <para>File data does not pass through here (drivers move it in large runs straight to and
/// from the device). So a driver that frees a metadata block (an indirect block, a directory
/// block) calls <see cref="Discard"/> before the block can be reused for data, or a stale
/// dirty buffer could later overwrite the data.</para>
///
/// <para>Its lock is a leaf of the lock order: no other lock is taken under it. Device
/// writes happen outside it.</para>
/// </summary>
public sealed class BufferCache
{
    private const int SectorSize = 512;

    private readonly IBlockDevice _device;
    private readonly object _lock = new();
    private readonly Dictionary<long, Buffer> _map = [];
    private readonly LinkedList<Buffer> _lru = new();
    private long _cachedBytes;
    private long _dirtyBytes;
    // What lets Discard look up the few keys a range can touch instead of scanning the map.
    private int _largestBuffer;
    private bool _allSectorAligned = true;
    private long _hits;
    private long _misses;
    private long _reads;
    private long _writes;
    private long _evictions;

    public BufferCache(IBlockDevice device, long capacityBytes = 64L << 20)
    {
        _device = device;
        CapacityBytes = Math.Max(capacityBytes, 1L << 16);
    }

    public long CapacityBytes { get; }

    public IBlockDevice Device => _device;

    public BufferCacheStats Stats
    {
        get
        {
            lock (_lock)
            {
                return new BufferCacheStats(_hits, _misses, _reads, _writes, _evictions, _cachedBytes, _dirtyBytes);
            }
        }
    }

    /// <summary>
    /// bread: the block of <paramref name="size"/> bytes at <paramref name="offset"/>, read
    /// from the device if not cached. Returns it referenced. EIO for a range outside the device.
    /// </summary>
    public Errno Read(long offset, int size, out Buffer? buffer)
    {
        buffer = null;
        if (!BlockDeviceChecks.InRange(offset, size, _device.Length) || size <= 0)
        {
            return Errno.EIO;
        }
        Buffer bp;
        bool mustLoad = false;
        lock (_lock)
        {
            bp = LookupLocked(offset, size, out bool found);
            if (found)
            {
                _hits++;
                while (!bp.Valid && bp.LoadError == Errno.OK)
                {
                    Monitor.Wait(_lock);
                }
                if (!bp.Valid)
                {
                    Errno failed = bp.LoadError;
                    ReleaseLocked(bp);
                    return failed;
                }
            }
            else
            {
                _misses++;
                mustLoad = true;
            }
        }

        if (mustLoad)
        {
            Errno e = _device.Read(offset, bp.Data);
            lock (_lock)
            {
                _reads++;
                if (e == Errno.OK)
                {
                    bp.Valid = true;
                }
                else
                {
                    bp.LoadError = e;
                    RemoveLocked(bp);
                }
                Monitor.PulseAll(_lock);
                if (e != Errno.OK)
                {
                    ReleaseLocked(bp);
                    return e;
                }
            }
        }
        buffer = bp;
        return Errno.OK;
    }

    /// <summary>
    /// getblk: the block at <paramref name="offset"/> without reading it, for a caller that
    /// will overwrite all of it (a newly allocated block). A block not cached starts zeroed.
    /// </summary>
    public Buffer Get(long offset, int size)
    {
        if (!BlockDeviceChecks.InRange(offset, size, _device.Length) || size <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"block {offset}+{size} outside the device");
        }
        lock (_lock)
        {
            Buffer bp = LookupLocked(offset, size, out bool found);
            if (found)
            {
                while (!bp.Valid && bp.LoadError == Errno.OK)
                {
                    Monitor.Wait(_lock);
                }
            }
            bp.LoadError = Errno.OK;
            if (!bp.Valid)
            {
                bp.Data.Clear();
                bp.Valid = true;
                if (bp.Detached)
                {
                    InsertLocked(bp);
                }
            }
            return bp;
        }
    }

    /// <summary>bwrite: write the buffer to the device now (it stays cached and referenced).</summary>
    public Errno WriteNow(Buffer bp)
    {
        lock (_lock)
        {
            if (bp.Dirty)
            {
                bp.Dirty = false;
                _dirtyBytes -= bp.Size;
            }
        }
        return WriteOut(bp);
    }

    /// <summary>
    /// Forget cached blocks that overlap [offset, offset+length): their contents, dirty or
    /// not, never reach the device. Call when freeing metadata blocks.
    /// </summary>
    public void Discard(long offset, long length)
    {
        lock (_lock)
        {
            if (_map.Count == 0)
            {
                return;
            }
            List<Buffer>? victims = null;
            // A buffer that overlaps the range starts less than the largest buffer's size
            // before it. When every buffer starts on a sector, looking those starts up is
            // cheaper than a scan of the whole cache, which freeing many blocks made costly.
            long firstStart = Math.Max(0, offset - _largestBuffer + 1);
            long probes = (offset + length - firstStart + SectorSize - 1) / SectorSize;
            if (_allSectorAligned && probes < _map.Count)
            {
                for (long key = (firstStart + SectorSize - 1) / SectorSize * SectorSize; key < offset + length; key += SectorSize)
                {
                    if (_map.TryGetValue(key, out Buffer? bp) && Overlaps(bp, offset, length))
                    {
                        (victims ??= []).Add(bp);
                    }
                }
            }
            else
            {
                foreach (Buffer bp in _map.Values)
                {
                    if (Overlaps(bp, offset, length))
                    {
                        (victims ??= []).Add(bp);
                    }
                }
            }
            if (victims is null)
            {
                return;
            }
            foreach (Buffer bp in victims)
            {
                if (bp.Dirty)
                {
                    bp.Dirty = false;
                    _dirtyBytes -= bp.Size;
                }
                RemoveLocked(bp);
                bp.Valid = false;
            }
        }
    }

    /// <summary>Write every dirty buffer back (in offset order) without flushing the device.</summary>
    public Errno WriteBack()
    {
        List<Buffer> dirty;
        lock (_lock)
        {
            dirty = [.. _map.Values.Where(b => b.Dirty).OrderBy(b => b.Offset)];
            foreach (Buffer bp in dirty)
            {
                bp.RefCount++;
                bp.Dirty = false;
                _dirtyBytes -= bp.Size;
            }
        }
        Errno first = Errno.OK;
        foreach (Buffer bp in dirty)
        {
            Errno e = WriteOut(bp);
            if (e != Errno.OK && first == Errno.OK)
            {
                first = e;
            }
            ReleaseBuffer(bp);
        }
        return first;
    }

    /// <summary>Write every dirty buffer back and flush the device (sync).</summary>
    public Errno Flush()
    {
        Errno e = WriteBack();
        Errno f = _device.Flush();
        return e != Errno.OK ? e : f;
    }

    /// <summary>Drop every clean, unreferenced buffer (tests; dropping caches).</summary>
    public void Purge()
    {
        lock (_lock)
        {
            foreach (Buffer bp in _map.Values.Where(b => b.RefCount == 0 && !b.Dirty).ToList())
            {
                RemoveLocked(bp);
            }
        }
    }

    internal void MarkDirty(Buffer bp)
    {
        bool overBound;
        lock (_lock)
        {
            if (!bp.Dirty && !bp.Detached)
            {
                bp.Dirty = true;
                _dirtyBytes += bp.Size;
            }
            overBound = _dirtyBytes > CapacityBytes / 2;
        }
        if (overBound)
        {
            // Too much delayed-write data: write back now rather than grow without bound.
            WriteBack();
        }
    }

    internal void ReleaseBuffer(Buffer bp)
    {
        lock (_lock)
        {
            ReleaseLocked(bp);
        }
    }

    private void ReleaseLocked(Buffer bp)
    {
        if (bp.RefCount <= 0)
        {
            throw new InvalidOperationException($"release of unreferenced {bp}");
        }
        bp.RefCount--;
        if (bp.RefCount == 0 && !bp.Detached)
        {
            bp.LruNode = _lru.AddLast(bp);
            EvictLocked();
        }
    }

    private Buffer LookupLocked(long offset, int size, out bool found)
    {
        if (_map.TryGetValue(offset, out Buffer? bp))
        {
            if (bp.Size == size)
            {
                if (bp.LruNode is not null)
                {
                    _lru.Remove(bp.LruNode);
                    bp.LruNode = null;
                }
                bp.RefCount++;
                found = true;
                return bp;
            }
            // The same address cached at another size: write it back and detach it, so the
            // device holds its latest bytes before the new view reads them.
            if (bp.Dirty)
            {
                bp.Dirty = false;
                _dirtyBytes -= bp.Size;
                Monitor.Exit(_lock);
                try
                {
                    WriteOut(bp);
                }
                finally
                {
                    Monitor.Enter(_lock);
                }
            }
            RemoveLocked(bp);
            return LookupLocked(offset, size, out found);
        }
        var fresh = new Buffer(this, offset, size) { RefCount = 1 };
        InsertLocked(fresh);
        found = false;
        return fresh;
    }

    private void InsertLocked(Buffer bp)
    {
        bp.Detached = false;
        _map[bp.Offset] = bp;
        _cachedBytes += bp.Size;
        _largestBuffer = Math.Max(_largestBuffer, bp.Size);
        if (bp.Offset % SectorSize != 0)
        {
            _allSectorAligned = false;
        }
    }

    private static bool Overlaps(Buffer bp, long offset, long length) =>
        bp.Offset < offset + length && offset < bp.Offset + bp.Size;

    private void RemoveLocked(Buffer bp)
    {
        if (bp.Detached)
        {
            return;
        }
        if (bp.LruNode is not null)
        {
            _lru.Remove(bp.LruNode);
            bp.LruNode = null;
        }
        if (_map.TryGetValue(bp.Offset, out Buffer? current) && ReferenceEquals(current, bp))
        {
            _map.Remove(bp.Offset);
        }
        _cachedBytes -= bp.Size;
        bp.Detached = true;
    }

    private void EvictLocked()
    {
        LinkedListNode<Buffer>? node = _lru.First;
        while (_cachedBytes > CapacityBytes && node is not null)
        {
            LinkedListNode<Buffer>? next = node.Next;
            Buffer bp = node.Value;
            if (!bp.Dirty)
            {
                RemoveLocked(bp);
                bp.Valid = false;
                _evictions++;
            }
            node = next;
        }
    }

    private Errno WriteOut(Buffer bp)
    {
        Errno e;
        lock (bp.SyncRoot)
        {
            e = _device.Write(bp.Offset, bp.Data);
        }
        lock (_lock)
        {
            _writes++;
        }
        if (e != Errno.OK)
        {
            KernelLog.Error("bio", $"write of {bp.Size} bytes at {bp.Offset} on {_device.Name} failed: {e.Describe()}");
        }
        return e;
    }
}
