using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Directory changes (ufs_direnter, ufs_dirremove, ufs_dirrewrite, ufs_dirempty): entries
/// go into a chunk with room (split from an entry's slack, or after compacting the chunk),
/// or into a new DIRBLKSIZ chunk at the end; a removed entry is merged into its predecessor.
/// </summary>
internal sealed partial class FfsNode
{
    private bool Types => FfsMount.Sb.HasDirentTypes;

    private void Touch()
    {
        Din.Mtime = Din.Ctime = Mount.Clock.Now;
        MarkDirty();
    }

    /// <summary>Add the entry <paramref name="name"/> → <paramref name="ino"/> (known not to exist).</summary>
    internal Errno DirEnter(string name, ulong ino, VType type)
    {
        byte[] nb = NameEncoding.GetBytes(name);
        if (nb.Length > DirectEntry.MaxNameLen)
        {
            return Errno.ENAMETOOLONG;
        }
        int need = DirectEntry.SizeFor(nb.Length);
        byte dtype = Types ? type.ToDirentType() : (byte)0;
        long chunkOff = -1;
        if (UseDirhash)
        {
            Errno he = EnsureDirhash();
            if (he != Errno.OK)
            {
                return he;
            }
            int c = HashFindRoom(need);
            chunkOff = c < 0 ? -1 : (long)c * Chunk;
        }
        else
        {
            Errno se = FindRoomByScan(need, out chunkOff);
            if (se != Errno.OK)
            {
                return se;
            }
        }
        Errno e;
        if (chunkOff < 0)
        {
            e = AppendChunk(out chunkOff);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        e = DirChunk(chunkOff, out Buffer? bp, out long start);
        if (e != Errno.OK)
        {
            return e;
        }
        int c0 = (int)(chunkOff - start);
        lock (bp!.SyncRoot)
        {
            if (!InsertInChunk(bp.Data.Slice(c0, Chunk), chunkOff, nb, (uint)ino, dtype, name))
            {
                CompactChunk(bp.Data.Slice(c0, Chunk), chunkOff);
                InsertInChunk(bp.Data.Slice(c0, Chunk), chunkOff, nb, (uint)ino, dtype, name);
            }
            HashSetChunkFree(chunkOff, ChunkSlack(bp.Data.Slice(c0, Chunk)));
        }
        bp.MarkDirty();
        bp.Release();
        Touch();
        return Errno.OK;
    }

    private Errno FindRoomByScan(int need, out long chunkOff)
    {
        chunkOff = -1;
        for (long blk = 0; blk < Din.Size; blk += FfsMount.Sb.Bsize)
        {
            Errno e = DirBlock(blk, out Buffer? bp, out long start);
            if (e != Errno.OK)
            {
                return e;
            }
            int end = (int)Math.Min(bp!.Size, Din.Size - start);
            for (int c = 0; c < end; c += Chunk)
            {
                if (ChunkSlack(bp.Data.Slice(c, Chunk)) >= need)
                {
                    chunkOff = start + c;
                    bp.Release();
                    return Errno.OK;
                }
            }
            bp.Release();
        }
        return Errno.OK;
    }

    private int ChunkSlack(ReadOnlySpan<byte> chunk)
    {
        int slack = 0;
        for (int off = 0; off < Chunk;)
        {
            DirSlot s = SlotAt(chunk, off, 0);
            slack += s.Ino == 0 ? s.RecLen : s.RecLen - DirectEntry.SizeFor(s.NamLen);
            off += s.RecLen;
        }
        return slack;
    }

    /// <summary>Grow the directory by one empty chunk; returns its offset.</summary>
    private Errno AppendChunk(out long chunkOff)
    {
        FfsSuperblock sb = FfsMount.Sb;
        chunkOff = Din.Size;
        long newSize = Din.Size + Chunk;
        long lbn = sb.LblkNo(chunkOff);
        Errno e = ExpandTail(newSize);
        if (e != Errno.OK)
        {
            return e;
        }
        e = Balloc(lbn, BlockSizeAt(lbn, newSize), willOverwrite: true, out long phys);
        if (e != Errno.OK)
        {
            return e;
        }
        int size = BlockSizeAt(lbn, newSize);
        e = FfsMount.Bufs.Read(sb.FragToBytes(phys), size, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        int c = (int)(chunkOff - (lbn << sb.Bshift));
        lock (bp!.SyncRoot)
        {
            Span<byte> chunk = bp.Data.Slice(c, Chunk);
            chunk.Clear();
            DirectEntry.WriteRecLen(chunk, 0, FfsMount.Order, Chunk);
        }
        bp.MarkDirty();
        bp.Release();
        Din.Size = newSize;
        HashSetChunkFree(chunkOff, Chunk);
        MarkDirty();
        return Errno.OK;
    }

    private bool InsertInChunk(Span<byte> chunk, long chunkOff, byte[] name, uint ino, byte dtype, string nameStr)
    {
        FfsByteOrder o = FfsMount.Order;
        int need = DirectEntry.SizeFor(name.Length);
        for (int off = 0; off < Chunk;)
        {
            DirSlot s = SlotAt(chunk, off, 0);
            int used = s.Ino == 0 ? 0 : DirectEntry.SizeFor(s.NamLen);
            if (s.RecLen - used >= need)
            {
                if (used == 0)
                {
                    DirectEntry.Write(chunk, off, o, Types, ino, s.RecLen, dtype, name);
                    HashAdd(nameStr, chunkOff + off);
                }
                else
                {
                    DirectEntry.WriteRecLen(chunk, off, o, used);
                    DirectEntry.Write(chunk, off + used, o, Types, ino, s.RecLen - used, dtype, name);
                    HashAdd(nameStr, chunkOff + off + used);
                }
                return true;
            }
            off += s.RecLen;
        }
        return false;
    }

    /// <summary>Pack the live entries of a chunk to its start; the last one takes all the slack.</summary>
    private void CompactChunk(Span<byte> chunk, long chunkOff)
    {
        FfsByteOrder o = FfsMount.Order;
        byte[] copy = chunk.ToArray();
        int dst = 0;
        int lastDst = -1;
        for (int off = 0; off < Chunk;)
        {
            DirSlot s = SlotAt(copy, off, 0);
            if (s.Ino != 0)
            {
                int used = DirectEntry.SizeFor(s.NamLen);
                copy.AsSpan(off, used).CopyTo(chunk[dst..]);
                DirectEntry.WriteRecLen(chunk, dst, o, used);
                if (dst != off)
                {
                    HashAdd(NameEncoding.GetString(copy.AsSpan(off + DirectEntry.Name, s.NamLen)), chunkOff + dst);
                }
                lastDst = dst;
                dst += used;
            }
            off += s.RecLen;
        }
        if (lastDst < 0)
        {
            chunk.Clear();
            DirectEntry.WriteRecLen(chunk, 0, o, Chunk);
            return;
        }
        DirectEntry.WriteRecLen(chunk, lastDst, o, Chunk - lastDst);
        chunk[dst..].Clear();
    }

    /// <summary>Remove the entry <paramref name="name"/>.</summary>
    internal Errno DirRemove(string name)
    {
        Errno e = FindEntry(NameEncoding.GetBytes(name), out DirSlot slot);
        if (e != Errno.OK)
        {
            return e;
        }
        e = DirChunk(slot.Offset, out Buffer? bp, out long start);
        if (e != Errno.OK)
        {
            return e;
        }
        long chunkOff = slot.Offset & ~(long)(Chunk - 1);
        int c0 = (int)(chunkOff - start);
        lock (bp!.SyncRoot)
        {
            Span<byte> chunk = bp.Data.Slice(c0, Chunk);
            int at = (int)(slot.Offset - chunkOff);
            if (at == 0)
            {
                DirectEntry.WriteIno(chunk, 0, FfsMount.Order, 0);
            }
            else
            {
                int prev = 0;
                for (int off = 0; off < at;)
                {
                    prev = off;
                    off += SlotAt(chunk, off, 0).RecLen;
                }
                DirectEntry.WriteRecLen(chunk, prev, FfsMount.Order, SlotAt(chunk, prev, 0).RecLen + slot.RecLen);
            }
            HashSetChunkFree(chunkOff, ChunkSlack(chunk));
        }
        HashRemove(name);
        bp.MarkDirty();
        bp.Release();
        Touch();
        return Errno.OK;
    }

    /// <summary>Point the existing entry <paramref name="name"/> at <paramref name="ino"/>.</summary>
    internal Errno DirRewrite(string name, ulong ino, VType type, bool touch = true)
    {
        Errno e = FindEntry(NameEncoding.GetBytes(name), out DirSlot slot);
        if (e != Errno.OK)
        {
            return e;
        }
        e = DirChunk(slot.Offset, out Buffer? bp, out long start);
        if (e != Errno.OK)
        {
            return e;
        }
        int at = (int)(slot.Offset - start);
        lock (bp!.SyncRoot)
        {
            DirectEntry.WriteIno(bp.Data, at, FfsMount.Order, (uint)ino);
            if (Types)
            {
                bp.Data[at + DirectEntry.Type] = type.ToDirentType();
            }
        }
        bp.MarkDirty();
        bp.Release();
        if (touch)
        {
            Touch();
        }
        return Errno.OK;
    }

    /// <summary>True when only "." and ".." remain (ufs_dirempty).</summary>
    internal Errno DirEmpty(out bool empty)
    {
        empty = true;
        for (long blk = 0; blk < Din.Size; blk += FfsMount.Sb.Bsize)
        {
            Errno e = DirBlock(blk, out Buffer? bp, out long start);
            if (e != Errno.OK)
            {
                return e;
            }
            int end = (int)Math.Min(bp!.Size, Din.Size - start);
            for (int off = 0; off < end && empty;)
            {
                DirSlot s = SlotAt(bp.Data, off, 0);
                if (s.Ino != 0)
                {
                    ReadOnlySpan<byte> n = bp.Data.Slice(off + DirectEntry.Name, s.NamLen);
                    empty = n.SequenceEqual("."u8) || n.SequenceEqual(".."u8);
                }
                off += s.RecLen;
            }
            bp.Release();
            if (!empty)
            {
                break;
            }
        }
        return Errno.OK;
    }
}
