using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// A journal that needs recovery, before the passes: under repair it is replayed with the
/// driver's own replay (as a read-write mount would) so that the passes check the file
/// system as the journal leaves it; without repair it is reported and left alone.
/// </summary>
internal static class Ext2CheckJournal
{
    /// <summary>True when the superblock asks for a journal replay.</summary>
    public static bool NeedsRecovery(Ext2Superblock sb) => (sb.FeatureIncompat & Ext2Features.IncompatRecover) != 0;

    /// <summary>Replay the journal onto <paramref name="device"/>, mark it empty and clear needs_recovery.</summary>
    public static Errno Replay(IBlockDevice device, Ext2Superblock sb, out string? message)
    {
        message = null;
        if ((sb.FeatureCompat & Ext2Features.CompatHasJournal) == 0 || sb.JournalInum == 0)
        {
            message = "needs_recovery is set but there is no journal inode";
            return Errno.EINVAL;
        }
        Errno e = MountOptions.Parse(null, out MountOptions options, out message);
        if (e != Errno.OK)
        {
            return e;
        }
        var overlay = new JournalOverlayDevice(device);
        var probe = new Ext2Mount(device, overlay, options, sb, readOnly: true);
        e = probe.LoadGroupDescriptors(out message);
        if (e == Errno.OK)
        {
            e = Ext2Journal.Recover(probe, overlay, out message);
        }
        if (e == Errno.OK)
        {
            e = overlay.CommitTo(device);
        }
        if (e == Errno.OK)
        {
            e = Ext2Journal.MarkEmpty(probe, device);
        }
        if (e != Errno.OK)
        {
            message ??= $"replaying the journal failed: {e.Describe()}";
            return e;
        }
        // The replay may have rewritten the superblock: clear the flag in what is now on the device.
        byte[] raw = new byte[Ext2Superblock.Size];
        e = device.Read(Ext2Superblock.DiskOffset, raw);
        if (e != Errno.OK)
        {
            return e;
        }
        var now = new Ext2Superblock(raw);
        now.FeatureIncompat &= ~Ext2Features.IncompatRecover;
        now.UpdateChecksum();
        e = device.Write(Ext2Superblock.DiskOffset, now.Raw);
        return e == Errno.OK ? device.Flush() : e;
    }
}
