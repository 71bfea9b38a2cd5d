using System.Buffers.Binary;
using System.Text;

namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>
/// The ext2/3/4 superblock (1024 bytes at byte 1024 of the device), kept as its raw bytes so
/// that fields this driver does not know survive a write-back. Little-endian throughout.
/// </summary>
internal sealed class Ext2Superblock
{
    public const int Size = 1024;
    public const long DiskOffset = 1024;
    public const ushort Magic = 0xEF53;

    public const ushort StateValid = 0x1;
    public const ushort StateError = 0x2;
    public const ushort StateOrphans = 0x4;

    public const uint FlagSignedHash = 0x1;
    public const uint FlagUnsignedHash = 0x2;

    /// <summary>Byte offsets of the fields (struct ext4_super_block).</summary>
    internal static class Off
    {
        public const int InodesCount = 0x00;
        public const int BlocksCountLo = 0x04;
        public const int RBlocksCountLo = 0x08;
        public const int FreeBlocksCountLo = 0x0C;
        public const int FreeInodesCount = 0x10;
        public const int FirstDataBlock = 0x14;
        public const int LogBlockSize = 0x18;
        public const int LogClusterSize = 0x1C;
        public const int BlocksPerGroup = 0x20;
        public const int ClustersPerGroup = 0x24;
        public const int InodesPerGroup = 0x28;
        public const int Mtime = 0x2C;
        public const int Wtime = 0x30;
        public const int MntCount = 0x34;
        public const int MaxMntCount = 0x36;
        public const int MagicField = 0x38;
        public const int State = 0x3A;
        public const int Errors = 0x3C;
        public const int MinorRevLevel = 0x3E;
        public const int LastCheck = 0x40;
        public const int CheckInterval = 0x44;
        public const int CreatorOs = 0x48;
        public const int RevLevel = 0x4C;
        public const int DefResuid = 0x50;
        public const int DefResgid = 0x52;
        public const int FirstIno = 0x54;
        public const int InodeSize = 0x58;
        public const int BlockGroupNr = 0x5A;
        public const int FeatureCompat = 0x5C;
        public const int FeatureIncompat = 0x60;
        public const int FeatureRoCompat = 0x64;
        public const int Uuid = 0x68;
        public const int VolumeName = 0x78;
        public const int LastMounted = 0x88;
        public const int AlgorithmUsageBitmap = 0xC8;
        public const int PreallocBlocks = 0xCC;
        public const int PreallocDirBlocks = 0xCD;
        public const int ReservedGdtBlocks = 0xCE;
        public const int JournalUuid = 0xD0;
        public const int JournalInum = 0xE0;
        public const int JournalDev = 0xE4;
        public const int LastOrphan = 0xE8;
        public const int HashSeed = 0xEC;
        public const int DefHashVersion = 0xFC;
        public const int JnlBackupType = 0xFD;
        public const int DescSize = 0xFE;
        public const int DefaultMountOpts = 0x100;
        public const int FirstMetaBg = 0x104;
        public const int MkfsTime = 0x108;
        public const int JnlBlocks = 0x10C;
        public const int BlocksCountHi = 0x150;
        public const int RBlocksCountHi = 0x154;
        public const int FreeBlocksCountHi = 0x158;
        public const int MinExtraIsize = 0x15C;
        public const int WantExtraIsize = 0x15E;
        public const int Flags = 0x160;
        public const int RaidStride = 0x164;
        public const int MmpInterval = 0x166;
        public const int MmpBlock = 0x168;
        public const int RaidStripeWidth = 0x170;
        public const int LogGroupsPerFlex = 0x174;
        public const int ChecksumType = 0x175;
        public const int ReservedPad = 0x176;
        public const int KbytesWritten = 0x178;
        public const int SnapshotArea = 0x180;
        public const int ErrorArea = 0x194;
        public const int MountOpts = 0x200;
        public const int QuotaAndBackupArea = 0x240;
        public const int UsrQuotaInum = 0x240;
        public const int GrpQuotaInum = 0x244;
        public const int PrjQuotaInum = 0x26C;
        public const int ChecksumSeed = 0x270;
        public const int TimeHiBytes = 0x274;
        public const int Encoding = 0x27C;
        public const int EncodingFlags = 0x27E;
        public const int OrphanFileInum = 0x280;
        public const int Reserved = 0x284;
        public const int Checksum = 0x3FC;
    }

