using RumpFs.Kernel;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>
/// The file allocation table (NetBSD's msdosfs_fat.c): chain walks, allocation and
/// freeing. The whole table is held in core (decoded at mount) so chain walks and searches
/// for free clusters never touch the buffer cache; every change is written through to the
/// table's sectors in the buffer cache, in every FAT copy, as a delayed write. The free
/// count and next-free hint live here and go to FSInfo at sync. All state is under
/// <see cref="SyncRoot"/>, a driver lock taken after vnode locks.
/// </summary>
internal sealed class MsdosFat
{
    private const string Subsystem = "msdosfs";
    private readonly Bpb _bpb;
    private readonly BufferCache _bufs;
    private readonly uint[] _fat;
    private readonly MsdosFatCopies _copies;
    private bool _copiesDifferLogged;

    private MsdosFat(Bpb bpb, BufferCache bufs, uint[] fat)
    {
        _bpb = bpb;
        _bufs = bufs;
        _fat = fat;
        _copies = new MsdosFatCopies(bpb, bufs);
        Eoc = bpb.Type switch { FatType.Fat12 => 0xFFF, FatType.Fat16 => 0xFFFF, _ => 0x0FFFFFFF };
        NextFree = 2;
    }

    public Lock SyncRoot { get; } = new();

    /// <summary>The end-of-chain value written by this driver.</summary>
    public uint Eoc { get; }

    public uint FreeCount { get; private set; }

    public uint NextFree { get; private set; }

    /// <summary>Whether the FAT read at mount starts with the entries a format writes (<see cref="FatSignature"/>).</summary>
    public bool HasSignature { get; private init; }

    /// <summary>Write changed FAT sectors at once (-o sync) instead of as delayed writes.</summary>
    public bool Synchronous { get; set; }

    private uint Mask => _bpb.Type == FatType.Fat32 ? 0x0FFFFFFFu : Eoc;

    private bool IsEoc(uint v) => v >= (Eoc & ~7u);

    /// <summary>Read the active FAT into core and count free clusters.</summary>
    public static Errno Load(Bpb bpb, BufferCache bufs, out MsdosFat? fat)
    {
        fat = null;
        long entries = bpb.ClusterCount + 2L;
        int slots = (int)((entries + 1) & ~1L);
        long bytes = bpb.Type switch { FatType.Fat12 => (slots / 2) * 3L, FatType.Fat16 => slots * 2L, _ => slots * 4L };
        bytes = Math.Min(bytes, bpb.FatBytes);
        var raw = new byte[bytes];
        long start = bpb.FatOffset + ((bpb.MirroringOff ? bpb.ActiveFat : 0) * bpb.FatBytes);
        Errno e = bufs.Device.Read(start, raw);
        if (e != Errno.OK)
        {
            return e;
        }
        var table = new uint[slots];
        for (int i = 0; i < slots; i++)
        {
            table[i] = bpb.Type switch
            {
                FatType.Fat12 => Fat12Get(raw, i),
                FatType.Fat16 => (uint)(raw.Length >= (i * 2) + 2 ? raw[i * 2] | (raw[(i * 2) + 1] << 8) : 0),
                _ => raw.Length >= (i * 4) + 4 ? BitConverter.ToUInt32(raw, i * 4) : 0,
            };
        }
        fat = new MsdosFat(bpb, bufs, table)
        {
            HasSignature = FatSignature.IsPresent(raw, bpb.Type, bpb.Media),
        };
        uint free = 0;
        for (uint c = 2; c <= bpb.MaxCluster; c++)
        {
            if (fat.Get(c) == 0)
            {
                free++;
            }
        }
        fat.FreeCount = free;
        return Errno.OK;
    }

    private static uint Fat12Get(byte[] raw, int i)
    {
        int o = i * 3 / 2;
        if (o + 1 >= raw.Length)
        {
            return 0;
        }
        int v = raw[o] | (raw[o + 1] << 8);
        return (uint)((i & 1) == 0 ? v & 0xFFF : v >> 4);
    }

    /// <summary>Set the next-free hint from FSInfo when it is plausible.</summary>
    public void SetHint(uint next)
    {
        if (next >= 2 && next <= _bpb.MaxCluster)
        {
            NextFree = next;
        }
    }

    public uint Get(uint c) => _fat[c] & Mask;

