using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Mounting a file system that NetBSD was logging (FS_DOWAPBL), as ffs_mountfs does without
/// the log option: the log is replayed first (into memory for a read-only mount; to the
/// device for a read-write one, once the replayed state passes the mount's checks), and a
/// read-write mount then stops logging (the flag is cleared; the log's space stays recorded
/// for the next mount with logging) and frees the inodes the log lists as unlinked but
/// still allocated (ffs_wapbl_replay_finish). A log that cannot be trusted refuses the
/// mount before anything is written.
/// </summary>
internal sealed partial class FfsMount
{
    private const uint ModeTypeMask = 0xF000;
    private const uint ModeDirectory = 0x4000;

    /// <summary>
    /// Replay the log of <paramref name="sb"/>. On success <paramref name="io"/> is the device
    /// to read the file system from and <paramref name="sb"/> its superblock after the replay.
    /// </summary>
    private static Errno ReplayLog(IBlockDevice device, bool readOnly, MountOptions options, ref FfsSuperblock sb,
        out IBlockDevice io, out FfsWapblReplay? replay, out string? message)
    {
        io = device;
        message = null;
        Errno e = FfsWapblReplay.Read(device, sb, out replay, out string? why);
        if (e != Errno.OK)
        {
            if (readOnly && options.Force)
            {
                KernelLog.Warning("ffs", $"{device.Name}: WAPBL log not replayed ({why}); recent changes are not visible");
                return Errno.OK;
            }
            message = $"ffs: WAPBL log: {why} (run fsck, or mount read-only with -o force to read without it)";
            return e;
        }
        int pieces = replay!.PieceCount;
        if (pieces > 0)
        {
            // Read-write mounts too see the replay through an overlay first: it is written
            // only once the replayed state passes the mount's checks (MountDevice).
            e = replay.ToOverlay(out OverlayDevice overlay, out FfsSuperblock? after, out string? bad);
            if (e != Errno.OK)
            {
                message = $"ffs: reading the WAPBL log replay failed: {e.Describe()}";
                return e;
            }
            io = overlay;
            KernelLog.Info("ffs", $"{device.Name}: replaying {pieces} logged blocks of {replay.PieceBytes} bytes {(readOnly ? "in memory" : "to the device")}");
            if (bad is not null && readOnly && options.Force)
            {
                KernelLog.Warning("ffs", $"{device.Name}: WAPBL log not replayed (the superblock it holds is unusable: {bad}); recent changes are not visible");
                io = device;
                replay = null;
                return Errno.OK;
            }
            if (bad is not null)
            {
                message = $"ffs: superblock after the WAPBL replay: {bad} (mount read-only with -o force to read without the log)";
                return Errno.EINVAL;
            }
            sb = after!;
        }
        // What the log held is in place, so the file system is consistent: as NetBSD, do not
        // ask for fsck because the logging system went down without unmounting.
        sb.Clean |= FfsSuperblock.IsClean;
        if (!readOnly)
        {
            sb.ClearFlags(FfsSuperblock.FlagWapbl);
        }
        return Errno.OK;
    }

    /// <summary>
    /// Free the inodes a replayed log lists: unlinked ones still holding storage, and ones
    /// whose allocation was cut short before they got a mode.
    /// </summary>
    private Errno ReleaseLoggedInodes(IReadOnlyList<(uint Ino, uint Mode)> inodes)
    {
        foreach ((uint ino, uint listedMode) in inodes.Distinct())
        {
            if (ino <= FfsSuperblock.RootIno || ino >= (ulong)Sb.TotalInodes)
            {
                KernelLog.Warning("ffs", $"{Dev.Name}: WAPBL log lists inode {ino}, outside the file system; ignored");
                continue;
            }
            var din = new FfsDinode();
            Errno e = ReadDinode(ino, din);
            if (e != Errno.OK)
            {
                return e;
            }
            bool freed = false;
            if (din.Mode == 0)
            {
                e = InodeInUse(ino, out bool used);
                if (e == Errno.OK && used)
                {
                    e = FreeInode(ino, (listedMode & ModeTypeMask) == ModeDirectory);
                    freed = true;
                }
            }
            else if (din.Nlink <= 0)
            {
                var node = new FfsNode(this, ino, VTypeExtensions.FromModeBits(din.Mode), din);
                e = node.Inactive(out _);
                freed = true;
            }
            if (e != Errno.OK)
            {
                return e;
            }
            if (freed)
            {
                KernelLog.Info("ffs", $"{Dev.Name}: freed inode {ino}, listed as unlinked in the WAPBL log");
            }
        }
        return Errno.OK;
    }

    /// <summary>Whether inode <paramref name="ino"/> is marked in use in its group's map.</summary>
    private Errno InodeInUse(ulong ino, out bool used)
    {
        used = false;
        lock (AllocLock)
        {
            Errno e = ReadCg(Sb.InoToCg(ino), out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            lock (bp!.SyncRoot)
            {
                used = new CylinderGroup(bp.Data, Order).InodeUsed((int)(ino % (ulong)Sb.Ipg));
            }
            bp.Release();
            return Errno.OK;
        }
    }
}
