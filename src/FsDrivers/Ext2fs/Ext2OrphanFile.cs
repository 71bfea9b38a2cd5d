using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// The ext4 orphan file (COMPAT_ORPHAN_FILE; a default of mke2fs since 1.47, Debian's since 1.47.1):
/// a regular file of whole blocks, each an array of orphan inode numbers (see
/// <see cref="Ext2OrphanBlock"/>), with RO_COMPAT_ORPHAN_PRESENT set while it holds any.
/// A read-write mount reads and checks all of it first (<see cref="Check"/>: the inode, every
/// block's magic and checksum, every slot's inode number), writing nothing, and refuses the
/// mount when any of it is damaged; then <see cref="Process"/> finishes each orphan as
/// ext4_orphan_cleanup does (no links: released; links and a regular file: truncated to its
/// size), zeroes the slots, rewrites the blocks' checksums and clears orphan_present.
/// The driver itself records no orphans (it keeps no orphan list either): a file unlinked
/// while open is freed when its last reference goes, and a crash before that leaves the
/// file system marked not clean, for e2fsck.
/// </summary>
internal static class Ext2OrphanFile
{
    /// <summary>The orphan file as read at mount: its inode seed and its blocks (physical number, contents).</summary>
    internal sealed record Contents(uint Ino, uint InodeSeed, List<(ulong Block, byte[] Data)> Blocks);

    /// <summary>
    /// Read and check the orphan file; null <paramref name="contents"/> when the file system
    /// has none. EUCLEAN (logged once) with <paramref name="message"/> when it is damaged.
    /// Writes nothing.
    /// </summary>
    public static Errno Check(Ext2Mount m, out Contents? contents, out string? message)
    {
        contents = null;
        message = null;
        Ext2Superblock sb = m.Sb;
        if ((sb.FeatureCompat & Ext2Features.CompatOrphanFile) == 0)
        {
            return (sb.FeatureRoCompat & Ext2Features.RoOrphanPresent) != 0
                ? Damaged(0, "orphan_present is set but there is no orphan file", out message)
                : Errno.OK;
        }
        uint ino = sb.OrphanFileInum;
        if (ino == 0 || ino == Ext2Mount.RootIno || ino > sb.InodesCount)
        {
            return Damaged(0, $"s_orphan_file_inum {ino} is not a valid inode", out message);
        }
        Errno e = Ext2Node.Load(m, ino, out Ext2Node? node);
        if (e != Errno.OK)
        {
            return Damaged(0, $"orphan file inode {ino} cannot be read ({e.Describe()})", out message);
        }
        long size = node!.Din.Size;
        if (node.Type != VType.Regular || node.Din.LinksCount == 0)
        {
            return Damaged(0, $"orphan file inode {ino} is not a regular file in use", out message);
        }
        if (size % m.BlockSize != 0 || (ulong)(size / m.BlockSize) > m.BlocksCount)
        {
            return Damaged(0, $"orphan file inode {ino} has size {size}, not a whole number of blocks", out message);
        }
        var blocks = new List<(ulong Block, byte[] Data)>();
        uint seed = node.InodeSeed;
        int slots = Ext2OrphanBlock.SlotsPerBlock(m.BlockSize);
        for (ulong i = 0; i < (ulong)(size / m.BlockSize); i++)
        {
            e = node.Bmap(i, 1, out ulong pblk, out _, out bool uninit);
            if (e != Errno.OK || pblk == 0 || uninit || !m.ValidBlock(pblk))
            {
                return Damaged((long)pblk, $"orphan file block {i} is not mapped to a block of the file system", out message);
            }
            e = m.ReadBlock(pblk, out Buffer? bp);
            if (e != Errno.OK)
            {
                return Damaged((long)pblk, $"orphan file block {i} cannot be read ({e.Describe()})", out message);
            }
            byte[] data = new byte[m.BlockSize];
            using (bp)
            {
                lock (bp!.SyncRoot)
                {
                    bp.Data.CopyTo(data);
                }
            }
            if (Ext2OrphanBlock.StoredMagic(data) != Ext2OrphanBlock.Magic)
            {
                return Damaged((long)pblk, $"orphan file block {i}: bad magic", out message);
            }
            if (m.MetadataCsum && Ext2OrphanBlock.StoredChecksum(data) != Ext2OrphanBlock.ComputeChecksum(data, seed, pblk))
            {
                return Damaged((long)pblk, $"orphan file block {i}: bad checksum", out message);
            }
            for (int j = 0; j < slots; j++)
            {
                uint orphan = Ext2OrphanBlock.Slot(data, j);
                if (orphan != 0 && (orphan < sb.FirstIno || orphan > sb.InodesCount || orphan == ino))
                {
                    return Damaged((long)pblk, $"orphan file block {i} slot {j} names inode {orphan}, which cannot be an orphan", out message);
                }
            }
            blocks.Add((pblk, data));
        }
        contents = new Contents(ino, seed, blocks);
        return Errno.OK;
    }

