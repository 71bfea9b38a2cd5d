using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Mounting (NetBSD's ext2fs_mountfs / ext2fs_sbcheck): the superblock is read and checked,
/// feature gates applied, a journal that needs recovery replayed, group descriptors loaded
/// and, for read-write mounts, the orphan list and orphan file processed and the superblock
/// marked in use.
/// Nothing is written before every check has passed.
/// </summary>
internal static class Ext2VfsOps
{
    public static Errno MountFs(IBlockDevice device, MountOptions options, out Ext2Mount? mount, out string? message)
    {
        mount = null;
        string? unknown = options.Extra.Keys.FirstOrDefault(k => !Ext2QuotaLimits.OptionNames.Any(names => names.Contains(k)));
        if (unknown is not null)
        {
            message = $"unknown ext2fs option '{unknown}'";
            return Errno.EINVAL;
        }
        Errno e = ReadSuperblock(device, out Ext2Superblock? sb, out message);
        if (e != Errno.OK)
        {
            return e;
        }
        message = Ext2QuotaLimits.OptionProblem(options, sb!);
        if (message is not null)
        {
            return Errno.EINVAL;
        }
        bool readOnly = options.ReadOnly || device.IsReadOnly;
        e = CheckFeatures(sb!, readOnly, out message);
        if (e != Errno.OK)
        {
            return e;
        }

        IBlockDevice io = device;
        if ((sb!.FeatureIncompat & Ext2Features.IncompatRecover) != 0)
        {
            if ((sb.FeatureCompat & Ext2Features.CompatHasJournal) == 0 || sb.JournalInum == 0)
            {
                message = "needs_recovery is set but there is no journal inode";
                return Errno.EINVAL;
            }
            var overlay = new JournalOverlayDevice(device);
            var probe = new Ext2Mount(device, overlay, options, sb, readOnly: true);
            e = probe.LoadGroupDescriptors(out message);
            if (e != Errno.OK)
            {
                return e;
            }
            e = Ext2Journal.Recover(probe, overlay, out message);
            if (e != Errno.OK)
            {
                return e;
            }
            if (!readOnly)
            {
                e = overlay.CommitTo(device);
                if (e != Errno.OK)
                {
                    message = $"writing the journal replay failed: {e.Describe()}";
                    return e;
                }
                e = Ext2Journal.MarkEmpty(probe, device);
                if (e != Errno.OK)
                {
                    message = $"clearing the journal failed: {e.Describe()}";
                    return e;
                }
            }
            else
            {
                io = overlay;
            }
            e = ReadSuperblock(io, out sb, out message);
            if (e != Errno.OK)
            {
                return e;
            }
            if (!readOnly)
            {
                sb!.FeatureIncompat &= ~Ext2Features.IncompatRecover;
            }
        }

        if (!readOnly && !options.Force
            && ((sb!.State & Ext2Superblock.StateValid) == 0 || (sb.State & Ext2Superblock.StateError) != 0))
        {
            message = "file system is not clean (run e2fsck, or mount read-only or with -o force)";
            return Errno.EUCLEAN;
        }

        var m = new Ext2Mount(device, io, options, sb!, readOnly);
        e = m.LoadGroupDescriptors(out message);
        if (e != Errno.OK)
        {
            return e;
        }
        m.Overhead = ComputeOverhead(m);
        m.ReservedPool = ReservedPoolSize(m);
        e = m.Root(out Vnode? root);
        if (e != Errno.OK)
        {
            message = $"cannot read the root directory: {e.Describe()}";
            return e;
        }
        root!.Release();

        if (!readOnly)
        {
            e = StartWriting(m, out message);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        mount = m;
        message = null;
        return Errno.OK;
    }

    private static Errno ReadSuperblock(IBlockDevice device, out Ext2Superblock? sb, out string? message)
    {
        sb = null;
        message = null;
        if (device.Length < Ext2Superblock.DiskOffset + Ext2Superblock.Size)
        {
            message = "device too small for an ext2 file system";
            return Errno.EINVAL;
        }
        byte[] raw = new byte[Ext2Superblock.Size];
        Errno e = device.Read(Ext2Superblock.DiskOffset, raw);
        if (e != Errno.OK)
        {
            message = $"cannot read the superblock: {e.Describe()}";
            return e;
        }
        var s = new Ext2Superblock(raw);
        if (Ext2SuperblockRules.Problem(s) is string problem)
        {
            message = problem;
            return Errno.EINVAL;
        }
        if ((s.InodesPerGroup % 8) != 0)
        {
            // The inode bitmap code works a byte at a time.
            message = $"inodes per group {s.InodesPerGroup} is not a multiple of 8";
            return Errno.EINVAL;
        }
        if (s.HasMetadataCsum)
        {
            if (s.ChecksumType != 1)
            {
                message = $"unknown checksum type {s.ChecksumType}";
                return Errno.EINVAL;
            }
            if (s.StoredChecksum != s.ComputeChecksum())
            {
                KernelLog.CorruptionOnce(Ext2Mount.Subsystem, 1, "bad superblock checksum");
                message = "bad superblock checksum";
                return Errno.EIO;
            }
        }
        int bs = 1024 << (int)s.LogBlockSize;
        if ((long)Math.Min(s.BlocksCount, long.MaxValue >> 17) * bs > device.Length)
        {
            message = $"device is smaller than the file system ({s.BlocksCount} blocks of {bs} bytes): truncated image?";
            return Errno.EINVAL;
        }
        sb = s;
        return Errno.OK;
    }

    private static Errno CheckFeatures(Ext2Superblock sb, bool readOnly, out string? message)
    {
        message = null;
        uint unknown = sb.FeatureIncompat & ~Ext2Features.IncompatSupported;
        if (unknown != 0)
        {
            message = $"unsupported feature(s): {Ext2Features.IncompatNames(unknown)}";
            return Errno.EINVAL;
        }
        if ((sb.FeatureCompat & Ext2Features.CompatHasJournal) != 0 && sb.JournalDev != 0 && sb.JournalInum == 0)
        {
            message = "unsupported feature: external journal device";
            return Errno.EINVAL;
        }
        if (readOnly)
        {
            return Errno.OK;
        }
        uint ro = sb.FeatureRoCompat & ~Ext2Features.RoSupported;
        if (ro != 0)
        {
            message = $"feature(s) {Ext2Features.RoCompatNames(ro)} are supported read-only only: mount with -o ro";
            return Errno.EROFS;
        }
        uint incompatRo = sb.FeatureIncompat & Ext2Features.IncompatReadOnly;
        if (incompatRo != 0)
        {
            message = $"feature(s) {Ext2Features.IncompatNames(incompatRo)} are supported read-only only: mount with -o ro";
            return Errno.EROFS;
        }
        return Errno.OK;
    }

    /// <summary>
    /// Superblock copies, descriptor tables, bitmaps, inode tables and an internal journal
    /// (statfs leaves them out, as ext4_calculate_overhead counts them).
    /// </summary>
    private static ulong ComputeOverhead(Ext2Mount m)
    {
        ulong itBlocks = ((ulong)m.Sb.InodesPerGroup * (ulong)m.InodeSize + (ulong)m.BlockSize - 1) / (ulong)m.BlockSize;
        ulong total = m.Sb.FirstDataBlock;
        for (uint g = 0; g < m.GroupCount; g++)
        {
            total += m.SuperAndGdtBlocks(g) + 2 + itBlocks;
        }
        if ((m.Sb.FeatureCompat & Ext2Features.CompatHasJournal) != 0 && m.Sb.JournalInum != 0
            && Ext2Node.ReadDinode(m, m.Sb.JournalInum, out Ext2Dinode? journal) == Errno.OK && journal!.Size > 0)
        {
            total += (ulong)journal.Size >> m.BlockShift;
        }
        return Math.Min(total, m.BlocksCount);
    }

    /// <summary>
    /// ext4's reserved pool (ext4_calculate_resv_clusters): 2 % of the blocks, at most 4096,
    /// kept for the tree blocks that converting or splitting extents needs on a full file
    /// system. None without extents, where no such need arises.
    /// </summary>
    private static ulong ReservedPoolSize(Ext2Mount m) =>
        (m.Sb.FeatureIncompat & Ext2Features.IncompatExtents) == 0 ? 0 : Math.Min(m.BlocksCount / 50, 4096);

    /// <summary>
    /// Read-write mount: process orphans (the orphan file is checked before anything is
    /// written, and a damaged one refuses the mount), mark the file system in use (not
    /// clean) and count the mount.
    /// </summary>
    private static Errno StartWriting(Ext2Mount m, out string? message)
    {
        // Before anything is written: the live usage starts from the quota files as they are.
        m.Limits.Load();
        Errno e = Ext2OrphanFile.Check(m, out Ext2OrphanFile.Contents? orphanFile, out message);
        if (e != Errno.OK)
        {
            return e;
        }
        e = Ext2Orphans.Process(m);
        if (e != Errno.OK)
        {
            message = $"processing the orphan list failed: {e.Describe()}";
            return e;
        }
        e = Ext2OrphanFile.Process(m, orphanFile);
        if (e != Errno.OK)
        {
            message = $"processing the orphan file failed: {e.Describe()}";
            return e;
        }
        lock (m.AllocLock)
        {
            m.Sb.State &= unchecked((ushort)~Ext2Superblock.StateValid);
            m.Sb.MntCount++;
            m.Sb.SetTime(Ext2Superblock.Off.Mtime, 1, m.Clock.Now.Seconds);
        }
        e = m.WriteSuperblock();
        if (e == Errno.OK)
        {
            e = m.Io.Flush();
        }
        if (e != Errno.OK)
        {
            message = $"cannot write the superblock: {e.Describe()}";
        }
        return e;
    }
}
