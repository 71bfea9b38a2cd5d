namespace RumpFs.Vfs.Buffers;

/// <summary>Counters of a <see cref="BufferCache"/>.</summary>
public readonly record struct BufferCacheStats(
    long Hits,
    long Misses,
    long DeviceReads,
    long DeviceWrites,
    long Evictions,
    long CachedBytes,
    long DirtyBytes);
