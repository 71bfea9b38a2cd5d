using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>Repair pass 2: directory entries, "." and "..", counted references.</summary>
internal sealed partial class FfsRepair
{
    private bool Pass2()
    {
        const ulong root = FfsSuperblock.RootIno;
        if (_inodes[root] is null && !ReallocateRoot())
        {
            // Without a root there is no tree to hang anything on.
            return false;
        }
        _parent[root] = root;
        Walk(root);
        return true;
    }

    /// <summary>Walk the subtree under <paramref name="top"/>, whose parent is already set.</summary>
    private void Walk(ulong top)
    {
        var queue = new Queue<ulong>();
        queue.Enqueue(top);
        while (queue.Count > 0)
        {
            ulong dir = queue.Dequeue();
            foreach (ulong child in WalkDirectory(dir))
            {
                queue.Enqueue(child);
            }
        }
    }

    /// <summary>Check and fix every entry of one directory; returns the subdirectories first reached here.</summary>
    private List<ulong> WalkDirectory(ulong dir)
    {
        var subdirs = new List<ulong>();
        FfsDinode d = _inodes[dir]!;
        if (!_dirBlocks.TryGetValue(dir, out List<DirBlock>? blocks))
        {
            return subdirs;
        }
        foreach (DirBlock blk in blocks)
        {
            byte[] b = new byte[blk.Frags << _sb.Fshift];
            if (!_w.ReadFrags(blk.Phys, b))
            {
                Left($"directory {dir}: block {blk.Lbn} unreadable");
                continue;
            }
            long start = blk.Lbn << _sb.Bshift;
            int end = (int)Math.Min(b.Length, d.Size - start);
            bool dirty = false;
            if (blk.Lbn == 0 && end >= FfsSuperblock.DirBlkSiz)
            {
                if (BadRecord(b, 0, FfsSuperblock.DirBlkSiz))
                {
                    // fsck_ffs salvages the chunk and asks MISSING '.' in the same run. The
                    // salvage stops at offset 0, counting nothing, and leaves one empty
                    // record, which FixDots turns into "." and ".." for the walk below.
                    // A "." with a bad name or a record too short for it is such a chunk
                    // too (fsck_ffs's dircheck refuses it), not a live first entry.
                    dirty |= WalkChunk(dir, b, 0, start, subdirs);
                }
                dirty |= FixDots(dir, b);
            }
            for (int c = 0; c + FfsSuperblock.DirBlkSiz <= end; c += FfsSuperblock.DirBlkSiz)
            {
                dirty |= WalkChunk(dir, b, c, start, subdirs);
            }
            if (dirty)
            {
                _w.WriteFrags(blk.Phys, b);
            }
        }
        return subdirs;
    }

