using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Quota limits enforced, as ext4 enforces them with the quota feature and the mount options
/// usrquota (or quota), grpquota and prjquota (Linux's fs/quota/dquot.c, check_bdq and
/// check_idq): going over a hard limit is EDQUOT at once; going over a soft limit starts
/// its grace time and is EDQUOT once that has run out; a caller with CAP_SYS_RESOURCE
/// (root here) passes both, though it still starts the grace time; usage back at or under
/// the soft limit ends it. The grace time is the quota file's
/// own (dqi_bgrace for space, dqi_igrace for inodes, per type), read at mount as
/// v2_read_file_info reads it: any value as it stands, 0 meaning that the deadline is the
/// moment the soft limit is passed. Without the options the usage is kept (Ext2Quota) and
/// nothing is refused, as before.
/// The live usage of every id that has a limit is the quota file's at mount plus every
/// change to an inode's charge since, which the inode reports whenever it is marked dirty
/// (<see cref="Ext2Node"/>'s ReportCharge), so it counts changes not yet written back.
/// A check and the allocation it allows are not one atomic step: writers of one id on
/// several threads can pass a limit by what they allocate at the same moment.
/// </summary>
internal sealed class Ext2QuotaLimits(Ext2Mount m)
{
    /// <summary>The mount options, per quota type (user, group, project); "quota" is usrquota, as in ext4.</summary>
    public static readonly string[][] OptionNames = [["usrquota", "quota"], ["grpquota"], ["prjquota"]];

    private sealed class Dquot(Ext2QuotaEntry limits, Ext2QuotaGrace grace)
    {
        public Ext2QuotaEntry Limits { get; } = limits;

        /// <summary>The grace times of the id's quota file (its type's), added to the clock when a deadline starts.</summary>
        public Ext2QuotaGrace Grace { get; } = grace;
        public long Space { get; set; } = (long)limits.Space;
        public long Inodes { get; set; } = (long)limits.Inodes;
        public ulong SpaceGraceEnd { get; set; } = limits.SpaceGraceEnd;
        public ulong InodeGraceEnd { get; set; } = limits.InodeGraceEnd;
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<uint, Dquot>?[] _byType = new Dictionary<uint, Dquot>?[3];

    /// <summary>True once some type has limits to enforce: inodes then report their charges.</summary>
    public bool Active { get; private set; }

    /// <summary>Whether the options ask for the enforcement of quota type <paramref name="type"/>.</summary>
    public static bool Asked(MountOptions options, int type) => OptionNames[type].Any(options.Extra.ContainsKey);

    /// <summary>EINVAL (with ext4's words) for prjquota without the project feature; null when the options are fine.</summary>
    public static string? OptionProblem(MountOptions options, Ext2Superblock sb) =>
        Asked(options, 2) && (sb.FeatureRoCompat & Ext2Features.RoProject) == 0
            ? "Project quota feature not enabled. Cannot enable project quota enforcement."
            : null;

    /// <summary>
    /// Read the limits of the types the options ask for, before anything is written. Without
    /// the quota feature there is nothing to enforce (ext4 would wait for quotaon and
    /// quota files this driver does not keep); a quota file that cannot be read leaves its
    /// type unenforced (logged; Ext2Quota marks the file system in error when it flushes).
    /// </summary>
    public void Load()
    {
        for (int type = 0; type < 3; type++)
        {
            if (!Asked(m.Options, type))
            {
                continue;
            }
            uint qino = m.Sb.QuotaInum(type);
            if (!m.Quota.Enabled || qino == 0 || (type == 2 && !Ext2QuotaCharge.ProjectsKept(m.Sb)))
            {
                KernelLog.Info(Ext2Mount.Subsystem, $"{OptionNames[type][0]}: no {TypeName(type)} quota file (mke2fs -O quota), limits not enforced");
                continue;
            }
            List<Ext2QuotaEntry>? entries = ReadFile(qino, type, out Ext2QuotaGrace grace, out string? why);
            if (entries is null)
            {
                KernelLog.Warning(Ext2Mount.Subsystem, $"{TypeName(type)} quota file inode {qino}: {why}; limits not enforced");
                continue;
            }
            _byType[type] = entries
                .Where(q => q.SpaceHardLimit != 0 || q.SpaceSoftLimit != 0 || q.InodeHardLimit != 0 || q.InodeSoftLimit != 0)
                .GroupBy(q => q.Id)
                .ToDictionary(g => g.Key, g => new Dquot(g.Last(), grace));
            Active = true;
        }
    }

    private static string TypeName(int type) => type switch { 0 => "user", 1 => "group", _ => "project" };

