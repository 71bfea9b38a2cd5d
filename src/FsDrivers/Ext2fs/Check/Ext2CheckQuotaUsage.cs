using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// The quota files' usage, as e2fsck checks it after pass 5: every id's space (the blocks
/// its inodes hold, in bytes) and inode count, counted over the inodes in use once every
/// repair is made, against the records of the user, group and project quota files the
/// superblock names. A file that differs, or that cannot be read as a quota tree, is written
/// afresh under repair as e2fsck writes a new one (quota_write_inode): ids in ascending
/// order, the limits kept, the grace times in the info a week whatever the old file held,
/// and every deadline started again from now (e2fsck reads only the old records' limits, so
/// an id over a soft limit gets now plus the week), into the file's own blocks, growing it
/// when it needs more.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private const string PassQuota = "quota";

    /// <summary>Data block maps pass 1 kept (quota files, the orphan file), by inode.</summary>
    private readonly Dictionary<uint, List<(uint Logical, ulong Physical)>> _fileMaps = [];

    private bool QuotaFeature => (Sb.FeatureRoCompat & Ext2Features.RoQuota) != 0;

    /// <summary>An inode the superblock names as a quota file while the feature is on.</summary>
    private bool IsQuotaFileInode(uint ino) => QuotaFeature && Sb.NamesQuotaInode(ino);

    private void CheckQuotaUsage()
    {
        if (!QuotaFeature)
        {
            return;
        }
        Dictionary<uint, (ulong Space, ulong Inodes)>[] counted = CountQuotaUsage();
        for (int type = 0; type < Ext2QuotaTree.Magics.Length; type++)
        {
            uint qino = Sb.QuotaInum(type);
            if (qino == 0 || qino > _v.InodesCount || !_inUse[(int)qino] || _type[qino] != 1
                || !_fileMaps.TryGetValue(qino, out List<(uint Logical, ulong Physical)>? map))
            {
                continue; // no quota file of this type, or one pass 0 or 1 has reported
            }
            CheckQuotaFile(type, qino, map, counted[type]);
        }
    }

    /// <summary>Space and inodes per user, group and project id, over the inodes e2fsck charges.</summary>
    private Dictionary<uint, (ulong Space, ulong Inodes)>[] CountQuotaUsage()
    {
        Dictionary<uint, (ulong, ulong)>[] counted = [[], [], []];
        int types = Ext2QuotaCharge.ProjectsKept(Sb) ? 3 : 2;
        for (uint ino = 1; ino <= _v.InodesCount; ino++)
        {
            if (!_inUse[(int)ino] || (ino < Sb.FirstIno && ino != RootIno) || _v.ReadInode(ino, out Ext2Dinode din) != Errno.OK
                || Ext2QuotaCharge.Of(Sb, ino, din) is not Ext2QuotaCharge charge)
            {
                continue;
            }
            for (int type = 0; type < types; type++)
            {
                Charge(counted[type], charge.IdOf(type), charge.Space);
            }
        }
        return counted;
    }

    private static void Charge(Dictionary<uint, (ulong Space, ulong Inodes)> usage, uint id, ulong space)
    {
        (ulong s, ulong n) = usage.GetValueOrDefault(id);
        usage[id] = (s + space, n + 1);
    }

    private void CheckQuotaFile(int type, uint qino, List<(uint Logical, ulong Physical)> map, Dictionary<uint, (ulong Space, ulong Inodes)> counted)
    {
        string what = $"{QuotaTypeNames[type]} quota file (inode {qino})";
        if (_v.ReadInode(qino, out Ext2Dinode din) != Errno.OK)
        {
            return;
        }
        byte[] content = ReadMappedFile(din.Size, map);
        List<Ext2QuotaEntry>? entries = Ext2QuotaTree.Read(content, type, out string? damage);
        if (entries is null)
        {
            Error(PassQuota, what, $"cannot be read: {damage}; " + (_repair ? "written afresh from the usage counted" : "it would be written afresh"));
            if (_repair)
            {
                WriteQuotaFile(type, qino, din, map, Merge([], counted));
            }
            return;
        }
        if (damage is not null)
        {
            // As e2fsck: the records read before the damage keep their limits.
            Error(PassQuota, what, $"is damaged: {damage}; " + (_repair ? "written afresh with the limits of the records read before it" : "it would be written afresh"));
            if (_repair)
            {
                WriteQuotaFile(type, qino, din, map, Merge(entries, counted));
            }
            return;
        }
        var wrong = new List<string>();
        var inFile = new HashSet<uint>();
        bool released = false;
        foreach (Ext2QuotaEntry e in entries)
        {
            inFile.Add(e.Id);
            (ulong space, ulong inodes) = counted.GetValueOrDefault(e.Id);
            // The orphans released before pass 1 were still charged here: that part is no damage.
            (ulong relSpace, ulong relInodes) = _releasedUsage[type].GetValueOrDefault(e.Id);
            if (e.Space == space + relSpace && e.Inodes == inodes + relInodes)
            {
                released |= relSpace != 0 || relInodes != 0;
            }
            else
            {
                wrong.Add($"id {e.Id}: file says {e.Space} bytes and {e.Inodes} inodes, counted {space} and {inodes}");
            }
        }
        foreach ((uint id, (ulong space, ulong inodes)) in counted.OrderBy(kv => kv.Key))
        {
            if (!inFile.Contains(id))
            {
                wrong.Add($"id {id}: no record, counted {space} bytes and {inodes} inodes");
            }
        }
        if (wrong.Count == 0)
        {
            if (released && _repair)
            {
                Note(PassQuota, what, "usage of the released orphans taken off");
                WriteQuotaFile(type, qino, din, map, Merge(entries, counted));
            }
            return;
        }
        string shown = string.Join("; ", wrong.Take(3)) + (wrong.Count > 3 ? $"; {wrong.Count - 3} more" : "");
        Error(PassQuota, what, $"usage differs ({shown}); " + (_repair ? "written afresh" : "it would be written afresh"));
        if (_repair)
        {
            WriteQuotaFile(type, qino, din, map, Merge(entries, counted));
        }
    }

    /// <summary>The file's bytes up to <paramref name="size"/>, holes as zeros.</summary>
    private byte[] ReadMappedFile(long size, List<(uint Logical, ulong Physical)> map)
    {
        int bs = _v.BlockSize;
        byte[] content = new byte[Math.Clamp(size, 0, 1L << 30)];
        foreach ((uint logical, ulong phys) in map)
        {
            long at = (long)logical * bs;
            if (at < content.Length && _v.Read(phys, out byte[] data) == Errno.OK)
            {
                data.AsSpan(0, (int)Math.Min(bs, content.Length - at)).CopyTo(content.AsSpan((int)at));
            }
        }
        return content;
    }

    /// <summary>
    /// The records to write: every id of the file (its limits kept) and every id counted,
    /// with the usage counted and the deadlines that follow from it now
    /// (<see cref="Ext2QuotaEntry.SetUsage"/> with e2fsprogs's week). The old deadlines go,
    /// as e2fsck's scan of the old file copies only the limits into the records it writes.
    /// </summary>
    private static List<Ext2QuotaEntry> Merge(List<Ext2QuotaEntry> fromFile, Dictionary<uint, (ulong Space, ulong Inodes)> counted)
    {
        // Two records of one id (a damaged file): the last read wins, as e2fsck copies each in turn.
        var byId = fromFile.GroupBy(e => e.Id).ToDictionary(g => g.Key, g => g.Last());
        foreach (uint id in counted.Keys)
        {
            byId.TryAdd(id, new Ext2QuotaEntry(id));
        }
        ulong now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (Ext2QuotaEntry e in byId.Values)
        {
            (ulong space, ulong inodes) = counted.GetValueOrDefault(e.Id);
            e.SpaceGraceEnd = 0;
            e.InodeGraceEnd = 0;
            e.SetUsage(space, inodes, now, Ext2QuotaGrace.Week);
        }
        return [.. byId.Values];
    }

    /// <summary>
    /// Write a new quota file over the old one's blocks, mapping more after its last block
    /// when it needs them and releasing those it no longer needs.
    /// </summary>
    private void WriteQuotaFile(int type, uint qino, Ext2Dinode din, List<(uint Logical, ulong Physical)> map, List<Ext2QuotaEntry> entries)
    {
        int bs = _v.BlockSize;
        // e2fsck makes the file anew (quota_file_create): the week's grace times, not the old file's.
        byte[] content = Ext2QuotaTree.Build(type, entries, Ext2QuotaGrace.Week);
        var blocks = map.OrderBy(b => b.Logical).ToList();
        int need = (content.Length + bs - 1) / bs;
        bool contiguous = blocks.Select((b, i) => b.Logical == (uint)i).All(x => x);
        if (!contiguous)
        {
            Error(PassQuota, $"{QuotaTypeNames[type]} quota file (inode {qino})", "has holes; not rewritten", fixable: false);
            return;
        }
        // e2fsprogs writes the file anew: blocks past the new tree go (and the size, below, is
        // that of its 1 KiB quota blocks).
        if (blocks.Count > need && ReleaseBlocksFrom(qino, din, (uint)need, out _))
        {
            blocks.RemoveRange(need, blocks.Count - need);
        }
        while (blocks.Count < need)
        {
            uint logical = (uint)blocks.Count;
            ulong blk = blocks.Count > 0 ? AllocBlockAt(blocks[^1].Physical + 1) : 0;
            blk = blk != 0 ? blk : AllocBlocks(1);
            if (blk == 0 || !MapNewBlock(qino, din, logical, blk))
            {
                Error(PassQuota, $"{QuotaTypeNames[type]} quota file (inode {qino})", "cannot grow to hold its records; not rewritten", fixable: false);
                return;
            }
            CountOneBlock(din);
            blocks.Add((logical, blk));
        }
        for (int i = 0; i < blocks.Count; i++)
        {
            byte[] data = new byte[bs];
            if (i * bs < content.Length)
            {
                content.AsSpan(i * bs, Math.Min(bs, content.Length - (i * bs))).CopyTo(data);
            }
            _v.Write(blocks[i].Physical, data);
        }
        din.Size = blocks.Count == need ? content.Length : (long)blocks.Count * bs;
        _v.WriteInode(qino, din);
        map.Clear();
        map.AddRange(blocks);
    }
}