    /// <summary>The fields in order, for the layout test.</summary>
    internal static readonly Field[] Layout =
    [
        new("s_inodes_count", Off.InodesCount, 4), new("s_blocks_count_lo", Off.BlocksCountLo, 4),
        new("s_r_blocks_count_lo", Off.RBlocksCountLo, 4), new("s_free_blocks_count_lo", Off.FreeBlocksCountLo, 4),
        new("s_free_inodes_count", Off.FreeInodesCount, 4), new("s_first_data_block", Off.FirstDataBlock, 4),
        new("s_log_block_size", Off.LogBlockSize, 4), new("s_log_cluster_size", Off.LogClusterSize, 4),
        new("s_blocks_per_group", Off.BlocksPerGroup, 4), new("s_clusters_per_group", Off.ClustersPerGroup, 4),
        new("s_inodes_per_group", Off.InodesPerGroup, 4), new("s_mtime", Off.Mtime, 4), new("s_wtime", Off.Wtime, 4),
        new("s_mnt_count", Off.MntCount, 2), new("s_max_mnt_count", Off.MaxMntCount, 2), new("s_magic", Off.MagicField, 2),
        new("s_state", Off.State, 2), new("s_errors", Off.Errors, 2), new("s_minor_rev_level", Off.MinorRevLevel, 2),
        new("s_lastcheck", Off.LastCheck, 4), new("s_checkinterval", Off.CheckInterval, 4),
        new("s_creator_os", Off.CreatorOs, 4), new("s_rev_level", Off.RevLevel, 4), new("s_def_resuid", Off.DefResuid, 2),
        new("s_def_resgid", Off.DefResgid, 2), new("s_first_ino", Off.FirstIno, 4), new("s_inode_size", Off.InodeSize, 2),
        new("s_block_group_nr", Off.BlockGroupNr, 2), new("s_feature_compat", Off.FeatureCompat, 4),
        new("s_feature_incompat", Off.FeatureIncompat, 4), new("s_feature_ro_compat", Off.FeatureRoCompat, 4),
        new("s_uuid", Off.Uuid, 16), new("s_volume_name", Off.VolumeName, 16), new("s_last_mounted", Off.LastMounted, 64),
        new("s_algorithm_usage_bitmap", Off.AlgorithmUsageBitmap, 4), new("s_prealloc_blocks", Off.PreallocBlocks, 1),
        new("s_prealloc_dir_blocks", Off.PreallocDirBlocks, 1), new("s_reserved_gdt_blocks", Off.ReservedGdtBlocks, 2),
        new("s_journal_uuid", Off.JournalUuid, 16), new("s_journal_inum", Off.JournalInum, 4),
        new("s_journal_dev", Off.JournalDev, 4), new("s_last_orphan", Off.LastOrphan, 4), new("s_hash_seed", Off.HashSeed, 16),
        new("s_def_hash_version", Off.DefHashVersion, 1), new("s_jnl_backup_type", Off.JnlBackupType, 1),
        new("s_desc_size", Off.DescSize, 2), new("s_default_mount_opts", Off.DefaultMountOpts, 4),
        new("s_first_meta_bg", Off.FirstMetaBg, 4), new("s_mkfs_time", Off.MkfsTime, 4), new("s_jnl_blocks", Off.JnlBlocks, 68),
        new("s_blocks_count_hi", Off.BlocksCountHi, 4), new("s_r_blocks_count_hi", Off.RBlocksCountHi, 4),
        new("s_free_blocks_count_hi", Off.FreeBlocksCountHi, 4), new("s_min_extra_isize", Off.MinExtraIsize, 2),
        new("s_want_extra_isize", Off.WantExtraIsize, 2), new("s_flags", Off.Flags, 4), new("s_raid_stride", Off.RaidStride, 2),
        new("s_mmp_interval", Off.MmpInterval, 2), new("s_mmp_block", Off.MmpBlock, 8),
        new("s_raid_stripe_width", Off.RaidStripeWidth, 4), new("s_log_groups_per_flex", Off.LogGroupsPerFlex, 1),
        new("s_checksum_type", Off.ChecksumType, 1), new("s_reserved_pad", Off.ReservedPad, 2),
        new("s_kbytes_written", Off.KbytesWritten, 8), new("s_snapshot_*", Off.SnapshotArea, 20),
        new("s_error_*", Off.ErrorArea, 108), new("s_mount_opts", Off.MountOpts, 64),
        new("s_*_quota_inum, s_backup_bgs, s_encrypt_*, s_lpf_ino", Off.QuotaAndBackupArea, 48),
        new("s_checksum_seed", Off.ChecksumSeed, 4), new("s_*_time_hi, s_*_errcode", Off.TimeHiBytes, 8),
        new("s_encoding", Off.Encoding, 2), new("s_encoding_flags", Off.EncodingFlags, 2),
        new("s_orphan_file_inum", Off.OrphanFileInum, 4), new("s_reserved", Off.Reserved, 376),
        new("s_checksum", Off.Checksum, 4),
    ];

