using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using L = RumpFs.FsDrivers.Ffs.FfsWapblLayout;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// What a file system's WAPBL log holds (wapbl_replay_start and wapbl_replay_process): the
/// newest copy of every logged piece of the file system, after revocations, and the inodes
/// that were allocated but unlinked when the log was last written. Reading it writes
/// nothing. Every length, count and offset is checked against the log area, the device and
/// the file system before it is used; anything out of place makes the whole log unusable.
/// </summary>
internal sealed class FfsWapblReplay
{
    /// <summary>Logs larger than this are refused rather than read into memory (NetBSD makes at most 64 MiB).</summary>
    private const long MaxLogBytes = 1L << 30;

    private readonly IBlockDevice _dev;
    private readonly FfsByteOrder _order;
    private readonly long _logStart;
    private readonly long _circOff;
    private readonly long _circSize;
    private readonly int _logBlock;
    private readonly int _piece;
    private readonly Dictionary<long, long> _pieces = []; // device byte offset -> log offset
    private readonly List<(uint Ino, uint Mode)> _inodes = [];

    private FfsWapblReplay(IBlockDevice dev, FfsByteOrder order, long logStart, long circOff, long circSize, int logBlock, int piece)
    {
        _dev = dev;
        _order = order;
        _logStart = logStart;
        _circOff = circOff;
        _circSize = circSize;
        _logBlock = logBlock;
        _piece = piece;
    }

    /// <summary>Logged pieces to write back (each <see cref="PieceBytes"/> long).</summary>
    public int PieceCount => _pieces.Count;

    /// <summary>Bytes of one logged piece (the file system's device block).</summary>
    public int PieceBytes => _piece;

    /// <summary>Inodes listed as allocated but unlinked, with the mode they were listed with.</summary>
    public IReadOnlyList<(uint Ino, uint Mode)> Inodes => _inodes;

    /// <summary>
    /// Read the log that <paramref name="sb"/> locates. EINVAL with a message when the log
    /// cannot be trusted; EIO when the device fails.
    /// </summary>
    public static Errno Read(IBlockDevice dev, FfsSuperblock sb, out FfsWapblReplay? replay, out string? message)
    {
        replay = null;
        message = Locate(dev, sb, out long logStart, out long logBytes);
        if (message is not null)
        {
            return Errno.EINVAL;
        }
        byte[] first = new byte[1 << L.DevBlockShift];
        if (dev.Read(logStart, first) != Errno.OK)
        {
            message = "cannot read the log header";
            return Errno.EIO;
        }
        FfsByteOrder? order = OrderOf(first);
        if (order is null)
        {
            message = "no log header (bad magic)";
            return Errno.EINVAL;
        }
        int bshift = order.I32(first, L.HdrLogDevBshift);
        if (bshift < L.DevBlockShift || bshift > 16 || (2L << bshift) > logBytes)
        {
            message = $"bad log block shift {bshift}";
            return Errno.EINVAL;
        }
        byte[] header = new byte[1 << bshift];
        byte[] second = new byte[1 << bshift];
        if (dev.Read(logStart, header) != Errno.OK || dev.Read(logStart + header.Length, second) != Errno.OK)
        {
            message = "cannot read the log header";
            return Errno.EIO;
        }
        // Commits alternate between the two copies; the higher generation is the newer one.
        if (OrderOf(second) == order && order.I32(second, L.HdrLogDevBshift) == bshift
            && (uint)order.I32(second, L.HdrGeneration) > (uint)order.I32(header, L.HdrGeneration))
        {
            header = second;
        }
        message = CheckHeader(header, order, logBytes, out long circOff, out long circSize, out int fsShift);
        if (message is not null)
        {
            return Errno.EINVAL;
        }
        var r = new FfsWapblReplay(dev, order, logStart, circOff, circSize, header.Length, 1 << fsShift);
        long head = order.I64(header, L.HdrHead);
        long tail = order.I64(header, L.HdrTail);
        if (head == 0 && tail == 0)
        {
            replay = r;
            return Errno.OK;
        }
        long fsBytes = sb.FragToBytes(sb.Size);
        Errno e = r.Process(head, tail, Math.Min(fsBytes, dev.Length), out message);
        if (e == Errno.OK)
        {
            replay = r;
        }
        return e;
    }