    /// <summary>
    /// Make the first two records "." and "..", as fsck_ffs's pass 2 does when they are
    /// missing: an empty first record becomes ".", a "." with room after it is split to
    /// hold "..", an empty second record becomes "..". The inode numbers are set by the
    /// walk that follows. True when the block changed.
    /// </summary>
    private bool FixDots(ulong dir, byte[] b)
    {
        bool types = _sb.HasDirentTypes;
        const int dotSize = 12; // DIRECTSIZ(1) == DIRECTSIZ(2)
        if (BadRecord(b, 0, FfsSuperblock.DirBlkSiz))
        {
            return false; // not reached: WalkDirectory salvages such a chunk first
        }
        bool dirty = false;
        int reclen = DirectEntry.ReadRecLen(b, 0, O);
        if (!IsName(b, 0, "."u8))
        {
            if (DirectEntry.ReadIno(b, 0, O) != 0 || reclen < dotSize)
            {
                Left($"directory {dir}: first entry is not \".\"");
                return false;
            }
            DirectEntry.Write(b, 0, O, types, (uint)dir, reclen, 4, "."u8);
            Did($"directory {dir}: missing \".\" made");
            dirty = true;
        }
        if (reclen >= 2 * dotSize)
        {
            DirectEntry.WriteRecLen(b, 0, O, dotSize);
            DirectEntry.Write(b, dotSize, O, types, (uint)_parent[dir], reclen - dotSize, 4, ".."u8);
            Did($"directory {dir}: missing \"..\" made after \".\"");
            return true;
        }
        if (BadRecord(b, reclen, FfsSuperblock.DirBlkSiz))
        {
            // What follows "." is damaged (its length, or a ".." whose name or record is
            // bad, as fsck_ffs's dircheck finds it): the chunk walk would free the rest of the chunk
            // into ".", and a repair adding lost+found would then take the room ".." needs.
            // The rest of the chunk becomes ".." now, as it would become free space anyway.
            DirectEntry.WriteRecLen(b, 0, O, dotSize);
            DirectEntry.Write(b, dotSize, O, types, (uint)_parent[dir], FfsSuperblock.DirBlkSiz - dotSize, 4, ".."u8);
            Did($"directory {dir}: damaged entries after \".\" freed, \"..\" made there");
            return true;
        }
        if (IsName(b, reclen, ".."u8))
        {
            return dirty;
        }
        int next = DirectEntry.ReadRecLen(b, reclen, O);
        uint secondIno = DirectEntry.ReadIno(b, reclen, O);
        int secondNamlen = DirectEntry.ReadNamLen(b, reclen, O, types);
        if (secondIno != 0 && secondNamlen > 0 && secondNamlen <= DirectEntry.MaxNameLen
            && next >= dotSize + DirectEntry.SizeFor(secondNamlen))
        {
            // A live entry where ".." belongs, with room in its record: it moves down.
            byte[] entry = b.AsSpan(reclen, DirectEntry.SizeFor(secondNamlen)).ToArray();
            entry.CopyTo(b, reclen + dotSize);
            DirectEntry.WriteRecLen(b, reclen + dotSize, O, next - dotSize);
            DirectEntry.Write(b, reclen, O, types, (uint)_parent[dir], dotSize, 4, ".."u8);
            Did($"directory {dir}: missing \"..\" made, the entry in its place moved down");
            return true;
        }
        if (next < dotSize)
        {
            Left($"directory {dir}: second entry is not \"..\" and there is no room for one");
            return dirty;
        }
        // A live entry without room to move is overwritten; its inode, left without that
        // name, reaches lost+found in pass 3 or 4 if nothing else names it.
        string displaced = secondIno != 0 ? $", over the entry for inode {secondIno}" : "";
        DirectEntry.Write(b, reclen, O, types, (uint)_parent[dir], next, 4, ".."u8);
        Did($"directory {dir}: missing \"..\" made{displaced}");
        return true;
    }

    /// <summary>
    /// A record the chunk walk salvages (fsck_ffs's dircheck fails): a length that is short,
    /// unaligned or past the chunk's end, or a live entry whose name is empty, too long for
    /// its record or holds a NUL or '/'.
    /// </summary>
    private bool BadRecord(byte[] b, int off, int chunkEnd)
    {
        if (off + DirectEntry.HeaderSize > chunkEnd)
        {
            return true;
        }
        uint ino = DirectEntry.ReadIno(b, off, O);
        int reclen = DirectEntry.ReadRecLen(b, off, O);
        int namlen = DirectEntry.ReadNamLen(b, off, O, _sb.HasDirentTypes);
        return reclen < DirectEntry.HeaderSize || (reclen & 3) != 0 || off + reclen > chunkEnd
            || (ino != 0 && (namlen == 0 || namlen > DirectEntry.MaxNameLen || reclen < DirectEntry.SizeFor(namlen) || !DirectEntry.NameValid(b, off, namlen)));
    }

    private bool IsName(byte[] b, int off, ReadOnlySpan<byte> name) =>
        DirectEntry.ReadIno(b, off, O) != 0
        && DirectEntry.ReadNamLen(b, off, O, _sb.HasDirentTypes) == name.Length
        && DirectEntry.ReadRecLen(b, off, O) >= DirectEntry.SizeFor(name.Length)
        && b.AsSpan(off + DirectEntry.Name, name.Length).SequenceEqual(name);

