using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// The checker's own view of an ext2/3/4 device: the superblock, the group descriptor table
/// and the geometry derived from them, with block and inode access. Not a mount: nothing is
/// cached beyond the blocks a repair changed, which are kept here and written by
/// <see cref="WriteBack"/> so that a check without repair never writes.
/// </summary>
internal sealed partial class Ext2CheckVolume
{
    private readonly Dictionary<ulong, byte[]> _changed = [];
    private readonly List<(ulong Start, ulong Count)> _zeroed = [];
    private byte[][] _gdtRaw = [];

    private Ext2CheckVolume(IBlockDevice device, Ext2Superblock sb)
    {
        Device = device;
        Sb = sb;
        BlockShift = 10 + (int)sb.LogBlockSize;
        BlockSize = 1 << BlockShift;
        GroupCount = (uint)((sb.BlocksCount - sb.FirstDataBlock + sb.BlocksPerGroup - 1) / sb.BlocksPerGroup);
        InodeSize = sb.InodeSize;
        DescSize = sb.DescSize;
        DescPerBlock = BlockSize / DescSize;
        CsumSeed = (sb.FeatureIncompat & Ext2Features.IncompatCsumSeed) != 0
            ? sb.ChecksumSeed
            : Ext2Crc.Crc32c(~0u, sb.Uuid);
        InodeTableBlocks = (uint)(((ulong)sb.InodesPerGroup * (ulong)InodeSize + (ulong)BlockSize - 1) / (ulong)BlockSize);
    }

    public IBlockDevice Device { get; }
    public Ext2Superblock Sb { get; }
    public int BlockSize { get; }
    public int BlockShift { get; }
    public uint GroupCount { get; }
    public int InodeSize { get; }
    public int DescSize { get; }
    public int DescPerBlock { get; }
    public uint CsumSeed { get; }
    public uint InodeTableBlocks { get; }
    public Ext2GroupDescriptor[] Groups { get; private set; } = [];

    public ulong BlocksCount => Sb.BlocksCount;
    public uint InodesCount => Sb.InodesCount;
    public uint InodesPerGroup => Sb.InodesPerGroup;
    public bool Filetype => (Sb.FeatureIncompat & Ext2Features.IncompatFiletype) != 0;
    public bool MetadataCsum => Sb.HasMetadataCsum;

    /// <summary>Group descriptors carry a checksum and the uninit flags mean something (uninit_bg or metadata_csum).</summary>
    public bool GroupCsum => Sb.HasMetadataCsum || Sb.HasGdtCsum;
    public bool ExtentsFeature => (Sb.FeatureIncompat & Ext2Features.IncompatExtents) != 0;
    public bool HugeFile => (Sb.FeatureRoCompat & Ext2Features.RoHugeFile) != 0;
    public bool DirNlink => (Sb.FeatureRoCompat & Ext2Features.RoDirNlink) != 0;
    public bool DirIndex => (Sb.FeatureCompat & Ext2Features.CompatDirIndex) != 0;
    public bool InlineData => (Sb.FeatureIncompat & Ext2Features.IncompatInlineData) != 0;
    public bool HasChanges => _changed.Count > 0 || _zeroed.Count > 0;

    /// <summary>Incompat features the checker understands; anything else is an operational error, as for e2fsck.</summary>
    private const uint IncompatKnown = Ext2Features.IncompatFiletype | Ext2Features.IncompatRecover
        | Ext2Features.IncompatMetaBg | Ext2Features.IncompatExtents | Ext2Features.Incompat64Bit
        | Ext2Features.IncompatFlexBg | Ext2Features.IncompatCsumSeed | Ext2Features.IncompatLargeDir
        | Ext2Features.IncompatInlineData;

