using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Releasing the blocks of a rebuilt directory past its new end, as e2fsck's rehash does with
/// ext2fs_punch: the pointers or extents from the first block no longer needed go, and so do
/// mapping blocks left empty (indirect blocks, extent tree nodes); i_blocks follows. Pass 5
/// then writes the released blocks free without calling it damage.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>Blocks in use when the check began that a repair released.</summary>
    private readonly HashSet<ulong> _released = [];

    /// <summary>
    /// Unmap every block of <paramref name="dir"/> (a directory, or a quota file rewritten
    /// smaller) from logical <paramref name="keep"/> on and free it; false when a mapping
    /// block cannot be read (what was done so far stays done).
    /// </summary>
    private bool ReleaseBlocksFrom(uint dir, Ext2Dinode din, uint keep, out int released)
    {
        released = 0;
        bool ok = (din.Flags & Ext2Dinode.FlagExtents) != 0
            ? PunchExtentNode(dir, din, din.BlockBytes, keep, ref released, out _)
            : PunchBlockMap(din, keep, ref released);
        bool fsUnits = _v.HugeFile && (din.Flags & Ext2Dinode.FlagHugeFile) != 0;
        ulong units = (ulong)released * (fsUnits ? 1UL : (ulong)(_v.BlockSize / 512));
        din.BlocksRaw = din.BlocksRaw > units ? din.BlocksRaw - units : 0;
        return ok;
    }

    /// <summary>One block back to the free pool (unless another claimant still holds it).</summary>
    private void ReleaseBlock(ulong b)
    {
        if (!_v.InFs(b) || DropDuplicateClaim(b))
        {
            return;
        }
        _used[(int)b] = false;
        if (!_allocated.Remove(b))
        {
            _released.Add(b);
        }
    }

    private bool PunchBlockMap(Ext2Dinode din, uint keep, ref int released)
    {
        const int direct = 12;
        for (int i = (int)Math.Min(keep, direct); i < direct; i++)
        {
            uint p = din.BlockPointer(i);
            if (p != 0)
            {
                ReleaseBlock(p);
                din.SetBlockPointer(i, 0);
                released++;
            }
        }
        long per = _v.BlockSize / 4;
        long start = direct;
        long span = 1;
        for (int level = 1; level <= 3; level++)
        {
            span *= per;
            uint p = din.BlockPointer(direct - 1 + level);
            if (p != 0 && start + span > keep)
            {
                if (!PunchIndirect(p, level, start, keep, ref released, out bool empty))
                {
                    return false;
                }
                if (empty)
                {
                    ReleaseBlock(p);
                    din.SetBlockPointer(direct - 1 + level, 0);
                    released++;
                }
            }
            start += span;
        }
        return true;
    }

    /// <summary>
    /// Below indirect block <paramref name="blk"/> of <paramref name="level"/> (1 points at
    /// data), whose first entry maps logical <paramref name="start"/>: free what maps
    /// <paramref name="keep"/> and past. <paramref name="empty"/> says that nothing is left
    /// (the caller frees the block itself); otherwise a changed block is stored.
    /// </summary>
    private bool PunchIndirect(ulong blk, int level, long start, uint keep, ref int released, out bool empty)
    {
        empty = false;
        if (!_v.InFs(blk) || _v.Read(blk, out byte[] map) != Errno.OK)
        {
            return false;
        }
        long per = _v.BlockSize / 4;
        long span = 1;
        for (int l = 1; l < level; l++)
        {
            span *= per;
        }
        bool changed = false;
        bool left = false;
        for (int j = 0; j < per; j++)
        {
            uint q = BinaryPrimitives.ReadUInt32LittleEndian(map.AsSpan(j * 4));
            long first = start + (j * span);
            if (q == 0)
            {
                continue;
            }
            if (first + span <= keep)
            {
                left = true;
                continue;
            }
            bool gone = true;
            if (level > 1)
            {
                if (!PunchIndirect(q, level - 1, first, keep, ref released, out gone))
                {
                    return false;
                }
            }
            if (gone)
            {
                ReleaseBlock(q);
                BinaryPrimitives.WriteUInt32LittleEndian(map.AsSpan(j * 4), 0);
                released++;
                changed = true;
            }
            else
            {
                left = true;
            }
        }
        empty = !left;
        if (changed && left)
        {
            _v.Write(blk, map);
        }
        return true;
    }

    /// <summary>
    /// In one extent node (the root in the inode, or a block): drop the extents from
    /// <paramref name="keep"/> on, shortening the one that crosses it, and the children left
    /// empty. Entries are sorted, so what goes is a run at the end.
    /// </summary>
    private bool PunchExtentNode(uint dir, Ext2Dinode din, Span<byte> node, uint keep, ref int released, out bool empty)
    {
        Ext4Extent.Header h = Ext4Extent.ReadHeader(node);
        int entries = h.Entries;
        for (int i = h.Entries - 1; i >= 0; i--)
        {
            Span<byte> e = Ext4Extent.Entry(node, i);
            if (h.Depth == 0)
            {
                ExtentRun x = Ext4Extent.ReadLeaf(e);
                if (x.End <= keep)
                {
                    break;
                }
                uint from = Math.Max(x.Logical, keep);
                for (uint l = from; l < x.End; l++)
                {
                    ReleaseBlock(x.Physical + (l - x.Logical));
                    released++;
                }
                if (x.Logical < keep)
                {
                    Ext4Extent.WriteLeaf(e, x with { Length = (int)(keep - x.Logical) });
                    break;
                }
                entries--;
                continue;
            }
            (uint lblk, ulong child) = Ext4Extent.ReadIndex(e);
            bool childEmpty = false;
            if (!_v.InFs(child) || _v.Read(child, out byte[] data) != Errno.OK
                || Ext4Extent.ReadHeader(data).Magic != Ext4Extent.Magic
                || !PunchExtentNode(dir, din, data, keep, ref released, out childEmpty))
            {
                // What was released so far is unmapped: keep the count of entries in step.
                Ext4Extent.WriteHeader(node, (ushort)entries, h.Max, h.Depth);
                empty = false;
                return false;
            }
            if (childEmpty)
            {
                ReleaseBlock(child);
                released++;
                entries--;
            }
            else
            {
                WriteExtentBlock(dir, din, child, data);
            }
            if (lblk < keep)
            {
                // The children before this one map only blocks below it.
                break;
            }
        }
        Ext4Extent.WriteHeader(node, (ushort)entries, h.Max, h.Depth);
        empty = entries == 0;
        return true;
    }

    /// <summary>Store an extent tree block, with a fresh checksum tail under metadata_csum.</summary>
    private void WriteExtentBlock(uint dir, Ext2Dinode din, ulong blk, byte[] node)
    {
        if (_v.MetadataCsum)
        {
            Ext4Extent.SetBlockChecksum(node, Ext2Dinode.InodeSeed(_v.CsumSeed, dir, din.Generation));
        }
        _v.Write(blk, node);
    }
}
