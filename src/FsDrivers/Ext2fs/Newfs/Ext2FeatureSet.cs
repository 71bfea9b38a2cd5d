using RumpFs.FsDrivers.Ext2fs.OnDisk;
using F = RumpFs.FsDrivers.Ext2fs.OnDisk.Ext2Features;

namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>
/// The feature set of a new file system, chosen as mke2fs chooses it: a base set from the
/// type (<c>type=ext2|ext3|ext4</c>, the [fs_types] of Debian's /etc/mke2fs.conf), then
/// <c>features=a,^b</c> edits in mke2fs -O style, then <c>rev=0</c> for the original
/// revision without any feature. Only features this newfs lays out and the driver keeps
/// correct are accepted; any other is refused by name.
/// </summary>
internal sealed class Ext2FeatureSet
{
    private enum Word
    {
        Compat,
        Incompat,
        RoCompat,
    }

    private static readonly (string Name, Word Word, uint Bit)[] s_writable =
    [
        ("has_journal", Word.Compat, F.CompatHasJournal), ("ext_attr", Word.Compat, F.CompatExtAttr),
        ("dir_index", Word.Compat, F.CompatDirIndex), ("orphan_file", Word.Compat, F.CompatOrphanFile),
        ("filetype", Word.Incompat, F.IncompatFiletype),
        ("extent", Word.Incompat, F.IncompatExtents), ("extents", Word.Incompat, F.IncompatExtents),
        ("64bit", Word.Incompat, F.Incompat64Bit), ("flex_bg", Word.Incompat, F.IncompatFlexBg),
        ("metadata_csum_seed", Word.Incompat, F.IncompatCsumSeed), ("large_dir", Word.Incompat, F.IncompatLargeDir),
        ("sparse_super", Word.RoCompat, F.RoSparseSuper), ("large_file", Word.RoCompat, F.RoLargeFile),
        ("huge_file", Word.RoCompat, F.RoHugeFile), ("dir_nlink", Word.RoCompat, F.RoDirNlink),
        ("extra_isize", Word.RoCompat, F.RoExtraIsize), ("metadata_csum", Word.RoCompat, F.RoMetadataCsum),
        ("uninit_bg", Word.RoCompat, F.RoGdtCsum), ("gdt_csum", Word.RoCompat, F.RoGdtCsum),
    ];

    /// <summary>Features mke2fs knows that are not made here, with the reason given to the user.</summary>
    private static readonly (string Name, string Why)[] s_refused =
    [
        ("resize_inode", "the reserved-GDT resize inode is not laid out by this newfs"),
        ("meta_bg", "meta_bg descriptor placement is not laid out by this newfs"),
        ("inline_data", "the driver reads inline data but does not write it"),
        ("sparse_super2", "the driver does not write sparse_super2"),
        ("journal_dev", "external journal devices are not supported"),
        ("bigalloc", "the driver does not write bigalloc clusters"),
        ("quota", "the driver does not keep quota inodes"),
        ("project", "the driver does not keep project quotas"),
        ("encrypt", "the driver does not support encryption"),
        ("casefold", "the driver does not support case folding"),
        ("verity", "the driver does not support fs-verity"),
        ("mmp", "the driver does not do multi-mount protection"),
        ("ea_inode", "the driver does not write extended attributes in inodes of their own"),
        ("stable_inodes", "not supported by the driver"),
        ("compression", "not supported by the driver"),
        ("dirdata", "not supported by the driver"),
        ("fast_commit", "the driver does not write fast-commit journals"),
        ("snapshot", "not supported by the driver"),
        ("shared_blocks", "not supported by the driver"),
    ];

    private const uint Ext2Compat = F.CompatExtAttr;
    private const uint Ext2Incompat = F.IncompatFiletype;
    private const uint Ext2Ro = F.RoSparseSuper | F.RoLargeFile;

