using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// The resize inode (7), which reserves the blocks that let the descriptor table grow: its
/// double-indirect block names each reserved descriptor block of the primary table, and
/// each of those lists its copies in the groups holding superblock backups. As e2fsck
/// ("Resize inode not valid. Recreate?"), one that does not match is cleared under repair
/// and, after pass 4, made again to that layout (libext2fs's ext2fs_create_resize_inode).
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private bool _recreateResizeInode;

    /// <summary>Pass 1, inode 7: its own double-indirect block is claimed; the rest it names is metadata already.</summary>
    private void CheckResizeInode(InodeWalk w)
    {
        uint dind = w.Din.BlockPointer(13);
        if (dind != 0 && _v.InFs(dind))
        {
            MarkUsed(dind, 1, w);
        }
        string? why = ResizeInodeProblem(w.Din);
        if (w.Din.Mode != 0)
        {
            // Every block it names must lie inside the file system and count in i_blocks.
            WalkIndirect(w, ClaimInResizeInode);
            if (why is null && w.Illegal > 0)
            {
                why = $"{w.Illegal} of the blocks it names lie outside the file system";
            }
        }
        if (why is null)
        {
            if (w.Din.Mode != 0)
            {
                CheckBlockCount(w);
            }
            return;
        }
        Error(Pass1, Ino(ResizeIno), $"resize inode is not valid ({why}); recreated");
        if (_repair)
        {
            ClearInode(w);
            // A reserved inode stays "in use"; the new one is written after pass 4.
            w.Din.Dtime = 0;
            _inUse[(int)w.Ino] = true;
            _recreateResizeInode = true;
        }
    }

    /// <summary>libext2fs's i_size for it: what the direct, indirect and double-indirect slots address.</summary>
    private long ResizeInodeSize
    {
        get
        {
            long per = _v.BlockSize / 4;
            return ((per * per) + per + 12) * _v.BlockSize;
        }
    }

    private bool ResizeLayoutApplies =>
        (Sb.FeatureCompat & Ext2Features.CompatResizeInode) != 0 && Sb.ReservedGdtBlocks != 0
        && (Sb.FeatureIncompat & Ext2Features.IncompatMetaBg) == 0;

    private uint GdtBlockCount => (_v.GroupCount + (uint)_v.DescPerBlock - 1) / (uint)_v.DescPerBlock;

    /// <summary>The first reserved descriptor block of the primary table.</summary>
    private ulong FirstReservedGdtBlock => Sb.FirstDataBlock + 1 + GdtBlockCount;

    /// <summary>Null when the inode matches the layout, else the first thing that does not.</summary>
    private string? ResizeInodeProblem(Ext2Dinode din)
    {
        if (!ResizeLayoutApplies)
        {
            return null;
        }
        if ((din.Mode & 0xF000) != 0x8000 || din.LinksCount == 0)
        {
            return $"mode 0{Convert.ToString(din.Mode, 8)} with {din.LinksCount} links is not a regular file in use";
        }
        if ((din.Flags & Ext2Dinode.FlagExtents) != 0)
        {
            return "it has the extents flag; its map is a block map";
        }
        if (din.Size < ResizeInodeSize)
        {
            return $"i_size {din.Size} is below the {ResizeInodeSize} bytes its map can address";
        }
        for (int i = 0; i < 15; i++)
        {
            if (i != 13 && din.BlockPointer(i) != 0)
            {
                return $"block pointer {i} is set";
            }
        }
        uint dind = din.BlockPointer(13);
        if (!_v.InFs(dind) || _v.Read(dind, out byte[] dbuf) != Errno.OK)
        {
            return $"double-indirect block {dind} is unusable";
        }
        uint per = (uint)_v.BlockSize / 4;
        ulong pblk = FirstReservedGdtBlock;
        for (uint i = 0; i < Sb.ReservedGdtBlocks; i++, pblk++)
        {
            uint off = (GdtBlockCount + i) % per;
            if (BinaryPrimitives.ReadUInt32LittleEndian(dbuf.AsSpan((int)off * 4)) != pblk)
            {
                return $"double-indirect entry {off} does not name reserved block {pblk}";
            }
            if (_v.Read(pblk, out byte[] ind) != Errno.OK)
            {
                continue;
            }
            int k = 0;
            foreach (ulong copy in ReservedBlockCopies(pblk))
            {
                if (BinaryPrimitives.ReadUInt32LittleEndian(ind.AsSpan(k++ * 4)) != copy)
                {
                    return $"reserved block {pblk} does not list its copy {copy}";
                }
            }
        }
        return null;
    }

    /// <summary>A reserved descriptor block's copies in the backup groups, as many as one block lists.</summary>
    private IEnumerable<ulong> ReservedBlockCopies(ulong primary)
    {
        int per = _v.BlockSize / 4;
        int k = 0;
        for (uint g = 1; g < _v.GroupCount && k < per; g++)
        {
            if (_v.HasSuper(g))
            {
                k++;
                yield return primary + ((ulong)g * Sb.BlocksPerGroup);
            }
        }
    }

    private ulong ClaimInResizeInode(InodeWalk w, BlockClaim c)
    {
        if (!_v.InFs(c.Physical))
        {
            w.Illegal++;
        }
        w.Blocks += (ulong)c.Count;
        return Keep;
    }

    /// <summary>After pass 4: a new resize inode, with a new double-indirect block, and the primary reserved blocks listing their copies.</summary>
    private void RecreateResizeInode()
    {
        if (!_recreateResizeInode || !_repair || !ResizeLayoutApplies)
        {
            return;
        }
        ulong dind = AllocBlocks(1);
        if (dind == 0 || dind > uint.MaxValue)
        {
            Error(Pass1, Ino(ResizeIno), "no free block for the resize inode's double-indirect block", fixable: false);
            return;
        }
        int bs = _v.BlockSize;
        uint per = (uint)bs / 4;
        byte[] dbuf = new byte[bs];
        ulong blocks = 1;
        ulong pblk = FirstReservedGdtBlock;
        for (uint i = 0; i < Sb.ReservedGdtBlocks; i++, pblk++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(dbuf.AsSpan((int)((GdtBlockCount + i) % per) * 4), (uint)pblk);
            byte[] ind = new byte[bs];
            int k = 0;
            foreach (ulong copy in ReservedBlockCopies(pblk))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(ind.AsSpan(k++ * 4), (uint)copy);
            }
            _v.Write(pblk, ind);
            blocks += 1 + (ulong)k;
        }
        _v.Write(dind, dbuf);
        Ext2Dinode din = NewInode(0x8180, 1);
        din.Size = ResizeInodeSize;
        din.BlocksRaw = blocks * (ulong)(bs / 512);
        din.SetBlockPointer(13, (uint)dind);
        _v.WriteInode(ResizeIno, din);
        _type[ResizeIno] = Ext2DirEntry.FileTypeOf(din.Mode);
        Note(Pass1, Ino(ResizeIno), $"resize inode recreated (double-indirect block {dind})");
    }
}