    /// <summary>Read and sanity-check the superblock and descriptors; error says why the check cannot run.</summary>
    public static Ext2CheckVolume? Open(IBlockDevice device, out string? error)
    {
        error = null;
        if (device.Length < Ext2Superblock.DiskOffset + Ext2Superblock.Size)
        {
            error = "the device is too small for an ext2 superblock";
            return null;
        }
        byte[] raw = new byte[Ext2Superblock.Size];
        if (device.Read(Ext2Superblock.DiskOffset, raw) != Errno.OK)
        {
            error = "cannot read the superblock";
            return null;
        }
        var sb = new Ext2Superblock(raw);
        error = ValidateSuperblock(sb, device.Length);
        if (error is null)
        {
            var v = new Ext2CheckVolume(device, sb);
            error = v.LoadGroups(0, relocateBitmaps: false);
            if (error is null)
            {
                return v;
            }
        }
        // e2fsck's "Superblock invalid, trying backup blocks": group 1's copies, found from
        // the primary's group size when that is readable, else at each block size's default.
        // When no table is sound as it stands, bitmaps out of place are relocated (they hold
        // nothing pass 5 does not rebuild), in the backup's table first, as e2fsck goes on
        // with the backup it tried.
        Ext2CheckVolume? backup = OpenBackup(device, sb, relocateBitmaps: false) ?? OpenBackup(device, sb, relocateBitmaps: true);
        if (backup is not null)
        {
            backup.PrimaryProblem = error;
            return backup;
        }
        if (ValidateSuperblock(sb, device.Length) is null)
        {
            var v = new Ext2CheckVolume(device, sb);
            if (v.LoadGroups(0, relocateBitmaps: true) is null)
            {
                return v;
            }
        }
        return null;
    }

    /// <summary>Block of the superblock copy this view was opened from; 0 for the primary.</summary>
    public ulong BackupSuperblock { get; private set; }

    /// <summary>Why the primary superblock or descriptor table was refused, when a backup is used.</summary>
    public string? PrimaryProblem { get; private set; }

    private static Ext2CheckVolume? OpenBackup(IBlockDevice device, Ext2Superblock primary, bool relocateBitmaps)
    {
        var candidates = new List<(ulong Block, int LogBlockSize)>();
        if (primary.MagicValue == Ext2Superblock.Magic && primary.LogBlockSize <= 6)
        {
            // Either group size may be the damaged one.
            foreach (uint perGroup in new[] { primary.BlocksPerGroup, primary.ClustersPerGroup }.Where(n => n >= 8))
            {
                candidates.Add((primary.FirstDataBlock + (ulong)perGroup, (int)primary.LogBlockSize));
            }
        }
        for (int log = 0; log <= 6; log++)
        {
            ulong bs = 1024UL << log;
            candidates.Add(((8 * bs) + (log == 0 ? 1UL : 0UL), log));
        }
        foreach ((ulong block, int log) in candidates.Distinct())
        {
            long at = (long)block << (10 + log);
            byte[] raw = new byte[Ext2Superblock.Size];
            if (at + raw.Length > device.Length || device.Read(at, raw) != Errno.OK)
            {
                continue;
            }
            var sb = new Ext2Superblock(raw);
            if (sb.MagicValue != Ext2Superblock.Magic || sb.LogBlockSize != log || ValidateSuperblock(sb, device.Length) is not null
                || block != sb.FirstDataBlock + sb.BlocksPerGroup || !Ext2GroupLayout.HasSuper(sb, 1)
                || (sb.HasMetadataCsum && sb.StoredChecksum != sb.ComputeChecksum()))
            {
                continue;
            }
            var v = new Ext2CheckVolume(device, sb);
            if (v.LoadGroups(block, relocateBitmaps) is null)
            {
                v.BackupSuperblock = block;
                v.AdoptBackup();
                return v;
            }
        }
        return null;
    }

    /// <summary>
    /// Make the backup the primary to be: it names group 0, and, as libext2fs does when it
    /// opens a backup, no group keeps an uninit flag or an unused-inode count (the backup's
    /// descriptors are as old as the last resize). Every descriptor block is stored, so a
    /// repair writes the whole primary table; a check without repair writes nothing.
    /// </summary>
    private void AdoptBackup()
    {
        Sb.BlockGroupNr = 0;
        Sb.UpdateChecksum();
        for (uint g = 0; g < GroupCount; g++)
        {
            if (GroupCsum)
            {
                Groups[g].Flags &= unchecked((ushort)~(Ext2GroupDescriptor.FlagBlockUninit | Ext2GroupDescriptor.FlagInodeUninit));
                Groups[g].ItableUnused = 0;
            }
            StoreDescriptor(g);
        }
    }

    private static string? ValidateSuperblock(Ext2Superblock sb, long deviceLength)
    {
        if (Ext2SuperblockRules.Problem(sb) is string problem)
        {
            return problem;
        }
        uint unknown = sb.FeatureIncompat & ~IncompatKnown;
        if (unknown != 0)
        {
            return "unsupported incompat features: " + Ext2Features.IncompatNames(unknown);
        }
        if ((long)Math.Min(sb.BlocksCount, long.MaxValue >> 17) << (10 + (int)sb.LogBlockSize) > deviceLength)
        {
            return $"the file system ({sb.BlocksCount} blocks) is larger than the device ({deviceLength} bytes)";
        }
        return null;
    }

