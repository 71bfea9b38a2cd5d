using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Inode life: creation of new inodes, truncation (ext2fs_truncate / ext4_ext_truncate) and
/// freeing of the blocks a file no longer needs.
/// </summary>
internal sealed partial class Ext2Node
{
    /// <summary>The last logical block this inode's mapping can address: past it, a file is all hole.</summary>
    internal ulong LastAddressableBlock
    {
        get
        {
            if (UsesExtents)
            {
                return uint.MaxValue;
            }
            ulong n = (ulong)PtrsPerBlock;
            return NDirect + n + (n * n) + (n * n * n) - 1;
        }
    }

    /// <summary>Largest file size this inode's mapping can address.</summary>
    public long MaxFileSize
    {
        get
        {
            if (UsesExtents)
            {
                return Math.Min((long)uint.MaxValue << Fs.BlockShift, long.MaxValue);
            }
            long bytes = (long)(LastAddressableBlock + 1) << Fs.BlockShift;
            // i_blocks counts 512-byte sectors in 32 bits without huge_file.
            long sectorLimit = (long)uint.MaxValue << 9;
            return Math.Min(bytes, Fs.HugeFile ? bytes : sectorLimit);
        }
    }

    /// <summary>
    /// The i_extra_isize ext4 gives new inodes and grows old ones to (s_want_extra_isize,
    /// at least the 32 bytes of today's fields, within the inode).
    /// </summary>
    internal static ushort WantedExtraIsize(Ext2Mount fs) =>
        (ushort)Math.Min(Math.Max(fs.Sb.WantExtraIsize, (ushort)32), fs.InodeSize - Ext2Dinode.BaseSize);

    /// <summary>Allocate and initialise a new inode of <paramref name="va"/>'s type in directory <paramref name="dir"/>.</summary>
    internal static Errno Allocate(Ext2Node dir, in VAttr va, bool fastSymlink, out Ext2Node? node)
    {
        node = null;
        Ext2Mount fs = dir.Fs;
        Errno e = QuotaAllowsNewInode(fs, va.Uid, va.Gid, dir.ProjectPassedOn);
        if (e != Errno.OK)
        {
            return e;
        }
        e = AllocFreeNumber(fs, dir.Number, va.Type == VType.Directory, out uint ino);
        if (e != Errno.OK)
        {
            return e;
        }
        var din = new Ext2Dinode(new byte[fs.InodeSize]);
        if (fs.InodeSize > Ext2Dinode.BaseSize)
        {
            din.SetExtraIsize(WantedExtraIsize(fs));
        }
        din.Mode = (ushort)(va.Type.ToModeBits() | (va.Mode & 0xFFF));
        din.Uid = va.Uid;
        din.Gid = va.Gid;
        din.LinksCount = (ushort)(va.Type == VType.Directory ? 2 : 1);
        din.Atime = va.Atime;
        din.Mtime = va.Mtime;
        din.Ctime = va.Ctime;
        din.Crtime = va.Birthtime;
        din.Generation = fs.Random.NextUInt32();
        din.Flags = InheritedFlags(dir, va.Type);
        dir.PassOnProject(din);
        bool mapped = va.Type is VType.Regular or VType.Directory || (va.Type == VType.Symlink && !fastSymlink);
        if (mapped && fs.Extents)
        {
            din.Flags |= Ext2Dinode.FlagExtents;
            Ext4Extent.WriteHeader(din.BlockBytes, 0, (ushort)Ext4Extent.Capacity(Ext2Dinode.BlockArea), 0);
        }
        if (fs.HugeFile)
        {
            din.Flags &= ~Ext2Dinode.FlagHugeFile;
        }
        node = CreateNew(fs, ino, va.Type, din);
        if (va.Type is VType.CharDevice or VType.BlockDevice)
        {
            node.EncodeRdev(va.Rdev);
        }
        node._extents = mapped && fs.Extents ? [] : null;
        node._treeBlocks = [];
        node.MarkDirty();
        fs.Vnodes.Insert(node);
        return Errno.OK;
    }

    /// <summary>
    /// An inode number the bitmap gives as free. A damaged bitmap can give one that is live
    /// in the vnode cache (ext4: "doubly allocated?") or on disk (a cleared bitmap bit):
    /// that one stays marked in use, a log line names it, and the next free one is taken.
    /// The table is asked only where it was initialised: with lazy initialisation its
    /// unused part may hold anything.
    /// </summary>
    private static Errno AllocFreeNumber(Ext2Mount fs, uint parent, bool directory, out uint ino)
    {
        for (int attempt = 0; ; attempt++)
        {
            Errno e = fs.AllocInode(parent, directory, out ino, out bool tableInitialised);
            if (e != Errno.OK)
            {
                return e;
            }
            bool live = fs.Vnodes.Peek(ino) is Ext2Node cached
                ? cached.Din.LinksCount > 0
                : tableInitialised && IsLiveOnDisk(fs, ino);
            if (!live)
            {
                return Errno.OK;
            }
            fs.KeepLiveInode(ino, directory);
            Errno corrupt = fs.Corrupt(ino, $"inode {ino} is free in the inode bitmap but in use; left in use");
            if (attempt == 7)
            {
                return corrupt;
            }
        }
    }

