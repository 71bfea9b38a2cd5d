using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Pass 1b, when pass 1 met blocks claimed twice: find every inode sharing them and, when
/// repairing, give each claimant but the last its own copy (e2fsck's "clone"); metadata
/// keeps its blocks, so a file claiming metadata always gets the copy.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private void ResolveDuplicates()
    {
        var sharers = new SortedSet<uint>();
        for (uint ino = 1; ino <= _v.InodesCount; ino++)
        {
            if (!_inUse[(int)ino] || ino == ResizeIno || _v.ReadInode(ino, out Ext2Dinode din) != Errno.OK)
            {
                continue;
            }
            if (!HasBlockMap(din))
            {
                continue;
            }
            var w = new InodeWalk(ino, din);
            WalkBlocks(w, (walk, c) =>
            {
                if (_v.InFs(c.Physical) && c.Physical + (ulong)c.Count <= _v.BlocksCount && SharesAny(c))
                {
                    sharers.Add(walk.Ino);
                }
                return Keep;
            });
        }
        foreach (uint ino in sharers)
        {
            Error(Pass1, Ino(ino), "has blocks claimed by another inode or by metadata; those blocks are copied");
            if (!_repair || _v.ReadInode(ino, out Ext2Dinode din) != Errno.OK)
            {
                continue;
            }
            var w = new InodeWalk(ino, din);
            WalkBlocks(w, CloneShared);
            if (w.Changed)
            {
                _v.WriteInode(ino, w.Din);
            }
            if (_dirs.ContainsKey(ino) || _fileMaps.ContainsKey(ino))
            {
                // Its blocks moved: pass 2 (or the quota and orphan file checks) must read the copies.
                var again = new InodeWalk(ino, w.Din);
                WalkBlocks(again, (walk, c) =>
                {
                    if (c.Logical >= 0)
                    {
                        for (int k = 0; k < c.Count; k++)
                        {
                            walk.DirBlocks.Add(((uint)(c.Logical + k), c.Physical + (ulong)k));
                        }
                    }
                    return Keep;
                });
                if (_dirs.ContainsKey(ino))
                {
                    _dirs[ino] = again.DirBlocks;
                }
                if (_fileMaps.ContainsKey(ino))
                {
                    _fileMaps[ino] = again.DirBlocks;
                }
            }
        }
    }

    private bool HasBlockMap(Ext2Dinode din)
    {
        byte type = Ext2DirEntry.FileTypeOf(din.Mode);
        bool inline = (din.Flags & Ext2Dinode.FlagInlineData) != 0 && _v.InlineData;
        bool fastLink = type == 7 && IsFastSymlink(din);
        return (type is 1 or 2 or 7) && !inline && !fastLink;
    }

    private bool SharesAny(BlockClaim c)
    {
        for (int k = 0; k < c.Count; k++)
        {
            if (_dupClaims.ContainsKey(c.Physical + (ulong)k))
            {
                return true;
            }
        }
        return false;
    }

    private ulong CloneShared(InodeWalk w, BlockClaim c)
    {
        if (!_v.InFs(c.Physical) || c.Physical + (ulong)c.Count > _v.BlocksCount)
        {
            return Keep;
        }
        bool clone = false;
        for (int k = 0; k < c.Count; k++)
        {
            if (_dupClaims.TryGetValue(c.Physical + (ulong)k, out int claims) && claims > 1)
            {
                clone = true;
            }
        }
        if (!clone)
        {
            return Keep;
        }
        ulong copy = AllocBlocks(c.Count);
        if (copy == 0)
        {
            Error(Pass1, Ino(w.Ino), $"no free space to copy shared block {c.Physical}", fixable: false);
            return Keep;
        }
        for (int k = 0; k < c.Count; k++)
        {
            ulong old = c.Physical + (ulong)k;
            if (_v.Read(old, out byte[] data) == Errno.OK)
            {
                _v.Write(copy + (ulong)k, data);
            }
            // This inode lets go of the old block: it stays in use while another claimant
            // keeps it. An earlier claimant may have taken a copy already, so this one can
            // be the last, and then the block is free.
            if (_dupClaims.TryGetValue(old, out int claims) && claims > 1)
            {
                _dupClaims[old] = claims - 1;
            }
            else
            {
                _dupClaims.Remove(old);
                _used[(int)old] = false;
            }
        }
        return copy;
    }
}
