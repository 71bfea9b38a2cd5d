using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>One entry found by a directory scan: its slots, its name and its short entry.</summary>
internal readonly record struct ScanItem(int First, int Short, string Name, FatDirEntry Entry, long Offset, bool IsDot, bool IsVolume);

/// <summary>
/// Directory search and update (NetBSD's msdosfs_lookup.c and direntry handling): slot
/// addressing, the scan that assembles long names, the index, and writing and deleting
/// entries. Called with the directory's vnode lock held.
/// </summary>
internal sealed partial class MsdosNode
{
    /// <summary>Most slots a FAT directory may have (2 MiB of entries), as Linux and Windows enforce.</summary>
    private const int MaxSlots = 65536;

    private int SlotsPerCluster => ClusterSize / FatDirEntry.Size;

    /// <summary>Slots the directory has now (its clusters, or the fixed root's size).</summary>
    private int SlotCapacity => IsFixedRoot ? Mp.Bpb.RootEntries : Math.Min(Chain.Count * SlotsPerCluster, MaxSlots);

    private Errno SlotOffset(int slot, out long offset)
    {
        offset = 0;
        if (IsFixedRoot)
        {
            if (slot >= Mp.Bpb.RootEntries)
            {
                return Errno.EIO;
            }
            offset = Mp.Bpb.RootDirOffset + (slot * 32L);
            return Errno.OK;
        }
        int ci = slot / SlotsPerCluster;
        if (ci >= Chain.Count)
        {
            return Errno.EIO;
        }
        offset = Mp.Bpb.ClusterOffset(Chain[ci]) + ((slot % SlotsPerCluster) * 32L);
        return Errno.OK;
    }

    /// <summary>The directory's index, built by one scan when first needed.</summary>
    public Errno DirIndex(out DirIndex? index)
    {
        index = _index;
        if (index is not null)
        {
            return Errno.OK;
        }
        Errno e = LoadChain();
        if (e != Errno.OK)
        {
            return e;
        }
        var built = new DirIndex();
        e = Scan(0, item =>
        {
            if (item.IsDot || item.IsVolume)
            {
                built.MarkUsed(item.First, item.Short - item.First + 1);
                if (item.IsVolume && IsRoot && built.VolumeLabel is null)
                {
                    built.VolumeLabel = MsdosConv.ShortFieldToString(item.Entry.Name);
                }
                return true;
            }
            built.Add(new DirSlot
            {
                First = item.First,
                Short = item.Short,
                Name = item.Name,
                ShortKey = MsdosConv.Key(item.Entry.Name),
                IsDir = item.Entry.IsDirectory,
                Cluster = item.Entry.Cluster,
            });
            return true;
        }, orphan: (first, count) => built.MarkUsed(first, count));
        if (e != Errno.OK)
        {
            return e;
        }
        _index = index = built;
        return Errno.OK;
    }

