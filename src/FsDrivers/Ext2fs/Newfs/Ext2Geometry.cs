using System.Globalization;

namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>
/// The numbers of a new ext2/3/4 file system: block size, groups, inodes per group, inode
/// and descriptor sizes, which groups carry superblock copies and the journal's length.
/// Where each group's bitmaps and inode table go is <see cref="Ext2Layout"/>'s job. Options:
/// <c>bsize=1024|2048|4096</c>, <c>inodes=N</c>, <c>inode_size=N</c>, <c>label=NAME</c>,
/// <c>type=ext2|ext3|ext4</c>, <c>features=a,^b</c>, <c>rev=0|1</c>.
/// </summary>
internal sealed class Ext2Geometry
{
    /// <summary>Groups per flex group (mke2fs's default -G 16).</summary>
    public const uint FlexSize = 16;
    public const int LogFlexSize = 4;

    /// <summary>Volumes below this many blocks get no journal (mke2fs's ext2fs_default_journal_size).</summary>
    public const uint MinJournalVolume = 2048;

    public int BlockSize { get; private init; }
    public uint BlocksCount { get; private init; }
    public uint FirstDataBlock { get; private init; }
    public uint BlocksPerGroup { get; private init; }
    public uint InodesPerGroup { get; private init; }
    public uint Groups { get; private init; }
    public uint GdtBlocks { get; private init; }
    public int InodeSize => Features.InodeSize;
    public uint InodeTableBlocks => (uint)((long)InodesPerGroup * InodeSize / BlockSize);
    public string Label { get; private init; } = "";
    public Ext2FeatureSet Features { get; private init; } = null!;
    public uint JournalBlocks { get; private init; }

    /// <summary>A note for the user about a choice made for them (the journal dropped on a tiny volume).</summary>
    public string? Note { get; private init; }

    public uint FirstIno => 11;
    public uint InodesCount => InodesPerGroup * Groups;

    public uint GroupStart(uint g) => FirstDataBlock + g * BlocksPerGroup;

    public uint GroupBlocks(uint g) => g == Groups - 1 ? BlocksCount - GroupStart(g) : BlocksPerGroup;

