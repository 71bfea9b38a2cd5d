namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>Feature bits of the superblock (s_feature_compat / incompat / ro_compat) and their names.</summary>
internal static class Ext2Features
{
    // compat: an unknown one is harmless.
    public const uint CompatDirPrealloc = 0x1;
    public const uint CompatImagicInodes = 0x2;
    public const uint CompatHasJournal = 0x4;
    public const uint CompatExtAttr = 0x8;
    public const uint CompatResizeInode = 0x10;
    public const uint CompatDirIndex = 0x20;
    public const uint CompatLazyBg = 0x40;
    public const uint CompatExcludeBitmap = 0x100;
    public const uint CompatSparseSuper2 = 0x200;
    public const uint CompatFastCommit = 0x400;
    public const uint CompatStableInodes = 0x800;
    public const uint CompatOrphanFile = 0x1000;

    // ro_compat: an unknown one allows read-only mounts only.
    public const uint RoSparseSuper = 0x1;
    public const uint RoLargeFile = 0x2;
    public const uint RoBtreeDir = 0x4;
    public const uint RoHugeFile = 0x8;
    public const uint RoGdtCsum = 0x10;
    public const uint RoDirNlink = 0x20;
    public const uint RoExtraIsize = 0x40;
    public const uint RoHasSnapshot = 0x80;
    public const uint RoQuota = 0x100;
    public const uint RoBigalloc = 0x200;
    public const uint RoMetadataCsum = 0x400;
    public const uint RoReplica = 0x800;
    public const uint RoReadonly = 0x1000;
    public const uint RoProject = 0x2000;
    public const uint RoSharedBlocks = 0x4000;
    public const uint RoVerity = 0x8000;
    public const uint RoOrphanPresent = 0x10000;

    // incompat: an unknown one refuses the mount.
    public const uint IncompatCompression = 0x1;
    public const uint IncompatFiletype = 0x2;
    public const uint IncompatRecover = 0x4;
    public const uint IncompatJournalDev = 0x8;
    public const uint IncompatMetaBg = 0x10;
    public const uint IncompatExtents = 0x40;
    public const uint Incompat64Bit = 0x80;
    public const uint IncompatMmp = 0x100;
    public const uint IncompatFlexBg = 0x200;
    public const uint IncompatEaInode = 0x400;
    public const uint IncompatDirData = 0x1000;
    public const uint IncompatCsumSeed = 0x2000;
    public const uint IncompatLargeDir = 0x4000;
    public const uint IncompatInlineData = 0x8000;
    public const uint IncompatEncrypt = 0x10000;
    public const uint IncompatCasefold = 0x20000;

    /// <summary>Incompat features this driver reads and writes.</summary>
    public const uint IncompatSupported = IncompatFiletype | IncompatRecover | IncompatMetaBg | IncompatExtents
        | Incompat64Bit | IncompatFlexBg | IncompatCsumSeed | IncompatLargeDir | IncompatInlineData;

    /// <summary>Incompat features that are read but not written: read-write mounts are refused.</summary>
    public const uint IncompatReadOnly = IncompatInlineData;

    /// <summary>
    /// ro_compat features this driver keeps correct when writing (orphan_present: a read-write
    /// mount empties the orphan file and clears it, Ext2OrphanFile; quota: Ext2Quota).
    /// </summary>
    public const uint RoSupported = RoSparseSuper | RoLargeFile | RoHugeFile | RoGdtCsum | RoDirNlink
        | RoExtraIsize | RoMetadataCsum | RoQuota | RoOrphanPresent | RoProject;

    // The names are e2fsprogs' (lib/e2p), so `ukfs info` reads as dumpe2fs does.
    private static readonly (uint Bit, string Name)[] s_compatNames =
    [
        (CompatDirPrealloc, "dir_prealloc"), (CompatHasJournal, "has_journal"), (CompatImagicInodes, "imagic_inodes"),
        (CompatExtAttr, "ext_attr"), (CompatDirIndex, "dir_index"), (CompatResizeInode, "resize_inode"),
        (CompatLazyBg, "lazy_bg"), (CompatExcludeBitmap, "snapshot_bitmap"), (CompatSparseSuper2, "sparse_super2"),
        (CompatFastCommit, "fast_commit"), (CompatStableInodes, "stable_inodes"), (CompatOrphanFile, "orphan_file"),
    ];

    private static readonly (uint Bit, string Name)[] s_incompatNames =
    [
        (IncompatCompression, "compression"), (IncompatFiletype, "filetype"), (IncompatRecover, "needs_recovery"),
        (IncompatJournalDev, "journal_dev"), (IncompatMetaBg, "meta_bg"), (IncompatExtents, "extent"),
        (Incompat64Bit, "64bit"), (IncompatMmp, "mmp"), (IncompatFlexBg, "flex_bg"), (IncompatEaInode, "ea_inode"),
        (IncompatDirData, "dirdata"), (IncompatCsumSeed, "metadata_csum_seed"), (IncompatLargeDir, "large_dir"),
        (IncompatInlineData, "inline_data"), (IncompatEncrypt, "encrypt"), (IncompatCasefold, "casefold"),
    ];

    private static readonly (uint Bit, string Name)[] s_roNames =
    [
        (RoSparseSuper, "sparse_super"), (RoLargeFile, "large_file"), (RoBtreeDir, "btree_dir"),
        (RoHugeFile, "huge_file"), (RoGdtCsum, "uninit_bg"), (RoDirNlink, "dir_nlink"), (RoExtraIsize, "extra_isize"),
        (RoHasSnapshot, "snapshot"), (RoQuota, "quota"), (RoBigalloc, "bigalloc"), (RoMetadataCsum, "metadata_csum"),
        (RoReplica, "replica"), (RoReadonly, "read-only"), (RoProject, "project"), (RoSharedBlocks, "shared_blocks"),
        (RoVerity, "verity"), (RoOrphanPresent, "orphan_present"),
    ];

    public static string CompatNames(uint bits) => Names(bits, s_compatNames);

    public static string IncompatNames(uint bits) => Names(bits, s_incompatNames);

    public static string RoCompatNames(uint bits) => Names(bits, s_roNames);

    private static string Names(uint bits, (uint Bit, string Name)[] table)
    {
        var names = new List<string>();
        foreach ((uint bit, string name) in table)
        {
            if ((bits & bit) != 0)
            {
                names.Add(name);
                bits &= ~bit;
            }
        }
        for (int i = 0; i < 32; i++)
        {
            if ((bits & (1u << i)) != 0)
            {
                names.Add($"0x{1u << i:x}");
            }
        }
        return string.Join(", ", names);
    }
}