    public uint Compat { get; private set; }
    public uint Incompat { get; private set; }
    public uint RoCompat { get; private set; }
    public uint Rev { get; private set; } = 1;
    public int InodeSize { get; private set; } = 128;
    public string TypeName { get; private set; } = "ext2";

    /// <summary>True when the journal came from the type's defaults, not from features= (dropped on tiny volumes, as mke2fs does).</summary>
    public bool JournalFromType { get; private set; }

    public bool Has(uint compat = 0, uint incompat = 0, uint ro = 0) =>
        (Compat & compat) != 0 || (Incompat & incompat) != 0 || (RoCompat & ro) != 0;

    public bool SparseSuper => (RoCompat & F.RoSparseSuper) != 0;
    public bool Journal => (Compat & F.CompatHasJournal) != 0;
    public bool OrphanFile => (Compat & F.CompatOrphanFile) != 0;
    public bool Extents => (Incompat & F.IncompatExtents) != 0;
    public bool Wide => (Incompat & F.Incompat64Bit) != 0;
    public bool FlexBg => (Incompat & F.IncompatFlexBg) != 0;
    public bool MetadataCsum => (RoCompat & F.RoMetadataCsum) != 0;
    public bool GdtCsum => (RoCompat & F.RoGdtCsum) != 0;
    public bool Filetype => (Incompat & F.IncompatFiletype) != 0;
    public int DescSize => Wide ? Ext2GroupDescriptor.Size64 : Ext2GroupDescriptor.Size32;

    /// <summary>True for a feature name, with or without '^' (an item of features= that the option list split off).</summary>
    public static bool LooksLikeFeature(string item)
    {
        string name = item.TrimStart('^');
        return s_writable.Any(w => w.Name == name) || s_refused.Any(r => r.Name == name);
    }

    /// <summary>Drop the journal (a volume too small for one), and the orphan file with it, as mke2fs does.</summary>
    public void DropJournal() => Compat &= ~(F.CompatHasJournal | F.CompatOrphanFile);

    /// <summary>Features in the order dumpe2fs lists them, for messages.</summary>
    public string Describe()
    {
        var names = new List<string>();
        foreach ((string name, Word word, uint bit) in s_writable)
        {
            if (name is not ("extents" or "gdt_csum") && Get(word, bit))
            {
                names.Add(name);
            }
        }
        return names.Count == 0 ? "no features" : string.Join(' ', names);
    }