    /// <summary>One DIRBLKSIZ chunk; true when it was changed.</summary>
    private bool WalkChunk(ulong dir, byte[] b, int c, long start, List<ulong> subdirs)
    {
        bool types = _sb.HasDirentTypes;
        int chunkEnd = c + FfsSuperblock.DirBlkSiz;
        bool dirty = false;
        int prev = -1;
        int off = c;
        while (off < chunkEnd)
        {
            if (BadRecord(b, off, chunkEnd))
            {
                // fsck_ffs's salvage: what is left of the chunk becomes free space.
                if (prev >= 0)
                {
                    DirectEntry.WriteRecLen(b, prev, O, chunkEnd - prev);
                }
                else
                {
                    DirectEntry.Write(b, off, O, types, 0, chunkEnd - off, 0, []);
                }
                Did($"directory {dir}: bad entry at offset {start + off}, rest of its {FfsSuperblock.DirBlkSiz}-byte chunk freed");
                return true;
            }
            uint ino = DirectEntry.ReadIno(b, off, O);
            int reclen = DirectEntry.ReadRecLen(b, off, O);
            int namlen = DirectEntry.ReadNamLen(b, off, O, types);
            if (ino != 0)
            {
                string name = NameEncoding.GetString(b.AsSpan(off + DirectEntry.Name, namlen));
                if (!CheckEntry(dir, b, off, start, name, ref ino, subdirs, ref dirty))
                {
                    // Remove: the previous record absorbs it, or the chunk's first becomes empty.
                    if (prev >= 0)
                    {
                        DirectEntry.WriteRecLen(b, prev, O, DirectEntry.ReadRecLen(b, prev, O) + reclen);
                    }
                    else
                    {
                        DirectEntry.WriteIno(b, off, O, 0);
                        prev = off;
                    }
                    dirty = true;
                    off += reclen;
                    continue;
                }
                _refs[ino]++;
            }
            prev = off;
            off += reclen;
        }
        return dirty;
    }

    /// <summary>Decide one named entry: false to remove it; may rewrite its inode number or d_type in place.</summary>
    private bool CheckEntry(ulong dir, byte[] b, int off, long start, string name, ref uint ino, List<ulong> subdirs, ref bool dirty)
    {
        if (name == "." || name == "..")
        {
            ulong want = name == "." ? dir : _parent[dir];
            if (ino != want)
            {
                Did($"directory {dir}: \"{name}\" named {ino}, set to {want}");
                ino = (uint)want;
                DirectEntry.WriteIno(b, off, O, ino);
                dirty = true;
            }
            // fsck_ffs's BAD TYPE VALUE FOR '.' / '..': both name directories.
            FixDirentType(dir, b, off, name, 4, ref dirty);
            return true;
        }
        if (ino >= (ulong)_sb.TotalInodes || _inodes[ino] is not { } child)
        {
            Did($"directory {dir}: entry \"{name}\" at offset {start + off} named free or cleared inode {ino}, removed");
            return false;
        }
        if (child.Type == 0x4000)
        {
            if (_parent[ino] != 0)
            {
                Did($"directory {dir}: entry \"{name}\" is a second name for directory {ino}, removed");
                return false;
            }
            _parent[ino] = dir;
            subdirs.Add(ino);
        }
        if (dir == FfsSuperblock.RootIno && name == LostFoundName)
        {
            _lostFound = child.Type == 0x4000 ? ino : 0;
            _lostFoundNameTaken = child.Type != 0x4000;
        }
        FixDirentType(dir, b, off, name, DirentTypeOf(child.Type), ref dirty);
        return true;
    }

    /// <summary>Set the entry's d_type to <paramref name="want"/> where the format keeps one (fsck_ffs's BAD TYPE VALUE).</summary>
    private void FixDirentType(ulong dir, byte[] b, int off, string name, byte want, ref bool dirty)
    {
        if (_sb.HasDirentTypes && b[off + DirectEntry.Type] != want)
        {
            Did($"directory {dir}: entry \"{name}\" d_type {b[off + DirectEntry.Type]} set to {want}");
            b[off + DirectEntry.Type] = want;
            dirty = true;
        }
    }
}
