using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Directory search and update (NetBSD's ext2fs_lookup.c): records checked as they are
/// read, lookups through the hash tree of indexed directories and through the in-core
/// <see cref="Ext2DirHash"/> otherwise, entries added into the first slot that fits (in an
/// indexed directory: into the leaf the tree names, see Ext2HtreeIndex.cs), removed by
/// merging into the previous record. An index that cannot take a new entry is dropped first
/// (clearing the index flag keeps e2fsck content), so the index never goes stale.
/// </summary>
internal sealed partial class Ext2Node
{
    private Ext2DirHash? _dirhash;

    private int DirTail => Fs.MetadataCsum ? Ext2DirEntry.TailSize : 0;

    private ulong DirBlocks => (ulong)Din.Size >> Fs.BlockShift;

    /// <summary>
    /// The first block at or after <paramref name="lblk"/> that may hold entries, or
    /// <see cref="DirBlocks"/>. Holes are skipped by the length the block map gives them, as
    /// Linux's readdir does: with large_dir a damaged size may reach terabytes past the last
    /// block, which one absent block at a time would take hours to search. A block whose map
    /// cannot be read is returned, so that reading it reports the error.
    /// </summary>
    private ulong NextDirBlock(ulong lblk)
    {
        ulong end = DirBlocks;
        while (lblk < end)
        {
            Errno e = Bmap(lblk, (int)Math.Min(end - lblk, int.MaxValue), out ulong pblk, out int run, out bool uninit);
            if (e != Errno.OK || (pblk != 0 && !uninit))
            {
                return lblk;
            }
            lblk += (ulong)Math.Max(run, 1);
        }
        return end;
    }

    /// <summary>Read directory block <paramref name="lblk"/> (null for a hole) and check its records.</summary>
    internal Errno ReadDirBlock(ulong lblk, out Buffer? bp)
    {
        bp = null;
        Errno e = Bmap(lblk, 1, out ulong pblk, out _, out bool uninit);
        if (e != Errno.OK || pblk == 0 || uninit)
        {
            return e;
        }
        e = Fs.ReadBlock(pblk, out bp);
        if (e != Errno.OK)
        {
            return e;
        }
        if (Fs.IsVerified(pblk))
        {
            return Errno.OK;
        }
        e = CheckDirBlock(bp!.Data, pblk);
        if (e != Errno.OK)
        {
            bp.Release();
            bp = null;
            return e;
        }
        Fs.MarkVerified(pblk);
        return Errno.OK;
    }

    private Errno CheckDirBlock(ReadOnlySpan<byte> b, ulong pblk)
    {
        int off = 0;
        while (off < b.Length)
        {
            if (off + Ext2DirEntry.HeaderSize > b.Length)
            {
                return Fs.Corrupt((long)pblk, $"directory {Number}: record header past the block end");
            }
            int rec = Ext2DirEntry.RecLen(b, off);
            int nl = Ext2DirEntry.NameLen(b, off, Fs.Filetype);
            if (rec < Ext2DirEntry.HeaderSize + 4 || (rec & 3) != 0 || off + rec > b.Length || nl + Ext2DirEntry.HeaderSize > rec)
            {
                return Fs.Corrupt((long)pblk, $"directory {Number}: bad record at offset {off}");
            }
            if (Ext2DirEntry.Inode(b, off) > Fs.Sb.InodesCount)
            {
                return Fs.Corrupt((long)pblk, $"directory {Number}: entry names inode out of range");
            }
            off += rec;
        }
        if (Fs.MetadataCsum && Ext2DirEntry.HasTail(b)
            && Ext2DirEntry.StoredTailChecksum(b) != Ext2DirEntry.TailChecksum(b, InodeSeed))
        {
            return Fs.Corrupt((long)pblk, $"directory {Number}: bad block checksum");
        }
        return Errno.OK;
    }

    /// <summary>Find <paramref name="name"/>: its inode and byte position in the directory.</summary>
    internal Errno FindEntry(ReadOnlySpan<byte> name, out uint ino, out long pos)
    {
        ino = 0;
        pos = -1;
        if (HasInlineData)
        {
            return FindInline(name, out ino);
        }
        // "." and ".." are the first two records of block 0, and never in an htree leaf.
        if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
        {
            return SearchBlock(0, name, out ino, out pos);
        }
        if (IsIndexedDir && _dirhash is null && Fs.Sb.FeatureCompat is var c && (c & Ext2Features.CompatDirIndex) != 0)
        {
            Errno h = HtreeFind(name, out ino, out pos, out bool usable);
            if (usable)
            {
                return h;
            }
        }
        if (DirBlocks > 1)
        {
            Errno e = EnsureDirHash();
            if (e != Errno.OK)
            {
                return e;
            }
            if (!_dirhash!.TryGet(Ext2DirHash.Key(name), out pos))
            {
                return Errno.ENOENT;
            }
            e = ReadDirBlock((ulong)pos >> Fs.BlockShift, out Buffer? bp);
            if (e != Errno.OK || bp is null)
            {
                return e == Errno.OK ? Errno.ENOENT : e;
            }
            using (bp)
            {
                ino = Ext2DirEntry.Inode(bp.Data, (int)(pos & (Fs.BlockSize - 1)));
            }
            return Errno.OK;
        }
        for (ulong lblk = NextDirBlock(0); lblk < DirBlocks; lblk = NextDirBlock(lblk + 1))
        {
            Errno e = SearchBlock(lblk, name, out ino, out pos);
            if (e != Errno.ENOENT)
            {
                return e;
            }
        }
        return Errno.ENOENT;
    }

    private Errno SearchBlock(ulong lblk, ReadOnlySpan<byte> name, out uint ino, out long pos)
    {
        ino = 0;
        pos = -1;
        Errno e = ReadDirBlock(lblk, out Buffer? bp);
        if (e != Errno.OK || bp is null)
        {
            return e == Errno.OK ? Errno.ENOENT : e;
        }
        using (bp)
        {
            ReadOnlySpan<byte> b = bp.Data;
            for (int off = 0; off < b.Length; off += Ext2DirEntry.RecLen(b, off))
            {
                uint i = Ext2DirEntry.Inode(b, off);
                int nl = Ext2DirEntry.NameLen(b, off, Fs.Filetype);
                if (i != 0 && nl == name.Length && Ext2DirEntry.Name(b, off, nl).SequenceEqual(name))
                {
                    ino = i;
                    pos = ((long)lblk << Fs.BlockShift) + off;
                    return Errno.OK;
                }
            }
        }
        return Errno.ENOENT;
    }

    private Errno EnsureDirHash()
    {
        if (_dirhash is not null)
        {
            return Errno.OK;
        }
        var h = new Ext2DirHash();
        for (ulong lblk = NextDirBlock(0); lblk < DirBlocks; lblk = NextDirBlock(lblk + 1))
        {
            Errno e = ReadDirBlock(lblk, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            if (bp is null)
            {
                h.SetFree((long)lblk, 0);
                continue;
            }
            using (bp)
            {
                ReadOnlySpan<byte> b = bp.Data;
                for (int off = 0; off < b.Length; off += Ext2DirEntry.RecLen(b, off))
                {
                    uint i = Ext2DirEntry.Inode(b, off);
                    if (i != 0)
                    {
                        int nl = Ext2DirEntry.NameLen(b, off, Fs.Filetype);
                        h.Add(Ext2DirHash.Key(Ext2DirEntry.Name(b, off, nl)), ((long)lblk << Fs.BlockShift) + off);
                    }
                }
                h.SetFree((long)lblk, LargestFree(b));
            }
        }
        _dirhash = h;
        return Errno.OK;
    }

    /// <summary>The largest record a block could still take (tail excluded).</summary>
    /// <summary>
    /// Bytes of the record at <paramref name="off"/> a new entry may take: all of a free
    /// record, what a live one leaves past its name, and none of a live record with an empty
    /// name (damage that lookups and listings skip; split, it would leave a record shorter
    /// than any valid one and the rest of the block unreadable).
    /// </summary>
    private int SpareRoom(ReadOnlySpan<byte> b, int off)
    {
        int rec = Ext2DirEntry.RecLen(b, off);
        if (Ext2DirEntry.Inode(b, off) == 0)
        {
            return rec;
        }
        int nl = Ext2DirEntry.NameLen(b, off, Fs.Filetype);
        return nl == 0 ? 0 : rec - Ext2DirEntry.Needed(nl);
    }

    private int LargestFree(ReadOnlySpan<byte> b)
    {
        int limit = b.Length - (Ext2DirEntry.HasTail(b) ? Ext2DirEntry.TailSize : 0);
        int best = 0;
        for (int off = 0; off < limit; off += Ext2DirEntry.RecLen(b, off))
        {
            best = Math.Max(best, SpareRoom(b, off));
        }
        return best;
    }

    /// <summary>Turn an indexed directory into a plain one: index blocks become empty record blocks.</summary>
    private Errno DropIndex()
    {
        if (!IsIndexedDir)
        {
            return Errno.OK;
        }
        var indexBlocks = new List<ulong> { 0 };
        Errno e = ReadDirBlock(0, out Buffer? root);
        if (e != Errno.OK || root is null)
        {
            return e == Errno.OK ? Errno.EIO : e;
        }
        using (root)
        {
            ReadOnlySpan<byte> b = root.Data;
            int levels = b[Ext2DxNode.RootOff.IndirectLevels];
            int entriesOff = Ext2DxNode.RootOff.ReservedZero + b[Ext2DxNode.RootOff.InfoLength];
            if (levels > 0)
            {
                (_, int count) = Ext2DxNode.CountLimit(b, entriesOff);
                for (int i = 0; i < count; i++)
                {
                    indexBlocks.Add(Ext2DxNode.Block(b, entriesOff, i) & 0x0FFFFFFF);
                }
                if (levels > 1)
                {
                    foreach (ulong nblk in indexBlocks.Skip(1).ToList())
                    {
                        e = ReadDirBlock(nblk, out Buffer? nb);
                        if (e != Errno.OK || nb is null)
                        {
                            continue;
                        }
                        using (nb)
                        {
                            (_, int c2) = Ext2DxNode.CountLimit(nb.Data, Ext2DxNode.NodeEntries);
                            for (int i = 0; i < c2; i++)
                            {
                                indexBlocks.Add(Ext2DxNode.Block(nb.Data, Ext2DxNode.NodeEntries, i) & 0x0FFFFFFF);
                            }
                        }
                    }
                }
            }
        }
        int tail = DirTail;
        foreach (ulong lblk in indexBlocks.Distinct())
        {
            e = Bmap(lblk, 1, out ulong pblk, out _, out _);
            if (e != Errno.OK || pblk == 0 || lblk >= DirBlocks)
            {
                continue;
            }
            e = Fs.ReadBlock(pblk, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            using (bp)
            {
                lock (bp!.SyncRoot)
                {
                    Span<byte> b = bp.Data;
                    // Only what is an index node becomes an empty block: one empty record over
                    // the whole block. A leaf a damaged entry names keeps its records.
                    if (lblk != 0 && (Ext2DirEntry.Inode(b, 0) != 0 || Ext2DirEntry.RecLen(b, 0) != b.Length))
                    {
                        continue;
                    }
                    if (lblk == 0)
                    {
                        // Keep "." and "..", let ".." span the old index area.
                        int dotLen = Ext2DirEntry.RecLen(b, 0);
                        Ext2DirEntry.SetRecLen(b, dotLen, b.Length - dotLen - tail);
                        b[(dotLen + Ext2DirEntry.Needed(2))..].Clear();
                    }
                    else
                    {
                        b.Clear();
                        Ext2DirEntry.SetRecLen(b, 0, b.Length - tail);
                    }
                    if (tail != 0)
                    {
                        Ext2DirEntry.WriteTail(b, InodeSeed);
                    }
                }
                Fs.Dirty(bp);
            }
        }
        Din.Flags &= ~Ext2Dinode.FlagIndex;
        MarkDirty();
        return Errno.OK;
    }

    /// <summary>Recompute the block's checksum tail (when it has one) and schedule its write.</summary>
    private void FinishDirBlock(Buffer bp)
    {
        if (Fs.MetadataCsum && Ext2DirEntry.HasTail(bp.Data))
        {
            lock (bp.SyncRoot)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(
                    bp.Data[(bp.Size - Ext2DirEntry.TailSize + Ext2DirEntry.TailOff.Checksum)..],
                    Ext2DirEntry.TailChecksum(bp.Data, InodeSeed));
            }
        }
        Fs.Dirty(bp);
    }

    /// <summary>
    /// Add the entry <paramref name="name"/> → <paramref name="ino"/> (the name is known to be
    /// absent): through the hash tree of an indexed directory, else into the first slot that
    /// fits. An index that cannot take the entry (its node is full) is dropped first.
    /// </summary>
    internal Errno AddEntry(ReadOnlySpan<byte> name, uint ino, byte ftype)
    {
        Errno e = HtreeAdd(name, ino, ftype, out bool added);
        if (e != Errno.OK || added)
        {
            return e;
        }
        e = DropIndex();
        if (e != Errno.OK)
        {
            return e;
        }
        int needed = Ext2DirEntry.Needed(name.Length);
        ulong start = 0;
        if (DirBlocks > 1)
        {
            e = EnsureDirHash();
            if (e != Errno.OK)
            {
                return e;
            }
            long found = _dirhash!.FindBlockWithRoom(needed);
            start = found < 0 ? DirBlocks : (ulong)found;
        }
        for (ulong lblk = NextDirBlock(start); lblk < DirBlocks; lblk = NextDirBlock(lblk + 1))
        {
            e = ReadDirBlock(lblk, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            if (bp is null)
            {
                continue;
            }
            using (bp)
            {
                int at;
                lock (bp.SyncRoot)
                {
                    at = PlaceEntry(bp.Data, name, ino, ftype);
                    if (at >= 0)
                    {
                        _dirhash?.SetFree((long)lblk, LargestFree(bp.Data));
                    }
                }
                if (at >= 0)
                {
                    FinishDirBlock(bp);
                    _dirhash?.Add(Ext2DirHash.Key(name), ((long)lblk << Fs.BlockShift) + at);
                    return TouchDir();
                }
                _dirhash?.SetFree((long)lblk, LargestFree(bp.Data));
            }
        }
        // A full one-block directory becomes indexed as it grows, as ext4's make_indexed_dir does.
        if (DirBlocks == 1 && CanIndex)
        {
            e = MakeIndexed(out bool indexed);
            if (e != Errno.OK)
            {
                return e;
            }
            if (indexed)
            {
                e = HtreeAdd(name, ino, ftype, out bool intoTree);
                if (e != Errno.OK || intoTree)
                {
                    return e;
                }
                e = DropIndex();
                if (e != Errno.OK)
                {
                    return e;
                }
            }
        }
        return AppendDirBlock(name, ino, ftype);
    }

    /// <summary>Write the entry into the first record of block <paramref name="b"/> with room for it; its offset, or -1.</summary>
    private int PlaceEntry(Span<byte> b, ReadOnlySpan<byte> name, uint ino, byte ftype)
    {
        int needed = Ext2DirEntry.Needed(name.Length);
        int limit = b.Length - (Ext2DirEntry.HasTail(b) ? Ext2DirEntry.TailSize : 0);
        for (int off = 0; off < limit; off += Ext2DirEntry.RecLen(b, off))
        {
            int rec = Ext2DirEntry.RecLen(b, off);
            int spare = SpareRoom(b, off);
            if (spare < needed)
            {
                continue;
            }
            if (Ext2DirEntry.Inode(b, off) == 0)
            {
                Ext2DirEntry.Write(b, off, ino, rec, name, ftype, Fs.Filetype);
                return off;
            }
            int used = rec - spare;
            Ext2DirEntry.SetRecLen(b, off, used);
            Ext2DirEntry.Write(b, off + used, ino, spare, name, ftype, Fs.Filetype);
            return off + used;
        }
        return -1;
    }

    private Errno AppendDirBlock(ReadOnlySpan<byte> name, uint ino, byte ftype)
    {
        ulong lblk = DirBlocks;
        Errno e = AllocateRun(lblk, 1, out ulong pblk, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        using (Buffer bp = Fs.GetBlock(pblk))
        {
            lock (bp.SyncRoot)
            {
                Span<byte> b = bp.Data;
                b.Clear();
                Ext2DirEntry.Write(b, 0, ino, b.Length - DirTail, name, ftype, Fs.Filetype);
                if (DirTail != 0)
                {
                    Ext2DirEntry.WriteTail(b, InodeSeed);
                }
                _dirhash?.SetFree((long)lblk, LargestFree(b));
            }
            FinishDirBlock(bp);
        }
        Din.Size += Fs.BlockSize;
        _dirhash?.Add(Ext2DirHash.Key(name), (long)lblk << Fs.BlockShift);
        return TouchDir();
    }

    private Errno TouchDir()
    {
        Kernel.Timespec now = Fs.Clock.Now;
        Din.Mtime = now;
        Din.Ctime = now;
        MarkDirty();
        return Errno.OK;
    }

    /// <summary>Remove the record at <paramref name="pos"/> (merged into the previous record of its block).</summary>
    internal Errno RemoveEntry(ReadOnlySpan<byte> name, long pos)
    {
        // A record leaves a leaf block without touching the hash tree above it: the index
        // of an indexed directory stays valid.
        ulong lblk = (ulong)pos >> Fs.BlockShift;
        int target = (int)(pos & (Fs.BlockSize - 1));
        Errno e = ReadDirBlock(lblk, out Buffer? bp);
        if (e != Errno.OK || bp is null)
        {
            return e == Errno.OK ? Errno.ENOENT : e;
        }
        using (bp)
        {
            lock (bp.SyncRoot)
            {
                Span<byte> b = bp.Data;
                int prev = -1;
                int off = 0;
                while (off < target)
                {
                    prev = off;
                    off += Ext2DirEntry.RecLen(b, off);
                }
                if (off != target)
                {
                    return Fs.Corrupt((long)lblk, $"directory {Number}: entry position not on a record");
                }
                if (prev >= 0)
                {
                    Ext2DirEntry.SetRecLen(b, prev, Ext2DirEntry.RecLen(b, prev) + Ext2DirEntry.RecLen(b, off));
                }
                else
                {
                    Ext2DirEntry.SetInode(b, off, 0);
                }
                _dirhash?.SetFree((long)lblk, LargestFree(b));
            }
            FinishDirBlock(bp);
        }
        _dirhash?.Remove(Ext2DirHash.Key(name));
        return TouchDir();
    }

    /// <summary>Point the record at <paramref name="pos"/> to another inode (rename over an existing name, "..").</summary>
    internal Errno RewriteEntry(long pos, uint ino, byte ftype)
    {
        Errno e = Bmap((ulong)pos >> Fs.BlockShift, 1, out ulong pblk, out _, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        e = ReadDirBlock((ulong)pos >> Fs.BlockShift, out Buffer? bp);
        if (e != Errno.OK || bp is null)
        {
            return e == Errno.OK ? Fs.Corrupt((long)pblk, "directory hole") : e;
        }
        using (bp)
        {
            lock (bp.SyncRoot)
            {
                int off = (int)(pos & (Fs.BlockSize - 1));
                Ext2DirEntry.SetInode(bp.Data, off, ino);
                Ext2DirEntry.SetFileType(bp.Data, off, ftype, Fs.Filetype);
            }
            FinishDirBlock(bp);
        }
        return TouchDir();
    }

    /// <summary>True when only "." and ".." remain.</summary>
    internal Errno IsEmptyDir(out bool empty)
    {
        empty = true;
        for (ulong lblk = NextDirBlock(0); lblk < DirBlocks; lblk = NextDirBlock(lblk + 1))
        {
            Errno e = ReadDirBlock(lblk, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            if (bp is null)
            {
                continue;
            }
            using (bp)
            {
                ReadOnlySpan<byte> b = bp.Data;
                for (int off = 0; off < b.Length; off += Ext2DirEntry.RecLen(b, off))
                {
                    if (Ext2DirEntry.Inode(b, off) == 0)
                    {
                        continue;
                    }
                    ReadOnlySpan<byte> n = Ext2DirEntry.Name(b, off, Ext2DirEntry.NameLen(b, off, Fs.Filetype));
                    if (!(n.Length == 1 && n[0] == '.') && !(n.Length == 2 && n[0] == '.' && n[1] == '.'))
                    {
                        empty = false;
                        return Errno.OK;
                    }
                }
            }
        }
        return Errno.OK;
    }

    /// <summary>Write the first block of a new directory: ".", "..", and the tail.</summary>
    internal Errno InitDirectory(uint parent)
    {
        Errno e = AllocateRun(0, 1, out ulong pblk, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        using (Buffer bp = Fs.GetBlock(pblk))
        {
            lock (bp.SyncRoot)
            {
                Span<byte> b = bp.Data;
                b.Clear();
                Ext2DirEntry.Write(b, 0, Number, 12, "."u8, 2, Fs.Filetype);
                Ext2DirEntry.Write(b, 12, parent, b.Length - 12 - DirTail, ".."u8, 2, Fs.Filetype);
                if (DirTail != 0)
                {
                    Ext2DirEntry.WriteTail(b, InodeSeed);
                }
            }
            Fs.Dirty(bp);
        }
        Din.Size = Fs.BlockSize;
        MarkDirty();
        return Errno.OK;
    }
}
