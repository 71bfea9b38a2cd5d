using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>
/// File vnode operations (NetBSD's msdosfs_vnops.c, read/write/setattr part): data moves
/// between the caller and the device in runs of contiguous clusters, never through the
/// buffer cache.
/// </summary>
internal sealed partial class MsdosNode
{
    /// <summary>FAT's largest file: the size field is 32 bits.</summary>
    private const long MaxFileSize = 0xFFFFFFFFL;

    private static readonly byte[] s_zeros = new byte[64 * 1024];

    // The device run holding file offset `pos`: its address and how many bytes from there
    // lie in physically contiguous clusters (at most `limit`).
    private void Run(long pos, long limit, out long device, out int bytes)
    {
        int cs = ClusterSize;
        int ci = (int)(pos / cs);
        int within = (int)(pos % cs);
        int n = 1;
        while (ci + n < Chain.Count && Chain[ci + n] == Chain[ci] + (uint)n && ((long)n * cs) - within < limit)
        {
            n++;
        }
        device = Mp.Bpb.ClusterOffset(Chain[ci]) + within;
        bytes = (int)Math.Min(limit, ((long)n * cs) - within);
    }

    public override Errno Read(long offset, Span<byte> buffer, out int bytesRead)
    {
        bytesRead = 0;
        if (Type != VType.Regular)
        {
            return Errno.EISDIR;
        }
        long size = Entry.FileSize;
        if (offset >= size)
        {
            return Errno.OK;
        }
        Errno e = LoadChain();
        if (e != Errno.OK)
        {
            return e;
        }
        int want = (int)Math.Min(buffer.Length, size - offset);
        while (bytesRead < want)
        {
            Run(offset + bytesRead, want - bytesRead, out long dev, out int n);
            e = Mp.Device!.Read(dev, buffer.Slice(bytesRead, n));
            if (e != Errno.OK)
            {
                return bytesRead > 0 ? Errno.OK : e;
            }
            bytesRead += n;
        }
        MarkAccessed();
        return Errno.OK;
    }

    // The access date changes at most once a day, so this rarely writes anything.
    private void MarkAccessed()
    {
        if (Mp.Options.NoAtime || Mp.IsReadOnly || Removed)
        {
            return;
        }
        MsdosConv.ToDos(Mp.Clock.Now, GmtOff, out ushort today, out _, out _);
        if (today != Entry.ADate)
        {
            Entry.ADate = today;
            Update();
        }
    }

    private Errno WriteDevice(long pos, ReadOnlySpan<byte> data)
    {
        int done = 0;
        while (done < data.Length)
        {
            Run(pos + done, data.Length - done, out long dev, out int n);
            Errno e = Mp.Device!.Write(dev, data.Slice(done, n));
            if (e != Errno.OK)
            {
                return e;
            }
            done += n;
        }
        return Errno.OK;
    }

    private Errno WriteZeros(long pos, long count)
    {
        while (count > 0)
        {
            int n = (int)Math.Min(count, s_zeros.Length);
            Errno e = WriteDevice(pos, s_zeros.AsSpan(0, n));
            if (e != Errno.OK)
            {
                return e;
            }
            pos += n;
            count -= n;
        }
        return Errno.OK;
    }

    /// <summary>
    /// Make the chain cover <paramref name="bytes"/> bytes. Returns how many bytes it covers
    /// afterwards (less only when the volume is full).
    /// </summary>
    private long EnsureClusters(long bytes)
    {
        int cs = ClusterSize;
        long need = (bytes + cs - 1) / cs;
        if (need > Chain.Count)
        {
            uint last = Chain.Count > 0 ? Chain[^1] : 0;
            Mp.Fat.Allocate(last, (int)(need - Chain.Count), Chain);
            if (Entry.Cluster == 0 && Chain.Count > 0)
            {
                Entry.Cluster = Chain[0];
            }
        }
        return Math.Min(bytes, (long)Chain.Count * cs);
    }

