using System.Buffers;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>Vnode operations of ext2fs (NetBSD's ext2fs_vnops.c); see <see cref="Vnode"/> for the locking contract.</summary>
internal sealed partial class Ext2Node
{
    /// <summary>Longest hard-link count (EXT4_LINK_MAX).</summary>
    public const int LinkMax = 65000;

    private static byte[] NameBytes(string name) => NameEncoding.GetBytes(name);

    public override Errno Lookup(string name, out Vnode? vp)
    {
        vp = null;
        if (Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        Errno e = FindEntry(NameBytes(name), out uint ino, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        if (ino == Number)
        {
            Ref();
            vp = this;
            return Errno.OK;
        }
        if (Fs.IsOrphanFile(ino))
        {
            // It has no name: an entry naming it is damage (Linux: "iget: illegal inode").
            return Fs.Corrupt(0, $"directory {Number} names the orphan file (inode {ino})");
        }
        e = Fs.VGet(ino, out vp);
        return e == Errno.ENOENT ? Fs.Corrupt(0, $"directory {Number} names free inode {ino}") : e;
    }

    private Errno MakeEntry(string name, in VAttr va, string? target, out Vnode? vp)
    {
        vp = null;
        byte[] nb = NameBytes(name);
        if (nb.Length > Ext2DirEntry.MaxNameLen)
        {
            return Errno.ENAMETOOLONG;
        }
        byte[]? tb = target is null ? null : NameEncoding.GetBytes(target);
        if (tb is not null && tb.Length >= Fs.BlockSize)
        {
            return Errno.ENAMETOOLONG;
        }
        if (va.Type == VType.Directory && Din.LinksCount >= LinkMax && !Fs.DirNlink)
        {
            return Errno.EMLINK;
        }
        bool fast = tb is not null && tb.Length < Ext2Dinode.BlockArea;
        Errno e = Allocate(this, va, fast, out Ext2Node? node);
        if (e != Errno.OK)
        {
            return e;
        }
        if (va.Type == VType.Directory)
        {
            e = node!.InitDirectory(Number);
        }
        else if (tb is not null)
        {
            e = node!.WriteSymlinkTarget(tb, fast);
        }
        if (e == Errno.OK)
        {
            e = node!.Update();
        }
        if (e == Errno.OK)
        {
            e = AddEntry(nb, node!.Number, Ext2DirEntry.FileTypeOf(node.Din.Mode));
        }
        if (e != Errno.OK)
        {
            // Undo: the new inode goes away when its last reference does.
            node!.Din.LinksCount = 0;
            node.MarkDirty();
            node.Release();
            return e;
        }
        if (va.Type == VType.Directory)
        {
            IncLink();
        }
        MarkDirty();
        if (Fs.Options.Synchronous)
        {
            Update();
        }
        vp = node;
        return Errno.OK;
    }

    private void IncLink()
    {
        if (Din.LinksCount >= LinkMax - 1 && Fs.DirNlink && Type == VType.Directory)
        {
            // dir_nlink: past the limit a directory's count sticks at 1 ("many").
            Din.LinksCount = 1;
        }
        else if (!(Type == VType.Directory && Din.LinksCount == 1 && Fs.DirNlink))
        {
            Din.LinksCount++;
        }
        MarkDirty();
    }

    private void DecLink()
    {
        if (!(Type == VType.Directory && Din.LinksCount == 1 && Fs.DirNlink))
        {
            Din.LinksCount--;
        }
        MarkDirty();
    }

    private Errno WriteSymlinkTarget(byte[] target, bool fast)
    {
        if (fast)
        {
            target.CopyTo(Din.BlockBytes);
            Din.Size = target.Length;
            MarkDirty();
            return Errno.OK;
        }
        Errno e = AllocateRun(0, 1, out ulong pblk, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        using (Buffer bp = Fs.GetBlock(pblk))
        {
            lock (bp.SyncRoot)
            {
                bp.Data.Clear();
                target.CopyTo(bp.Data);
            }
            Fs.Dirty(bp);
        }
        Din.Size = target.Length;
        MarkDirty();
        return Errno.OK;
    }

    public override Errno Create(string name, in VAttr va, out Vnode? vp) => MakeEntry(name, va, null, out vp);

    public override Errno Mknod(string name, in VAttr va, out Vnode? vp) => MakeEntry(name, va, null, out vp);

    public override Errno Mkdir(string name, in VAttr va, out Vnode? vp) => MakeEntry(name, va, null, out vp);

    public override Errno Symlink(string name, in VAttr va, string target, out Vnode? vp) => MakeEntry(name, va, target, out vp);

    public override Errno Link(string name, Vnode vp)
    {
        var n = (Ext2Node)vp;
        if (n.Din.LinksCount >= LinkMax)
        {
            return Errno.EMLINK;
        }
        Errno boundary = CheckProjectBoundary(n);
        if (boundary != Errno.OK)
        {
            return boundary;
        }
        Errno e = AddEntry(NameBytes(name), n.Number, Ext2DirEntry.FileTypeOf(n.Din.Mode));
        if (e != Errno.OK)
        {
            return e;
        }
        n.Din.LinksCount++;
        n.Din.Ctime = Fs.Clock.Now;
        n.MarkDirty();
        return Errno.OK;
    }

    public override Errno Remove(string name, Vnode vp)
    {
        var n = (Ext2Node)vp;
        byte[] nb = NameBytes(name);
        Errno e = FindEntry(nb, out uint ino, out long pos);
        if (e != Errno.OK)
        {
            return e;
        }
        if (ino != n.Number)
        {
            return Errno.ENOENT;
        }
        e = RemoveEntry(nb, pos);
        if (e != Errno.OK)
        {
            return e;
        }
        n.DecLink();
        n.Din.Ctime = Fs.Clock.Now;
        return Errno.OK;
    }

    public override Errno Rmdir(string name, Vnode vp)
    {
        var n = (Ext2Node)vp;
        Errno e = n.IsEmptyDir(out bool empty);
        if (e != Errno.OK)
        {
            return e;
        }
        if (!empty)
        {
            return Errno.ENOTEMPTY;
        }
        byte[] nb = NameBytes(name);
        e = FindEntry(nb, out uint ino, out long pos);
        if (e != Errno.OK)
        {
            return e;
        }
        if (ino != n.Number)
        {
            return Errno.ENOENT;
        }
        e = RemoveEntry(nb, pos);
        if (e != Errno.OK)
        {
            return e;
        }
        DecLink();
        n.Din.LinksCount = 0;
        n.Din.Ctime = Fs.Clock.Now;
        n.MarkDirty();
        return Errno.OK;
    }

    public override Errno ReadDir(long cookie, IDirEntrySink sink)
    {
        if (cookie < 0)
        {
            return Errno.EINVAL;
        }
        if (HasInlineData)
        {
            return ReadDirInline(cookie, sink);
        }
        long size = Din.Size;
        long pos = cookie;
        while (pos < size)
        {
            ulong lblk = (ulong)pos >> Fs.BlockShift;
            Errno e = ReadDirBlock(lblk, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            long blockStart = (long)lblk << Fs.BlockShift;
            if (bp is null)
            {
                pos = Math.Min(size, (long)NextDirBlock(lblk + 1) << Fs.BlockShift);
                continue;
            }
            using (bp)
            {
                byte[] copy = bp.Data.ToArray();
                int off = 0;
                while (off < copy.Length)
                {
                    int rec = Ext2DirEntry.RecLen(copy, off);
                    long here = blockStart + off;
                    if (here >= pos)
                    {
                        uint ino = Ext2DirEntry.Inode(copy, off);
                        if (ino != 0)
                        {
                            int nl = Ext2DirEntry.NameLen(copy, off, Fs.Filetype);
                            string name = NameEncoding.GetString(Ext2DirEntry.Name(copy, off, nl));
                            VType t = TypeOfEntry(copy, off, ino);
                            if (!sink.Add(new DirEntry(name, ino, t, here + rec)))
                            {
                                return Errno.OK;
                            }
                        }
                        pos = here + rec;
                    }
                    off += rec;
                }
                pos = Math.Max(pos, blockStart + Fs.BlockSize);
            }
        }
        if (UpdatesAtime)
        {
            Din.Atime = Fs.Clock.Now;
            MarkDirty();
        }
        return Errno.OK;
    }

    private VType TypeOfEntry(ReadOnlySpan<byte> b, int off, uint ino)
    {
        byte ft = Ext2DirEntry.FileType(b, off, Fs.Filetype);
        VType t = ft switch
        {
            1 => VType.Regular,
            2 => VType.Directory,
            3 => VType.CharDevice,
            4 => VType.BlockDevice,
            5 => VType.Fifo,
            6 => VType.Socket,
            7 => VType.Symlink,
            _ => VType.None,
        };
        if (t == VType.None && ReadDinode(Fs, ino, out Ext2Dinode? d) == Errno.OK)
        {
            t = VTypeExtensions.FromModeBits(d!.Mode);
        }
        return t;
    }

    public override Errno Readlink(out string target)
    {
        target = "";
        if (Type != VType.Symlink)
        {
            return Errno.EINVAL;
        }
        long size = Din.Size;
        if (size <= 0 || size >= Fs.BlockSize && !HasInlineData)
        {
            return Fs.Corrupt(0, $"symlink {Number} has a bad size");
        }
        if (HasInlineData)
        {
            byte[] t = new byte[size];
            Errno r = ReadInline(0, t, out int n);
            target = NameEncoding.GetString(t.AsSpan(0, n));
            return r;
        }
        if (IsFastSymlink)
        {
            target = NameEncoding.GetString(Din.BlockBytes[..(int)size]);
            return Errno.OK;
        }
        Errno e = Bmap(0, 1, out ulong pblk, out _, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        if (pblk == 0)
        {
            return Fs.Corrupt(0, $"symlink {Number} has no block");
        }
        e = Fs.ReadBlock(pblk, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        using (bp)
        {
            target = NameEncoding.GetString(bp!.Data[..(int)size]);
        }
        return Errno.OK;
    }

    public override Errno Read(long offset, Span<byte> buffer, out int bytesRead)
    {
        bytesRead = 0;
        if (Type == VType.Directory)
        {
            return Errno.EISDIR;
        }
        if (HasInlineData)
        {
            return ReadInline(offset, buffer, out bytesRead);
        }
        long size = Din.Size;
        if (offset >= size)
        {
            return Errno.OK;
        }
        int total = (int)Math.Min(buffer.Length, size - offset);
        int done = 0;
        int bs = Fs.BlockSize;
        while (done < total)
        {
            long pos = offset + done;
            ulong lblk = (ulong)pos >> Fs.BlockShift;
            int inBlock = (int)(pos & (bs - 1));
            int maxBlocks = (int)Math.Min(int.MaxValue / bs, ((long)(total - done) + inBlock + bs - 1) >> Fs.BlockShift);
            Errno e = Bmap(lblk, Math.Max(1, maxBlocks), out ulong pblk, out int run, out bool uninit);
            if (e != Errno.OK)
            {
                bytesRead = done;
                return done > 0 ? Errno.OK : e;
            }
            int n = (int)Math.Min(total - done, ((long)run << Fs.BlockShift) - inBlock);
            Span<byte> dst = buffer.Slice(done, n);
            if (pblk == 0 || uninit)
            {
                dst.Clear();
            }
            else
            {
                e = Fs.Io.Read(((long)pblk << Fs.BlockShift) + inBlock, dst);
                if (e != Errno.OK)
                {
                    bytesRead = done;
                    return done > 0 ? Errno.OK : e;
                }
            }
            done += n;
        }
        bytesRead = done;
        if (UpdatesAtime)
        {
            Din.Atime = Fs.Clock.Now;
            MarkDirty();
        }
        return Errno.OK;
    }

    public override Errno Write(long offset, ReadOnlySpan<byte> data, out int written)
    {
        written = 0;
        if (Type != VType.Regular)
        {
            return Type == VType.Directory ? Errno.EISDIR : Errno.EINVAL;
        }
        if (HasInlineData)
        {
            return Errno.ENOTSUP;
        }
        if (offset + data.Length > MaxFileSize || offset + data.Length < 0)
        {
            return Errno.EFBIG;
        }
        Errno grow = CheckGrowth(offset + data.Length);
        if (grow != Errno.OK)
        {
            return grow;
        }
        int bs = Fs.BlockSize;
        int done = 0;
        Errno result = Errno.OK;
        while (done < data.Length)
        {
            long pos = offset + done;
            ulong lblk = (ulong)pos >> Fs.BlockShift;
            int inBlock = (int)(pos & (bs - 1));
            int wantBlocks = (int)Math.Min(65536, ((long)(data.Length - done) + inBlock + bs - 1) >> Fs.BlockShift);
            Errno e = Bmap(lblk, wantBlocks, out ulong pblk, out int run, out bool uninit);
            if (e != Errno.OK)
            {
                result = e;
                break;
            }
            bool fresh = uninit;
            if (pblk == 0)
            {
                e = AllocateRun(lblk, run, out pblk, out run);
                if (e != Errno.OK)
                {
                    result = e;
                    break;
                }
                fresh = true;
            }
            int n = (int)Math.Min(data.Length - done, ((long)run << Fs.BlockShift) - inBlock);
            long dev = ((long)pblk << Fs.BlockShift) + inBlock;
            // New (or uninitialized) blocks hold garbage: zero what the write leaves uncovered.
            e = fresh ? WriteFresh(pblk, inBlock, data.Slice(done, n)) : Fs.Io.Write(dev, data.Slice(done, n));
            if (e != Errno.OK)
            {
                result = e;
                break;
            }
            if (uninit)
            {
                e = MarkInitialized(lblk, (int)(((long)inBlock + n + bs - 1) >> Fs.BlockShift));
                if (e != Errno.OK)
                {
                    result = e;
                    break;
                }
            }
            done += n;
        }
        written = done;
        if (result != Errno.OK && !UsesExtents)
        {
            // Blocks allocated for the part that failed lie past the new end: give them
            // back, so that the block map holds nothing there (see CheckGrowth).
            long end = done > 0 ? Math.Max(Din.Size, offset + done) : Din.Size;
            TruncateIndirect((ulong)((end + bs - 1) >> Fs.BlockShift));
        }
        if (done > 0)
        {
            GrowSizeTo(offset + done);
            Timespec now = Fs.Clock.Now;
            Din.Mtime = now;
            Din.Ctime = now;
            MarkDirty();
            return Errno.OK;
        }
        return result;
    }

    /// <summary>Largest fresh run written through one padded copy rather than data plus separate zero writes.</summary>
    private const int PaddedWriteMax = 256 * 1024;

    /// <summary>
    /// Write <paramref name="data"/> at <paramref name="inBlock"/> into the fresh run at
    /// <paramref name="pblk"/>, with zeros around it up to whole blocks. A small write (the
    /// usual case: a file of a few KiB, or an unaligned 10 KiB tar record) goes out as one
    /// block-aligned device write instead of data plus one or two zero fills.
    /// </summary>
    private Errno WriteFresh(ulong pblk, int inBlock, ReadOnlySpan<byte> data)
    {
        int bs = Fs.BlockSize;
        long dev = (long)pblk << Fs.BlockShift;
        long padded = (inBlock + (long)data.Length + bs - 1) & ~(long)(bs - 1);
        if (padded == inBlock + (long)data.Length && inBlock == 0)
        {
            return Fs.Io.Write(dev, data);
        }
        if (padded > PaddedWriteMax)
        {
            Errno z = ZeroEdges(pblk, inBlock, data.Length);
            return z != Errno.OK ? z : Fs.Io.Write(dev + inBlock, data);
        }
        byte[] buf = ArrayPool<byte>.Shared.Rent((int)padded);
        try
        {
            Span<byte> all = buf.AsSpan(0, (int)padded);
            all[..inBlock].Clear();
            data.CopyTo(all[inBlock..]);
            all[(inBlock + data.Length)..].Clear();
            return Fs.Io.Write(dev, all);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>Zero the parts of the first and last block of a fresh run that a write of n bytes at inBlock leaves uncovered.</summary>
    private Errno ZeroEdges(ulong pblk, int inBlock, int n)
    {
        int bs = Fs.BlockSize;
        byte[] zeros = ArrayPool<byte>.Shared.Rent(bs);
        try
        {
            zeros.AsSpan(0, bs).Clear();
            if (inBlock > 0)
            {
                Errno e = Fs.Io.Write((long)pblk << Fs.BlockShift, zeros.AsSpan(0, inBlock));
                if (e != Errno.OK)
                {
                    return e;
                }
            }
            long end = inBlock + (long)n;
            int tail = (int)(end & (bs - 1));
            if (tail != 0)
            {
                long lastBlockStart = ((long)pblk << Fs.BlockShift) + (end & ~(long)(bs - 1));
                Errno e = Fs.Io.Write(lastBlockStart + tail, zeros.AsSpan(0, bs - tail));
                if (e != Errno.OK)
                {
                    return e;
                }
            }
            return Errno.OK;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(zeros);
        }
    }
}
