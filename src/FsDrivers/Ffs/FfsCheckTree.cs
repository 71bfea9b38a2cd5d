using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>FfsCheck, passes 2 and 4: the directory tree and link counts.</summary>
public static partial class FfsCheck
{
    private sealed partial class Checker
    {
        private void WalkTree()
        {
            const ulong root = FfsSuperblock.RootIno;
            if (_inodes[root] is not { } rd || rd.Type != 0x4000)
            {
                Add(FfsFindingKind.Directory, (long)root, "root is not an allocated directory");
                return;
            }
            var visited = new HashSet<ulong> { root };
            var queue = new Queue<(ulong Ino, ulong Parent)>();
            queue.Enqueue((root, root));
            _refs[root]++; // the root's own entry in no directory stands in for its name
            while (queue.Count > 0)
            {
                (ulong dir, ulong parent) = queue.Dequeue();
                report.Directories++;
                List<(string Name, ulong Ino)> entries = Entries(dir);
                if (entries.Count < 1 || entries[0].Name != ".")
                {
                    Add(FfsFindingKind.Directory, (long)dir, "first entry is not \".\"");
                }
                if (entries.Count < 2 || entries[1].Name != "..")
                {
                    Add(FfsFindingKind.Directory, (long)dir, "second entry is not \"..\"");
                }
                foreach ((string name, ulong child) in entries)
                {
                    _refs[child]++;
                    if (name == ".")
                    {
                        if (child != dir)
                        {
                            Add(FfsFindingKind.Directory, (long)dir, $"\".\" names {child}");
                        }
                        continue;
                    }
                    if (name == "..")
                    {
                        if (child != parent)
                        {
                            Add(FfsFindingKind.Directory, (long)dir, $"\"..\" names {child}, parent is {parent}");
                        }
                        continue;
                    }
                    if (_inodes[child] is not { } cd)
                    {
                        Add(FfsFindingKind.Directory, (long)dir, $"entry \"{name}\" names free inode {child}");
                        continue;
                    }
                    if (cd.Type == 0x4000)
                    {
                        if (!visited.Add(child))
                        {
                            Add(FfsFindingKind.Directory, (long)dir, $"directory {child} (\"{name}\") reached twice");
                            continue;
                        }
                        queue.Enqueue((child, dir));
                    }
                }
            }
            // The root's ".." also names the root; the extra count above balances nothing.
            _refs[root]--;
        }

        private List<(string, ulong)> Entries(ulong dir)
        {
            var list = new List<(string, ulong)>();
            FfsDinode d = _inodes[dir]!;
            if (d.Size % FfsSuperblock.DirBlkSiz != 0)
            {
                Add(FfsFindingKind.Directory, (long)dir, $"size {d.Size} not a multiple of {FfsSuperblock.DirBlkSiz}");
            }
            if (!_dirBlocks.TryGetValue(dir, out var blocks))
            {
                return list;
            }
            bool types = sb.HasDirentTypes;
            foreach ((long lbn, long phys, int frags) in blocks)
            {
                byte[] b = new byte[frags << sb.Fshift];
                if (dev.Read(sb.FragToBytes(phys), b) != Errno.OK)
                {
                    Add(FfsFindingKind.Directory, (long)dir, $"block {lbn} unreadable");
                    continue;
                }
                long start = lbn << sb.Bshift;
                int end = (int)Math.Min(b.Length, d.Size - start);
                for (int c = 0; c + FfsSuperblock.DirBlkSiz <= end; c += FfsSuperblock.DirBlkSiz)
                {
                    int off = c;
                    while (off < c + FfsSuperblock.DirBlkSiz)
                    {
                        uint ino = DirectEntry.ReadIno(b, off, O);
                        int reclen = DirectEntry.ReadRecLen(b, off, O);
                        int namlen = DirectEntry.ReadNamLen(b, off, O, types);
                        if (reclen < DirectEntry.HeaderSize || (reclen & 3) != 0 || off + reclen > c + FfsSuperblock.DirBlkSiz
                            || (ino != 0 && (namlen == 0 || namlen > DirectEntry.MaxNameLen || reclen < DirectEntry.SizeFor(namlen) || !DirectEntry.NameValid(b, off, namlen))))
                        {
                            Add(FfsFindingKind.Directory, (long)dir, $"bad entry at offset {start + off}");
                            break;
                        }
                        if (ino != 0)
                        {
                            if (ino >= (ulong)sb.TotalInodes)
                            {
                                Add(FfsFindingKind.Directory, (long)dir, $"entry at {start + off} names inode {ino} out of range");
                            }
                            else
                            {
                                string name = NameEncoding.GetString(b.AsSpan(off + DirectEntry.Name, namlen));
                                list.Add((name, ino));
                                byte dt = DirectEntry.ReadType(b, off, types);
                                if (types && _inodes[ino] is { } t && dt != DirentTypeOf(t.Type))
                                {
                                    Add(FfsFindingKind.Directory, (long)dir, $"entry \"{name}\" has d_type {dt}, inode type {t.Type:x}");
                                }
                            }
                        }
                        off += reclen;
                    }
                }
            }
            return list;
        }

        private static byte DirentTypeOf(uint modeType) => modeType switch
        {
            0x1000 => 1,
            0x2000 => 2,
            0x4000 => 4,
            0x6000 => 6,
            0x8000 => 8,
            0xA000 => 10,
            0xC000 => 12,
            _ => 0,
        };

        private void CheckLinkCounts()
        {
            if (sb.LogInode is var log and not 0 && _inodes[log] is { } ld && (ld.Flags & FfsWapblLayout.LogInodeFlag) != 0)
            {
                _refs[log]++;
            }
            for (long ino = FfsSuperblock.RootIno; ino < _inodes.Length; ino++)
            {
                if (_inodes[ino] is not { } d)
                {
                    continue;
                }
                if (_refs[ino] == 0)
                {
                    Add(FfsFindingKind.LinkCount, ino, $"unreferenced inode (nlink {d.Nlink})");
                }
                else if (_refs[ino] != d.Nlink)
                {
                    Add(FfsFindingKind.LinkCount, ino, $"nlink {d.Nlink}, references {_refs[ino]}");
                }
            }
        }
    }
}