    /// <summary>
    /// Read the descriptor table: the primary, or with <paramref name="backupSb"/> the copy
    /// that follows that superblock copy (meta_bg blocks past s_first_meta_bg have no copy
    /// there and are read where they live).
    /// </summary>
    private string? LoadGroups(ulong backupSb, bool relocateBitmaps)
    {
        uint gdtBlocks = (uint)((GroupCount + (uint)DescPerBlock - 1) / (uint)DescPerBlock);
        _gdtRaw = new byte[gdtBlocks][];
        var groups = new Ext2GroupDescriptor[GroupCount];
        bool metaBg = (Sb.FeatureIncompat & Ext2Features.IncompatMetaBg) != 0;
        for (uint i = 0; i < gdtBlocks; i++)
        {
            ulong blk = backupSb == 0 ? GdtBlock(i)
                : !metaBg || i < Sb.FirstMetaBg ? backupSb + 1 + i
                : MetaBgBackupBlock(i);
            if (blk >= BlocksCount || Read(blk, out byte[] data) != Errno.OK)
            {
                return $"cannot read group descriptor block {blk}";
            }
            _gdtRaw[i] = data;
            for (int k = 0; k < DescPerBlock; k++)
            {
                uint g = (i * (uint)DescPerBlock) + (uint)k;
                if (g < GroupCount)
                {
                    groups[g] = Ext2GroupDescriptor.Decode(data.AsSpan(k * DescSize, DescSize));
                }
            }
        }
        Groups = groups;
        for (uint g = 0; g < GroupCount; g++)
        {
            Ext2GroupDescriptor gd = groups[g];
            if (!InFs(gd.InodeTable) || gd.InodeTable + InodeTableBlocks > BlocksCount)
            {
                return $"group {g} places its inode table outside the file system";
            }
        }
        return CheckPlacement(relocateBitmaps);
    }

    /// <summary>
    /// With meta_bg, descriptor block <paramref name="i"/> past s_first_meta_bg lives in the
    /// first group of its meta group, with copies in the second and last: a check opened on a
    /// backup reads the second group's (libext2fs's ext2fs_descriptor_block_loc2), when the
    /// file system reaches that far.
    /// </summary>
    private ulong MetaBgBackupBlock(uint i)
    {
        uint g = i * (uint)DescPerBlock;
        ulong first = GroupFirstBlock(g);
        if (g + 1 < GroupCount)
        {
            return GroupFirstBlock(g + 1) + (HasSuper(g + 1) ? 1UL : 0UL);
        }
        return first + (HasSuper(g) ? 1UL : 0UL);
    }

    /// <summary>True when <paramref name="blk"/> is a block of the file system (not the boot block of 1 KiB file systems).</summary>
    public bool InFs(ulong blk) => blk >= Sb.FirstDataBlock && blk < BlocksCount;

    public uint GroupOfBlock(ulong blk) => (uint)((blk - Sb.FirstDataBlock) / Sb.BlocksPerGroup);

    public ulong GroupFirstBlock(uint g) => Sb.FirstDataBlock + ((ulong)g * Sb.BlocksPerGroup);

    public uint BlocksInGroup(uint g) =>
        g + 1 < GroupCount ? Sb.BlocksPerGroup : (uint)(BlocksCount - GroupFirstBlock(g));

    /// <summary>True when group <paramref name="g"/> holds a superblock copy (sparse_super, sparse_super2).</summary>
    public bool HasSuper(uint g) => Ext2GroupLayout.HasSuper(Sb, g);

    /// <summary>Block number of descriptor block <paramref name="i"/> of the primary table.</summary>
    public ulong GdtBlock(uint i) => Ext2GroupLayout.GdtBlock(Sb, DescPerBlock, i);

    /// <summary>Blocks at the start of group <paramref name="g"/> taken by superblock and descriptor copies.</summary>
    public uint SuperAndGdtBlocks(uint g) => Ext2GroupLayout.SuperAndGdtBlocks(Sb, DescPerBlock, (uint)_gdtRaw.Length, g);

    /// <summary>A copy of block <paramref name="blk"/> (the repaired version when a repair changed it).</summary>
    public Errno Read(ulong blk, out byte[] data)
    {
        data = new byte[BlockSize];
        if (_changed.TryGetValue(blk, out byte[]? c))
        {
            c.CopyTo(data, 0);
            return Errno.OK;
        }
        if (blk >= BlocksCount)
        {
            return Errno.EIO;
        }
        if (TryReadAhead(blk, data))
        {
            return Errno.OK;
        }
        return Device.Read((long)blk << BlockShift, data);
    }

