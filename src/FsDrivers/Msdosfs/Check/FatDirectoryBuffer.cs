using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// A whole directory read into memory: the fixed FAT12/16 root region, or the clusters of a
/// directory's (already checked) chain. Repairs edit entries in place and mark it dirty;
/// <see cref="WriteBack"/> writes the changed directory to its clusters.
/// </summary>
internal sealed class FatDirectoryBuffer
{
    private readonly FatVolume _volume;
    private readonly List<long> _offsets;
    private readonly int _chunk;

    private FatDirectoryBuffer(FatVolume volume, long[] offsets, int chunk)
    {
        _volume = volume;
        _offsets = [.. offsets];
        _chunk = chunk;
        Data = new byte[offsets.Length * (long)chunk];
    }

    /// <summary>The directory's bytes; a new array after <see cref="AppendCluster"/>, so spans of entries do not outlive it.</summary>
    public byte[] Data { get; private set; }
    public bool Dirty { get; set; }
    public int EntryCount => Data.Length / FatDirRecord.Size;

    public Span<byte> Entry(int index) => Data.AsSpan(index * FatDirRecord.Size, FatDirRecord.Size);

    public static Errno ReadRoot16(FatVolume v, out FatDirectoryBuffer dir)
    {
        int bytes = v.Boot.RootDirSectors * v.Boot.BytesPerSector;
        dir = new FatDirectoryBuffer(v, [v.Boot.RootDirOffset], bytes);
        return v.Device.Read(v.Boot.RootDirOffset, dir.Data);
    }

    public static Errno ReadChain(FatVolume v, IReadOnlyList<uint> clusters, out FatDirectoryBuffer dir)
    {
        var offsets = new long[clusters.Count];
        for (int i = 0; i < offsets.Length; i++)
        {
            offsets[i] = v.Boot.ClusterOffset(clusters[i]);
        }
        dir = new FatDirectoryBuffer(v, offsets, v.Boot.ClusterBytes);
        for (int i = 0; i < offsets.Length; i++)
        {
            Errno rc = v.Device.Read(offsets[i], dir.Data.AsSpan(i * dir._chunk, dir._chunk));
            if (rc != 0)
            {
                return rc;
            }
        }
        return 0;
    }

    /// <summary>Add an empty cluster at <paramref name="offset"/> to the end of a subdirectory (written by <see cref="WriteBack"/>).</summary>
    public void AppendCluster(long offset)
    {
        var grown = new byte[Data.Length + _chunk];
        Data.CopyTo(grown, 0);
        Data = grown;
        _offsets.Add(offset);
        Dirty = true;
    }

    public Errno WriteBack()
    {
        if (!Dirty)
        {
            return 0;
        }
        for (int i = 0; i < _offsets.Count; i++)
        {
            Errno rc = _volume.Device.Write(_offsets[i], Data.AsSpan(i * _chunk, _chunk));
            if (rc != 0)
            {
                return rc;
            }
        }
        Dirty = false;
        return 0;
    }
}
