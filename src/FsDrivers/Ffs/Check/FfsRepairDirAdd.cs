using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>Adding a name to a directory during repair, growing it by a chunk when it is full.</summary>
internal sealed partial class FfsRepair
{
    private bool AddEntry(ulong dir, string name, ulong ino, byte dtype)
    {
        byte[] nameBytes = NameEncoding.GetBytes(name);
        if (TryInsert(dir, nameBytes, ino, dtype))
        {
            return true;
        }
        return ExpandDir(dir) && TryInsert(dir, nameBytes, ino, dtype);
    }

    /// <summary>Room "." and ".." take at the start of a directory: DIRECTSIZ(1) + DIRECTSIZ(2).</summary>
    private const int DotsSize = 24;

    /// <summary>
    /// Put the entry into the first record with room for it (ufs_direnter's split). An
    /// empty first record keeps the room "." and ".." need: pass 2 makes them there before
    /// anything is added, and a name at offset 0 would leave no run able to put "." back.
    /// </summary>
    private bool TryInsert(ulong dir, byte[] name, ulong ino, byte dtype)
    {
        FfsDinode d = _inodes[dir]!;
        bool types = _sb.HasDirentTypes;
        int need = DirectEntry.SizeFor(name.Length);
        foreach (DirBlock blk in _dirBlocks.GetValueOrDefault(dir) ?? [])
        {
            byte[] b = new byte[blk.Frags << _sb.Fshift];
            if (!_w.ReadFrags(blk.Phys, b))
            {
                return false;
            }
            long start = blk.Lbn << _sb.Bshift;
            int end = (int)Math.Min(b.Length, d.Size - start);
            for (int c = 0; c + FfsSuperblock.DirBlkSiz <= end; c += FfsSuperblock.DirBlkSiz)
            {
                for (int off = c; off < c + FfsSuperblock.DirBlkSiz;)
                {
                    int reclen = DirectEntry.ReadRecLen(b, off, O);
                    if (reclen < DirectEntry.HeaderSize)
                    {
                        break; // pass 2 made every chunk well formed; do not trust one that is not
                    }
                    uint cur = DirectEntry.ReadIno(b, off, O);
                    int used = cur != 0 ? DirectEntry.SizeFor(DirectEntry.ReadNamLen(b, off, O, types))
                        : blk.Lbn == 0 && off == 0 ? DotsSize : 0;
                    if (reclen - used >= need)
                    {
                        if (used > 0)
                        {
                            DirectEntry.WriteRecLen(b, off, O, used);
                        }
                        DirectEntry.Write(b, off + used, O, types, (uint)ino, reclen - used, dtype, name);
                        _w.WriteFrags(blk.Phys, b);
                        return true;
                    }
                    off += reclen;
                }
            }
        }
        return false;
    }

    /// <summary>
    /// Grow a directory by one empty DIRBLKSIZ chunk. A partial last block grows in place
    /// when the fragments after it are free, or moves to a new block (ffs_realloccg's two
    /// cases); a directory ending on a block boundary gets a new direct block. Directories
    /// that would need an indirect block are left alone.
    /// </summary>
    private bool ExpandDir(ulong dir)
    {
        FfsDinode d = _inodes[dir]!;
        List<DirBlock> blocks = _dirBlocks.GetValueOrDefault(dir) ?? [];
        long newSize = d.Size + FfsSuperblock.DirBlkSiz;
        long lbn = d.Size >> _sb.Bshift;
        if (_sb.BlkOff(d.Size) == 0)
        {
            if (lbn >= FfsSuperblock.NDAddr)
            {
                return false;
            }
            int n = (int)_sb.NumFrags(FfsSuperblock.DirBlkSiz);
            long p = AllocFrags(n, _sb.InoToCg(dir));
            if (p < 0)
            {
                return false;
            }
            byte[] fresh = new byte[n << _sb.Fshift];
            InitDirChunks(fresh, 0, fresh.Length);
            _w.WriteFrags(p, fresh);
            d.Db[lbn] = p;
            d.Blocks += (long)n * (_sb.Fsize / 512);
            blocks.Add(new DirBlock(lbn, p, n));
        }
        else
        {
            int idx = blocks.FindIndex(x => x.Lbn == lbn);
            if (lbn >= FfsSuperblock.NDAddr || idx < 0)
            {
                return false;
            }
            DirBlock last = blocks[idx];
            int need = (int)_sb.NumFrags(newSize - (lbn << _sb.Bshift));
            byte[] b = new byte[need << _sb.Fshift];
            if (!_w.ReadFrags(last.Phys, b.AsSpan(0, last.Frags << _sb.Fshift)))
            {
                return false;
            }
            long p = last.Phys;
            if (need > last.Frags)
            {
                bool inPlace = (last.Phys % _sb.Frag) + need <= _sb.Frag && RunFree(last.Phys + last.Frags, need - last.Frags);
                if (inPlace)
                {
                    for (int i = last.Frags; i < need; i++)
                    {
                        _used[(int)(last.Phys + i)] = true;
                    }
                }
                else
                {
                    p = AllocFrags(need, _sb.InoToCg(dir));
                    if (p < 0)
                    {
                        return false;
                    }
                    for (int i = 0; i < last.Frags; i++)
                    {
                        _used[(int)(last.Phys + i)] = false;
                    }
                }
                d.Blocks += (long)(need - last.Frags) * (_sb.Fsize / 512);
            }
            int at = (int)(d.Size - (lbn << _sb.Bshift));
            InitDirChunks(b, at, at + FfsSuperblock.DirBlkSiz);
            _w.WriteFrags(p, b);
            d.Db[lbn] = p;
            blocks[idx] = new DirBlock(lbn, p, need);
        }
        d.Size = newSize;
        _w.WriteInode(dir, d);
        _dirBlocks[dir] = blocks;
        Did($"directory {dir}: grown to {newSize} bytes");
        return true;
    }
}