    /// <summary>
    /// Visit the entries from slot <paramref name="from"/> until the end marker or until
    /// <paramref name="visit"/> returns false. Long-name pieces are assembled and checked
    /// (order, checksum against the short name); pieces that do not fit are ignored and the
    /// short name is used, as Windows does. <paramref name="orphan"/> hears of slots in use
    /// that belong to no entry.
    /// </summary>
    private Errno Scan(int from, Func<ScanItem, bool> visit, Action<int, int>? orphan = null)
    {
        int capacity = SlotCapacity;
        int bps = Mp.Bpb.BytesPerSector;
        bool longNames = !Mp.FatOptions.ShortNamesOnly;
        Span<char> chars = stackalloc char[LongNameEntry.MaxEntries * LongNameEntry.CharsPerEntry];
        int lfnFirst = -1, lfnNext = 0, lfnTotal = 0;
        byte lfnSum = 0;
        // A listing resumed in the middle of a long name (an entry made since the last call
        // over slots around the resume point) skips that entry rather than show it by its
        // short name.
        bool skipEntry = from > 0 && IsLongNamePiece(from - 1);
        Buffer? bp = null;
        long bpSector = -1;
        try
        {
            for (int slot = from; slot < capacity; slot++)
            {
                Errno e = SlotOffset(slot, out long off);
                if (e != Errno.OK)
                {
                    return e;
                }
                long sector = off / bps * bps;
                if (sector != bpSector)
                {
                    bp?.Release();
                    bp = null;
                    e = Mp.Bufs.Read(sector, bps, out bp);
                    if (e != Errno.OK)
                    {
                        return e;
                    }
                    bpSector = sector;
                }
                FatDirEntry de;
                byte b0;
                FatAttr attr;
                lock (bp!.SyncRoot)
                {
                    ReadOnlySpan<byte> s = bp.Data.Slice((int)(off - sector), 32);
                    b0 = s[0];
                    if (b0 == FatDirEntry.EndMarker)
                    {
                        break;
                    }
                    attr = (FatAttr)s[FatDirEntry.OffAttr];
                    if (b0 != FatDirEntry.Deleted && (attr & (FatAttr)0x3F) == FatAttr.LongName)
                    {
                        int ord = b0 & 0x1F;
                        if ((b0 & LongNameEntry.LastFlag) != 0 && ord is >= 1 and <= LongNameEntry.MaxEntries)
                        {
                            if (lfnFirst >= 0)
                            {
                                orphan?.Invoke(lfnFirst, slot - lfnFirst);
                            }
                            lfnFirst = slot;
                            skipEntry = false;
                            lfnTotal = ord;
                            lfnSum = s[LongNameEntry.OffChecksum];
                            LongNameEntry.ReadChars(s, chars.Slice((ord - 1) * 13, 13));
                            lfnNext = ord - 1;
                        }
                        else if (lfnFirst >= 0 && ord == lfnNext && ord >= 1 && s[LongNameEntry.OffChecksum] == lfnSum)
                        {
                            LongNameEntry.ReadChars(s, chars.Slice((ord - 1) * 13, 13));
                            lfnNext--;
                        }
                        else
                        {
                            if (lfnFirst >= 0)
                            {
                                orphan?.Invoke(lfnFirst, slot - lfnFirst);
                            }
                            orphan?.Invoke(slot, 1);
                            lfnFirst = -1;
                        }
                        continue;
                    }
                    de = FatDirEntry.Read(s, Mp.IsFat32);
                }
                if (b0 == FatDirEntry.Deleted)
                {
                    skipEntry = false;
                    if (lfnFirst >= 0)
                    {
                        orphan?.Invoke(lfnFirst, slot - lfnFirst);
                    }
                    lfnFirst = -1;
                    continue;
                }
                if ((attr & FatAttr.Volume) != 0)
                {
                    skipEntry = false;
                    if (lfnFirst >= 0)
                    {
                        orphan?.Invoke(lfnFirst, slot - lfnFirst);
                    }
                    lfnFirst = -1;
                    if (!visit(new ScanItem(slot, slot, "", de, off, false, true)))
                    {
                        return Errno.OK;
                    }
                    continue;
                }
                if (skipEntry)
                {
                    skipEntry = false;
                    lfnFirst = -1;
                    continue;
                }
                bool dot = b0 == (byte)'.';
                string? longName = null;
                int first = slot;
                if (lfnFirst >= 0)
                {
                    if (longNames && !dot && lfnNext == 0 && LongNameEntry.Checksum(de.Name) == lfnSum)
                    {
                        ReadOnlySpan<char> all = chars[..(lfnTotal * 13)];
                        int end = all.IndexOf('\0');
                        longName = new string(end < 0 ? all : all[..end]);
                        first = lfnFirst;
                    }
                    else
                    {
                        orphan?.Invoke(lfnFirst, slot - lfnFirst);
                    }
                    lfnFirst = -1;
                }
                // A long name holding '/' can be named by no path (the VFS drops such names from
                // listings): the short name stands for the file then, as for any long name that
                // does not belong to its entry, and the slots still go with the entry.
                string name = longName is { Length: > 0 } && !longName.Contains('/', StringComparison.Ordinal)
                    ? longName
                    : MsdosConv.ShortToDisplay(de.Name, de.NtRes);
                if (!visit(new ScanItem(first, slot, name, de, off, dot, false)))
                {
                    return Errno.OK;
                }
            }
            if (lfnFirst >= 0)
            {
                orphan?.Invoke(lfnFirst, capacity - lfnFirst);
            }
            return Errno.OK;
        }
        finally
        {
            bp?.Release();
        }
    }

    private bool IsLongNamePiece(int slot)
    {
        if (SlotOffset(slot, out long off) != Errno.OK || Mp.ReadEntry(off, out FatDirEntry de) != Errno.OK)
        {
            return false;
        }
        return de.Name[0] != FatDirEntry.Deleted && (de.Attr & (FatAttr)0x3F) == FatAttr.LongName;
    }

    /// <summary>Find the entry of the subdirectory starting at <paramref name="cluster"/> (for "..").</summary>
    public Errno FindDirEntryByCluster(uint cluster, out long offset, out FatDirEntry de)
    {
        long foundOffset = -1;
        FatDirEntry found = default;
        Errno e = LoadChain();
        if (e != Errno.OK)
        {
            offset = 0;
            de = default;
            return e;
        }
        e = Scan(0, item =>
        {
            if (!item.IsDot && !item.IsVolume && item.Entry.IsDirectory && item.Entry.Cluster == cluster)
            {
                foundOffset = item.Offset;
                found = item.Entry;
                return false;
            }
            return true;
        });
        offset = foundOffset;
        de = found;
        return e != Errno.OK ? e : foundOffset < 0 ? Errno.ESTALE : Errno.OK;
    }

