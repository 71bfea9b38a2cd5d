namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>Repair pass 1: inodes and their block maps.</summary>
internal sealed partial class FfsRepair
{
    private void Pass1()
    {
        ScanInodes();
        ClaimExtAreas();
    }

    private void ScanInodes()
    {
        byte[] block = new byte[_sb.Bsize];
        for (int cg = 0; cg < _sb.Ncg; cg++)
        {
            var g = new CylinderGroup(_cgs[cg], O);
            // UFS2 initialises inode blocks lazily: those past cg_initediblk hold garbage.
            int limit = g.InitialisedInodes(_sb.Ipg, _sb.Inopb, _sb.IsUfs2);
            for (int i = 0; i < limit; i++)
            {
                ulong ino = ((ulong)cg * (ulong)_sb.Ipg) + (ulong)i;
                if (i % _sb.Inopb == 0 && !_w.ReadFrags(_sb.InoToFsba(ino), block))
                {
                    Left($"inode block of inode {ino} unreadable");
                    return;
                }
                if (ino < FfsSuperblock.RootIno)
                {
                    continue;
                }
                var d = new FfsDinode();
                ReadOnlySpan<byte> rec = block.AsSpan(_sb.InoToFsbo(ino) * _sb.DinodeSize, _sb.DinodeSize);
                FfsDinodeRecord.Decode(_sb, rec, d);
                if (d.Mode != 0)
                {
                    ScanInode(ino, d);
                }
            }
        }
    }

    private void ScanInode(ulong ino, FfsDinode d)
    {
        if (ino == FfsSuperblock.RootIno && d.Type != 0x4000)
        {
            // fsck_ffs's ROOT INODE NOT DIRECTORY, REALLOCATE: the inode is freed and pass 2
            // makes a new root. Cleared before its blocks are claimed, so they come free.
            _rootCleared = "ROOT INODE NOT DIRECTORY";
            _w.ClearInode(ino);
            Did($"inode {ino}: the root inode is not a directory (mode {d.Mode:x}), cleared");
            return;
        }
        if (FfsCheck.InodeProblem(d, _sb) is { } unusable)
        {
            ClearedRoot(ino);
            _w.ClearInode(ino);
            Did($"inode {ino}: {unusable}, cleared");
            return;
        }
        bool dirty = false;
        string? bad = ClaimBlocks(ino, d, ref dirty, out long frags);
        if (bad is null && d.Type == 0x4000
            && FfsCheck.FirstHole(_dirBlocks[ino].Select(x => (x.Lbn, x.Phys, x.Frags)), d.Size, _sb.Bshift) is long hole and >= 0)
        {
            // fsck_ffs keeps a directory up to its first hole: what follows is freed.
            Did($"inode {ino}: directory has a hole at block {hole}, size {d.Size} cut to {hole << _sb.Bshift}");
            ReleaseClaims();
            d.Size = hole << _sb.Bshift;
            dirty = true;
            bad = d.Size == 0 ? "zero-length directory" : ClaimBlocks(ino, d, ref dirty, out frags);
        }
        if (bad is not null)
        {
            // The inode goes (fsck_ffs's CLEAR); fragments only it held become free again.
            ReleaseClaims();
            _dirBlocks.Remove(ino);
            ClearedRoot(ino);
            _w.ClearInode(ino);
            Did($"inode {ino}: {bad}, cleared");
            return;
        }
        if (_sb.IsUfs2 && FfsExtArea.Present(d))
        {
            // Any UFS2 inode, a device or a fast link too, may have an extended-attribute
            // area. Its blocks are claimed after every inode's data: the area is the claim
            // given up when the two meet (ClaimExtAreas finishes the inode).
            CheckExtArea(ino, d, ref dirty);
            _inodes[ino] = d;
            if (FfsExtArea.Present(d))
            {
                _pendingAreas.Add(new PendingArea(ino, d, frags, dirty, [.. _claimLog ?? []]));
                _claimLog = null;
                return;
            }
        }
        _claimLog = null;
        FinishInode(ino, d, frags, dirty);
    }

    /// <summary>Set di_blocks to the fragments claimed, round a directory's size, write the inode when changed.</summary>
    private void FinishInode(ulong ino, FfsDinode d, long frags, bool dirty)
    {
        long blocks = frags * (_sb.Fsize / 512);
        if (d.Blocks != blocks)
        {
            Did($"inode {ino}: di_blocks {d.Blocks} set to {blocks}");
            d.Blocks = blocks;
            dirty = true;
        }
        if (d.Type == 0x4000 && d.Size % FfsSuperblock.DirBlkSiz != 0)
        {
            // A directory ends on a DIRBLKSIZ boundary; the tail chunk is salvaged in pass 2.
            long size = (d.Size + FfsSuperblock.DirBlkSiz - 1) & ~(long)(FfsSuperblock.DirBlkSiz - 1);
            Did($"inode {ino}: directory size {d.Size} rounded to {size}");
            d.Size = size;
            dirty = true;
        }
        if (dirty)
        {
            _w.WriteInode(ino, d);
        }
        _inodes[ino] = d;
    }

    /// <summary>A root directory cleared for a bad size or block is fsck_ffs's DUPS/BAD IN ROOT INODE: pass 2 reallocates it.</summary>
    private void ClearedRoot(ulong ino)
    {
        if (ino == FfsSuperblock.RootIno)
        {
            _rootCleared = "DUPS/BAD IN ROOT INODE";
        }
    }

