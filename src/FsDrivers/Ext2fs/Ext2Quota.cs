using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// The quota files of a read-write mount (ro_compat quota), kept as the kernel keeps them:
/// each change to what an inode charges (<see cref="Ext2QuotaCharge"/>: a new or freed inode,
/// blocks gained or lost, a new owner or group) is gathered when the inode is copied into its
/// table block, by comparing the copy it replaces, and <see cref="Flush"/> (from Sync, so at
/// unmount too) adds the totals to the records of the user, group and project quota files.
/// Limits are enforced elsewhere (<see cref="Ext2QuotaLimits"/>, with -o usrquota...);
/// this keeps the usage, which e2fsck finds right.
/// </summary>
internal sealed class Ext2Quota(Ext2Mount m)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, (long Space, long Inodes)>[] _pending = [[], [], []];

    /// <summary>A quota file larger than this is taken for damage, not read.</summary>
    private const long MaxFileSize = 64L << 20;

    public bool Enabled => (m.Sb.FeatureRoCompat & Ext2Features.RoQuota) != 0;

    /// <summary>Inode <paramref name="ino"/> goes from <paramref name="before"/> (null: a new inode) to <paramref name="after"/>.</summary>
    public void Account(uint ino, Ext2Dinode? before, Ext2Dinode after)
    {
        if (!Enabled)
        {
            return;
        }
        Ext2QuotaCharge? was = before is null ? null : Ext2QuotaCharge.Of(m.Sb, ino, before);
        Ext2QuotaCharge? now = Ext2QuotaCharge.Of(m.Sb, ino, after);
        if (was == now)
        {
            return;
        }
        lock (_lock)
        {
            Add(was, -1);
            Add(now, +1);
        }
    }

    private void Add(Ext2QuotaCharge? charge, int sign)
    {
        if (charge is not Ext2QuotaCharge c)
        {
            return;
        }
        int types = Ext2QuotaCharge.ProjectsKept(m.Sb) ? 3 : 2;
        for (int type = 0; type < types; type++)
        {
            uint id = c.IdOf(type);
            (long space, long inodes) = _pending[type].GetValueOrDefault(id);
            _pending[type][id] = (space + (sign * (long)c.Space), inodes + sign);
        }
    }

    /// <summary>Add what was gathered to the quota files (after the inodes are written back).</summary>
    public Errno Flush()
    {
        if (!Enabled)
        {
            return Errno.OK;
        }
        Dictionary<uint, (long Space, long Inodes)>[] work = new Dictionary<uint, (long, long)>[3];
        lock (_lock)
        {
            for (int type = 0; type < 3; type++)
            {
                work[type] = new Dictionary<uint, (long, long)>(_pending[type].Where(kv => kv.Value != (0, 0)));
                _pending[type].Clear();
            }
        }
        Errno first = Errno.OK;
        for (int type = 0; type < 3; type++)
        {
            uint qino = m.Sb.QuotaInum(type);
            if (work[type].Count == 0 || qino == 0)
            {
                continue;
            }
            Errno e = UpdateFile(type, qino, work[type]);
            first = first == Errno.OK ? e : first;
        }
        return first;
    }

    private Errno UpdateFile(int type, uint qino, Dictionary<uint, (long Space, long Inodes)> deltas)
    {
        Errno e = m.VGet(qino, out Vnode? vp);
        if (e != Errno.OK)
        {
            return e;
        }
        try
        {
            var n = (Ext2Node)vp!;
            lock (n.Lock)
            {
                return UpdateFile(n, type, deltas);
            }
        }
        finally
        {
            vp!.Release();
        }
    }

    private Errno UpdateFile(Ext2Node n, int type, Dictionary<uint, (long Space, long Inodes)> deltas)
    {
        long size = n.Din.Size;
        if (n.Type != VType.Regular || size > MaxFileSize)
        {
            // Logged and the file system marked in error (so fsck runs), as ext4_error does;
            // the writes it counted stand.
            m.Corrupt(0, $"quota file inode {n.Number} is not a quota file (type {n.Type}, {size} bytes); its usage is not updated");
            return Errno.OK;
        }
        byte[] content = new byte[size];
        Errno e = n.Read(0, content, out int got);
        if (e != Errno.OK)
        {
            return e;
        }
        List<Ext2QuotaEntry>? entries = Ext2QuotaTree.Read(content.AsSpan(0, got), type, out Ext2QuotaInfo info, out string? why);
        if (entries is null || why is not null)
        {
            // Not written over: e2fsck rebuilds it from the inodes.
            m.Corrupt(0, $"quota file inode {n.Number} cannot be read: {why}; its usage is not updated");
            return Errno.OK;
        }
        var byId = entries.GroupBy(q => q.Id).ToDictionary(g => g.Key, g => g.Last());
        ulong now = (ulong)m.Clock.Now.Seconds;
        foreach ((uint id, (long space, long inodes)) in deltas)
        {
            if (!byId.TryGetValue(id, out Ext2QuotaEntry? q))
            {
                q = byId[id] = new Ext2QuotaEntry(id);
            }
            m.Limits.WriteBack(type, q, (ulong)Math.Max(0, (long)q.Space + space), (ulong)Math.Max(0, (long)q.Inodes + inodes), now, info.Grace);
        }
        // The file's own grace times stay, as the kernel writes back what it read (v2_write_file_info).
        byte[] rebuilt = Ext2QuotaTree.Build(type, byId.Values, info.Grace);
        // Sized by its 1 KiB quota blocks, as e2fsprogs sizes it; a tree that shrank leaves
        // zeros up to the old size (its blocks stay mapped).
        byte[] whole = new byte[Math.Max(size, rebuilt.Length)];
        rebuilt.CopyTo(whole, 0);
        e = n.Write(0, whole, out int written);
        if (e == Errno.OK && written != whole.Length)
        {
            e = Errno.ENOSPC;
        }
        return e != Errno.OK ? e : n.Update();
    }
}