    /// <summary>
    /// A read-only view of the device with the logged pieces in place, and the superblock
    /// found through it (the log may hold the superblock itself): <paramref name="problem"/>
    /// says why that superblock is unusable, or is null. Committing the view
    /// (<see cref="OverlayDevice.CommitTo"/>) writes the replay.
    /// </summary>
    public Errno ToOverlay(out OverlayDevice overlay, out FfsSuperblock? sb, out string? problem)
    {
        var view = new OverlayDevice(_dev);
        overlay = view;
        sb = null;
        problem = null;
        Errno e = ForEachPiece((at, data) =>
        {
            view.Put(at, data);
            return Errno.OK;
        });
        if (e != Errno.OK)
        {
            return e;
        }
        sb = FfsSuperblockCheck.Find(view, out string? lost);
        problem = sb is null ? lost : FfsSuperblockCheck.Validate(sb, view.Length);
        return Errno.OK;
    }

    /// <summary>The logged pieces, in device order, read from the log.</summary>
    private Errno ForEachPiece(Func<long, byte[], Errno> apply)
    {
        ArgumentNullException.ThrowIfNull(apply);
        foreach ((long target, long at) in _pieces.OrderBy(p => p.Key))
        {
            byte[] data = new byte[_piece];
            long pos = at;
            Errno e = ReadCircular(data, ref pos);
            if (e == Errno.OK)
            {
                e = apply(target, data);
            }
            if (e != Errno.OK)
            {
                return e;
            }
        }
        return Errno.OK;
    }

    /// <summary>Why the superblock's log location is unusable, or null; the log's byte range.</summary>
    private static string? Locate(IBlockDevice dev, FfsSuperblock sb, out long logStart, out long logBytes)
    {
        logStart = logBytes = 0;
        if (sb.JournalVersion != L.Version)
        {
            return $"unknown log version {sb.JournalVersion}";
        }
        if (sb.JournalLocation is not (L.LocationEndOfPartition or L.LocationInFileSystem))
        {
            return $"unknown log location type {sb.JournalLocation}";
        }
        long addr = sb.JournalLoc(L.LocAddress);
        long count = sb.JournalLoc(L.LocCount);
        long blockSize = sb.JournalLoc(L.LocBlockSize);
        if (blockSize < 512 || blockSize > 65536 || (blockSize & (blockSize - 1)) != 0)
        {
            return $"bad log block size {blockSize}";
        }
        if (addr <= 0 || count <= 0 || addr > long.MaxValue / blockSize || count > MaxLogBytes / blockSize)
        {
            return $"bad log extent {addr}+{count}";
        }
        logStart = addr * blockSize;
        logBytes = count * blockSize;
        if (logStart > dev.Length - logBytes)
        {
            return $"log at {logStart} (+{logBytes} bytes) is outside the device";
        }
        return null;
    }

    private static FfsByteOrder? OrderOf(ReadOnlySpan<byte> header)
    {
        foreach (FfsByteOrder o in new[] { FfsByteOrder.Little, FfsByteOrder.Big })
        {
            if ((uint)o.I32(header, L.RecType) == L.TypeHeader)
            {
                return o;
            }
        }
        return null;
    }

    private static string? CheckHeader(byte[] h, FfsByteOrder o, long logBytes, out long circOff, out long circSize, out int fsShift)
    {
        circOff = o.I64(h, L.HdrCircOff);
        circSize = o.I64(h, L.HdrCircSize);
        fsShift = o.I32(h, L.HdrFsDevBshift);
        long block = h.Length;
        if (o.I32(h, L.RecLength) != block)
        {
            return $"log header length {o.I32(h, L.RecLength)}, not one log block";
        }
        if (fsShift < L.DevBlockShift || fsShift > 16)
        {
            return $"bad file-system block shift {fsShift}";
        }
        if (circOff < 2 * block || circSize < block || circOff % block != 0 || circSize % block != 0
            || circOff > logBytes - circSize)
        {
            return $"circular area {circOff}+{circSize} does not fit the {logBytes}-byte log";
        }
        long head = o.I64(h, L.HdrHead);
        long tail = o.I64(h, L.HdrTail);
        if (head == 0 && tail == 0)
        {
            return null;
        }
        if (!Inside(head, circOff, circSize) || !Inside(tail, circOff, circSize) || head % block != 0 || tail % block != 0)
        {
            return $"log head {head} or tail {tail} outside the circular area";
        }
        return null;
    }

    private static bool Inside(long off, long circOff, long circSize) => off >= circOff && off < circOff + circSize;