    /// <summary>Start a claim log and claim every block of the inode.</summary>
    private string? ClaimBlocks(ulong ino, FfsDinode d, ref bool dirty, out long frags)
    {
        _claimLog = [];
        return ScanBlocks(ino, d, ref dirty, out frags);
    }

    private void ReleaseClaims()
    {
        foreach (int f in _claimLog ?? [])
        {
            _used[f] = false;
        }
        _claimLog = null;
    }

    /// <summary>Claim the inode's blocks; returns why the inode must be cleared, or null.</summary>
    private string? ScanBlocks(ulong ino, FfsDinode d, ref bool dirty, out long frags)
    {
        frags = 0;
        if (d.Type is 0x2000 or 0x6000 or 0x1000 or 0xC000 || d.FastLink is not null)
        {
            return null;
        }
        List<DirBlock>? dirList = d.Type == 0x4000 ? [] : null;
        for (int lbn = 0; lbn < FfsSuperblock.NDAddr; lbn++)
        {
            long p = d.Db[lbn];
            if (p == 0)
            {
                continue;
            }
            if ((long)lbn << _sb.Bshift >= d.Size)
            {
                Did($"inode {ino}: block {lbn} past the end of file freed");
                d.Db[lbn] = 0;
                dirty = true;
                continue;
            }
            int n = (int)_sb.NumFrags(_sb.SblkSize(d.Size, lbn));
            if (!InDataArea(p, n))
            {
                return $"block {lbn} at {p} outside the data area";
            }
            if (!Claim(p, n))
            {
                return $"block {lbn} at {p} shares fragments with an earlier inode";
            }
            frags += n;
            dirList?.Add(new DirBlock(lbn, p, n));
        }
        long baseLbn = FfsSuperblock.NDAddr;
        long span = _sb.Nindir;
        for (int level = 1; level <= FfsSuperblock.NIAddr; level++)
        {
            long p = d.Ib[level - 1];
            if (p != 0 && baseLbn << _sb.Bshift >= d.Size)
            {
                Did($"inode {ino}: indirect block for block {baseLbn} past the end of file freed");
                d.Ib[level - 1] = 0;
                dirty = true;
            }
            else if (p != 0)
            {
                string? bad = Indirect(ino, d, p, level, baseLbn, dirList, ref frags);
                if (bad is not null)
                {
                    return bad;
                }
            }
            baseLbn += span;
            span *= _sb.Nindir;
        }
        if (dirList is not null)
        {
            _dirBlocks[ino] = dirList;
        }
        return null;
    }

    private string? Indirect(ulong ino, FfsDinode d, long ptr, int level, long baseLbn, List<DirBlock>? dirList, ref long frags)
    {
        if (!InDataArea(ptr, _sb.Frag) || ptr % _sb.Frag != 0)
        {
            return $"indirect block at {ptr} outside the data area";
        }
        if (!Claim(ptr, _sb.Frag))
        {
            return $"indirect block at {ptr} shares fragments with an earlier inode";
        }
        frags += _sb.Frag;
        byte[] b = new byte[_sb.Bsize];
        if (!_w.ReadFrags(ptr, b))
        {
            return $"indirect block at {ptr} unreadable";
        }
        long childSpan = 1;
        for (int i = 1; i < level; i++)
        {
            childSpan *= _sb.Nindir;
        }
        bool changed = false;
        for (int i = 0; i < _sb.Nindir; i++)
        {
            long p = _sb.IsUfs2 ? O.I64(b, 8 * i) : O.I32(b, 4 * i);
            if (p == 0)
            {
                continue;
            }
            long lbn = baseLbn + (i * childSpan);
            if (lbn << _sb.Bshift >= d.Size)
            {
                // Past the end of file: drop the pointer (and anything below it).
                Did($"inode {ino}: block {lbn} past the end of file freed");
                WritePointer(b, i, 0);
                changed = true;
                continue;
            }
            if (level > 1)
            {
                string? bad = Indirect(ino, d, p, level - 1, lbn, dirList, ref frags);
                if (bad is not null)
                {
                    return bad;
                }
                continue;
            }
            if (!InDataArea(p, _sb.Frag) || p % _sb.Frag != 0)
            {
                return $"block {lbn} at {p} outside the data area";
            }
            if (!Claim(p, _sb.Frag))
            {
                return $"block {lbn} at {p} shares fragments with an earlier inode";
            }
            frags += _sb.Frag;
            dirList?.Add(new DirBlock(lbn, p, _sb.Frag));
        }
        if (changed)
        {
            _w.WriteFrags(ptr, b);
        }
        return null;
    }

    private void WritePointer(Span<byte> b, int i, long p)
    {
        if (_sb.IsUfs2)
        {
            O.W64(b, 8 * i, p);
        }
        else
        {
            O.W32(b, 4 * i, (int)p);
        }
    }

    /// <summary>Inside the file system, within one block, and not in any group's metadata.</summary>
    private bool InDataArea(long p, int n)
    {
        if (p <= 0 || p + n > _sb.Size || (p % _sb.Frag) + n > _sb.Frag)
        {
            return false;
        }
        int cg = _sb.DtoG(p);
        long metaStart = cg == 0 ? 0 : _sb.CgStart(cg) + _sb.Sblkno;
        return p + n <= metaStart || p >= _sb.CgDMin(cg);
    }
}
