using RumpFs.Kernel;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>
/// Reads single entries of the FAT copies that are not held in core (copies 2..n when the
/// FAT is mirrored), through the buffer cache, so they show this mount's own writes too.
/// The allocator asks it about each cluster it is about to hand out: a copy that still
/// marks a cluster in use where the first shows it free is damage (fsck reports "FAT copies
/// differ"), and the cluster may hold a file's data that only the first copy lost.
/// One sector is remembered between calls; <see cref="Forget"/> drops it.
/// </summary>
internal sealed class MsdosFatCopies
{
    private readonly Bpb _bpb;
    private readonly BufferCache _bufs;
    private readonly byte[] _sector;
    private long _sectorAt = -1;

    public MsdosFatCopies(Bpb bpb, BufferCache bufs)
    {
        _bpb = bpb;
        _bufs = bufs;
        _sector = new byte[bpb.BytesPerSector];
    }

    /// <summary>False when there is nothing to compare: one FAT, or mirroring off (the other copies are stale by design).</summary>
    public bool Any => !_bpb.MirroringOff && _bpb.NumFats > 1;

    /// <summary>The remembered sector may be stale (the caller is about to change FAT sectors).</summary>
    public void Forget() => _sectorAt = -1;

    /// <summary>
    /// The first copy (1-based number) other than the first whose entry for
    /// <paramref name="cluster"/> is not free, or 0 when every copy shows it free or a copy
    /// cannot be read (nothing is known against the cluster then).
    /// </summary>
    public int CopyMarkingUsed(uint cluster, out long sector)
    {
        sector = 0;
        if (!Any)
        {
            return 0;
        }
        for (int copy = 1; copy < _bpb.NumFats; copy++)
        {
            long fat = _bpb.FatOffset + (copy * _bpb.FatBytes);
            uint value;
            long at;
            byte lo, hi;
            switch (_bpb.Type)
            {
                case FatType.Fat12:
                    at = fat + (cluster * 3L / 2);
                    if (!TryByte(at, out lo) || !TryByte(at + 1, out hi))
                    {
                        return 0;
                    }
                    uint pair = (uint)(lo | (hi << 8));
                    value = (cluster & 1) == 0 ? pair & 0xFFF : pair >> 4;
                    break;
                case FatType.Fat16:
                    at = fat + (cluster * 2L);
                    if (!TryByte(at, out lo) || !TryByte(at + 1, out hi))
                    {
                        return 0;
                    }
                    value = (uint)(lo | (hi << 8));
                    break;
                default:
                    at = fat + (cluster * 4L);
                    value = 0;
                    for (int i = 3; i >= 0; i--)
                    {
                        if (!TryByte(at + i, out byte b))
                        {
                            return 0;
                        }
                        value = (value << 8) | b;
                    }
                    value &= 0x0FFFFFFF;
                    break;
            }
            if (value != 0)
            {
                sector = at / _bpb.BytesPerSector;
                return copy + 1;
            }
        }
        return 0;
    }

    private bool TryByte(long abs, out byte value)
    {
        int bps = _bpb.BytesPerSector;
        long sectorAt = abs / bps * bps;
        if (sectorAt != _sectorAt)
        {
            if (_bufs.Read(sectorAt, bps, out Buffer? bp) != Errno.OK)
            {
                value = 0;
                return false;
            }
            lock (bp!.SyncRoot)
            {
                bp.Data[..bps].CopyTo(_sector);
            }
            bp.Release();
            _sectorAt = sectorAt;
        }
        value = _sector[(int)(abs - sectorAt)];
        return true;
    }
}