    /// <summary>
    /// Append the chain starting at <paramref name="start"/> to <paramref name="chain"/>.
    /// A cluster number outside the volume, a free or bad cluster inside a chain, or a
    /// chain longer than the volume (a loop) is corruption: EIO, logged once.
    /// </summary>
    public Errno ReadChain(uint start, List<uint> chain)
    {
        lock (SyncRoot)
        {
            uint c = start;
            int first = chain.Count;
            while (true)
            {
                if (c < 2 || c > _bpb.MaxCluster)
                {
                    return KernelLog.CorruptionOnce(Subsystem, start, $"chain from cluster {start} reaches cluster {c} outside the volume");
                }
                chain.Add(c);
                if (chain.Count - first > _bpb.ClusterCount)
                {
                    return KernelLog.CorruptionOnce(Subsystem, start, $"chain from cluster {start} loops");
                }
                uint next = Get(c);
                if (IsEoc(next))
                {
                    return Errno.OK;
                }
                if (next < 2 || next > _bpb.MaxCluster)
                {
                    return KernelLog.CorruptionOnce(Subsystem, start, $"chain from cluster {start} has entry 0x{next:X} at cluster {c}");
                }
                c = next;
            }
        }
    }

    /// <summary>
    /// Allocate up to <paramref name="want"/> clusters, appended to the chain ending at
    /// <paramref name="prev"/> (0: a new chain), and add them to <paramref name="got"/>.
    /// Prefers the clusters right after <paramref name="prev"/>, then the first free run
    /// long enough from the next-free hint, then whatever is free. Returns how many were
    /// allocated (fewer than wanted only when the volume is full). A cluster free in the
    /// first FAT but in use in another copy is never handed out (see <see cref="IsAllocatable"/>).
    /// </summary>
    public int Allocate(uint prev, int want, List<uint> got)
    {
        lock (SyncRoot)
        {
            _copies.Forget();
            int n = (int)Math.Min(want, FreeCount);
            if (n <= 0)
            {
                return 0;
            }
            int first = got.Count;
            uint max = _bpb.MaxCluster;
            if (prev >= 2)
            {
                for (uint c = prev + 1; c <= max && got.Count - first < n && IsAllocatable(c); c++)
                {
                    Take(c);
                }
            }
            int need = n - (got.Count - first);
            if (need > 0)
            {
                uint runStart = FindRun(need);
                if (runStart != 0)
                {
                    for (uint c = runStart; got.Count - first < n; c++)
                    {
                        Take(c);
                    }
                }
                else
                {
                    uint c = NextFree < 2 || NextFree > max ? 2 : NextFree;
                    for (uint i = 0; i < _bpb.ClusterCount && got.Count - first < n; i++)
                    {
                        if (IsAllocatable(c))
                        {
                            Take(c);
                        }
                        c = c >= max ? 2 : c + 1;
                    }
                }
            }
            uint link = prev;
            for (int i = first; i < got.Count; i++)
            {
                if (link >= 2)
                {
                    Set(link, got[i]);
                }
                link = got[i];
            }
            Set(link, Eoc);
            int taken = got.Count - first;
            FreeCount -= (uint)taken;
            NextFree = link >= max ? 2 : link + 1;
            return taken;

            // Mark a cluster taken at once (end of chain), so the later search phases skip it.
            void Take(uint c)
            {
                got.Add(c);
                _fat[c] = _bpb.Type == FatType.Fat32 ? (_fat[c] & 0xF0000000) | Eoc : Eoc;
            }
        }
    }

    // First free run of at least `need` clusters from the hint, wrapping once; 0 if none.
    private uint FindRun(int need)
    {
        uint max = _bpb.MaxCluster;
        uint start = NextFree < 2 || NextFree > max ? 2 : NextFree;
        foreach ((uint from, uint to) in new[] { (start, max), (2u, start - 1) })
        {
            uint runStart = 0;
            int len = 0;
            for (uint c = from; c <= to && c >= 2; c++)
            {
                if (IsAllocatable(c))
                {
                    if (len++ == 0)
                    {
                        runStart = c;
                    }
                    if (len >= need)
                    {
                        return runStart;
                    }
                }
                else
                {
                    len = 0;
                }
            }
        }
        return 0;
    }

    /// <summary>
    /// Free in the first FAT and in every other copy. A copy that still marks the cluster in
    /// use has lost its agreement with the first (damage fsck reports as "FAT copies
    /// differ"): the cluster may well be a file's that only the first copy dropped, so it is
    /// skipped rather than cross-linked into a new file, and the first such cluster of the
    /// mount is logged. Only candidates are looked up in the other copy, a few bytes each
    /// from a sector the allocation writes anyway.
    /// </summary>
    private bool IsAllocatable(uint c)
    {
        if (Get(c) != 0)
        {
            return false;
        }
        int copy = _copies.CopyMarkingUsed(c, out long sector);
        if (copy == 0)
        {
            return true;
        }
        if (!_copiesDifferLogged)
        {
            _copiesDifferLogged = true;
            KernelLog.CorruptionOnce(Subsystem, sector,
                $"FAT copy {copy} marks cluster {c} in use where the first FAT shows it free (FAT copies differ); such clusters are not allocated (run fsck)");
        }
        return false;
    }