    // ---- Changing entries ---------------------------------------------------------------

    private delegate void SlotEdit(Span<byte> slot);

    private Errno EditSlot(int slot, SlotEdit edit)
    {
        Errno e = SlotOffset(slot, out long off);
        if (e != Errno.OK)
        {
            return e;
        }
        int bps = Mp.Bpb.BytesPerSector;
        long sector = off / bps * bps;
        e = Mp.Bufs.Read(sector, bps, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        lock (bp!.SyncRoot)
        {
            edit(bp.Data.Slice((int)(off - sector), 32));
        }
        return Mp.Finish(bp);
    }

    /// <summary>
    /// Decide the short name and long-name pieces for <paramref name="name"/> (stripped and
    /// validated): an exact 8.3 name (all upper or all lower case) needs no long name; any
    /// other gets a generated short name, with a ~N tail unless the basis is lossless and
    /// free.
    /// </summary>
    private Errno MakeShortName(DirIndex index, string name, out byte[] shortName, out byte ntRes, out bool needLong)
    {
        needLong = false;
        if (MsdosConv.TryExact83(name, out shortName, out ntRes))
        {
            return Errno.OK;
        }
        (string b, string ext) = MsdosConv.Basis(name, out bool lossy);
        if (Mp.FatOptions.ShortNamesOnly)
        {
            // 8.3 only: a name that cannot be stored exactly (but for case) is refused.
            if (lossy)
            {
                return Errno.EINVAL;
            }
            shortName = MsdosConv.Pack(b, ext);
            ntRes = 0;
            return Errno.OK;
        }
        needLong = true;
        ntRes = 0;
        if (!lossy)
        {
            shortName = MsdosConv.Pack(b, ext);
            if (!index.ShortNameTaken(shortName))
            {
                return Errno.OK;
            }
        }
        string basisKey = b + "." + ext;
        for (int n = index.NextTail(basisKey); n < 1_000_000; n++)
        {
            shortName = MsdosConv.WithTail(b, ext, n);
            if (!index.ShortNameTaken(shortName))
            {
                index.SetNextTail(basisKey, n + 1);
                return Errno.OK;
            }
        }
        return Errno.ENOSPC;
    }

    /// <summary>Strip and validate a new name; EINVAL for names FAT cannot hold.</summary>
    public static Errno CheckNewName(string name, out string stripped)
    {
        stripped = MsdosConv.StripTail(name);
        return MsdosConv.IsValidLongName(stripped) ? Errno.OK : Errno.EINVAL;
    }

    /// <summary>
    /// Add an entry named <paramref name="name"/> (stripped, valid, not present) holding
    /// <paramref name="de"/>; returns where its short entry went. Grows the directory when
    /// no free run is long enough; ENOSPC when it cannot (the FAT12/16 root is full, the
    /// volume is full, or the directory has 65536 slots).
    /// </summary>
    public Errno AddEntry(string name, FatDirEntry de, out DirSlot? slot, out long offset)
    {
        slot = null;
        offset = 0;
        Errno e = DirIndex(out DirIndex? index);
        if (e != Errno.OK)
        {
            return e;
        }
        e = MakeShortName(index!, name, out byte[] shortName, out byte ntRes, out bool needLong);
        if (e != Errno.OK)
        {
            return e;
        }
        de.Name = shortName;
        de.NtRes = ntRes;
        int pieces = needLong ? (name.Length + 12) / 13 : 0;
        int start;
        while ((start = index!.FindFree(pieces + 1, SlotCapacity)) < 0)
        {
            e = GrowDirectory();
            if (e != Errno.OK)
            {
                return e;
            }
        }
        byte sum = LongNameEntry.Checksum(shortName);
        for (int i = 0; i < pieces; i++)
        {
            int ord = pieces - i;
            bool last = i == 0;
            e = EditSlot(start + i, s => LongNameEntry.Write(s, name, ord, last, sum));
            if (e != Errno.OK)
            {
                return e;
            }
        }
        int shortSlot = start + pieces;
        bool fat32 = Mp.IsFat32;
        e = EditSlot(shortSlot, s => de.Write(s, fat32));
        if (e != Errno.OK)
        {
            return e;
        }
        // Past the old end: the next slot must end the directory, whatever it held before.
        if (shortSlot + 1 >= index.HighWater && shortSlot + 1 < SlotCapacity)
        {
            e = EditSlot(shortSlot + 1, s => s[0] = FatDirEntry.EndMarker);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        slot = new DirSlot
        {
            First = start,
            Short = shortSlot,
            Name = needLong ? name : MsdosConv.ShortToDisplay(shortName, ntRes),
            ShortKey = MsdosConv.Key(shortName),
            IsDir = de.IsDirectory,
            Cluster = de.Cluster,
        };
        index.Add(slot, replace: true);
        return SlotOffset(shortSlot, out offset);
    }

    /// <summary>Mark the slots of an entry deleted and drop it from the index.</summary>
    public Errno DeleteEntry(DirSlot slot)
    {
        Errno e = DirIndex(out DirIndex? index);
        if (e != Errno.OK)
        {
            return e;
        }
        for (int i = slot.First; i <= slot.Short; i++)
        {
            e = EditSlot(i, s => s[0] = FatDirEntry.Deleted);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        index!.Remove(slot);
        return Errno.OK;
    }

    private Errno GrowDirectory()
    {
        if (IsFixedRoot || SlotCapacity + SlotsPerCluster > MaxSlots)
        {
            return Errno.ENOSPC;
        }
        uint last = Chain.Count > 0 ? Chain[^1] : 0;
        if (Mp.Fat.Allocate(last, 1, Chain) != 1)
        {
            return Errno.ENOSPC;
        }
        return ZeroCluster(Chain[^1]);
    }

    /// <summary>Zero a new directory cluster in the buffer cache (getblk, no read).</summary>
    public Errno ZeroCluster(uint cluster)
    {
        int bps = Mp.Bpb.BytesPerSector;
        long at = Mp.Bpb.ClusterOffset(cluster);
        for (int i = 0; i < Mp.Bpb.SectorsPerCluster; i++)
        {
            Buffer bp = Mp.Bufs.Get(at + ((long)i * bps), bps);
            lock (bp.SyncRoot)
            {
                bp.Data.Clear();
            }
            Errno e = Mp.Finish(bp);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        return Errno.OK;
    }

    /// <summary>True when the directory holds nothing but "." and "..".</summary>
    public Errno IsEmptyDir(out bool empty)
    {
        empty = false;
        Errno e = DirIndex(out DirIndex? index);
        if (e == Errno.OK)
        {
            empty = index!.Count == 0;
        }
        return e;
    }

    public override Errno ReadDir(long cookie, IDirEntrySink sink)
    {
        if (cookie < 0)
        {
            return Errno.EINVAL;
        }
        Errno e = DirIndex(out _);
        if (e != Errno.OK)
        {
            return e;
        }
        if (cookie == 0)
        {
            if (!sink.Add(new DirEntry(".", Ino, VType.Directory, 1)))
            {
                return Errno.OK;
            }
            cookie = 1;
        }
        if (cookie == 1)
        {
            e = ParentIno(out ulong parent);
            if (e != Errno.OK)
            {
                return e;
            }
            if (!sink.Add(new DirEntry("..", parent, VType.Directory, 2)))
            {
                return Errno.OK;
            }
            cookie = 2;
        }
        if (cookie - 2 >= SlotCapacity)
        {
            return Errno.OK;
        }
        return Scan((int)(cookie - 2), item =>
        {
            if (item.IsDot || item.IsVolume)
            {
                return true;
            }
            bool dir = item.Entry.IsDirectory;
            ulong ino = Mp.Ids.InoFor(dir ? MsdosIds.DirKey(item.Entry.Cluster) : MsdosIds.FileKey(item.Offset));
            return sink.Add(new DirEntry(item.Name, ino, dir ? VType.Directory : VType.Regular, item.Short + 3L));
        });
    }

    /// <summary>The first cluster named by this directory's ".." entry (0: the root).</summary>
    private Errno ParentCluster(out uint cluster)
    {
        cluster = 0;
        if (IsRoot)
        {
            return Errno.OK;
        }
        Errno e = SlotOffset(1, out long off);
        if (e != Errno.OK)
        {
            return e;
        }
        e = Mp.ReadEntry(off, out FatDirEntry dd);
        if (e != Errno.OK)
        {
            return e;
        }
        if (dd.Name[0] != (byte)'.' || dd.Name[1] != (byte)'.')
        {
            return KernelLog.CorruptionOnce(MsdosMount.Subsystem, off / Mp.Bpb.BytesPerSector, "directory without a \"..\" entry");
        }
        cluster = Mp.IsFat32 && dd.Cluster == Mp.Bpb.RootCluster ? 0 : dd.Cluster;
        return Errno.OK;
    }

    private Errno ParentIno(out ulong ino)
    {
        ino = MsdosIds.RootIno;
        Errno e = ParentCluster(out uint c);
        if (e == Errno.OK && c != 0)
        {
            ino = Mp.Ids.InoFor(MsdosIds.DirKey(c));
        }
        return e;
    }
}
