namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>Repair pass 4: link counts, and files no directory names.</summary>
internal sealed partial class FfsRepair
{
    private void Pass4()
    {
        if (_sb.LogInode is var log and not 0 && _inodes[log] is { } ld && (ld.Flags & FfsWapblLayout.LogInodeFlag) != 0)
        {
            _refs[log]++; // named by the superblock, not by a directory
        }
        for (ulong ino = FfsSuperblock.RootIno; ino < (ulong)_inodes.Length; ino++)
        {
            if (_inodes[ino] is { } d && _refs[ino] == 0 && d.Type != 0x4000)
            {
                if (d.Size == 0 && d.Blocks == 0)
                {
                    // Nothing to save: fsck_ffs clears an unreferenced empty file.
                    _w.ClearInode(ino);
                    _inodes[ino] = null;
                    Did($"inode {ino}: unreferenced empty file cleared");
                    continue;
                }
                if (!Reconnect(ino))
                {
                    Left($"inode {ino}: unreferenced file could not be linked into /{LostFoundName}");
                }
            }
        }
        // Counts last: making lost+found above adds a reference to the root.
        for (ulong ino = FfsSuperblock.RootIno; ino < (ulong)_inodes.Length; ino++)
        {
            if (_inodes[ino] is { } d && _refs[ino] != d.Nlink && _refs[ino] > 0)
            {
                Did($"inode {ino}: link count {d.Nlink} set to {_refs[ino]}");
                d.Nlink = (short)Math.Min(_refs[ino], short.MaxValue);
                _w.WriteInode(ino, d);
            }
        }
    }
}
