namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>Repair pass 3: directories the walk never reached go into /lost+found.</summary>
internal sealed partial class FfsRepair
{
    private void Pass3()
    {
        for (ulong ino = FfsSuperblock.RootIno + 1; ino < (ulong)_inodes.Length; ino++)
        {
            if (_inodes[ino] is not { Type: 0x4000 } || _parent[ino] != 0)
            {
                continue;
            }
            // Climb the ".." chain while it stays among unreached directories, so a lost
            // subtree comes back whole under its top rather than piece by piece.
            ulong top = ino;
            var seen = new HashSet<ulong> { ino };
            while (DotDotOf(top) is var up && up > 0 && up < (ulong)_inodes.Length
                && _inodes[up] is { Type: 0x4000 } && _parent[up] == 0 && seen.Add(up))
            {
                top = up;
            }
            if (!Reconnect(top))
            {
                Left($"directory {top} is unreachable and could not be linked into /{LostFoundName}");
                return;
            }
            Walk(top);
        }
    }

    /// <summary>Link <paramref name="ino"/> into lost+found as "#ino" (fsck_ffs's name).</summary>
    private bool Reconnect(ulong ino)
    {
        ulong lf = LostFound();
        if (lf == 0)
        {
            return false;
        }
        FfsDinode d = _inodes[ino]!;
        if (!AddEntry(lf, "#" + ino, ino, DirentTypeOf(d.Type)))
        {
            return false;
        }
        _refs[ino]++;
        if (d.Type == 0x4000)
        {
            _parent[ino] = lf;
        }
        Did($"inode {ino}: reconnected as /{LostFoundName}/#{ino}");
        return true;
    }

    /// <summary>The inode number the first ".." entry of a directory names, or 0.</summary>
    private ulong DotDotOf(ulong dir)
    {
        if (!_dirBlocks.TryGetValue(dir, out List<DirBlock>? blocks) || blocks.Count == 0 || blocks[0].Lbn != 0)
        {
            return 0;
        }
        byte[] b = new byte[FfsSuperblock.DirBlkSiz];
        if (!_w.ReadFrags(blocks[0].Phys, b))
        {
            return 0;
        }
        bool types = _sb.HasDirentTypes;
        for (int off = 0, k = 0; k < 2 && off + DirectEntry.HeaderSize <= b.Length; k++)
        {
            int reclen = DirectEntry.ReadRecLen(b, off, O);
            int namlen = DirectEntry.ReadNamLen(b, off, O, types);
            if (reclen < DirectEntry.HeaderSize || off + reclen > b.Length || namlen > reclen - DirectEntry.HeaderSize)
            {
                return 0;
            }
            if (namlen == 2 && b[off + DirectEntry.Name] == '.' && b[off + DirectEntry.Name + 1] == '.')
            {
                return DirectEntry.ReadIno(b, off, O);
            }
            off += reclen;
        }
        return 0;
    }

    /// <summary>The lost+found directory, made in the root when it is missing; 0 when that fails.</summary>
    private ulong LostFound()
    {
        if (_lostFound != 0)
        {
            return _lostFound;
        }
        if (_lostFoundNameTaken)
        {
            Left($"/{LostFoundName} is not a directory");
            return 0;
        }
        const ulong root = FfsSuperblock.RootIno;
        ulong ino = AllocInode(0);
        if (ino == 0 || !NewDirectory(ino, root, LostFoundMode))
        {
            return 0;
        }
        if (!AddEntry(root, LostFoundName, ino, 4))
        {
            DropNewDirectory(ino);
            return 0;
        }
        _refs[ino] += 2; // its name in the root and its own "."
        _refs[root]++; // its ".."
        _parent[ino] = root;
        _lostFound = ino;
        Did($"created /{LostFoundName} as inode {ino}");
        return ino;
    }

    /// <summary>Fill [from, to) with empty DIRBLKSIZ chunks (one record of inode 0 each).</summary>
    private void InitDirChunks(Span<byte> b, int from, int to)
    {
        for (int c = from; c + FfsSuperblock.DirBlkSiz <= to; c += FfsSuperblock.DirBlkSiz)
        {
            b.Slice(c, FfsSuperblock.DirBlkSiz).Clear();
            DirectEntry.Write(b, c, O, _sb.HasDirentTypes, 0, FfsSuperblock.DirBlkSiz, 0, []);
        }
    }
}