    /// <summary>
    /// Whether the table holds a live inode at <paramref name="ino"/>: a type, links and no
    /// deletion time. Read without the checksum test: a free slot's checksum is not kept, and
    /// a slot that cannot be read is not known to be live.
    /// </summary>
    private static bool IsLiveOnDisk(Ext2Mount fs, uint ino)
    {
        if (Locate(fs, ino, out ulong blk, out int off) != Errno.OK || fs.ReadBlock(blk, out Buffer? bp) != Errno.OK)
        {
            return false;
        }
        byte[] raw = new byte[Ext2Dinode.BaseSize];
        using (bp)
        {
            lock (bp!.SyncRoot)
            {
                bp.Data.Slice(off, raw.Length).CopyTo(raw);
            }
        }
        var din = new Ext2Dinode(raw);
        return din.Mode != 0 && din.LinksCount > 0 && din.Dtime == 0;
    }

    /// <summary>Change the size: free blocks past a smaller size, zero the tail of the new last block.</summary>
    internal Errno Truncate(long newSize)
    {
        if (newSize > MaxFileSize)
        {
            return Errno.EFBIG;
        }
        if (HasInlineData)
        {
            return Errno.ENOTSUP;
        }
        long old = Din.Size;
        Errno grow = CheckGrowth(newSize);
        if (grow != Errno.OK)
        {
            return grow;
        }
        if (newSize < old)
        {
            Errno e = FreePast(newSize);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        Din.Size = newSize;
        Din.Ctime = Fs.Clock.Now;
        MarkDirty();
        return Errno.OK;
    }

    /// <summary>
    /// Free every block past <paramref name="newSize"/> and zero the rest of its last block
    /// (the size itself is left to the caller).
    /// </summary>
    private Errno FreePast(long newSize)
    {
        int partial = (int)(newSize & (Fs.BlockSize - 1));
        if (partial != 0 && Type == VType.Regular)
        {
            Errno z = Bmap((ulong)newSize >> Fs.BlockShift, 1, out ulong pblk, out _, out bool uninit);
            if (z != Errno.OK)
            {
                return z;
            }
            if (pblk != 0 && !uninit)
            {
                byte[] zeros = new byte[Fs.BlockSize - partial];
                z = Fs.Io.Write(((long)pblk << Fs.BlockShift) + partial, zeros);
                if (z != Errno.OK)
                {
                    return z;
                }
            }
        }
        ulong first = (ulong)((newSize + Fs.BlockSize - 1) >> Fs.BlockShift);
        return UsesExtents ? TruncateExtents(first) : TruncateIndirect(first);
    }

    /// <summary>
    /// Finish a truncate that did not (an orphan with links, ext4_truncate at i_size): free
    /// the blocks past the current size, fallocated ones included.
    /// </summary>
    internal Errno TruncateToSize()
    {
        if (HasInlineData)
        {
            return Errno.OK;
        }
        Errno e = FreePast(Din.Size);
        if (e == Errno.OK)
        {
            Din.Ctime = Fs.Clock.Now;
            MarkDirty();
        }
        return e;
    }

    private bool DataIsMetadata => Type != VType.Regular;

    // Truncation frees everything from the first block past the new size: the range walks
    // that punched holes use, with no end.
    private Errno TruncateExtents(ulong first) => FreeExtentRange(first, ulong.MaxValue);

    private Errno TruncateIndirect(ulong first) => FreeIndirectRange(first, ulong.MaxValue);

    private Errno FreeSubtree(ulong blk, int level, FreeAccumulator acc)
    {
        if (level > 0)
        {
            Errno e = Fs.ReadBlock(blk, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            uint[] ptrs = new uint[PtrsPerBlock];
            using (bp)
            {
                for (int i = 0; i < ptrs.Length; i++)
                {
                    ptrs[i] = BinaryPrimitives.ReadUInt32LittleEndian(bp!.Data[(i * 4)..]);
                }
            }
            foreach (uint p in ptrs)
            {
                if (p == 0)
                {
                    continue;
                }
                if (level == 1)
                {
                    acc.Add(p, DataIsMetadata);
                }
                else
                {
                    e = FreeSubtree(p, level - 1, acc);
                    if (e != Errno.OK)
                    {
                        return e;
                    }
                }
            }
        }
        acc.Add(blk, metadata: true);
        return Errno.OK;
    }

    /// <summary>Collects freed blocks into contiguous runs so the bitmaps are touched once per run.</summary>
    private sealed class FreeAccumulator(Ext2Node node)
    {
        private ulong _start;
        private long _count;
        private bool _metadata;
        private Errno _error;

        public void Add(ulong blk, bool metadata)
        {
            if (_count > 0 && blk == _start + (ulong)_count && metadata == _metadata)
            {
                _count++;
                return;
            }
            Flush();
            _start = blk;
            _count = 1;
            _metadata = metadata;
        }

        public Errno Flush()
        {
            if (_count > 0)
            {
                Errno e = node.Fs.FreeBlocks(_start, _count, _metadata);
                node.AddBlocks(-_count);
                if (e != Errno.OK && _error == Errno.OK)
                {
                    _error = e;
                }
                _count = 0;
            }
            return _error;
        }
    }
}
