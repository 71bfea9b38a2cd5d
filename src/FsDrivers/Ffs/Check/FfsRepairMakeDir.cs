using System.Security.Cryptography;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>Making a directory during repair: a new root (pass 2) and lost+found (pass 3).</summary>
internal sealed partial class FfsRepair
{
    private const ushort RootMode = 0x4000 | 0x1ED; // S_IFDIR | 0755, as fsck_ffs's allocdir(ROOTINO, ROOTINO, 0755)

    /// <summary>
    /// fsck_ffs's pass 2 on a root it cannot walk: ROOT INODE UNALLOCATED (ALLOCATE), DUPS/BAD
    /// IN ROOT INODE or ROOT INODE NOT DIRECTORY (REALLOCATE). Pass 1 has already cleared a
    /// root it would not keep, so its blocks are free; a new empty root is made at inode 2.
    /// What the old root named is reached again by passes 3 and 4 through lost+found.
    /// </summary>
    private bool ReallocateRoot()
    {
        const ulong root = FfsSuperblock.RootIno;
        string why = _rootCleared ?? "ROOT INODE UNALLOCATED";
        if (!NewDirectory(root, root, RootMode))
        {
            Left($"root inode: {why}; no room for a new root directory");
            return false;
        }
        Did($"root inode: {why}; a new root directory made (fsck_ffs's {(_rootCleared is null ? "ALLOCATE" : "REALLOCATE")})");
        return true;
    }

    /// <summary>
    /// Write a new directory of one DIRBLKSIZ chunk holding "." and ".." at inode
    /// <paramref name="ino"/>, its block in the inode's group or the next with room. The
    /// references its entries make are left to the caller (the walk counts them for the root).
    /// </summary>
    private bool NewDirectory(ulong ino, ulong parent, ushort mode)
    {
        int nfrags = (int)_sb.NumFrags(FfsSuperblock.DirBlkSiz);
        long blk = AllocFrags(nfrags, _sb.InoToCg(ino));
        if (blk < 0)
        {
            return false;
        }
        byte[] b = new byte[nfrags << _sb.Fshift];
        InitDirChunks(b, 0, b.Length);
        bool types = _sb.HasDirentTypes;
        DirectEntry.Write(b, 0, O, types, (uint)ino, 12, 4, "."u8);
        DirectEntry.Write(b, 12, O, types, (uint)parent, FfsSuperblock.DirBlkSiz - 12, 4, ".."u8);
        var d = new FfsDinode
        {
            Mode = mode,
            Nlink = 2,
            Size = FfsSuperblock.DirBlkSiz,
            Blocks = (long)nfrags * (_sb.Fsize / 512),
            Atime = new Timespec(_now, 0),
            Mtime = new Timespec(_now, 0),
            Ctime = new Timespec(_now, 0),
            Birthtime = new Timespec(_now, 0),
            Gen = RandomNumberGenerator.GetInt32(1, int.MaxValue),
        };
        d.Db[0] = blk;
        _w.WriteFrags(blk, b);
        _w.WriteInode(ino, d);
        _inodes[ino] = d;
        _dirBlocks[ino] = [new DirBlock(0, blk, nfrags)];
        return true;
    }

    /// <summary>Undo <see cref="NewDirectory"/> when the name for it could not be added.</summary>
    private void DropNewDirectory(ulong ino)
    {
        _w.ClearInode(ino);
        _inodes[ino] = null;
        if (_dirBlocks.Remove(ino, out List<DirBlock>? blocks))
        {
            foreach (DirBlock blk in blocks)
            {
                for (int i = 0; i < blk.Frags; i++)
                {
                    _used[(int)(blk.Phys + i)] = false;
                }
            }
        }
    }
}