    /// <summary>Walk the records from tail to head, as the kernel's replay does.</summary>
    private Errno Process(long head, long tail, long limit, out string? message)
    {
        message = null;
        long used = head > tail ? head - tail : _circSize - (tail - head);
        byte[] rec = new byte[_logBlock];
        long off = tail;
        while (used > 0)
        {
            long start = off;
            Errno e = ReadCircular(rec, ref off);
            if (e != Errno.OK)
            {
                message = "cannot read the log";
                return e;
            }
            uint type = (uint)_order.I32(rec, L.RecType);
            int length = _order.I32(rec, L.RecLength);
            if (length < _logBlock || length % _logBlock != 0 || length > used)
            {
                message = $"record at {start} has bad length {length}";
                return Errno.EINVAL;
            }
            message = type switch
            {
                L.TypeBlocks => Blocks(rec, ref off, length - _logBlock, limit),
                L.TypeRevocations => Revocations(rec, limit),
                L.TypeInodes => InodeList(rec),
                _ => $"record at {start} has unknown type 0x{type:x8}",
            };
            if (message is not null)
            {
                message = $"record at {start}: {message}";
                return Errno.EINVAL;
            }
            off = Advance(start, length);
            used -= length;
        }
        if (off != head)
        {
            message = $"records end at {off}, not at the head {head}";
            return Errno.EINVAL;
        }
        return Errno.OK;
    }

    private string? Blocks(byte[] rec, ref long off, long dataBytes, long limit)
    {
        int count = _order.I32(rec, L.ListCount);
        if (count < 0 || count > (_logBlock - L.ListEntries) / L.BlockEntryBytes)
        {
            return $"bad block count {count}";
        }
        for (int i = 0; i < count; i++)
        {
            if (!Entry(rec, i, limit, out long target, out int bytes, out string? why))
            {
                return why;
            }
            if (bytes > dataBytes)
            {
                return "block data longer than the record";
            }
            dataBytes -= bytes;
            for (int j = 0; j < bytes; j += _piece)
            {
                _pieces[target + j] = off;
                off = Advance(off, _piece);
            }
        }
        return null;
    }

    private string? Revocations(byte[] rec, long limit)
    {
        int count = _order.I32(rec, L.ListCount);
        if (count < 0 || count > (_logBlock - L.ListEntries) / L.BlockEntryBytes)
        {
            return $"bad revocation count {count}";
        }
        for (int i = 0; i < count; i++)
        {
            if (!Entry(rec, i, limit, out long target, out int bytes, out string? why))
            {
                return why;
            }
            for (int j = 0; j < bytes; j += _piece)
            {
                _pieces.Remove(target + j);
            }
        }
        return null;
    }

    private bool Entry(byte[] rec, int i, long limit, out long target, out int bytes, out string? why)
    {
        int at = L.ListEntries + (i * L.BlockEntryBytes);
        long daddr = _order.I64(rec, at + L.EntryAddress);
        bytes = _order.I32(rec, at + L.EntryLength);
        target = 0;
        why = null;
        if (bytes <= 0 || bytes % _piece != 0)
        {
            why = $"entry {i} has bad length {bytes}";
            return false;
        }
        if (daddr < 0 || daddr > (limit - bytes) >> L.DevBlockShift)
        {
            why = $"entry {i} names sector {daddr}, outside the file system";
            return false;
        }
        target = daddr << L.DevBlockShift;
        return true;
    }

    private string? InodeList(byte[] rec)
    {
        int count = _order.I32(rec, L.ListCount);
        if (count < 0 || count > (_logBlock - L.ListEntries) / L.InodeEntryBytes)
        {
            return $"bad inode count {count}";
        }
        if (_order.I32(rec, L.InodeClear) != 0)
        {
            _inodes.Clear();
        }
        for (int i = 0; i < count; i++)
        {
            int at = L.ListEntries + (i * L.InodeEntryBytes);
            _inodes.Add(((uint)_order.I32(rec, at), (uint)_order.I32(rec, at + 4)));
        }
        return null;
    }

    private long Advance(long off, long length)
    {
        long end = _circOff + _circSize;
        off += length % _circSize;
        return off >= end ? off - _circSize : off;
    }

    private Errno ReadCircular(byte[] data, ref long off)
    {
        int done = 0;
        while (done < data.Length)
        {
            int n = (int)Math.Min(data.Length - done, _circOff + _circSize - off);
            Errno e = _dev.Read(_logStart + off, data.AsSpan(done, n));
            if (e != Errno.OK)
            {
                return e;
            }
            done += n;
            off = Advance(off, n);
        }
        return Errno.OK;
    }
}
