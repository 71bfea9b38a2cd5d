using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>FfsCheck, pass 1: inodes and their block maps.</summary>
public static partial class FfsCheck
{
    /// <summary>MAXDIRSIZE (ufs/ufs/dir.h): directory offsets are 32-bit.</summary>
    internal const long MaxDirSize = 0x7fffffff;

    /// <summary>
    /// Why an allocated inode cannot be used at all (the driver refuses to load it), or
    /// null: a type that is none of the seven, a negative size, a size above fs_maxfilesize
    /// or, for a directory, MAXDIRSIZE (fsck_ffs's checkinode: "bad size", then UNKNOWN FILE
    /// TYPE / CLEAR), a zero-length directory, a symlink kept in blocks whose length is not
    /// that of a path.
    /// </summary>
    internal static string? InodeProblem(FfsDinode d, FfsSuperblock sb)
    {
        if (d.Type is not (0x1000 or 0x2000 or 0x4000 or 0x6000 or 0x8000 or 0xA000 or 0xC000))
        {
            return $"unknown file type {d.Mode:x}";
        }
        if (d.Size < 0)
        {
            return $"negative size {d.Size}";
        }
        if (d.Size > sb.MaxFileSize)
        {
            return $"size {d.Size} above fs_maxfilesize {sb.MaxFileSize}";
        }
        if (d.Type == 0x4000 && d.Size > MaxDirSize)
        {
            return $"directory size {d.Size} above MAXDIRSIZE {MaxDirSize}";
        }
        if (d.Type == 0x4000 && d.Size == 0)
        {
            return "zero-length directory";
        }
        if (d.Type == 0xA000 && d.FastLink is null && (d.Size == 0 || d.Size > Vfs.Vop.PathMax))
        {
            return $"symlink of size {d.Size}";
        }
        return null;
    }

    /// <summary>The first logical block below the end of a directory that has no block, or -1 (lbns in ascending order).</summary>
    internal static long FirstHole(IEnumerable<(long Lbn, long Phys, int Frags)> blocks, long size, int bshift)
    {
        long want = 0;
        long count = (size + (1L << bshift) - 1) >> bshift;
        foreach ((long lbn, _, _) in blocks)
        {
            if (lbn != want)
            {
                break;
            }
            want++;
        }
        return want < count ? want : -1;
    }

    private sealed partial class Checker
    {
        private void ScanInodes()
        {
            ScanInodeTable();
            _ownData = null;
            ClaimExtAreas();
        }

        private void ScanInodeTable()
        {
            byte[] block = new byte[sb.Bsize];
            for (int cg = 0; cg < sb.Ncg; cg++)
            {
                var g = new CylinderGroup(_cgs[cg], O);
                if (sb.IsUfs2 && !g.InitedIblkValid(sb.Ipg, sb.Inopb))
                {
                    Add(FfsFindingKind.CylinderGroup, cg, $"cg_initediblk {g.InitedIblk} is not a count of initialised inodes");
                }
                int limit = g.InitialisedInodes(sb.Ipg, sb.Inopb, sb.IsUfs2);
                int mapped = g.InodeMapBits;
                for (int i = 0; i < sb.Ipg; i++)
                {
                    ulong ino = ((ulong)cg * (ulong)sb.Ipg) + (ulong)i;
                    bool used = i < mapped && g.InodeUsed(i);
                    if (i >= limit)
                    {
                        if (used)
                        {
                            Add(FfsFindingKind.Inode, (long)ino, "allocated beyond the initialised inode blocks");
                        }
                        continue;
                    }
                    if (i % sb.Inopb == 0 && dev.Read(sb.FragToBytes(sb.InoToFsba(ino)), block) != Errno.OK)
                    {
                        Add(FfsFindingKind.Inode, (long)ino, "inode block unreadable");
                        return;
                    }
                    if (ino < FfsSuperblock.RootIno)
                    {
                        continue;
                    }
                    var d = new FfsDinode();
                    ReadOnlySpan<byte> rec = block.AsSpan(sb.InoToFsbo(ino) * sb.DinodeSize, sb.DinodeSize);
                    FfsDinodeRecord.Decode(sb, rec, d);
                    if (d.Mode == 0)
                    {
                        if (used)
                        {
                            Add(FfsFindingKind.Inode, (long)ino, "allocated in the map but has mode 0");
                        }
                        continue;
                    }
                    if (!used)
                    {
                        // The inode's contents decide, as in fsck_ffs (and this checker's
                        // repair): only the map bit is wrong. Passing over the inode would
                        // report every file below it as unreferenced as well.
                        Add(FfsFindingKind.Inode, (long)ino, $"mode {d.Mode:x} but free in the map");
                    }
                    _inodes[ino] = d;
                    report.InodesInUse++;
                    if (InodeProblem(d, sb) is { } problem)
                    {
                        Add(FfsFindingKind.Inode, (long)ino, problem);
                    }
                    CheckBlocks(ino, d);
                }
            }
        }

