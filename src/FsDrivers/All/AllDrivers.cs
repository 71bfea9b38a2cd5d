using RumpFs.Vfs;

namespace RumpFs.FsDrivers;

/// <summary>
/// Registers every file-system driver with the VFS. Front ends that serve any format
/// (Ukfs, the ukfs command) call this once; the per-format daemons register only theirs.
/// This is the one place above the drivers that names them.
/// </summary>
public static class AllDrivers
{
    private static readonly Lock s_lock = new();
    private static bool s_registered;

    public static void Register()
    {
        // A lock, not a flag set first: a second caller must wait until every driver is in.
        lock (s_lock)
        {
            if (!s_registered)
            {
                RegisterAll();
                s_registered = true;
            }
        }
    }

    private static void RegisterAll()
    {
        FileSystemRegistry.Register(new Tmpfs.TmpfsDriver());
        FileSystemRegistry.Register(new Ffs.FfsDriver());
        FileSystemRegistry.Register(new Ext2fs.Ext2fsDriver());
        FileSystemRegistry.Register(new Msdosfs.MsdosfsDriver());
        FileSystemTools.Register(new Msdosfs.Check.FatChecker());
        FileSystemTools.Register(new Msdosfs.Newfs.FatFormatter());
        FileSystemTools.Register(new Ext2fs.Newfs.Ext2Formatter());
        FileSystemTools.Register(new Ffs.Check.FfsChecker());
        FileSystemTools.Register(new Ffs.Newfs.FfsFormatter());
    }
}
