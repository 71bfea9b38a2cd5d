namespace RumpFs.Vfs.Buffers;

/// <summary>
/// One cached block of metadata (the kernel's struct buf). Obtained referenced from
/// <see cref="BufferCache"/>; dispose (or <see cref="Release"/>) to drop the reference.
/// Modify the bytes under <see cref="SyncRoot"/> when other threads may touch the same
/// block (two inodes in one inode-table block), then call <see cref="MarkDirty"/> (a
/// delayed write) or <see cref="BufferCache.WriteNow"/>.
/// </summary>
public sealed class Buffer : IDisposable
{
    private readonly BufferCache _cache;
    private readonly byte[] _data;
    internal int RefCount;
    internal bool Dirty;
    internal bool Valid;
    internal bool Detached;
    internal LinkedListNode<Buffer>? LruNode;
    internal Exception? LoadFailure;
    internal Kernel.Errno LoadError;

    internal Buffer(BufferCache cache, long offset, int size)
    {
        _cache = cache;
        Offset = offset;
        Size = size;
        _data = new byte[size];
    }

    /// <summary>Byte offset of the block on the device.</summary>
    public long Offset { get; }

    public int Size { get; }

    /// <summary>The block's bytes.</summary>
    public Span<byte> Data => _data;

    /// <summary>The backing array (for APIs that need one); exactly <see cref="Size"/> long.</summary>
    public byte[] Array => _data;

    /// <summary>Guards the bytes while a writer modifies them and while write-back copies them.</summary>
    public object SyncRoot => _data;

    public bool IsDirty => Volatile.Read(ref Dirty);

    /// <summary>Schedule a delayed write: the block reaches the device at sync, fsync, unmount or eviction.</summary>
    public void MarkDirty() => _cache.MarkDirty(this);

    /// <summary>Drop the reference.</summary>
    public void Release() => _cache.ReleaseBuffer(this);

    public void Dispose() => Release();

    public override string ToString() => $"buf@{Offset}+{Size}{(Dirty ? " dirty" : "")}";
}