    private readonly byte[] _raw;

    public Ext2Superblock(ReadOnlySpan<byte> raw)
    {
        _raw = raw[..Size].ToArray();
    }

    /// <summary>The raw bytes (written back as they are, after <see cref="UpdateChecksum"/>).</summary>
    public byte[] Raw => _raw;

    private uint U32(int off) => BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(off));
    private ushort U16(int off) => BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(off));
    private void SetU32(int off, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(_raw.AsSpan(off), v);
    private void SetU16(int off, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(_raw.AsSpan(off), v);

    public ushort MagicValue => U16(Off.MagicField);
    public uint InodesCount => U32(Off.InodesCount);
    public ulong BlocksCount => U32(Off.BlocksCountLo) | (Is64Bit ? (ulong)U32(Off.BlocksCountHi) << 32 : 0);
    public ulong ReservedBlocksCount => U32(Off.RBlocksCountLo) | (Is64Bit ? (ulong)U32(Off.RBlocksCountHi) << 32 : 0);

    /// <summary>s_def_resuid: besides root, the user who may allocate reserved blocks.</summary>
    public ushort DefResuid => U16(Off.DefResuid);

    /// <summary>s_def_resgid: members of this group (when not 0) may allocate reserved blocks.</summary>
    public ushort DefResgid => U16(Off.DefResgid);

    public ulong FreeBlocksCount
    {
        get => U32(Off.FreeBlocksCountLo) | (Is64Bit ? (ulong)U32(Off.FreeBlocksCountHi) << 32 : 0);
        set
        {
            SetU32(Off.FreeBlocksCountLo, (uint)value);
            if (Is64Bit)
            {
                SetU32(Off.FreeBlocksCountHi, (uint)(value >> 32));
            }
        }
    }

    public uint FreeInodesCount
    {
        get => U32(Off.FreeInodesCount);
        set => SetU32(Off.FreeInodesCount, value);
    }

    public uint FirstDataBlock => U32(Off.FirstDataBlock);
    public uint LogBlockSize => U32(Off.LogBlockSize);
    public uint LogClusterSize => U32(Off.LogClusterSize);
    public uint BlocksPerGroup => U32(Off.BlocksPerGroup);
    public uint ClustersPerGroup => U32(Off.ClustersPerGroup);
    public uint InodesPerGroup => U32(Off.InodesPerGroup);

    public uint Mtime
    {
        get => U32(Off.Mtime);
        set => SetU32(Off.Mtime, value);
    }

    public uint Wtime
    {
        get => U32(Off.Wtime);
        set => SetU32(Off.Wtime, value);
    }

    public ushort MntCount
    {
        get => U16(Off.MntCount);
        set => SetU16(Off.MntCount, value);
    }

    /// <summary>s_block_group_nr: the group this copy sits in (0 for the primary).</summary>
    public ushort BlockGroupNr
    {
        get => U16(Off.BlockGroupNr);
        set => SetU16(Off.BlockGroupNr, value);
    }

    public ushort State
    {
        get => U16(Off.State);
        set => SetU16(Off.State, value);
    }

    /// <summary>s_errors: 1 continue, 2 remount read-only, 3 panic.</summary>
    public ushort Errors => U16(Off.Errors);
    public uint RevLevel => U32(Off.RevLevel);
    public uint FirstIno => RevLevel == 0 ? 11 : U32(Off.FirstIno);
    public int InodeSize => RevLevel == 0 ? 128 : U16(Off.InodeSize);

    public uint FeatureCompat
    {
        get => U32(Off.FeatureCompat);
        set => SetU32(Off.FeatureCompat, value);
    }

    public uint FeatureIncompat
    {
        get => U32(Off.FeatureIncompat);
        set => SetU32(Off.FeatureIncompat, value);
    }

    public uint FeatureRoCompat
    {
        get => RevLevel == 0 ? 0 : U32(Off.FeatureRoCompat);
        set => SetU32(Off.FeatureRoCompat, value);
    }

    public ReadOnlySpan<byte> Uuid => _raw.AsSpan(Off.Uuid, 16);
    public string VolumeName => Encoding.UTF8.GetString(_raw.AsSpan(Off.VolumeName, 16)).TrimEnd('\0');
    public ushort ReservedGdtBlocks
    {
        get => U16(Off.ReservedGdtBlocks);
        set => SetU16(Off.ReservedGdtBlocks, value);
    }

    public uint JournalInum
    {
        get => U32(Off.JournalInum);
        set => SetU32(Off.JournalInum, value);
    }

    /// <summary>s_jnl_backup_type's value for "s_jnl_blocks holds the journal inode's i_block and size".</summary>
    public const byte JournalBackupBlocks = 1;

    public byte JournalBackupType => _raw[Off.JnlBackupType];

    /// <summary>s_jnl_blocks' copy of the journal inode's i_block (60 bytes).</summary>
    public ReadOnlySpan<byte> JournalBackupBlockArea => _raw.AsSpan(Off.JnlBlocks, 60);

    /// <summary>s_jnl_blocks' copy of the journal inode's i_size (words 15 and 16: high, then low).</summary>
    public long JournalBackupSize => (long)(((ulong)U32(Off.JnlBlocks + 60) << 32) | U32(Off.JnlBlocks + 64));

    /// <summary>
    /// s_jnl_blocks and s_jnl_backup_type: a copy of the journal inode's i_block and size
    /// (type 1), or nothing (type 0) when <paramref name="blockArea"/> is empty.
    /// </summary>
    public void SetJournalBackup(ReadOnlySpan<byte> blockArea, long size)
    {
        Span<byte> backup = _raw.AsSpan(Off.JnlBlocks, 68);
        backup.Clear();
        _raw[Off.JnlBackupType] = 0;
        if (blockArea.IsEmpty)
        {
            return;
        }
        blockArea.CopyTo(backup);
        SetU32(Off.JnlBlocks + 60, (uint)(size >> 32));
        SetU32(Off.JnlBlocks + 64, (uint)size);
        _raw[Off.JnlBackupType] = JournalBackupBlocks;
    }
    public uint JournalDev => U32(Off.JournalDev);

    /// <summary>Forget the journal: its inode, device and UUID (what e2fsck does when has_journal is off).</summary>
    public void ClearJournalFields()
    {
        SetU32(Off.JournalInum, 0);
        SetU32(Off.JournalDev, 0);
        _raw.AsSpan(Off.JournalUuid, 16).Clear();
    }

    public uint LastOrphan
    {
        get => U32(Off.LastOrphan);
        set => SetU32(Off.LastOrphan, value);
    }

    /// <summary>s_orphan_file_inum: the orphan file's inode (COMPAT_ORPHAN_FILE).</summary>
    public uint OrphanFileInum
    {
        get => U32(Off.OrphanFileInum);
        set => SetU32(Off.OrphanFileInum, value);
    }

    public uint HashSeed(int i) => U32(Off.HashSeed + (4 * i));
    public byte DefHashVersion => _raw[Off.DefHashVersion];

    /// <summary>Group descriptor size: 32 unless 64bit, where s_desc_size (at least 64).</summary>
    public int DescSize => Is64Bit ? U16(Off.DescSize) : 32;

    /// <summary>s_desc_size as stored, whatever the 64bit feature says.</summary>
    public int StoredDescSize => U16(Off.DescSize);
    public uint FirstMetaBg => U32(Off.FirstMetaBg);
    public uint Flags => U32(Off.Flags);
    public int LogGroupsPerFlex => _raw[Off.LogGroupsPerFlex];

    public byte ChecksumType => _raw[Off.ChecksumType];
    public uint ChecksumSeed => U32(Off.ChecksumSeed);
    /// <summary>s_usr_quota_inum, s_grp_quota_inum, s_prj_quota_inum by quota type (0 user, 1 group, 2 project).</summary>
    public uint QuotaInum(int type) => U32(QuotaInumOffset(type));

    public void SetQuotaInum(int type, uint ino) => SetU32(QuotaInumOffset(type), ino);

    private static int QuotaInumOffset(int type) => type switch
    {
        0 => Off.UsrQuotaInum,
        1 => Off.GrpQuotaInum,
        2 => Off.PrjQuotaInum,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Whether the user, group or project quota file field names <paramref name="ino"/>.</summary>
    public bool NamesQuotaInode(uint ino) =>
        ino != 0 && (U32(Off.UsrQuotaInum) == ino || U32(Off.GrpQuotaInum) == ino || U32(Off.PrjQuotaInum) == ino);

    public uint BackupBg(int i) => U32(Off.QuotaAndBackupArea + 0xC + (4 * i));
    public ushort MinExtraIsize => U16(Off.MinExtraIsize);
    public ushort WantExtraIsize => U16(Off.WantExtraIsize);

    public ulong KbytesWritten
    {
        get => BinaryPrimitives.ReadUInt64LittleEndian(_raw.AsSpan(Off.KbytesWritten));
        set => BinaryPrimitives.WriteUInt64LittleEndian(_raw.AsSpan(Off.KbytesWritten), value);
    }

    public uint StoredChecksum => U32(Off.Checksum);

    public bool Is64Bit => (FeatureIncompat & Ext2Features.Incompat64Bit) != 0;
    public bool HasMetadataCsum => (FeatureRoCompat & Ext2Features.RoMetadataCsum) != 0;
    public bool HasGdtCsum => (FeatureRoCompat & Ext2Features.RoGdtCsum) != 0;

    /// <summary>The checksum the superblock should carry (crc32c over everything before it).</summary>
    public uint ComputeChecksum() => Ext2Crc.Crc32c(~0u, _raw.AsSpan(0, Off.Checksum));

    public void UpdateChecksum()
    {
        if (HasMetadataCsum)
        {
            SetU32(Off.Checksum, ComputeChecksum());
        }
    }

    /// <summary>Set a 32-bit time field and its high byte (years after 2038).</summary>
    public void SetTime(int offset, int hiIndex, long seconds)
    {
        SetU32(offset, (uint)seconds);
        if (RevLevel > 0)
        {
            _raw[Off.TimeHiBytes + hiIndex] = (byte)(seconds >> 32);
        }
    }
}
