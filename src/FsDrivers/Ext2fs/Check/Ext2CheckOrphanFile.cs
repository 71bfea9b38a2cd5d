using RumpFs.FsDrivers.Ext2fs.Newfs;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// ext4's orphan file (compat feature orphan_file, made by default by mke2fs 1.47.1 and
/// later): a hidden regular file, named by s_orphan_file_inum and by no directory, whose
/// blocks are slots for the inodes being deleted or truncated, each block ending in a magic
/// and (metadata_csum) a checksum. Judged as e2fsck judges it: in use whatever its link
/// count, a regular file of whole blocks without holes, every block clean after the check
/// (orphans have no links, so the passes have already released them, as e2fsck's orphan
/// processing does); orphan_present is cleared once the file is clean. A file that cannot be
/// cleaned is made afresh under repair, as e2fsck does.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private const string PassOrphan = "orphan file";

    /// <summary>Set in pass 0 under repair: the orphan file goes with its feature (no journal, or no usable inode).</summary>
    private bool _orphanFileDrop;

    /// <summary>Set in pass 0: the superblock names no inode that could be the orphan file (0, reserved, past the end).</summary>
    private bool _orphanFieldBad;

    /// <summary>Set in pass 1 under repair: the orphan file is cleared there and made afresh after pass 4.</summary>
    private bool _orphanFileRemake;

    /// <summary>Why pass 1 found the orphan file unusable; null while it is sound.</summary>
    private string? _orphanFileBroken;

    private bool HasOrphanFileFeature => (Sb.FeatureCompat & Ext2Features.CompatOrphanFile) != 0;

    private bool OrphanPresent => (Sb.FeatureRoCompat & Ext2Features.RoOrphanPresent) != 0;

    /// <summary>True for the inode the feature names as the orphan file: hidden, like the quota files.</summary>
    private bool IsOrphanFileInode(uint ino) => ino != 0 && HasOrphanFileFeature && !_orphanFileDrop && !_orphanFieldBad && ino == Sb.OrphanFileInum;

    /// <summary>Inodes the superblock names for a role of their own beyond the reserved ones: no entry names them.</summary>
    private bool IsHiddenSpecialFile(uint ino) => IsNamedQuotaFile(ino) || IsOrphanFileInode(ino);

    /// <summary>Pass 0: the feature flags and the superblock field against each other and the journal.</summary>
    private void CheckOrphanFileFields()
    {
        uint ino = Sb.OrphanFileInum;
        if (!HasOrphanFileFeature)
        {
            if (OrphanPresent)
            {
                Error(Pass0, "superblock", "orphan_present is set but orphan_file is not; cleared");
                if (_repair)
                {
                    Sb.FeatureRoCompat &= ~Ext2Features.RoOrphanPresent;
                    _sbChanged = true;
                }
            }
            if (ino != 0 && ino <= _v.InodesCount && _v.ReadInode(ino, out Ext2Dinode din) == Errno.OK
                && (din.LinksCount != 0 || din.BlocksRaw != 0 || din.BlockPointer(0) != 0))
            {
                // The kernel ignores the field without the feature; e2fsck would clear the
                // inode it names, an ordinary file by now. The field is what is stale.
                Note(Pass0, "superblock", $"the orphan file field names inode {ino} though orphan_file is off; "
                    + (_repair ? "cleared" : "-y clears it (e2fsck would clear the inode)"));
                if (_repair)
                {
                    Sb.OrphanFileInum = 0;
                    _sbChanged = true;
                }
            }
            return;
        }
        string? why = ino == 0 ? "names no inode"
            : ino > _v.InodesCount ? $"names inode {ino}, past the last inode"
            : ino < Sb.FirstIno ? $"names inode {ino}, a reserved inode of another role"
            : !HasJournalFeature ? "is set without a journal"
            : null;
        if (why is null)
        {
            return;
        }
        _orphanFieldBad = ino == 0 || ino > _v.InodesCount || ino < Sb.FirstIno;
        Error(Pass0, "superblock", $"orphan_file {why}; " + (_repair ? "the orphan file is removed and the feature cleared" : "the orphan file would be removed"));
        if (_repair)
        {
            _orphanFileDrop = true;
        }
    }

    /// <summary>
    /// Pass 1 for the orphan file's inode: in use whatever its link count, a regular file
    /// (its type is set when not), blocks claimed and counted as any file's, and its shape:
    /// whole blocks, no holes. Under repair an unusable one is cleared here and made afresh
    /// after pass 4.
    /// </summary>
    private void CheckOrphanFileInode(InodeWalk w)
    {
        uint ino = w.Ino;
        _inUse[(int)ino] = true;
        if (w.Din.LinksCount == 0)
        {
            // e2fsck frees it as any deleted inode, and the kernel then refuses the mount
            // (it cannot read the orphan file): made afresh instead, links and all.
            Error(Pass1, Ino(ino), "the orphan file has no links (a deleted inode); " + (_repair ? "made afresh" : "it would be made afresh"));
            _type[ino] = 1;
            DropOrphanFileInode(w);
            _orphanFileRemake = _repair;
            _orphanFileBroken = "it has no links";
            return;
        }
        if ((w.Din.Mode & 0xF000) != 0x8000)
        {
            Error(Pass1, Ino(ino), $"the orphan file is not a regular file (mode 0{Convert.ToString(w.Din.Mode, 8)}); made one");
            w.Din.Mode = 0x8000;
            w.Changed = true;
        }
        _type[ino] = 1;
        _links[ino] = w.Din.LinksCount;
        WalkBlocksInPass1(w);
        ClaimXattrBlock(w);
        long bs = _v.BlockSize;
        long size = w.Din.Size;
        long wholeBlocks = size / bs;
        _orphanFileBroken = w.BadTree || w.DroppedNode || w.Illegal > 0 ? "its block map is damaged"
            : size % bs != 0 ? $"its size {size} is not a whole number of blocks"
            : w.DirBlocks.Count != wholeBlocks || (wholeBlocks > 0 && w.DirBlocks.Max(b => b.Logical) != wholeBlocks - 1)
                ? $"its {wholeBlocks} blocks are not all mapped (holes or blocks past its size)"
            : null;
        if (_orphanFileBroken is null)
        {
            CheckBlockCount(w);
            return;
        }
        Error(Pass1, Ino(ino), $"the orphan file is unusable: {_orphanFileBroken}; " + (_repair ? "made afresh" : "it would be made afresh"));
        if (_repair)
        {
            ClearOrphanFileInode(w);
            _orphanFileRemake = true;
        }
    }

    /// <summary>Pass 1, when the orphan file goes (or is to be made afresh): its blocks are claimed, and under repair released with the inode.</summary>
    private void DropOrphanFileInode(InodeWalk w)
    {
        WalkBlocksInPass1(w);
        ClaimXattrBlock(w);
        if (_repair)
        {
            ClearOrphanFileInode(w);
        }
    }

    /// <summary>
    /// Clear the orphan file's inode and release its blocks quietly (pass 5 does not report
    /// them): e2fsck removes it with a punch that updates the bitmaps itself.
    /// </summary>
    private void ClearOrphanFileInode(InodeWalk w)
    {
        List<ulong> held = [.. w.Marked.SelectMany(r => Enumerable.Range(0, r.Count).Select(k => r.Start + (ulong)k))];
        ClearInode(w);
        foreach (ulong b in held.Where(b => !_used[(int)b]))
        {
            _released.Add(b);
        }
        w.DirBlocks.Clear();
        // Not an unused inode with a dtime: e2fsck's truncation leaves it all zeros.
        w.Din.Dtime = 0;
    }

    /// <summary>
    /// After pass 4: a dropped orphan file takes its feature flags with it, an unusable one
    /// is made afresh, and every block of a sound one must be clean (no slot in use, the
    /// magic, the checksum); orphan_present is cleared once it is.
    /// </summary>
    private void CheckOrphanFileBlocks()
    {
        if (_orphanFileDrop)
        {
            Sb.FeatureCompat &= ~Ext2Features.CompatOrphanFile;
            Sb.FeatureRoCompat &= ~Ext2Features.RoOrphanPresent;
            Sb.OrphanFileInum = 0;
            _sbChanged = true;
            return;
        }
        if (!HasOrphanFileFeature || _orphanFieldBad)
        {
            return; // a bad field is reported in pass 0
        }
        uint ino = Sb.OrphanFileInum;
        if (!_inUse[(int)ino] && !_orphanFileRemake)
        {
            // Never reached by pass 1 (its group's inodes were marked unused).
            Error(PassOrphan, Ino(ino), "the orphan file was not found in use; " + (_repair ? "made afresh" : "it would be made afresh"));
            _orphanFileRemake = _repair;
        }
        if (_orphanFileRemake)
        {
            RemakeOrphanFile(ino);
            return;
        }
        if (_orphanFileBroken is not null)
        {
            return; // reported in pass 1, left as it is under -n
        }
        bool dirty = false;
        foreach ((uint logical, ulong phys) in _fileMaps.GetValueOrDefault(ino, []).OrderBy(b => b.Logical))
        {
            byte[] clean = CleanOrphanBlock(ino, OrphanFileGeneration(ino), phys);
            if (_v.Read(phys, out byte[] data) == Errno.OK && data.AsSpan().SequenceEqual(clean))
            {
                continue;
            }
            dirty = true;
            Error(PassOrphan, $"{Ino(ino)} block {logical}", "orphan file block is not clean; " + (_repair ? "cleared" : "it would be cleared"));
            if (_repair)
            {
                _v.Write(phys, clean);
            }
        }
        if (!OrphanPresent || (dirty && !_repair))
        {
            return;
        }
        if (!dirty)
        {
            // e2fsck -n exits 4 on this one too, though the kernel would mount the image.
            Error(PassOrphan, "superblock", "orphan_present is set but the orphan file is clean; " + (_repair ? "cleared" : "it would be cleared"));
        }
        if (_repair)
        {
            Sb.FeatureRoCompat &= ~Ext2Features.RoOrphanPresent;
            _sbChanged = true;
        }
    }

    private uint OrphanFileGeneration(uint ino) => _v.ReadInode(ino, out Ext2Dinode din) == Errno.OK ? din.Generation : 0;

    /// <summary>A block as e2fsck and mke2fs write it: every slot 0, the magic, the checksum under metadata_csum.</summary>
    private byte[] CleanOrphanBlock(uint ino, uint generation, ulong phys)
    {
        byte[] b = new byte[_v.BlockSize];
        Ext2OrphanBlock.Format(b, _v.MetadataCsum, Ext2Dinode.InodeSeed(_v.CsumSeed, ino, generation), phys);
        return b;
    }

    /// <summary>A new orphan file in the same inode, as e2fsck's ext2fs_create_orphan_file lays it out.</summary>
    private void RemakeOrphanFile(uint ino)
    {
        uint blocks = Ext2OrphanBlock.DefaultBlocks(_v.BlocksCount);
        int bs = _v.BlockSize;
        uint seed = Ext2Dinode.InodeSeed(_v.CsumSeed, ino, 0);
        Ext2NewFile? file = Ext2NewFile.Allocate(new CheckBlockSource(this), bs, Sb.FirstDataBlock, blocks, _v.ExtentsFeature, _v.MetadataCsum, seed);
        if (file is null)
        {
            Error(PassOrphan, Ino(ino), $"no room for a new orphan file of {blocks} blocks; orphan_file cleared");
            Sb.FeatureCompat &= ~Ext2Features.CompatOrphanFile;
            Sb.FeatureRoCompat &= ~Ext2Features.RoOrphanPresent;
            Sb.OrphanFileInum = 0;
            _sbChanged = true;
            return;
        }
        foreach ((uint start, uint length) in file.Runs)
        {
            for (uint k = 0; k < length; k++)
            {
                _v.Write(start + k, CleanOrphanBlock(ino, 0, start + k));
            }
        }
        foreach ((uint blk, byte[] data) in file.MapBlocks)
        {
            _v.Write(blk, data);
        }
        Ext2Dinode din = NewInode(0x8180, 1);
        din.Size = (long)blocks * bs;
        din.BlocksRaw = file.TotalBlocks * (ulong)(bs / 512);
        din.Flags = file.InodeFlags;
        file.BlockArea.CopyTo(din.BlockBytes);
        _v.WriteInode(ino, din);
        _inUse[(int)ino] = true;
        _allocatedInodes.Add(ino);
        _type[ino] = 1;
        _links[ino] = 1;
        Sb.FeatureRoCompat &= ~Ext2Features.RoOrphanPresent;
        _sbChanged = true;
        Note(PassOrphan, Ino(ino), $"orphan file made afresh ({blocks} blocks)");
    }
}
