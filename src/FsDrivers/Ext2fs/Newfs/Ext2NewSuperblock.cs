using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using SB = RumpFs.FsDrivers.Ext2fs.OnDisk.Ext2Superblock.Off;

namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>The superblock of a new file system (each copy differs only in s_block_group_nr and its checksum).</summary>
internal static class Ext2NewSuperblock
{
    /// <summary>s_default_mount_opts as Debian's mke2fs.conf sets them: user_xattr, acl.</summary>
    private const uint DefaultMountOpts = 0x0004 | 0x0008;

    /// <summary>s_jnl_backup_type: s_jnl_blocks holds a copy of the journal inode's i_block, i_size_high and i_size.</summary>
    private const byte JournalBackupBlocks = 1;

    private const byte ChecksumCrc32c = 1;
    private const byte HalfMd4 = 1;
    private const ushort ExtraIsize = 32;

    public static byte[] Build(Ext2NewfsPlan p, uint grp)
    {
        Ext2Geometry g = p.Geometry;
        Ext2FeatureSet f = g.Features;
        var s = new byte[Ext2Superblock.Size];
        void U32(int off, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(off), v);
        void U16(int off, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(off), v);
        uint log = (uint)(BitOperations.Log2((uint)g.BlockSize) - 10);
        U32(SB.InodesCount, g.InodesCount);
        U32(SB.BlocksCountLo, g.BlocksCount);
        U32(SB.RBlocksCountLo, g.BlocksCount / 20);
        U32(SB.FreeBlocksCountLo, (uint)p.FreeBlocks.Sum(x => (long)x));
        U32(SB.FreeInodesCount, (uint)p.FreeInodes.Sum(x => (long)x));
        U32(SB.FirstDataBlock, g.FirstDataBlock);
        U32(SB.LogBlockSize, log);
        U32(SB.LogClusterSize, log);
        U32(SB.BlocksPerGroup, g.BlocksPerGroup);
        U32(SB.ClustersPerGroup, g.BlocksPerGroup);
        U32(SB.InodesPerGroup, g.InodesPerGroup);
        U32(SB.Wtime, p.Now);
        U16(SB.MaxMntCount, 0xFFFF);
        U16(SB.MagicField, Ext2Superblock.Magic);
        U16(SB.State, Ext2Superblock.StateValid);
        U16(SB.Errors, 1); // continue
        U32(SB.LastCheck, p.Now);
        U32(SB.RevLevel, f.Rev);
        if (f.Rev == 0)
        {
            // The original revision ends here: everything after s_def_resgid is dynamic-revision only.
            return s;
        }
        U32(SB.FirstIno, g.FirstIno);
        U16(SB.InodeSize, (ushort)g.InodeSize);
        U16(SB.BlockGroupNr, (ushort)grp);
        U32(SB.FeatureCompat, f.Compat);
        U32(SB.FeatureIncompat, f.Incompat);
        U32(SB.FeatureRoCompat, f.RoCompat);
        p.Uuid.CopyTo(s.AsSpan(SB.Uuid));
        Encoding.UTF8.GetBytes(g.Label, s.AsSpan(SB.VolumeName, 16));
        p.HashSeed.CopyTo(s.AsSpan(SB.HashSeed));
        s[SB.DefHashVersion] = HalfMd4;
        // x86 mke2fs: directory hashes of names with high-bit bytes use signed chars.
        U32(SB.Flags, Ext2Superblock.FlagSignedHash);
        U32(SB.DefaultMountOpts, DefaultMountOpts);
        U32(SB.MkfsTime, p.Now);
        if (p.Journal is not null)
        {
            U32(SB.JournalInum, Ext2NewJournal.Inode);
            s[SB.JnlBackupType] = JournalBackupBlocks;
            p.Journal.BlockArea.CopyTo(s.AsSpan(SB.JnlBlocks));
            long size = (long)g.JournalBlocks * g.BlockSize;
            U32(SB.JnlBlocks + 60, (uint)(size >> 32));
            U32(SB.JnlBlocks + 64, (uint)size);
        }
        if (p.OrphanFile is not null)
        {
            U32(SB.OrphanFileInum, Ext2NewfsPlan.OrphanFileIno);
        }
        if (f.Wide)
        {
            U16(SB.DescSize, (ushort)f.DescSize);
        }
        if (f.Has(ro: Ext2Features.RoExtraIsize))
        {
            U16(SB.MinExtraIsize, ExtraIsize);
            U16(SB.WantExtraIsize, ExtraIsize);
        }
        if (f.FlexBg)
        {
            s[SB.LogGroupsPerFlex] = Ext2Geometry.LogFlexSize;
        }
        if (f.MetadataCsum)
        {
            s[SB.ChecksumType] = ChecksumCrc32c;
            if (f.Has(incompat: Ext2Features.IncompatCsumSeed))
            {
                U32(SB.ChecksumSeed, p.CsumSeed);
            }
            U32(SB.Checksum, Ext2Crc.Crc32c(~0u, s.AsSpan(0, SB.Checksum)));
        }
        return s;
    }

    /// <summary>The group descriptor table, with each descriptor's checksum when the features ask for one.</summary>
    public static byte[] Descriptors(Ext2NewfsPlan p)
    {
        Ext2Geometry g = p.Geometry;
        Ext2FeatureSet f = g.Features;
        Ext2Layout l = p.Layout;
        int ds = f.DescSize;
        bool csum = f.MetadataCsum || f.GdtCsum;
        var gdt = new byte[g.GdtBlocks * g.BlockSize];
        for (uint grp = 0; grp < g.Groups; grp++)
        {
            var d = new Ext2GroupDescriptor
            {
                BlockBitmap = l.BlockBitmap[grp],
                InodeBitmap = l.InodeBitmap[grp],
                InodeTable = l.InodeTable[grp],
                FreeBlocks = p.FreeBlocks[grp],
                FreeInodes = p.FreeInodes[grp],
                UsedDirs = grp == 0 ? 2u : 0u,
            };
            if (csum)
            {
                // Every inode table is written out zeroed, and no inode past the used ones has ever been handed out.
                d.Flags = Ext2GroupDescriptor.FlagInodeZeroed;
                d.ItableUnused = p.FreeInodes[grp];
            }
            if (f.MetadataCsum)
            {
                d.BlockBitmapCsum = Ext2Crc.Crc32c(p.CsumSeed, p.Layout.Map.Bitmap(grp).AsSpan(0, (int)(g.BlocksPerGroup / 8)));
                d.InodeBitmapCsum = Ext2Crc.Crc32c(p.CsumSeed, p.InodeBitmap(grp).AsSpan(0, (int)(g.InodesPerGroup / 8)));
            }
            Span<byte> raw = gdt.AsSpan((int)grp * ds, ds);
            d.Encode(raw);
            if (csum)
            {
                ushort c = Ext2GroupDescriptor.ComputeChecksum(raw, grp, f.MetadataCsum, p.CsumSeed, p.Uuid);
                BinaryPrimitives.WriteUInt16LittleEndian(raw[Ext2GroupDescriptor.Off.Checksum..], c);
            }
        }
        return gdt;
    }
}
