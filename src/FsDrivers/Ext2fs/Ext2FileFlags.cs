using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// lsattr/chattr on ext2/ext3/ext4: i_flags are Linux's generic flags bit for bit. What is
/// shown is EXT4_FL_USER_VISIBLE; what may change is the subset whose meaning needs nothing
/// more on disk (no compression, encryption, verity or casefold, and no conversion between
/// block maps and extents, which Linux does on +e and refuses on -e). Project inherit (P)
/// is stored on directories with or without the project feature, as ext4 stores it (it acts
/// only with the feature). A directory-only flag (D T P) asked of a regular file is
/// EOPNOTSUPP, as ext4_fileattr_set answers since Linux 5.13 (older kernels dropped it);
/// on other types the flags beyond d and A are dropped, as ext4_mask_flags does.
/// </summary>
internal sealed partial class Ext2Node
{
    private const uint UserVisible = 0x705BDFFF;

    private const FileFlags Settable = FileFlags.SecureDelete | FileFlags.Undelete | FileFlags.Sync
        | FileFlags.Immutable | FileFlags.AppendOnly | FileFlags.NoDump | FileFlags.NoAtime
        | FileFlags.JournalData | FileFlags.NoTailMerge | FileFlags.DirSync | FileFlags.TopDir
        | FileFlags.ProjectInherit;

    // ext4's EXT4_REG_FLMASK and EXT4_OTHER_FLMASK: directory-only flags off regular files,
    // and only these two on anything that is neither a file nor a directory.
    private const FileFlags DirectoryOnly = FileFlags.DirSync | FileFlags.TopDir | FileFlags.Casefold | FileFlags.ProjectInherit;
    private const FileFlags AnyType = FileFlags.NoDump | FileFlags.NoAtime;

    // ext4's EXT4_FL_INHERITED without casefold (which this driver does not mount): the
    // flags a new inode takes from its directory.
    private const FileFlags Inherited = FileFlags.SecureDelete | FileFlags.Undelete | FileFlags.Compress | FileFlags.Sync
        | FileFlags.NoDump | FileFlags.NoAtime | FileFlags.NoCompress | FileFlags.JournalData | FileFlags.NoTailMerge
        | FileFlags.DirSync | FileFlags.ProjectInherit | FileFlags.Dax;

    /// <summary>The flags a new inode of <paramref name="type"/> takes from <paramref name="dir"/>, as ext4 passes them on.</summary>
    internal static uint InheritedFlags(Ext2Node dir, VType type)
    {
        FileFlags flags = (FileFlags)dir.Din.Flags & Inherited;
        return (uint)(type switch
        {
            VType.Directory => flags,
            VType.Regular => flags & ~DirectoryOnly,
            _ => flags & AnyType,
        });
    }

    /// <summary>Whether reading moves atime: not on a noatime or read-only mount, nor for a file with chattr +A.</summary>
    private bool UpdatesAtime =>
        !Fs.Options.NoAtime && !Fs.IsReadOnly && ((FileFlags)Din.Flags & FileFlags.NoAtime) == 0;

    public override Errno GetFileFlags(out FileFlags flags)
    {
        flags = (FileFlags)(Din.Flags & UserVisible);
        return Errno.OK;
    }

    public override Errno SetFileFlags(FileFlags flags)
    {
        var old = (FileFlags)Din.Flags;
        if (Type == VType.Regular && (flags & DirectoryOnly) != 0)
        {
            return Errno.EOPNOTSUPP;
        }
        flags = Type switch
        {
            VType.Directory or VType.Regular => flags,
            _ => flags & AnyType,
        };
        if (((uint)flags & ~UserVisible) != 0)
        {
            return Errno.EOPNOTSUPP;
        }
        // Visible flags that are not settable are the file's layout (extents, index,
        // inline data...) or need support this driver lacks: asking to change one fails.
        var fixedVisible = (FileFlags)UserVisible & ~Settable;
        if (((flags ^ old) & fixedVisible) != 0)
        {
            return Errno.EOPNOTSUPP;
        }
        Din.Flags = (uint)((old & ~Settable) | (flags & Settable));
        Din.Ctime = Fs.Clock.Now;
        MarkDirty();
        return Fs.Options.Synchronous ? Update() : Errno.OK;
    }
}
