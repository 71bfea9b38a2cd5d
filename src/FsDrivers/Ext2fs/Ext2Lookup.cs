using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Directory search and update (NetBSD's ext2fs_lookup.c): records checked as they are
/// read, lookups through the hash tree of indexed directories and through the in-core
/// <see cref="Ext2DirHash"/> otherwise, entries added into the first slot that fits,
/// removed by merging into the previous record. A change to an indexed directory first
/// turns it back into a plain one (clearing the index flag keeps e2fsck content), so the
/// index never goes stale.
/// </summary>
internal sealed partial class Ext2Node
{
    private Ext2DirHash? _dirhash;

    private int DirTail => Fs.MetadataCsum ? Ext2DirEntry.TailSize : 0;

    private ulong DirBlocks => (ulong)Din.Size >> Fs.BlockShift;

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
        for (ulong lblk = 0; lblk < DirBlocks; lblk++)
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
        for (ulong lblk = 0; lblk < DirBlocks; lblk++)
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
    private int LargestFree(ReadOnlySpan<byte> b)
    {
        int limit = b.Length - (Ext2DirEntry.HasTail(b) ? Ext2DirEntry.TailSize : 0);
        int best = 0;
        for (int off = 0; off < limit; off += Ext2DirEntry.RecLen(b, off))
        {
            int rec = Ext2DirEntry.RecLen(b, off);
            int used = Ext2DirEntry.Inode(b, off) == 0 ? 0 : Ext2DirEntry.Needed(Ext2DirEntry.NameLen(b, off, Fs.Filetype));
            best = Math.Max(best, rec - used);
        }
        return best;
    }

    /// <summary>
    /// Hash-tree lookup. <paramref name="usable"/> is false when the index cannot be used
    /// (unknown hash, damaged node): the caller then searches linearly.
    /// </summary>
    private Errno HtreeFind(ReadOnlySpan<byte> name, out uint ino, out long pos, out bool usable)
    {
        ino = 0;
        pos = -1;
        usable = false;
        Errno e = ReadDirBlock(0, out Buffer? root);
        if (e != Errno.OK || root is null)
        {
            return e;
        }
        uint leaf;
        uint nextHash = 0;
        bool haveNext = false;
        long hash;
        using (root)
        {
            ReadOnlySpan<byte> b = root.Data;
            int version = b[Ext2DxNode.RootOff.HashVersion];
            int infoLen = b[Ext2DxNode.RootOff.InfoLength];
            int levels = b[Ext2DxNode.RootOff.IndirectLevels];
            int maxLevels = (Fs.Sb.FeatureIncompat & Ext2Features.IncompatLargeDir) != 0 ? 3 : 2;
            if (infoLen != 8 || levels >= maxLevels)
            {
                Fs.Corrupt(0, $"directory {Number}: bad htree root");
                return Errno.OK;
            }
            if (version <= Ext2Htree.HashTea && (Fs.Sb.Flags & Ext2Superblock.FlagUnsignedHash) != 0)
            {
                version += 3;
            }
            Span<uint> seed = stackalloc uint[4];
            for (int i = 0; i < 4; i++)
            {
                seed[i] = Fs.Sb.HashSeed(i);
            }
            hash = Ext2Htree.Hash(name, version, seed);
            if (hash < 0)
            {
                return Errno.OK;
            }
            int entriesOff = Ext2DxNode.RootOff.ReservedZero + infoLen;
            if (!DxPick(b, entriesOff, (uint)hash, out leaf, ref nextHash, ref haveNext))
            {
                return Errno.OK;
            }
            for (int level = 0; level < levels; level++)
            {
                e = ReadDirBlock(leaf, out Buffer? nb);
                if (e != Errno.OK || nb is null)
                {
                    return Errno.OK;
                }
                using (nb)
                {
                    if (!DxPick(nb.Data, Ext2DxNode.NodeEntries, (uint)hash, out leaf, ref nextHash, ref haveNext))
                    {
                        return Errno.OK;
                    }
                }
            }
        }
        usable = true;
        while (true)
        {
            e = SearchBlock(leaf, name, out ino, out pos);
            if (e != Errno.ENOENT)
            {
                return e;
            }
            // A run of equal hashes may continue in the next leaf (its hash has the low bit set).
            if (!haveNext || (nextHash & 1) == 0 || (nextHash & ~1u) != (uint)hash)
            {
                return Errno.ENOENT;
            }
            usable = false;
            return Errno.OK;
        }
    }

    /// <summary>Binary search of one index node: the child covering <paramref name="hash"/>.</summary>
    private bool DxPick(ReadOnlySpan<byte> b, int entriesOff, uint hash, out uint child, ref uint nextHash, ref bool haveNext)
    {
        child = 0;
        (int limit, int count) = Ext2DxNode.CountLimit(b, entriesOff);
        if (count == 0 || count > limit || entriesOff + (limit * Ext2DxNode.EntrySize) > b.Length)
        {
            Fs.Corrupt(0, $"directory {Number}: bad htree node counts");
            return false;
        }
        int lo = 1, hi = count - 1, found = 0;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Ext2DxNode.Hash(b, entriesOff, mid) <= hash)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        child = Ext2DxNode.Block(b, entriesOff, found) & 0x0FFFFFFF;
        if (found + 1 < count)
        {
            nextHash = Ext2DxNode.Hash(b, entriesOff, found + 1);
            haveNext = true;
        }
        else
        {
            haveNext = false;
        }
        return child < DirBlocks;
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

    /// <summary>Add the entry <paramref name="name"/> → <paramref name="ino"/> (the name is known to be absent).</summary>
    internal Errno AddEntry(ReadOnlySpan<byte> name, uint ino, byte ftype)
    {
        Errno e = DropIndex();
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
        for (ulong lblk = start; lblk < DirBlocks; lblk++)
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
                int at = -1;
                lock (bp.SyncRoot)
                {
                    Span<byte> b = bp.Data;
                    int limit = b.Length - (Ext2DirEntry.HasTail(b) ? Ext2DirEntry.TailSize : 0);
                    for (int off = 0; off < limit; off += Ext2DirEntry.RecLen(b, off))
                    {
                        int rec = Ext2DirEntry.RecLen(b, off);
                        uint cur = Ext2DirEntry.Inode(b, off);
                        int used = cur == 0 ? 0 : Ext2DirEntry.Needed(Ext2DirEntry.NameLen(b, off, Fs.Filetype));
                        if (rec - used < needed)
                        {
                            continue;
                        }
                        if (cur == 0)
                        {
                            Ext2DirEntry.Write(b, off, ino, rec, name, ftype, Fs.Filetype);
                            at = off;
                        }
                        else
                        {
                            Ext2DirEntry.SetRecLen(b, off, used);
                            Ext2DirEntry.Write(b, off + used, ino, rec - used, name, ftype, Fs.Filetype);
                            at = off + used;
                        }
                        break;
                    }
                    if (at >= 0)
                    {
                        _dirhash?.SetFree((long)lblk, LargestFree(b));
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
        return AppendDirBlock(name, ino, ftype);
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
        Errno e = DropIndex();
        if (e != Errno.OK)
        {
            return e;
        }
        ulong lblk = (ulong)pos >> Fs.BlockShift;
        int target = (int)(pos & (Fs.BlockSize - 1));
        e = ReadDirBlock(lblk, out Buffer? bp);
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
        for (ulong lblk = 0; lblk < DirBlocks; lblk++)
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