    /// <summary>
    /// Finish every orphan the checked file names, zero its slot, rewrite the block's
    /// checksum and clear orphan_present (written with the superblock by the caller).
    /// </summary>
    public static Errno Process(Ext2Mount m, Contents? contents)
    {
        if (contents is null)
        {
            ClearPresent(m);
            return Errno.OK;
        }
        int slots = Ext2OrphanBlock.SlotsPerBlock(m.BlockSize);
        int finished = 0;
        foreach ((ulong pblk, byte[] data) in contents.Blocks)
        {
            bool any = false;
            for (int j = 0; j < slots; j++)
            {
                uint orphan = Ext2OrphanBlock.Slot(data, j);
                if (orphan == 0)
                {
                    continue;
                }
                any = true;
                Errno e = Finish(m, orphan);
                if (e != Errno.OK)
                {
                    return e;
                }
                finished++;
            }
            if (any)
            {
                Errno e = ClearSlots(m, pblk, contents.InodeSeed);
                if (e != Errno.OK)
                {
                    return e;
                }
            }
        }
        if (finished > 0)
        {
            KernelLog.Info(Ext2Mount.Subsystem, $"{m.Device?.Name}: {finished} orphan inode(s) in the orphan file finished");
        }
        ClearPresent(m);
        return Errno.OK;
    }

    /// <summary>Release an orphan with no links, truncate one with links to its size (ext4_process_orphan).</summary>
    private static Errno Finish(Ext2Mount m, uint ino)
    {
        Errno e = m.VGet(ino, out Vnode? vp);
        if (e == Errno.ENOENT)
        {
            return Errno.OK; // already free (e2fsck released it): only the slot is left to clear
        }
        if (e != Errno.OK)
        {
            return e;
        }
        var n = (Ext2Node)vp!;
        lock (n.Lock)
        {
            if (n.Din.LinksCount != 0 && n.Type == VType.Regular)
            {
                e = n.TruncateToSize();
            }
        }
        // The last reference: Inactive frees an inode without links, its blocks with it.
        vp!.Release();
        return e;
    }

    private static Errno ClearSlots(Ext2Mount m, ulong pblk, uint seed)
    {
        Errno e = m.ReadBlock(pblk, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        using (bp)
        {
            lock (bp!.SyncRoot)
            {
                Span<byte> b = bp.Data;
                b[..(4 * Ext2OrphanBlock.SlotsPerBlock(b.Length))].Clear();
                if (m.MetadataCsum)
                {
                    Ext2OrphanBlock.UpdateChecksum(b, seed, pblk);
                }
            }
            return m.Dirty(bp);
        }
    }

    private static void ClearPresent(Ext2Mount m)
    {
        lock (m.AllocLock)
        {
            m.Sb.FeatureRoCompat &= ~Ext2Features.RoOrphanPresent;
        }
    }

    private static Errno Damaged(long block, string what, out string? message)
    {
        KernelLog.CorruptionOnce(Ext2Mount.Subsystem, block, what);
        message = $"{what}: run e2fsck, or mount read-only";
        return Errno.EUCLEAN;
    }
}