    public override Errno Write(long offset, ReadOnlySpan<byte> data, out int written)
    {
        written = 0;
        if (Type != VType.Regular)
        {
            return Errno.EISDIR;
        }
        if (offset >= MaxFileSize)
        {
            return Errno.EFBIG;
        }
        if (offset + data.Length > MaxFileSize)
        {
            data = data[..(int)(MaxFileSize - offset)];
        }
        Errno e = LoadChain();
        if (e != Errno.OK)
        {
            return e;
        }
        long size = Entry.FileSize;
        long covered = EnsureClusters(offset + data.Length);
        if (covered <= offset)
        {
            // Not even the gap fits: give back what was taken, so no cluster lies past the end.
            TrimChain(size);
            Update();
            return Errno.ENOSPC;
        }
        if (offset > size)
        {
            // Bytes past the old end are whatever the cluster held: zero the gap.
            e = WriteZeros(size, offset - size);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        int n = (int)Math.Min(data.Length, covered - offset);
        e = WriteDevice(offset, data[..n]);
        if (e != Errno.OK)
        {
            return e;
        }
        written = n;
        if (offset + n > size)
        {
            Entry.FileSize = (uint)(offset + n);
        }
        TouchModified();
        e = Update();
        return e;
    }

    public override Errno SetAttr(in VAttr va, Credentials cred)
    {
        MsdosOptions o = Mp.FatOptions;
        // FAT stores no owner: only the mount's owner and group are accepted (NetBSD, Linux).
        if (((va.Mask & VAttrMask.Uid) != 0 && va.Uid != o.Uid) || ((va.Mask & VAttrMask.Gid) != 0 && va.Gid != o.Gid))
        {
            return Errno.EPERM;
        }
        Errno e;
        if ((va.Mask & VAttrMask.Size) != 0)
        {
            if (Type != VType.Regular)
            {
                return Errno.EISDIR;
            }
            e = Truncate(va.Size);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        if ((va.Mask & VAttrMask.Mode) != 0 && Type == VType.Regular)
        {
            // Only the owner write bit is stored, as the read-only attribute.
            Entry.Attr = (va.Mode & 0x80) != 0 ? Entry.Attr & ~FatAttr.ReadOnly : Entry.Attr | FatAttr.ReadOnly;
        }
        if ((va.Mask & VAttrMask.Mtime) != 0)
        {
            MsdosConv.ToDos(va.Mtime, GmtOff, out Entry.MDate, out Entry.MTime, out _);
        }
        if ((va.Mask & VAttrMask.Atime) != 0)
        {
            MsdosConv.ToDos(va.Atime, GmtOff, out Entry.ADate, out _, out _);
        }
        if ((va.Mask & VAttrMask.Birthtime) != 0)
        {
            MsdosConv.ToDos(va.Birthtime, GmtOff, out Entry.CDate, out Entry.CTime, out Entry.CTimeTenth);
        }
        return Update();
    }

    // Free the clusters beyond those `size` bytes need.
    private void TrimChain(long size)
    {
        int keep = (int)((size + ClusterSize - 1) / ClusterSize);
        if (keep < Chain.Count)
        {
            Mp.Fat.Truncate(Chain, keep, false);
            Chain.RemoveRange(keep, Chain.Count - keep);
            if (keep == 0)
            {
                Entry.Cluster = 0;
            }
        }
    }

    private Errno Truncate(long newSize)
    {
        if (newSize > MaxFileSize)
        {
            return Errno.EFBIG;
        }
        Errno e = LoadChain();
        if (e != Errno.OK)
        {
            return e;
        }
        long size = Entry.FileSize;
        if (newSize < size)
        {
            TrimChain(newSize);
        }
        else if (newSize > size)
        {
            if (EnsureClusters(newSize) < newSize)
            {
                TrimChain(size);
                Update();
                return Errno.ENOSPC;
            }
            e = WriteZeros(size, newSize - size);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        else
        {
            return Errno.OK;
        }
        Entry.FileSize = (uint)newSize;
        TouchModified();
        return Update();
    }

    public override Errno Fsync(bool dataOnly)
    {
        Mp.Fat.WriteFsInfo();
        return Mp.Bufs.Flush();
    }

    public override Errno Allocate(long offset, long length)
    {
        if (Type != VType.Regular)
        {
            return Errno.ENODEV;
        }
        long end = offset + length;
        if (end > MaxFileSize)
        {
            return Errno.EFBIG;
        }
        // FAT has no unwritten extents: preallocation is growth with zeros, as Linux does.
        return end > Entry.FileSize ? Truncate(end) : Errno.OK;
    }
}
