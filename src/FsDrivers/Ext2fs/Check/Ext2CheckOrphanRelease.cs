using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// e2fsck's release_orphan_inodes, before pass 1 and under repair only: the inodes the
/// superblock's orphan list and the orphan file name are finished as the kernel would have
/// finished them. An orphan with links was being truncated: it is cut to its size. One
/// without links was unlinked while open: it is deleted. A crash leaves orphans in a sound
/// file system, so each gets a note, not an error, and the blocks, inodes and quota usage
/// this frees are followed quietly in pass 5 and the quota check.
/// A file system marked with errors skips the release (e2fsck trusts neither list then; the
/// passes judge those inodes). A number out of range, an inode whose checksum does not
/// match, a map that does not read, or a block outside the file system, metadata or already
/// free stops the release there, reported.
/// Unlike e2fsck, a truncated orphan keeps its extended attribute block: e2fsck drops it on
/// a truncation too, where the kernel keeps it.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>Inodes the release deleted, and whether each was a directory (its bitmap bit and counts go quietly).</summary>
    private readonly Dictionary<uint, bool> _releasedInodes = [];

    /// <summary>Per quota type and id: the space and inodes the release took off (the quota files still hold them).</summary>
    private readonly Dictionary<uint, (ulong Space, ulong Inodes)>[] _releasedUsage = [[], [], []];

    /// <summary>Orphans finished so far: a bound on a list that would otherwise never end.</summary>
    private uint _orphanSteps;

    private void ReleaseOrphans()
    {
        uint head = Sb.LastOrphan;
        if (!_repair || (head == 0 && !OrphanPresent))
        {
            return;
        }
        // Win or lose, the list's head is not used again.
        Sb.LastOrphan = 0;
        _sbChanged = true;
        if ((Sb.State & Ext2Superblock.StateError) != 0)
        {
            Note(Pass0, "superblock", "the file system is marked with errors: its orphans are not released but checked by the passes");
            return;
        }
        if (head != 0 && (head < Sb.FirstIno || head > _v.InodesCount))
        {
            Error(Pass0, "superblock", $"the orphan list starts at illegal inode {head}; cleared");
            return;
        }
        for (uint ino = head; ino != 0;)
        {
            if (!ReleaseOrphan(ino, out ino))
            {
                return;
            }
        }
        if (HasOrphanFileFeature && !_orphanFileDrop && !_orphanFieldBad)
        {
            ReleaseOrphanFileSlots();
        }
    }

    /// <summary>Release every inode the orphan file's slots name, empty the slots, and clear orphan_present.</summary>
    private void ReleaseOrphanFileSlots()
    {
        uint ofIno = Sb.OrphanFileInum;
        int bs = _v.BlockSize;
        if (_v.ReadInode(ofIno, out Ext2Dinode of) != Errno.OK || of.LinksCount == 0 || of.Size % bs != 0)
        {
            return; // pass 1 reports an orphan file that cannot be used, and makes it afresh
        }
        Ext2OrphanMapCut map = Ext2OrphanMapCut.Run(_v, ofIno, of, long.MaxValue, edit: false);
        Dictionary<long, ulong> byLogical = map.Kept.ToDictionary(k => k.Logical, k => k.Physical);
        uint seed = Ext2Dinode.InodeSeed(_v.CsumSeed, ofIno, of.Generation);
        for (long logical = 0; map.Problem is null && logical < of.Size / bs; logical++)
        {
            if (!byLogical.TryGetValue(logical, out ulong phys) || _v.Read(phys, out byte[] data) != Errno.OK
                || Ext2OrphanBlock.StoredMagic(data) != Ext2OrphanBlock.Magic
                || (_v.MetadataCsum && Ext2OrphanBlock.StoredChecksum(data) != Ext2OrphanBlock.ComputeChecksum(data, seed, phys)))
            {
                return; // a hole, a bad magic or checksum: reported with the orphan file's checks
            }
            byte[] block = (byte[])data.Clone();
            bool emptied = false;
            for (int slot = 0; slot < Ext2OrphanBlock.SlotsPerBlock(bs); slot++)
            {
                uint ino = Ext2OrphanBlock.Slot(block, slot);
                if (ino == 0)
                {
                    continue;
                }
                if (!ReleaseOrphan(ino, out _))
                {
                    return;
                }
                Ext2OrphanBlock.SetSlot(block, slot, 0);
                emptied = true;
            }
            if (emptied)
            {
                if (_v.MetadataCsum)
                {
                    Ext2OrphanBlock.UpdateChecksum(block, seed, phys);
                }
                _v.Write(phys, block);
            }
        }
        if (map.Problem is null && OrphanPresent)
        {
            Sb.FeatureRoCompat &= ~Ext2Features.RoOrphanPresent;
        }
    }

    /// <summary>Finish one orphan; false when the release must stop here. <paramref name="next"/> is the list's next inode.</summary>
    private bool ReleaseOrphan(uint ino, out uint next)
    {
        next = 0;
        // An orphan met again is finished again, as e2fsck does: a cut one is cut to the same
        // size (nothing more goes, and its dtime, now 0, ends the list); a deleted one now
        // holds the time in its dtime, an illegal next inode, which stops the release.
        if (ino < Sb.FirstIno || ino > _v.InodesCount || ++_orphanSteps > _v.InodesCount
            || _v.ReadInode(ino, out Ext2Dinode din) != Errno.OK)
        {
            Error(Pass0, Ino(ino), "not an inode that can be an orphan; the orphan release stops here");
            return false;
        }
        if (_v.MetadataCsum && !din.ChecksumMatches(_v.CsumSeed, ino))
        {
            // e2fsck will not read such an inode; pass 1 judges it with the rest.
            Error(Pass0, Ino(ino), "orphan's inode checksum does not match; the orphan release stops here");
            return false;
        }
        bool truncate = din.LinksCount != 0;
        Note(Pass0, Ino(ino), $"{(truncate ? "truncating" : "clearing")} orphaned inode (mode 0{Convert.ToString(din.Mode, 8)}, size {(ulong)din.Size})");
        next = din.Dtime;
        if (next != 0 && (next < Sb.FirstIno || next > _v.InodesCount))
        {
            Error(Pass0, Ino(ino), $"the orphan list goes on to illegal inode {next}; the orphan release stops here");
            return false;
        }
        Ext2QuotaCharge? before = ChargeAsLinked(ino, din);
        ulong blocksBefore = din.BlocksRaw;
        long bs = _v.BlockSize;
        Ext2OrphanMapCut? cut = null;
        if (HasValidBlocks(din))
        {
            cut = Ext2OrphanMapCut.Run(_v, ino, din, truncate ? BlocksToKeep(din) : 0, edit: truncate);
            string? problem = cut.Problem ?? ReleaseProblem(cut.Released);
            if (problem is not null)
            {
                Error(Pass0, Ino(ino), $"orphan: {problem}; the orphan release stops here");
                return false;
            }
        }
        ulong released = (ulong)(cut?.Released.Count ?? 0);
        if (!truncate && din.FileAcl != 0 && ReleaseXattrReference(din.FileAcl))
        {
            released++;
        }
        foreach ((ulong blk, byte[] data) in cut?.Writes ?? [])
        {
            _v.Write(blk, data);
        }
        foreach (ulong b in cut?.Released ?? [])
        {
            _released.Add(b);
        }
        if (truncate)
        {
            bool fsUnits = _v.HugeFile && (din.Flags & Ext2Dinode.FlagHugeFile) != 0;
            ulong units = fsUnits ? released : released * (ulong)(bs / 512);
            din.BlocksRaw = blocksBefore >= units ? blocksBefore - units : 0;
            din.Dtime = 0;
        }
        else
        {
            din.FileAcl = 0;
            din.Dtime = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            _releasedInodes[ino] = (din.Mode & 0xF000) == 0x4000;
        }
        _v.WriteInode(ino, din);
        TakeOffUsage(before, truncate ? ChargeAsLinked(ino, din) : null);
        return true;
    }

    /// <summary>The logical blocks i_size covers (a size past what a long counts keeps every block).</summary>
    private long BlocksToKeep(Ext2Dinode din)
    {
        ulong size = (ulong)din.Size;
        ulong bs = (ulong)_v.BlockSize;
        return size > (ulong)long.MaxValue - bs ? long.MaxValue : (long)((size + bs - 1) / bs);
    }

    /// <summary>e2fsck's ext2fs_inode_has_valid_blocks2: block maps of files, directories and slow symlinks.</summary>
    private bool HasValidBlocks(Ext2Dinode din)
    {
        int type = din.Mode & 0xF000;
        if ((type != 0x8000 && type != 0x4000 && type != 0xA000) || (din.Flags & Ext2Dinode.FlagInlineData) != 0)
        {
            return false;
        }
        return type != 0xA000 || !IsFastSymlink(din);
    }

    /// <summary>Why the blocks a release frees cannot all be freed (as e2fsck checks them against its bitmap); null when they can.</summary>
    private string? ReleaseProblem(List<ulong> blocks)
    {
        var seen = new HashSet<ulong>();
        foreach (ulong b in blocks)
        {
            if (_meta[(int)b])
            {
                return $"block {b} is file-system metadata";
            }
            if (!seen.Add(b) || _released.Contains(b) || !MarkedInBitmap(b))
            {
                return $"block {b} is already free";
            }
        }
        return null;
    }

    /// <summary>Whether the on-disk block bitmap holds <paramref name="b"/> in use (an uninitialised or misplaced bitmap holds nothing).</summary>
    private bool MarkedInBitmap(ulong b)
    {
        uint g = _v.GroupOfBlock(b);
        Ext2GroupDescriptor gd = _v.Groups[g];
        if ((_v.GroupCsum && (gd.Flags & Ext2GroupDescriptor.FlagBlockUninit) != 0) || _v.MisplacedBlockBitmaps.ContainsKey(g)
            || _v.Read(gd.BlockBitmap, out byte[] bitmap) != Errno.OK)
        {
            return false;
        }
        ulong i = b - _v.GroupFirstBlock(g);
        return (bitmap[(int)(i >> 3)] & (1 << (int)(i & 7))) != 0;
    }

    /// <summary>One reference less on a deleted orphan's attribute block; true when that frees the block.</summary>
    private bool ReleaseXattrReference(ulong blk)
    {
        if (!_v.InFs(blk) || _v.Read(blk, out byte[] raw) != Errno.OK
            || BinaryPrimitives.ReadUInt32LittleEndian(raw) != Ext2XattrEntry.Magic)
        {
            return false; // not a block to touch: pass 1 judges what else names it
        }
        byte[] data = (byte[])raw.Clone();
        uint refs = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(Ext2XattrEntry.BlockOff.RefCount));
        if (refs <= 1)
        {
            if (_meta[(int)blk] || _released.Contains(blk) || !MarkedInBitmap(blk))
            {
                return false;
            }
            _released.Add(blk);
            return true;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(Ext2XattrEntry.BlockOff.RefCount), refs - 1);
        if (_v.MetadataCsum)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(Ext2XattrEntry.BlockOff.Checksum),
                Ext2XattrEntry.BlockChecksum(data, blk, _v.CsumSeed));
        }
        _v.Write(blk, data);
        return false;
    }

    /// <summary>What the inode is charged in the quota files, links or not (an open unlinked file is charged until freed).</summary>
    private Ext2QuotaCharge? ChargeAsLinked(uint ino, Ext2Dinode din)
    {
        if (!QuotaFeature)
        {
            return null;
        }
        var linked = new Ext2Dinode((byte[])din.Raw.Clone()) { LinksCount = Math.Max(din.LinksCount, (ushort)1) };
        return Ext2QuotaCharge.Of(Sb, ino, linked);
    }

    /// <summary>Record what the release took off each id's usage: the space freed, and the inode when it was deleted.</summary>
    private void TakeOffUsage(Ext2QuotaCharge? before, Ext2QuotaCharge? after)
    {
        if (before is not Ext2QuotaCharge b)
        {
            return;
        }
        ulong space = b.Space - Math.Min(b.Space, after?.Space ?? 0);
        ulong inodes = after is null ? 1UL : 0UL;
        for (int type = 0; type < _releasedUsage.Length; type++)
        {
            (ulong s, ulong n) = _releasedUsage[type].GetValueOrDefault(b.IdOf(type));
            _releasedUsage[type][b.IdOf(type)] = (s + space, n + inodes);
        }
    }
}