    private List<Ext2QuotaEntry>? ReadFile(uint qino, int type, out Ext2QuotaGrace grace, out string? why)
    {
        grace = default;
        why = null;
        Errno e = m.VGet(qino, out Vnode? vp);
        if (e != Errno.OK)
        {
            why = $"cannot be read ({e.Describe()})";
            return null;
        }
        try
        {
            var n = (Ext2Node)vp!;
            lock (n.Lock)
            {
                if (n.Type != VType.Regular || n.Din.Size > 64L << 20)
                {
                    why = "not a quota file";
                    return null;
                }
                byte[] content = new byte[n.Din.Size];
                e = n.Read(0, content, out int got);
                if (e != Errno.OK)
                {
                    why = $"cannot be read ({e.Describe()})";
                    return null;
                }
                List<Ext2QuotaEntry>? entries = Ext2QuotaTree.Read(content.AsSpan(0, got), type, out Ext2QuotaInfo info, out why);
                grace = info.Grace;
                return why is null ? entries : null;
            }
        }
        finally
        {
            vp!.Release();
        }
    }

    /// <summary>An inode's charge went from <paramref name="was"/> to <paramref name="now"/>: the live usage follows.</summary>
    public void Report(Ext2QuotaCharge? was, Ext2QuotaCharge? now)
    {
        lock (_lock)
        {
            for (int type = 0; type < 3; type++)
            {
                if (_byType[type] is not { } ids)
                {
                    continue;
                }
                uint? from = was?.IdOf(type), to = now?.IdOf(type);
                if (from == to && from is uint id)
                {
                    // One id: the net change only, so that a file growing past a soft limit
                    // does not dip under it on the way and end its grace time.
                    if (ids.TryGetValue(id, out Dquot? same))
                    {
                        Change(same, (long)now!.Value.Space - (long)was!.Value.Space, 0);
                    }
                    continue;
                }
                if (from is uint f && ids.TryGetValue(f, out Dquot? a))
                {
                    Change(a, -(long)was!.Value.Space, -1);
                }
                if (to is uint t && ids.TryGetValue(t, out Dquot? b))
                {
                    Change(b, (long)now!.Value.Space, 1);
                }
            }
        }
    }

    /// <summary>dquot_incr/decr: usage at or under a soft limit ends its grace time.</summary>
    private static void Change(Dquot d, long space, long inodes)
    {
        d.Space = Math.Max(0, d.Space + space);
        d.Inodes = Math.Max(0, d.Inodes + inodes);
        if ((ulong)d.Space <= d.Limits.SpaceSoftLimit << 10)
        {
            d.SpaceGraceEnd = 0;
        }
        if ((ulong)d.Inodes <= d.Limits.InodeSoftLimit)
        {
            d.InodeGraceEnd = 0;
        }
    }

    /// <summary>
    /// Set the usage of <paramref name="record"/>, a record of quota type
    /// <paramref name="type"/> that the write-back (Ext2Quota's flush) is about to write. For
    /// an id whose limits are enforced, its deadlines are those the checks started (the kernel
    /// writes dqb_btime and dqb_itime as check_bdq and check_idq set them, not the time of the
    /// write-back); usage over a soft limit that no check started a deadline for (extent
    /// blocks, charged without asking) starts one now, which the live id then keeps too.
    /// </summary>
    public void WriteBack(int type, Ext2QuotaEntry record, ulong space, ulong inodes, ulong now, Ext2QuotaGrace grace)
    {
        lock (_lock)
        {
            Dquot? d = null;
            if (_byType[type]?.TryGetValue(record.Id, out d) == true)
            {
                record.SpaceGraceEnd = d!.SpaceGraceEnd;
                record.InodeGraceEnd = d.InodeGraceEnd;
            }
            record.SetUsage(space, inodes, now, grace);
            if (d is null)
            {
                return;
            }
            if (d.SpaceGraceEnd == 0 && (ulong)d.Space > d.Limits.SpaceSoftLimit << 10)
            {
                d.SpaceGraceEnd = record.SpaceGraceEnd;
            }
            if (d.InodeGraceEnd == 0 && (ulong)d.Inodes > d.Limits.InodeSoftLimit)
            {
                d.InodeGraceEnd = record.InodeGraceEnd;
            }
        }
    }

