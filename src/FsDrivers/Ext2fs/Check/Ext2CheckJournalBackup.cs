using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// The superblock keeps a copy of the journal inode's block map and size (s_jnl_blocks, when
/// s_jnl_backup_type is 1). e2fsck loads the journal through that copy when the inode itself
/// is no journal: no links, not a regular file, encrypted, under 1024 blocks long, or with
/// fewer blocks mapped than its size says. It then writes the copy back into inode 8
/// (mode 0600, one link, the other base fields zero) and keeps the log, instead of deleting it
/// and making a new, empty one. At the end it brings a copy that differs from the inode's map
/// up to date ("Backing up journal inode block information").
/// One difference: e2fsck's restored inode never has the extents flag, so only a block-mapped
/// journal comes back; here a copy that starts with an extent header gets the flag, and an
/// ext4 journal comes back too.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private const ushort JournalBackupMode = 0x8000 | 0x180; // S_IFREG | 0600, as e2fsck writes it

    /// <summary>
    /// Pass 1, before inode 8 is walked: when it is no journal and the superblock's copy is
    /// one, the copy replaces the inode's map (in memory; written with the inode on repair).
    /// </summary>
    private void RestoreJournalFromBackup(InodeWalk w)
    {
        if (JournalShapeProblem(w.Din) is not string why || JournalBackupInode(w.Din) is not Ext2Dinode backup
            || JournalShapeProblem(backup) is not null)
        {
            return;
        }
        Error(Pass1, Ino(w.Ino), $"the journal inode is invalid ({why}); its block map and size restored from the superblock's copy (s_jnl_blocks)");
        backup.Raw.CopyTo(w.Din.Raw, 0);
        w.Changed = true;
        _links[w.Ino] = w.Din.LinksCount;
        _type[w.Ino] = Ext2DirEntry.FileTypeOf(w.Din.Mode);
    }

    /// <summary>Set when pass 1 kept the journal in inode 8.</summary>
    private bool _journalKept;

    /// <summary>After pass 4, a kept journal: the superblock's copy of its map follows the inode (e2fsck does this only when it may write).</summary>
    private void CheckJournalBackupCopy()
    {
        if (!_journalKept || _journalDeleted || _v.ReadInode(JournalIno, out Ext2Dinode din) != Errno.OK)
        {
            return;
        }
        if (Sb.JournalBackupType == Ext2Superblock.JournalBackupBlocks && Sb.JournalBackupBlockArea.SequenceEqual(din.BlockBytes))
        {
            return;
        }
        if (!_repair)
        {
            Note(Pass1, "superblock", "the superblock's copy of the journal inode's block map (s_jnl_blocks) is missing or out of date; -y writes it");
            return;
        }
        // A note, not an error: e2fsck -y writes it without counting the file system as damaged (its exit status stays 0).
        Note(Pass1, "superblock", "the superblock's copy of the journal inode's block map (s_jnl_blocks) was missing or out of date; written");
        Sb.SetJournalBackup(din.BlockBytes, din.Size);
        _sbChanged = true;
    }

    /// <summary>The inode e2fsck builds from the superblock's copy: the on-disk inode with its base fields replaced.</summary>
    private Ext2Dinode? JournalBackupInode(Ext2Dinode onDisk)
    {
        if (Sb.JournalBackupType != Ext2Superblock.JournalBackupBlocks)
        {
            return null;
        }
        var din = new Ext2Dinode((byte[])onDisk.Raw.Clone());
        // The fields past the first 128 bytes (extra size, checksum, nanoseconds) stay as they are, as e2fsck keeps them.
        din.Raw.AsSpan(0, Ext2Dinode.BaseSize).Clear();
        Sb.JournalBackupBlockArea.CopyTo(din.BlockBytes);
        din.Size = Sb.JournalBackupSize;
        din.LinksCount = 1;
        din.Mode = JournalBackupMode;
        if (_v.ExtentsFeature && Ext4Extent.ReadHeader(din.BlockBytes).Magic == Ext4Extent.Magic)
        {
            din.Flags = Ext2Dinode.FlagExtents;
        }
        return din;
    }

    /// <summary>Why <paramref name="din"/> cannot hold a journal by e2fsck's first tests, read only; null when it can.</summary>
    private string? JournalShapeProblem(Ext2Dinode din)
    {
        if (din.LinksCount == 0 || (din.Mode & 0xF000) != 0x8000 || (din.Flags & FlagEncrypt) != 0)
        {
            return $"mode 0{Convert.ToString(din.Mode, 8)}, {din.LinksCount} links, flags 0x{din.Flags:x}";
        }
        long blocks = din.Size >> _v.BlockShift;
        if (blocks < MinJournalBlocks)
        {
            return $"{blocks} blocks, fewer than {MinJournalBlocks}";
        }
        long mapped = LastMappedBlock(din) + 1;
        return mapped < blocks ? $"{mapped} of its {blocks} blocks are mapped" : null;
    }

    /// <summary>The last logical block <paramref name="din"/> maps (-1 when none, or when its map cannot be read).</summary>
    private long LastMappedBlock(Ext2Dinode din)
    {
        if ((din.Flags & Ext2Dinode.FlagExtents) != 0)
        {
            return LastInExtentNode(din.BlockBytes.ToArray(), depthLeft: 5);
        }
        long last = -1;
        long per = _v.BlockSize / 4;
        for (int i = 0; i < 15; i++)
        {
            uint p = din.BlockPointer(i);
            if (p == 0)
            {
                continue;
            }
            if (i < 12)
            {
                last = i;
                continue;
            }
            int level = i - 11;
            long start = level == 1 ? 12 : level == 2 ? 12 + per : 12 + per + (per * per);
            long inside = LastInIndirect(p, level);
            if (inside < 0)
            {
                return last;
            }
            last = start + inside;
        }
        return last;
    }

    /// <summary>The last logical block, counted from the start of this indirect block's range, that it maps; -1 for none or an unreadable block.</summary>
    private long LastInIndirect(ulong blk, int level)
    {
        if (!_v.InFs(blk) || _v.Read(blk, out byte[] data) != Errno.OK)
        {
            return -1;
        }
        long per = _v.BlockSize / 4;
        long span = level == 1 ? 1 : level == 2 ? per : per * per;
        for (long j = per - 1; j >= 0; j--)
        {
            uint q = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan((int)(j * 4)));
            if (q == 0)
            {
                continue;
            }
            if (level == 1)
            {
                return j;
            }
            long inside = LastInIndirect(q, level - 1);
            if (inside >= 0)
            {
                return (j * span) + inside;
            }
        }
        return -1;
    }

    /// <summary>The last logical block an extent node maps; -1 for none or a node that is not one.</summary>
    private long LastInExtentNode(byte[] node, int depthLeft)
    {
        Ext4Extent.Header h = Ext4Extent.ReadHeader(node);
        if (h.Magic != Ext4Extent.Magic || h.Entries == 0 || h.Entries > h.Max
            || h.Max > Ext4Extent.Capacity(node.Length) || h.Depth > depthLeft)
        {
            return -1;
        }
        int last = h.Entries - 1;
        if (h.Depth == 0)
        {
            ExtentRun x = Ext4Extent.ReadLeaf(Ext4Extent.Entry((ReadOnlySpan<byte>)node, last));
            return (long)x.Logical + x.Length - 1;
        }
        (_, ulong child) = Ext4Extent.ReadIndex(Ext4Extent.Entry((ReadOnlySpan<byte>)node, last));
        if (!_v.InFs(child) || _v.Read(child, out byte[] data) != Errno.OK)
        {
            return -1;
        }
        return LastInExtentNode(data, h.Depth - 1);
    }
}
