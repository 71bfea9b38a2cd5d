using RumpFs.FsDrivers.Ext2fs.Newfs;
using RumpFs.FsDrivers.Ext2fs.OnDisk;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// An invalid journal under repair, as e2fsck -y treats it: deleted ("journal has been
/// deleted"), its inode cleared, and after pass 4 made again ("Recreate journal"): mke2fs's
/// default size for the volume, from the middle group on, zeroed, with a fresh journal
/// superblock and the superblock's copy of the inode's map.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private bool _journalDeleted;

    /// <summary>Forget the journal in the superblock; pass 1 clears the inode that held it.</summary>
    private void DeleteJournal()
    {
        Sb.FeatureCompat &= ~Ext2Features.CompatHasJournal;
        Sb.ClearJournalFields();
        Sb.SetJournalBackup([], 0);
        _sbChanged = true;
        _journalDeleted = true;
    }

    /// <summary>Pass 1: the invalid journal's inode goes, its blocks with it.</summary>
    private void ClearJournalInode(InodeWalk w)
    {
        ClearInode(w);
        // A reserved inode stays "in use", all zero, as e2fsck leaves it.
        w.Din.Dtime = 0;
        _inUse[(int)w.Ino] = true;
    }

    private void RecreateJournal()
    {
        if (!_journalDeleted || !_repair)
        {
            return;
        }
        uint blocks = Newfs.Ext2Geometry.DefaultJournalBlocks((uint)Math.Min(_v.BlocksCount, uint.MaxValue));
        if (blocks == 0)
        {
            Note(PassJournal, Ino(JournalIno), "the journal was deleted; the file system is too small for a new one");
            return;
        }
        int bs = _v.BlockSize;
        uint seed = Ext2Dinode.InodeSeed(_v.CsumSeed, JournalIno, 0);
        Ext2NewFile? file = Ext2NewFile.Allocate(new CheckBlockSource(this), bs, JournalGoal(), blocks, _v.ExtentsFeature, _v.MetadataCsum, seed);
        if (file is null)
        {
            Note(PassJournal, Ino(JournalIno), $"the journal was deleted; no room for a new one of {blocks} blocks");
            return;
        }
        foreach ((uint start, uint length) in file.Runs)
        {
            _v.ZeroOnWriteBack(start, length);
        }
        _v.Write(file.Runs[0].Start, Ext2NewJournal.Superblock(bs, blocks, Sb.Uuid));
        foreach ((uint blk, byte[] data) in file.MapBlocks)
        {
            _v.Write(blk, data);
        }
        long size = (long)blocks * bs;
        Ext2Dinode din = NewInode(0x8180, 1);
        din.Size = size;
        din.BlocksRaw = file.TotalBlocks * (ulong)(bs / 512);
        din.Flags = file.InodeFlags;
        file.BlockArea.CopyTo(din.BlockBytes);
        _v.WriteInode(JournalIno, din);
        _type[JournalIno] = Ext2DirEntry.FileTypeOf(din.Mode);
        Sb.FeatureCompat |= Ext2Features.CompatHasJournal;
        Sb.JournalInum = JournalIno;
        Sb.SetJournalBackup(file.BlockArea, size);
        _sbChanged = true;
        Note(PassJournal, Ino(JournalIno), $"journal recreated ({blocks} blocks)");
    }

    private const string PassJournal = "journal";

    /// <summary>The first block of the middle group (of its flex group's first, with flex_bg), where mke2fs puts the journal.</summary>
    private uint JournalGoal()
    {
        uint mid = (uint)((_v.BlocksCount - Sb.FirstDataBlock) / 2 / Sb.BlocksPerGroup);
        uint flex = 1u << Sb.LogGroupsPerFlex;
        if ((Sb.FeatureIncompat & Ext2Features.IncompatFlexBg) != 0 && mid > flex)
        {
            mid &= ~(flex - 1);
        }
        return (uint)Math.Min(_v.GroupFirstBlock(Math.Min(mid, _v.GroupCount - 1)), uint.MaxValue);
    }

    /// <summary>Free blocks as the check counts them; what it hands out is a repair's, not damage, in pass 5.</summary>
    private sealed class CheckBlockSource(Ext2CheckRun run) : IExt2BlockSource
    {
        public uint? AllocRun(uint goal, uint count)
        {
            foreach ((ulong from, ulong to) in Ranges(goal))
            {
                ulong length = 0;
                for (ulong b = from; b < to; b++)
                {
                    length = run._used[(int)b] ? 0 : length + 1;
                    if (length == count)
                    {
                        ulong first = b + 1 - count;
                        Take(first, count);
                        return (uint)first;
                    }
                }
            }
            return null;
        }

        public List<(uint Start, uint Length)>? AllocRuns(uint goal, uint count, uint maxRun)
        {
            List<(uint Start, uint Length)>? runs = Ext2FreeRuns.Gather(FreeFrom(goal), count, maxRun);
            foreach ((uint s, uint n) in runs ?? [])
            {
                Take(s, n);
            }
            return runs;
        }

        private IEnumerable<uint> FreeFrom(uint goal)
        {
            foreach ((ulong from, ulong to) in Ranges(goal))
            {
                for (ulong b = from; b < to; b++)
                {
                    if (!run._used[(int)b])
                    {
                        yield return (uint)b;
                    }
                }
            }
        }

        /// <summary>From the goal to the end, then from the first data block up to the goal.</summary>
        private (ulong From, ulong To)[] Ranges(ulong goal)
        {
            ulong first = run.Sb.FirstDataBlock;
            ulong end = Math.Min(run._v.BlocksCount, uint.MaxValue);
            goal = Math.Clamp(goal, first, end);
            return [(goal, end), (first, goal)];
        }

        public void Release(uint start, uint count)
        {
            for (ulong b = start; b < (ulong)start + count; b++)
            {
                run._used[(int)b] = false;
                run._allocated.Remove(b);
            }
        }

        private void Take(ulong start, ulong count)
        {
            for (ulong b = start; b < start + count; b++)
            {
                run._used[(int)b] = true;
                run._allocated.Add(b);
            }
        }
    }
}