    /// <summary>
    /// How many of <paramref name="count"/> blocks of <paramref name="blockBytes"/> the ids of
    /// <paramref name="charge"/> may gain (ext4 asks for fewer until the quota allows: a
    /// short write); 0 means EDQUOT. Grace times start for what is allowed.
    /// </summary>
    public int AllowBlocks(Ext2QuotaCharge charge, int count, int blockBytes)
    {
        bool privileged = CallerCredentials.Current.IsRoot;
        ulong now = (ulong)m.Clock.Now.Seconds;
        lock (_lock)
        {
            long allowed = count;
            foreach (Dquot d in Dquots(charge, AllTypes))
            {
                long room = long.MaxValue;
                if (!privileged && d.Limits.SpaceHardLimit != 0)
                {
                    room = (long)(d.Limits.SpaceHardLimit << 10) - d.Space;
                }
                if (!privileged && d.Limits.SpaceSoftLimit != 0 && d.SpaceGraceEnd != 0 && now >= d.SpaceGraceEnd)
                {
                    room = Math.Min(room, (long)(d.Limits.SpaceSoftLimit << 10) - d.Space);
                }
                allowed = Math.Min(allowed, Math.Max(0, room) / blockBytes);
            }
            foreach (Dquot d in allowed == 0 ? [] : Dquots(charge, AllTypes))
            {
                if (d.Limits.SpaceSoftLimit != 0 && d.SpaceGraceEnd == 0
                    && (ulong)(d.Space + (allowed * blockBytes)) > d.Limits.SpaceSoftLimit << 10)
                {
                    d.SpaceGraceEnd = now + d.Grace.Space;
                }
            }
            return (int)allowed;
        }
    }

    /// <summary>Every quota type, for <see cref="AllowTransfer"/>.</summary>
    public const int AllTypes = 0b111;

    /// <summary>The bit of quota type <paramref name="type"/> (0 user, 1 group, 2 project).</summary>
    public static int TypeBit(int type) => 1 << type;

    /// <summary>check_idq for one more inode charged as <paramref name="charge"/> (its space is not asked about): OK or EDQUOT.</summary>
    public Errno AllowInode(Ext2QuotaCharge charge) => Allow(charge, AllTypes, 1, null);

    /// <summary>
    /// __dquot_transfer's checks when an inode and its <paramref name="space"/> bytes come to
    /// the ids of <paramref name="charge"/> of the types in <paramref name="types"/> (those
    /// that change in a chown or a new project): OK, or EDQUOT with nothing changed.
    /// </summary>
    public Errno AllowTransfer(Ext2QuotaCharge charge, int types, long space) => Allow(charge, types, 1, space);

    private Errno Allow(Ext2QuotaCharge charge, int types, long inodes, long? space)
    {
        bool privileged = CallerCredentials.Current.IsRoot;
        ulong now = (ulong)m.Clock.Now.Seconds;
        lock (_lock)
        {
            List<Dquot> dquots = [.. Dquots(charge, types)];
            foreach (Dquot d in dquots)
            {
                if (!privileged && (Over(d.Inodes + inodes, d.Limits.InodeHardLimit, d.Limits.InodeSoftLimit, d.InodeGraceEnd, now)
                    || (space is long b && Over(d.Space + b, d.Limits.SpaceHardLimit << 10, d.Limits.SpaceSoftLimit << 10, d.SpaceGraceEnd, now))))
                {
                    return Errno.EDQUOT;
                }
            }
            foreach (Dquot d in dquots)
            {
                if (d.Limits.InodeSoftLimit != 0 && d.InodeGraceEnd == 0 && (ulong)(d.Inodes + inodes) > d.Limits.InodeSoftLimit)
                {
                    d.InodeGraceEnd = now + d.Grace.Inodes;
                }
                if (space is long s && d.Limits.SpaceSoftLimit != 0 && d.SpaceGraceEnd == 0
                    && (ulong)(d.Space + s) > d.Limits.SpaceSoftLimit << 10)
                {
                    d.SpaceGraceEnd = now + d.Grace.Space;
                }
            }
            return Errno.OK;
        }
    }

    /// <summary>Past the hard limit, or past the soft one with its grace time run out.</summary>
    private static bool Over(long usage, ulong hard, ulong soft, ulong graceEnd, ulong now) =>
        (hard != 0 && (ulong)usage > hard) || (soft != 0 && (ulong)usage > soft && graceEnd != 0 && now >= graceEnd);

    /// <summary>The limited ids <paramref name="charge"/> names, one per enforced type of <paramref name="types"/>.</summary>
    private IEnumerable<Dquot> Dquots(Ext2QuotaCharge charge, int types)
    {
        for (int type = 0; type < 3; type++)
        {
            if ((types & TypeBit(type)) != 0 && _byType[type] is { } ids && ids.TryGetValue(charge.IdOf(type), out Dquot? d))
            {
                yield return d;
            }
        }
    }
}