    /// <summary>Copies in every group, or with sparse_super in groups 0, 1 and the powers of 3, 5 and 7.</summary>
    public bool HasSuperblock(uint g)
    {
        if (g <= 1 || !Features.SparseSuper)
        {
            return true;
        }
        foreach (uint p in new uint[] { 3, 5, 7 })
        {
            ulong x = p;
            while (x < g)
            {
                x *= p;
            }
            if (x == g)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Blocks at the start of group g taken by the superblock copy and descriptors.</summary>
    public uint SuperAndGdt(uint g) => HasSuperblock(g) ? 1 + GdtBlocks : 0;

    /// <summary>Metadata blocks of group g when it holds its own bitmaps and table (the non-flex_bg layout).</summary>
    public uint Overhead(uint g) => SuperAndGdt(g) + 2 + InodeTableBlocks;

    /// <summary>Journal length for a volume, as mke2fs picks it (4 MiB to 1 GiB of blocks by volume size); 0 below 2048 blocks.</summary>
    public static uint DefaultJournalBlocks(uint blocks) => blocks switch
    {
        < MinJournalVolume => 0,
        < 32768 => 1024,
        < 256 * 1024 => 4096,
        < 512 * 1024 => 8192,
        < 4096 * 1024 => 16384,
        < 8192 * 1024 => 32768,
        < 16384 * 1024 => 65536,
        < 32768 * 1024 => 131072,
        _ => 262144,
    };

    public static Ext2Geometry? Choose(long deviceBytes, IReadOnlyDictionary<string, string?> options, out string? error)
    {
        error = null;
        int bs = deviceBytes >= 512L << 20 ? 4096 : 1024;
        long? inodes = null;
        string label = "";
        string? type = null, features = null, rev = null, inodeSize = null;
        foreach ((string key, string? value) in options)
        {
            switch (key)
            {
                case "bsize":
                case "blocksize":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out bs) || bs is not (1024 or 2048 or 4096))
                    {
                        error = $"bsize={value}: must be 1024, 2048 or 4096";
                    }
                    break;
                case "inodes":
                    if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n < 16)
                    {
                        error = $"inodes={value}: must be a number of at least 16";
                    }
                    inodes = n;
                    break;
                case "label":
                    label = value ?? "";
                    if (System.Text.Encoding.UTF8.GetByteCount(label) > 16)
                    {
                        error = $"label={value}: at most 16 bytes";
                    }
                    break;
                case "type":
                    type = value ?? "";
                    break;
                case "features":
                    features = value ?? "";
                    break;
                case "rev":
                    rev = value ?? "";
                    break;
                case "inode_size":
                case "isize":
                    inodeSize = value ?? "";
                    break;
                default:
                    error = value is null && Ext2FeatureSet.LooksLikeFeature(key)
                        ? $"'{key}' looks like a feature: separate the items of features= with '+' or ':' " +
                            "(the option list itself is split on ','), e.g. features=^metadata_csum+^64bit"
                        : $"unknown ext2fs newfs option '{key}' (known: bsize, inodes, inode_size, label, type, features, rev)";
                    break;
            }
            if (error is not null)
            {
                return null;
            }
        }
        Ext2FeatureSet? fs = Ext2FeatureSet.Parse(type, features, rev, inodeSize, out error);
        if (fs is null)
        {
            return null;
        }
        if (fs.InodeSize > bs)
        {
            error = $"inode_size={fs.InodeSize} is larger than the block size {bs}";
            return null;
        }
        uint firstData = bs == 1024 ? 1u : 0u;
        long blocks = Math.Min(deviceBytes / bs, uint.MaxValue);
        uint bpg = (uint)(8 * bs);
        if (blocks < 64)
        {
            error = $"{deviceBytes} bytes is too small for an ext2 file system";
            return null;
        }
        string? note = null;
        uint journal = 0;
        if (fs.Journal)
        {
            journal = DefaultJournalBlocks((uint)blocks);
            if (journal == 0 && fs.JournalFromType)
            {
                bool orphanFile = fs.OrphanFile;
                fs.DropJournal();
                note = $"{blocks} blocks is too small for a journal; made without one"
                    + (orphanFile ? " (nor an orphan file, which needs it)" : "");
            }
            else if (journal == 0)
            {
                error = $"{blocks} blocks of {bs} bytes is too small for a journal (at least {MinJournalVolume} blocks)";
                return null;
            }
        }
        long groups = (blocks - firstData + bpg - 1) / bpg;
        long ipgWanted = ((inodes ?? deviceBytes / (bs <= 1024 ? 4096 : 16384)) + groups - 1) / groups;
        int perBlock = bs / fs.InodeSize;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            uint gdt = (uint)((groups * fs.DescSize + bs - 1) / bs);
            long ipg = Math.Max(16, (ipgWanted + perBlock - 1) / perBlock * perBlock);
            ipg = (ipg + 7) / 8 * 8;
            if (ipg > 8L * bs)
            {
                error = $"{inodes} inodes do not fit in {groups} groups of {bs}-byte blocks";
                return null;
            }
            var g = new Ext2Geometry
            {
                BlockSize = bs,
                BlocksCount = (uint)blocks,
                FirstDataBlock = firstData,
                BlocksPerGroup = bpg,
                InodesPerGroup = (uint)ipg,
                Groups = (uint)groups,
                GdtBlocks = gdt,
                Label = label,
                Features = fs,
                JournalBlocks = journal,
                Note = note,
            };
            uint last = (uint)groups - 1;
            // A last group too small for its own metadata and some data is dropped, as mke2fs does.
            if (groups > 1 && g.GroupBlocks(last) < g.Overhead(last) + 50)
            {
                blocks = g.GroupStart(last);
                groups--;
                continue;
            }
            if (!fs.FlexBg && g.GroupBlocks(0) < g.Overhead(0) + 8)
            {
                error = "the volume is too small for the inode table; give fewer inodes or a larger size";
                return null;
            }
            return g;
        }
        error = "cannot lay out the groups";
        return null;
    }
}