    /// <summary>Keep a changed block for <see cref="WriteBack"/>.</summary>
    public void Write(ulong blk, byte[] data) => _changed[blk] = data;

    /// <summary>
    /// Blocks <see cref="WriteBack"/> fills with zeros before it writes the changed blocks (a
    /// new journal's log): too many to keep in memory, and never read back by the check.
    /// </summary>
    public void ZeroOnWriteBack(ulong start, ulong count) => _zeroed.Add((start, count));

    /// <summary>Where inode <paramref name="ino"/> lives: its block and byte offset there.</summary>
    public (ulong Block, int Offset) InodeLocation(uint ino)
    {
        uint g = (ino - 1) / InodesPerGroup;
        long byteOff = (long)((ino - 1) % InodesPerGroup) * InodeSize;
        return (Groups[g].InodeTable + (ulong)(byteOff >> BlockShift), (int)(byteOff & (BlockSize - 1)));
    }

    public Errno ReadInode(uint ino, out Ext2Dinode din)
    {
        (ulong blk, int off) = InodeLocation(ino);
        if (!_changed.ContainsKey(blk) && TrySliceReadAhead(blk, off, InodeSize, out byte[]? raw))
        {
            din = new Ext2Dinode(raw);
            return Errno.OK;
        }
        Errno e = Read(blk, out byte[] data);
        din = new Ext2Dinode(data.AsSpan(off, InodeSize).ToArray());
        return e;
    }

    /// <summary>Store a changed inode, with a fresh checksum under metadata_csum.</summary>
    public void WriteInode(uint ino, Ext2Dinode din)
    {
        if (MetadataCsum)
        {
            din.UpdateChecksum(CsumSeed, ino);
        }
        (ulong blk, int off) = InodeLocation(ino);
        if (Read(blk, out byte[] data) == Errno.OK || _changed.ContainsKey(blk))
        {
            din.Raw.CopyTo(data, off);
            Write(blk, data);
        }
    }

    /// <summary>The raw bytes of group <paramref name="g"/>'s descriptor as read.</summary>
    public ReadOnlySpan<byte> RawDescriptor(uint g) =>
        _gdtRaw[g / (uint)DescPerBlock].AsSpan((int)(g % (uint)DescPerBlock) * DescSize, DescSize);

    public ushort DescriptorChecksum(uint g) =>
        Ext2GroupDescriptor.ComputeChecksum(RawDescriptor(g), g, MetadataCsum, CsumSeed, Sb.Uuid);

    /// <summary>Encode group <paramref name="g"/>'s descriptor back into its table block with a fresh checksum.</summary>
    public void StoreDescriptor(uint g)
    {
        byte[] block = _gdtRaw[g / (uint)DescPerBlock];
        Span<byte> d = block.AsSpan((int)(g % (uint)DescPerBlock) * DescSize, DescSize);
        Groups[g].Encode(d);
        if (GroupCsum)
        {
            ushort c = Ext2GroupDescriptor.ComputeChecksum(d, g, MetadataCsum, CsumSeed, Sb.Uuid);
            Groups[g].Checksum = c;
            BinaryPrimitives.WriteUInt16LittleEndian(d[Ext2GroupDescriptor.Off.Checksum..], c);
        }
        Write(GdtBlock(g / (uint)DescPerBlock), (byte[])block.Clone());
    }

    /// <summary>Write every changed block and the superblock (with a fresh checksum), then flush.</summary>
    public Errno WriteBack()
    {
        byte[] zeros = new byte[1 << 20];
        foreach ((ulong start, ulong count) in _zeroed)
        {
            long at = (long)start << BlockShift;
            long end = (long)(start + count) << BlockShift;
            for (; at < end; at += zeros.Length)
            {
                Errno z = Device.Write(at, zeros.AsSpan(0, (int)Math.Min(zeros.Length, end - at)));
                if (z != Errno.OK)
                {
                    return z;
                }
            }
        }
        _zeroed.Clear();
        DropReadAhead();
        foreach ((ulong blk, byte[] data) in _changed.OrderBy(kv => kv.Key))
        {
            Errno e = Device.Write((long)blk << BlockShift, data);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        _changed.Clear();
        Sb.UpdateChecksum();
        Errno rc = Device.Write(Ext2Superblock.DiskOffset, Sb.Raw);
        return rc != Errno.OK ? rc : Device.Flush();
    }
}