        private void CheckBlocks(ulong ino, FfsDinode d)
        {
            uint type = d.Type;
            // Any UFS2 inode, a device or a fast link too, may have an extended-attribute area.
            _ownData = null;
            long frags = sb.IsUfs2 ? ExtAreaBlocks(ino, d) : 0;
            if (type is 0x2000 or 0x6000 or 0x1000 or 0xC000 || d.FastLink is not null)
            {
                if (d.Blocks != frags * (sb.Fsize / 512))
                {
                    Add(FfsFindingKind.BlockMap, (long)ino, frags == 0
                        ? $"di_blocks {d.Blocks} for a file without blocks"
                        : $"di_blocks {d.Blocks}, blocks found {frags * (sb.Fsize / 512)}");
                }
                return;
            }
            List<(long, long, int)>? dirList = type == 0x4000 ? [] : null;
            for (long lbn = 0; lbn < FfsSuperblock.NDAddr; lbn++)
            {
                long p = d.Db[lbn];
                if (p == 0)
                {
                    continue;
                }
                if (lbn << sb.Bshift >= d.Size)
                {
                    // Name a pointer that is garbage too, not only misplaced.
                    Add(FfsFindingKind.BlockMap, (long)ino, InRange(p, 1)
                        ? $"block {lbn} past the end of file"
                        : $"block {lbn} past the end of file, at {p}, outside the data area");
                    continue;
                }
                int n = (int)sb.NumFrags(sb.SblkSize(d.Size, lbn));
                if (!InRange(p, n))
                {
                    Add(FfsFindingKind.BlockMap, (long)ino, $"block {lbn} at {p} outside the data area");
                    continue;
                }
                Claim(ino, p, n);
                frags += n;
                dirList?.Add((lbn, p, n));
            }
            long baseLbn = FfsSuperblock.NDAddr;
            long span = sb.Nindir;
            for (int level = 1; level <= FfsSuperblock.NIAddr; level++)
            {
                if (d.Ib[level - 1] != 0)
                {
                    frags += Indirect(ino, d, d.Ib[level - 1], level, baseLbn, dirList);
                }
                baseLbn += span;
                span *= sb.Nindir;
            }
            if (frags * (sb.Fsize / 512) != d.Blocks)
            {
                Add(FfsFindingKind.BlockMap, (long)ino, $"di_blocks {d.Blocks}, blocks found {frags * (sb.Fsize / 512)}");
            }
            if (dirList is not null)
            {
                if (FirstHole(dirList, d.Size, sb.Bshift) is long hole and >= 0)
                {
                    Add(FfsFindingKind.Directory, (long)ino, $"directory has a hole at block {hole}");
                }
                _dirBlocks[ino] = dirList;
            }
        }

        private long Indirect(ulong ino, FfsDinode d, long ptr, int level, long baseLbn, List<(long, long, int)>? dirList)
        {
            if (!InRange(ptr, sb.Frag) || ptr % sb.Frag != 0)
            {
                Add(FfsFindingKind.BlockMap, (long)ino, $"indirect block at {ptr} outside the data area");
                return 0;
            }
            if (baseLbn << sb.Bshift >= d.Size)
            {
                Add(FfsFindingKind.BlockMap, (long)ino, $"indirect block for block {baseLbn} past the end of file");
            }
            Claim(ino, ptr, sb.Frag);
            long frags = sb.Frag;
            byte[] b = new byte[sb.Bsize];
            if (dev.Read(sb.FragToBytes(ptr), b) != Errno.OK)
            {
                Add(FfsFindingKind.BlockMap, (long)ino, $"indirect block at {ptr} unreadable");
                return frags;
            }
            long childSpan = 1;
            for (int i = 1; i < level; i++)
            {
                childSpan *= sb.Nindir;
            }
            for (int i = 0; i < sb.Nindir; i++)
            {
                long p = sb.IsUfs2 ? O.I64(b, 8 * i) : O.I32(b, 4 * i);
                if (p == 0)
                {
                    continue;
                }
                long lbn = baseLbn + (i * childSpan);
                if (level > 1)
                {
                    frags += Indirect(ino, d, p, level - 1, lbn, dirList);
                    continue;
                }
                if (!InRange(p, sb.Frag) || p % sb.Frag != 0)
                {
                    Add(FfsFindingKind.BlockMap, (long)ino, $"block {lbn} at {p} outside the data area");
                    continue;
                }
                if (lbn << sb.Bshift >= d.Size)
                {
                    Add(FfsFindingKind.BlockMap, (long)ino, $"block {lbn} past the end of file");
                }
                Claim(ino, p, sb.Frag);
                frags += sb.Frag;
                dirList?.Add((lbn, p, sb.Frag));
            }
            return frags;
        }

        private bool InRange(long p, int n)
        {
            if (p <= 0 || p + n > sb.Size || (p % sb.Frag) + n > sb.Frag)
            {
                return false;
            }
            int cg = sb.DtoG(p);
            long metaStart = cg == 0 ? 0 : sb.CgStart(cg) + sb.Sblkno;
            return p + n <= metaStart || p >= sb.CgDMin(cg);
        }
    }
}
