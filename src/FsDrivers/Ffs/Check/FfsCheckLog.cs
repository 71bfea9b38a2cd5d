using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>
/// The WAPBL log before a check, as fsck_ffs handles it: a check alone replays the log into
/// memory and checks what the file system holds with it; a repair writes the replay to the
/// device and stops logging (as a mount without the log option does), or, when the log
/// cannot be replayed, drops it and repairs the file system as it is.
/// </summary>
internal static class FfsCheckLog
{
    private const string Phase = "log";
    private const string Where = "WAPBL log";

    /// <summary>The device to check: <paramref name="device"/>, or a replay over it.</summary>
    public static IBlockDevice Replay(IBlockDevice device, bool repair, CheckReport report)
    {
        FfsSuperblock? sb = FfsSuperblockCheck.Find(device, out _);
        if (sb is null || FfsSuperblockCheck.Validate(sb, device.Length) is not null
            || (sb.Flags & FfsSuperblock.FlagWapbl) == 0)
        {
            return device;
        }
        Errno e = FfsWapblReplay.Read(device, sb, out FfsWapblReplay? replay, out string? why);
        OverlayDevice? overlay = null;
        if (e == Errno.OK && replay!.PieceCount > 0)
        {
            e = replay.ToOverlay(out overlay, out _, out string? broken);
            if (e == Errno.OK && broken is not null)
            {
                // Replaying would leave no usable superblock: the log is as good as unreadable.
                e = Errno.EINVAL;
                why = $"the superblock it holds is unusable ({broken})";
            }
        }
        if (e == Errno.EIO)
        {
            report.OperationalError = $"cannot read the WAPBL log: {why}";
            return device;
        }
        if (e != Errno.OK)
        {
            if (!repair || device.IsReadOnly)
            {
                report.Add(Phase, Where, $"cannot be replayed: {why}");
                return device;
            }
            e = StopLogging(device);
            report.Add(Phase, Where, $"cannot be replayed: {why}; dropped", repaired: e == Errno.OK);
            if (e != Errno.OK)
            {
                report.OperationalError = $"could not stop logging: {e.Describe()}";
            }
            return device;
        }
        int pieces = replay!.PieceCount;
        if (!repair || device.IsReadOnly)
        {
            if (overlay is null)
            {
                return device;
            }
            report.Note(Phase, Where, $"replayed {pieces} logged blocks in memory");
            return overlay;
        }
        e = overlay?.CommitTo(device) ?? Errno.OK;
        if (e == Errno.OK)
        {
            e = StopLogging(device);
        }
        if (e != Errno.OK)
        {
            report.OperationalError = $"replaying the WAPBL log failed: {e.Describe()}";
            return device;
        }
        report.Note(Phase, Where, $"replayed {pieces} logged blocks to the device; logging stopped");
        return device;
    }

    /// <summary>Clear FS_DOWAPBL in the superblock on the device (after any replay).</summary>
    private static Errno StopLogging(IBlockDevice device)
    {
        FfsSuperblock? sb = FfsSuperblockCheck.Find(device, out _);
        if (sb is null || FfsSuperblockCheck.Validate(sb, device.Length) is not null)
        {
            return Errno.EIO;
        }
        sb.ClearFlags(FfsSuperblock.FlagWapbl);
        var w = new FfsRepairWriter(device, sb);
        w.WriteSuperblock(sb, clearFlags: false);
        w.Flush();
        return w.Error;
    }
}
