using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Pass 1d's clone of one file (e2fsck's clone_file): each block still shared, met in
/// e2fsck's order, gets a copy in the lowest free block, one block at a time, so only the
/// shared blocks move and a nearly full file system has room for them. An extent-mapped
/// file's tree is laid out again over the new map, taking a new tree block when the split
/// extents no longer fit, at the moment e2fsck's extent code would. When a copy finds no
/// room the file is deleted (e2fsck: "Couldn't clone file", "Delete file?").
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>Where the search for a free block for a copy starts: below it nothing is free.</summary>
    private ulong _copyCursor;

    private void CloneFile(uint ino, Ext2Dinode din)
    {
        FileBlocks? fb = CollectBlocks(ino, din);
        if (fb is null)
        {
            Error(Pass1, Ino(ino), "extent tree cannot be read whole; its shared blocks are not copied", fixable: false);
            return;
        }
        var plan = new ulong[fb.Sequence.Count];
        var extraNodes = new List<ulong>();
        if (!PlanCopies(fb, plan, extraNodes))
        {
            foreach (ulong copy in plan.Where(c => c != 0).Concat(extraNodes))
            {
                FreeCopyBlock(copy);
            }
            Error(Pass1, Ino(ino), "no free space to copy its shared blocks; file deleted");
            DeleteSharer(ino, din, fb, plan);
            return;
        }
        for (int i = 0; i < plan.Length; i++)
        {
            if (plan[i] != 0 && _v.Read(fb.Sequence[i].Physical, out byte[] data) == Kernel.Errno.OK)
            {
                _v.Write(plan[i], data);
            }
        }
        if (fb.Extents)
        {
            RewriteExtentTree(ino, din, fb, plan, extraNodes);
        }
        else
        {
            var w = new InodeWalk(ino, din);
            int k = 0;
            // The same walk as the one that listed the blocks: the k-th pointer met is the k-th block listed.
            WalkBlocks(w, (_, _) =>
            {
                ulong copy = k < plan.Length ? plan[k] : 0;
                k++;
                return copy != 0 ? copy : Keep;
            });
        }
        _v.WriteInode(ino, din);
        UpdateKeptMaps(ino, fb, plan);
    }

    /// <summary>
    /// Take a copy for each block still shared, dropping this file's claim on the original
    /// (metadata keeps its own). False when the file system ran out of free blocks.
    /// </summary>
    private bool PlanCopies(FileBlocks fb, ulong[] plan, List<ulong> extraNodes)
    {
        var runs = new RunCounter();
        for (int i = 0; i < fb.Sequence.Count; i++)
        {
            FileBlock b = fb.Sequence[i];
            bool copy = _v.InFs(b.Physical) && b.Physical < _v.BlocksCount && _dupClaims.ContainsKey(b.Physical)
                && StillShared(b.Physical);
            if (copy)
            {
                plan[i] = AllocCopyBlock();
                if (plan[i] == 0)
                {
                    return false;
                }
                DropInodeClaim(b.Physical);
            }
            if (!fb.Extents || b.Node)
            {
                continue;
            }
            runs.Add(b.Logical, plan[i] != 0 ? plan[i] : b.Physical, b.Uninit);
            // Extents now: those mapped so far, the rest of a split one, and the ones after.
            int pending = runs.Count + (copy && !b.LastOfRun ? 1 : 0) + (fb.Runs - b.Run - 1);
            if (copy && !TreeRoom(fb, pending, extraNodes))
            {
                return false;
            }
        }
        return !fb.Extents || TreeRoom(fb, runs.Count, extraNodes);
    }

    /// <summary>A new tree block when <paramref name="extents"/> need more than the file has; false when none is free.</summary>
    private bool TreeRoom(FileBlocks fb, int extents, List<ulong> extraNodes)
    {
        while (ExtentTreeBlocks(extents) > fb.Nodes + extraNodes.Count)
        {
            ulong blk = AllocCopyBlock();
            if (blk == 0)
            {
                return false;
            }
            extraNodes.Add(blk);
        }
        return true;
    }

    /// <summary>The lowest free block (e2fsck's ext2fs_new_block2 with no goal), marked in use; 0 when there is none.</summary>
    private ulong AllocCopyBlock()
    {
        for (ulong b = Math.Max(_copyCursor, Sb.FirstDataBlock); b < _v.BlocksCount; b++)
        {
            if (!_used[(int)b])
            {
                _used[(int)b] = true;
                _allocated.Add(b);
                _copyCursor = b + 1;
                return b;
            }
        }
        _copyCursor = _v.BlocksCount;
        return 0;
    }

    private void FreeCopyBlock(ulong b)
    {
        _used[(int)b] = false;
        _allocated.Remove(b);
        _copyCursor = Math.Min(_copyCursor, b);
    }

    /// <summary>
    /// e2fsck's delete_file after a failed clone: a block still shared loses this claim, any
    /// other block of the file is freed, and the inode is cleared (pass 2 drops its names).
    /// </summary>
    private void DeleteSharer(uint ino, Ext2Dinode din, FileBlocks fb, ulong[] plan)
    {
        for (int i = 0; i < plan.Length; i++)
        {
            ulong b = fb.Sequence[i].Physical;
            // A block already copied lost this claim when the copy was taken.
            if (plan[i] != 0 || !_v.InFs(b) || b >= _v.BlocksCount)
            {
                continue;
            }
            if (_dupClaims.ContainsKey(b) && StillShared(b))
            {
                DropInodeClaim(b);
            }
            else if (!_meta[(int)b])
            {
                _inodeClaims.Remove(b);
                FreeCopyBlock(b);
            }
        }
        ulong acl = din.FileAcl;
        if (acl != 0 && _xattrRefs.TryGetValue(acl, out int refs))
        {
            if (refs <= 1 && !StillShared(acl))
            {
                _xattrRefs.Remove(acl);
                FreeCopyBlock(acl);
            }
            else if (refs > 1)
            {
                // Pass 1 has stored the count with this file in it; e2fsck's delete_file
                // takes its reference off the block (ext2fs_adjust_ea_refcount3).
                _xattrRefs[acl] = refs - 1;
                StoreXattrRefcount(acl, refs - 1);
            }
        }
        _inUse[(int)ino] = false;
        _type[ino] = 0;
        _links[ino] = 0;
        _dirs.Remove(ino);
        _fileMaps.Remove(ino);
        Array.Clear(din.Raw);
        din.Dtime = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _v.WriteInode(ino, din);
    }

    /// <summary>Pass 2 (directories) and the quota and orphan file checks read the copies from now on.</summary>
    private void UpdateKeptMaps(uint ino, FileBlocks fb, ulong[] plan)
    {
        if (!_dirs.ContainsKey(ino) && !_fileMaps.ContainsKey(ino))
        {
            return;
        }
        var map = new List<(uint Logical, ulong Physical)>();
        for (int i = 0; i < plan.Length; i++)
        {
            FileBlock b = fb.Sequence[i];
            if (b.Logical >= 0)
            {
                map.Add(((uint)b.Logical, plan[i] != 0 ? plan[i] : b.Physical));
            }
        }
        map.Sort((x, y) => x.Logical.CompareTo(y.Logical));
        if (_dirs.ContainsKey(ino))
        {
            _dirs[ino] = map;
        }
        if (_fileMaps.ContainsKey(ino))
        {
            _fileMaps[ino] = map;
        }
    }
}