    /// <summary>
    /// Free <paramref name="clusters"/>[from..] and end the chain at the cluster before
    /// (when <paramref name="from"/> &gt; 0). Freed directory clusters are dropped from the
    /// buffer cache so no stale directory block is written over later file data.
    /// </summary>
    public void Truncate(List<uint> clusters, int from, bool wasDirectory)
    {
        lock (SyncRoot)
        {
            if (from > 0)
            {
                Set(clusters[from - 1], Eoc);
            }
            for (int i = from; i < clusters.Count; i++)
            {
                uint c = clusters[i];
                if (Get(c) == 0)
                {
                    continue; // cross-linked and already freed: do not count twice.
                }
                Set(c, 0);
                FreeCount++;
                if (wasDirectory)
                {
                    _bufs.Discard(_bpb.ClusterOffset(c), _bpb.ClusterSize);
                }
            }
        }
    }

    /// <summary>
    /// The clean-shutdown bit of FAT16/32 (in FAT entry 1): cleared while mounted
    /// read-write, set again at unmount. False for FAT12, which has none.
    /// </summary>
    public bool HasCleanBit => _bpb.Type != FatType.Fat12;

    private uint CleanBit => _bpb.Type == FatType.Fat16 ? 0x8000u : 0x08000000u;

    public bool IsClean => !HasCleanBit || (_fat[1] & CleanBit) != 0;

    public void SetClean(bool clean)
    {
        if (!HasCleanBit)
        {
            return;
        }
        lock (SyncRoot)
        {
            _fat[1] = clean ? _fat[1] | CleanBit : _fat[1] & ~CleanBit;
            WriteThrough(1);
        }
    }

    private void Set(uint c, uint v)
    {
        _fat[c] = _bpb.Type == FatType.Fat32 ? (_fat[c] & 0xF0000000) | (v & 0x0FFFFFFF) : v & Mask;
        WriteThrough(c);
    }

    // The bytes of entry c, computed from the in-core table, into every FAT copy.
    private void WriteThrough(uint c)
    {
        _copies.Forget();
        long at;
        Span<byte> bytes = stackalloc byte[4];
        int len;
        switch (_bpb.Type)
        {
            case FatType.Fat12:
                at = c * 3L / 2;
                uint pair = (c & 1) == 0
                    ? _fat[c] | ((_fat[c + 1] & 0xF) << 12)
                    : (_fat[c - 1] >> 8) | (_fat[c] << 4);
                bytes[0] = (byte)pair;
                bytes[1] = (byte)(pair >> 8);
                len = 2;
                break;
            case FatType.Fat16:
                at = c * 2L;
                bytes[0] = (byte)_fat[c];
                bytes[1] = (byte)(_fat[c] >> 8);
                len = 2;
                break;
            default:
                at = c * 4L;
                BitConverter.TryWriteBytes(bytes, _fat[c]);
                len = 4;
                break;
        }
        int copies = _bpb.MirroringOff ? 1 : _bpb.NumFats;
        for (int k = 0; k < copies; k++)
        {
            int fatNo = _bpb.MirroringOff ? _bpb.ActiveFat : k;
            long abs = _bpb.FatOffset + (fatNo * _bpb.FatBytes) + at;
            PatchBytes(abs, bytes[..len]);
        }
    }

    private void PatchBytes(long abs, ReadOnlySpan<byte> bytes)
    {
        int bps = _bpb.BytesPerSector;
        int i = 0;
        while (i < bytes.Length)
        {
            long sector = (abs + i) / bps * bps;
            int off = (int)(abs + i - sector);
            int n = Math.Min(bytes.Length - i, bps - off);
            if (_bufs.Read(sector, bps, out Buffer? bp) != Errno.OK)
            {
                KernelLog.Error(Subsystem, $"cannot read FAT sector at {sector}");
                return;
            }
            lock (bp!.SyncRoot)
            {
                bytes.Slice(i, n).CopyTo(bp.Data[off..]);
            }
            if (Synchronous)
            {
                _bufs.WriteNow(bp);
            }
            else
            {
                bp.MarkDirty();
            }
            bp.Release();
            i += n;
        }
    }

    /// <summary>Write the free count and next-free hint to FSInfo (FAT32).</summary>
    public void WriteFsInfo()
    {
        if (_bpb.Type != FatType.Fat32 || _bpb.FsInfoSector == 0)
        {
            return;
        }
        long at = (long)_bpb.FsInfoSector * _bpb.BytesPerSector;
        if (_bufs.Read(at, _bpb.BytesPerSector, out Buffer? bp) != Errno.OK)
        {
            return;
        }
        lock (bp!.SyncRoot)
        {
            if (FsInfo.IsValid(bp.Data)
                && (FsInfo.ReadFreeCount(bp.Data) != FreeCount || FsInfo.ReadNextFree(bp.Data) != NextFree))
            {
                FsInfo.Write(bp.Data, FreeCount, NextFree);
                bp.MarkDirty();
            }
        }
        bp.Release();
    }
}
