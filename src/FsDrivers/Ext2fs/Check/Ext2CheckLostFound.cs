using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// /lost+found made afresh when a repair must reconnect something and there is none, as
/// e2fsck does: one block, mode 0700, linked from the root. Blocks and inodes a repair takes
/// are remembered so that pass 5 accounts for them without calling them damage.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private readonly HashSet<ulong> _allocated = [];
    private readonly HashSet<uint> _allocatedInodes = [];
    private bool _connectivityDone;

    /// <summary>A fresh inode a repair makes (lost+found, the journal, the resize inode): mode, links, the extra fields' size, times now.</summary>
    private Ext2Dinode NewInode(ushort mode, ushort links)
    {
        var din = new Ext2Dinode(new byte[_v.InodeSize]) { Mode = mode, LinksCount = links };
        if (_v.InodeSize > Ext2Dinode.BaseSize)
        {
            din.SetExtraIsize((ushort)Math.Min(Ext2Dinode.Off.End - Ext2Dinode.BaseSize, _v.InodeSize - Ext2Dinode.BaseSize));
        }
        var now = new Timespec(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 0);
        din.Atime = now;
        din.Mtime = now;
        din.Ctime = now;
        return din;
    }

    /// <summary>The inode a root entry "lost+found" names when that is no directory (pass 2 notes it); 0 otherwise.</summary>
    private uint _lostFoundNotDir;

    /// <summary>The root's lost+found when it is an inline directory (pass 2 notes it); 0 otherwise.</summary>
    private uint _lostFoundInline;

    /// <summary>
    /// e2fsck's "/lost+found has inline data": at the start of pass 3 its root entry goes
    /// (-n reports it), so a new lost+found with a block is made, and the old directory,
    /// now unconnected, is reconnected into it with everything it holds.
    /// </summary>
    private void DropInlineLostFound()
    {
        uint old = _lostFoundInline;
        if (old == 0)
        {
            return;
        }
        Error(Pass3, Ino(old), "/lost+found has inline data, which reconnections cannot grow; its root entry is removed and a new one made");
        if (_repair && UnlinkEntry(RootIno, old, "lost+found"u8))
        {
            _parent[old] = 0;
            _lostFoundInline = 0;
        }
    }

    /// <summary>The lost+found directory, created under repair when missing; 0 when there is none.</summary>
    private uint LostAndFound()
    {
        if (_lostFound != 0 || !_repair || !_inUse[(int)RootIno] || _type[RootIno] != 2)
        {
            return _lostFound;
        }
        if (_lostFoundNotDir != 0 && !UnlinkRootEntry("lost+found"u8, _lostFoundNotDir))
        {
            return 0;
        }
        // The lowest free inode, as libext2fs's new_inode picks it: past a group's
        // unused-inode mark too (when every inode below it is taken), which pass 5 then moves.
        uint ino = 0;
        for (uint i = Sb.FirstIno; i <= _v.InodesCount && ino == 0; i++)
        {
            if (!_inUse[(int)i])
            {
                ino = i;
                uint g = (i - 1) / _v.InodesPerGroup;
                _scanWholeGroup[g] |= (i - 1) % _v.InodesPerGroup >= ScannedInodes(g);
            }
        }
        ulong blk = ino == 0 ? 0 : AllocBlocks(1);
        if (blk == 0)
        {
            return 0;
        }
        // The name first: when the root cannot take it, nothing has been written yet.
        if (!AddEntry(RootIno, "lost+found", ino, 2))
        {
            _used[(int)blk] = false;
            _allocated.Remove(blk);
            Error(Pass3, Ino(RootIno), "no room in the root directory for a new lost+found", fixable: false);
            return 0;
        }
        WriteNewDirectory(ino, RootIno, 0x41C0, blk);
        _allocatedInodes.Add(ino);
        _inUse[(int)ino] = true;
        _type[ino] = 2;
        _links[ino] = 2;
        _dirs[ino] = [(0, blk)];
        _parent[ino] = RootIno;
        _dotdot[ino] = RootIno;
        _dotdotAt[ino] = 12;
        _refs[ino]++;
        if (_connectivityDone)
        {
            _refs[RootIno]++;
        }
        if (_v.ReadInode(RootIno, out Ext2Dinode root) == Errno.OK)
        {
            root.LinksCount++;
            _v.WriteInode(RootIno, root);
            _links[RootIno] = root.LinksCount;
        }
        // A repair like any other (e2fsck -y: "/lost+found not found. Create? yes", exit 1),
        // though -n does not report the missing directory (e2fsck -n does not either).
        Error(Pass3, Ino(ino), "/lost+found not found; created");
        _lostFound = ino;
        return ino;
    }

    /// <summary>
    /// Write a new directory <paramref name="ino"/> of one block <paramref name="blk"/> holding
    /// "." and ".." (naming <paramref name="parent"/>), mapped by an extent or a pointer as the
    /// file system maps files, with two links; the block is counted as a repair's.
    /// </summary>
    private void WriteNewDirectory(uint ino, uint parent, ushort mode, ulong blk)
    {
        byte[] b = new byte[_v.BlockSize];
        int end = _v.MetadataCsum ? b.Length - Ext2DirEntry.TailSize : b.Length;
        Ext2DirEntry.Write(b, 0, ino, 12, "."u8, 2, _v.Filetype);
        Ext2DirEntry.Write(b, 12, parent, end - 12, ".."u8, 2, _v.Filetype);
        Ext2Dinode din = NewInode(mode, 2);
        din.Size = _v.BlockSize;
        din.BlocksRaw = (ulong)(_v.BlockSize / 512);
        if (_v.ExtentsFeature)
        {
            din.Flags = Ext2Dinode.FlagExtents;
            Ext4Extent.WriteHeader(din.BlockBytes, 1, (ushort)Ext4Extent.Capacity(Ext2Dinode.BlockArea), 0);
            Ext4Extent.WriteLeaf(Ext4Extent.Entry(din.BlockBytes, 0), new ExtentRun(0, blk, 1, false));
        }
        else
        {
            din.SetBlockPointer(0, (uint)blk);
        }
        if (_v.MetadataCsum)
        {
            Ext2DirEntry.WriteTail(b, Ext2Dinode.InodeSeed(_v.CsumSeed, ino, din.Generation));
        }
        _v.Write(blk, b);
        _v.WriteInode(ino, din);
        _allocated.Add(blk);
    }

    /// <summary>
    /// A root that is not allocated (cleared in pass 1, or never a directory) is made again
    /// before pass 3, as e2fsck's check_root does ("Root inode not allocated. Allocate?"): a
    /// directory of one block at inode 2. The directories it held are then unconnected and go
    /// to a new lost+found, the files to it in pass 4. False when there is no root.
    /// </summary>
    private bool MakeRootIfMissing()
    {
        if (_inUse[(int)RootIno] && _type[RootIno] == 2)
        {
            return true;
        }
        ulong blk = _repair ? AllocBlocks(1) : 0;
        Error(Pass3, Ino(RootIno), "the root directory is missing; a new one is made", fixable: blk != 0);
        if (blk == 0)
        {
            return false;
        }
        WriteNewDirectory(RootIno, RootIno, 0x41ED, blk);
        _allocatedInodes.Add(RootIno);
        _inUse[(int)RootIno] = true;
        _type[RootIno] = 2;
        _links[RootIno] = 2;
        _dirs[RootIno] = [(0, blk)];
        _parent[RootIno] = RootIno;
        _dotdot[RootIno] = RootIno;
        _dotdotAt[RootIno] = 12;
        _refs[RootIno]++; // its "."; pass 3 counts its ".."
        return true;
    }

    /// <summary>
    /// A root entry "lost+found" that names no directory goes before a new one is made, as
    /// e2fsck unlinks it ("/lost+found is not a directory"): the inode keeps its other names,
    /// or pass 4 reconnects it. False when the entry cannot be found or written.
    /// </summary>
    private bool UnlinkRootEntry(ReadOnlySpan<byte> name, uint ino)
    {
        Error(Pass3, Ino(ino), "/lost+found is not a directory; its entry in the root is removed");
        if (!UnlinkEntry(RootIno, ino, name))
        {
            return false;
        }
        _lostFoundNotDir = 0;
        return true;
    }

    /// <summary>
    /// Remove the entry of directory <paramref name="dir"/> that names <paramref name="ino"/>
    /// (called <paramref name="name"/>, or any name but "." and ".." when empty): merged into
    /// the record before it, or emptied when it is a block's first. False when none is found
    /// or the directory cannot be read.
    /// </summary>
    private bool UnlinkEntry(uint dir, uint ino, ReadOnlySpan<byte> name)
    {
        if (!_dirs.TryGetValue(dir, out List<(uint Logical, ulong Physical)>? blocks) || _v.ReadInode(dir, out Ext2Dinode dirInode) != Errno.OK)
        {
            return false;
        }
        foreach ((uint _, ulong phys) in blocks)
        {
            if (_v.Read(phys, out byte[] b) != Errno.OK)
            {
                continue;
            }
            int limit = b.Length - (_v.MetadataCsum && Ext2DirEntry.HasTail(b) ? Ext2DirEntry.TailSize : 0);
            int prev = -1;
            for (int off = 0; off + Ext2DirEntry.HeaderSize <= limit;)
            {
                int rl = Ext2DirEntry.RecLen(b, off);
                if (rl < MinRecord || off + rl > limit)
                {
                    break;
                }
                ReadOnlySpan<byte> entryName = Ext2DirEntry.Name(b, off, Ext2DirEntry.NameLen(b, off, _v.Filetype));
                bool dots = entryName.SequenceEqual("."u8) || entryName.SequenceEqual(".."u8);
                if (Ext2DirEntry.Inode(b, off) == ino && (name.IsEmpty ? !dots : entryName.SequenceEqual(name)))
                {
                    if (prev >= 0)
                    {
                        Ext2DirEntry.SetRecLen(b, prev, Ext2DirEntry.RecLen(b, prev) + rl);
                    }
                    else
                    {
                        Ext2DirEntry.SetInode(b, off, 0);
                    }
                    WriteDirBlock(dir, dirInode, phys, b);
                    _refs[ino]--;
                    return true;
                }
                prev = off;
                off += rl;
            }
        }
        return false;
    }

}