    /// <summary>
    /// Build the set from the options. <paramref name="features"/> items are separated by
    /// ',', '+' or ':' (the ukfs verb splits its -o list on ',', so 'features=^64bit+^flex_bg'
    /// reaches us whole). Null with <paramref name="error"/> set on anything refused.
    /// </summary>
    public static Ext2FeatureSet? Parse(string? type, string? features, string? rev, string? inodeSize, out string? error)
    {
        error = null;
        var s = new Ext2FeatureSet();
        string? baseType = type;
        var edits = new List<string>();
        foreach (string item in (features ?? "").Split([',', '+', ':'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (item is "ext2" or "ext3" or "ext4")
            {
                // Earlier releases took features=ext2 as the name of the whole set.
                baseType ??= item;
                continue;
            }
            edits.Add(item);
        }
        if (!s.SetBase(baseType ?? "ext2", out error))
        {
            return null;
        }
        foreach (string item in edits)
        {
            if (!s.Edit(item, out error))
            {
                return null;
            }
        }
        if (rev is not null)
        {
            if (rev is not ("0" or "1"))
            {
                error = $"rev={rev}: the revision must be 0 or 1";
                return null;
            }
            if (rev == "0")
            {
                if (baseType is not (null or "ext2") || edits.Count > 0)
                {
                    error = "rev=0: the original revision has no features; give no type= or features= with it";
                    return null;
                }
                s.Rev = 0;
                s.Compat = s.Incompat = s.RoCompat = 0;
            }
        }
        if (inodeSize is not null)
        {
            if (!int.TryParse(inodeSize, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int isz)
                || isz is not (128 or 256 or 512 or 1024))
            {
                error = $"inode_size={inodeSize}: must be 128, 256, 512 or 1024";
                return null;
            }
            if (s.Rev == 0 && isz != 128)
            {
                error = $"inode_size={inodeSize}: revision 0 inodes are 128 bytes";
                return null;
            }
            s.InodeSize = isz;
        }
        return s.Check(out error) ? s : null;
    }

    private bool SetBase(string type, out string? error)
    {
        error = null;
        TypeName = type;
        switch (type)
        {
            case "ext2":
                (Compat, Incompat, RoCompat, InodeSize) = (Ext2Compat, Ext2Incompat, Ext2Ro, 128);
                return true;
            case "ext3":
                (Compat, Incompat, RoCompat, InodeSize) = (Ext2Compat | F.CompatHasJournal | F.CompatDirIndex, Ext2Incompat, Ext2Ro, 256);
                JournalFromType = true;
                return true;
            case "ext4":
                Compat = Ext2Compat | F.CompatHasJournal | F.CompatDirIndex;
                Incompat = Ext2Incompat | F.IncompatExtents | F.Incompat64Bit | F.IncompatFlexBg;
                RoCompat = Ext2Ro | F.RoHugeFile | F.RoDirNlink | F.RoExtraIsize | F.RoMetadataCsum;
                InodeSize = 256;
                JournalFromType = true;
                return true;
            default:
                error = $"type={type}: must be ext2, ext3 or ext4";
                return false;
        }
    }

    private bool Edit(string item, out string? error)
    {
        error = null;
        bool clear = item.StartsWith('^');
        string name = clear ? item[1..] : item;
        foreach ((string n, Word word, uint bit) in s_writable)
        {
            if (n == name)
            {
                Set(word, bit, !clear);
                if (word == Word.Compat && bit == F.CompatHasJournal)
                {
                    JournalFromType = false;
                }
                return true;
            }
        }
        foreach ((string n, string why) in s_refused)
        {
            if (n == name)
            {
                if (clear)
                {
                    return true; // never made, so clearing it is a no-op
                }
                error = $"feature {name} cannot be made: {why}";
                return false;
            }
        }
        error = $"unknown ext2/3/4 feature '{name}' (known: {string.Join(", ", s_writable.Select(w => w.Name).Distinct())})";
        return false;
    }

    private bool Check(out string? error)
    {
        error = null;
        if (Has(ro: F.RoMetadataCsum))
        {
            // As mke2fs: metadata_csum supersedes the older descriptor checksum.
            RoCompat &= ~F.RoGdtCsum;
        }
        if (Wide && !Extents)
        {
            error = "feature 64bit needs extent (block maps cannot address blocks past 2^32)";
        }
        else if (OrphanFile && !Journal)
        {
            error = "feature orphan_file needs has_journal (as mke2fs refuses it without a journal)";
        }
        else if (Has(incompat: F.IncompatCsumSeed) && !MetadataCsum)
        {
            error = "feature metadata_csum_seed needs metadata_csum";
        }
        else if (Has(ro: F.RoExtraIsize) && InodeSize <= Ext2Dinode.BaseSize)
        {
            error = $"feature extra_isize needs inodes larger than 128 bytes (inode_size={InodeSize})";
        }
        return error is null;
    }

    private bool Get(Word w, uint bit) => w switch
    {
        Word.Compat => (Compat & bit) != 0,
        Word.Incompat => (Incompat & bit) != 0,
        _ => (RoCompat & bit) != 0,
    };

    private void Set(Word w, uint bit, bool on)
    {
        switch (w)
        {
            case Word.Compat:
                Compat = on ? Compat | bit : Compat & ~bit;
                break;
            case Word.Incompat:
                Incompat = on ? Incompat | bit : Incompat & ~bit;
                break;
            default:
                RoCompat = on ? RoCompat | bit : RoCompat & ~bit;
                break;
        }
    }
}
