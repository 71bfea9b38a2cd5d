using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// Directories (ufs_lookup.c): search, readdir, entry insert with compaction, removal and
/// the ".." rewrite of rename. Entries live in DIRBLKSIZ chunks of directory blocks read
/// through the buffer cache; every chunk is checked (ufs_dirbadentry) before use.
/// </summary>
internal sealed partial class FfsNode
{
    private const int Chunk = FfsSuperblock.DirBlkSiz;

    /// <summary>One entry of a chunk, as found by a walk.</summary>
    internal readonly record struct DirSlot(long Offset, uint Ino, int RecLen, int NamLen, byte DType);

    /// <summary>Read the directory block holding byte <paramref name="offset"/>, every chunk checked; <paramref name="blockStart"/> is its first byte offset in the directory.</summary>
    internal Errno DirBlock(long offset, out Buffer? bp, out long blockStart) => ReadDirBlock(offset, oneChunk: false, out bp, out blockStart);

    /// <summary>
    /// <see cref="DirBlock"/> for a caller that uses only the chunk holding
    /// <paramref name="offset"/> (one entry found through the hash, the chunk an entry goes
    /// into or leaves): only that chunk is checked, not the whole block on every lookup.
    /// </summary>
    internal Errno DirChunk(long offset, out Buffer? bp, out long blockStart) => ReadDirBlock(offset, oneChunk: true, out bp, out blockStart);

    private Errno ReadDirBlock(long offset, bool oneChunk, out Buffer? bp, out long blockStart, bool checkInodes = true)
    {
        bp = null;
        FfsSuperblock sb = FfsMount.Sb;
        long lbn = sb.LblkNo(offset);
        blockStart = lbn << sb.Bshift;
        Errno e = Bmap(lbn, 1, out long phys, out _);
        if (e != Errno.OK)
        {
            return e;
        }
        if (phys == 0)
        {
            return KernelLog.CorruptionOnce("ffs", (long)Ino, $"directory {Ino} has a hole at block {lbn}");
        }
        e = FfsMount.Bufs.Read(sb.FragToBytes(phys), BlockSize(lbn), out bp);
        if (e != Errno.OK)
        {
            return e;
        }
        int end = (int)Math.Min(bp!.Size, Din.Size - blockStart);
        int first = 0;
        if (oneChunk)
        {
            first = (int)(offset - blockStart) & ~(Chunk - 1);
            if (first >= end)
            {
                bp.Release();
                bp = null;
                return KernelLog.CorruptionOnce("ffs", phys, $"directory {Ino}: offset {offset} past its size {Din.Size}");
            }
            end = first + Chunk;
        }
        for (int c = first; c < end; c += Chunk)
        {
            if (!ChunkValid(bp.Data.Slice(c, Chunk), checkInodes))
            {
                bp.Release();
                bp = null;
                return KernelLog.CorruptionOnce("ffs", phys, $"directory {Ino}: bad entry in chunk at offset {blockStart + c}");
            }
        }
        return Errno.OK;
    }

    private bool ChunkValid(ReadOnlySpan<byte> c, bool checkInodes = true)
    {
        FfsByteOrder o = FfsMount.Order;
        bool types = FfsMount.Sb.HasDirentTypes;
        int off = 0;
        while (off < Chunk)
        {
            if (Chunk - off < DirectEntry.HeaderSize)
            {
                return false;
            }
            int reclen = DirectEntry.ReadRecLen(c, off, o);
            uint ino = DirectEntry.ReadIno(c, off, o);
            int namlen = DirectEntry.ReadNamLen(c, off, o, types);
            if (reclen < DirectEntry.HeaderSize || (reclen & 3) != 0 || off + reclen > Chunk)
            {
                return false;
            }
            if (ino != 0)
            {
                if (namlen == 0 || namlen > DirectEntry.MaxNameLen || reclen < DirectEntry.SizeFor(namlen)
                    || (checkInodes && ino >= (ulong)FfsMount.Sb.TotalInodes))
                {
                    return false;
                }
                if (!DirectEntry.NameValid(c, off, namlen))
                {
                    return false;
                }
            }
            off += reclen;
        }
        return true;
    }

    /// <summary>Decode the entry at byte <paramref name="off"/> of a validated block.</summary>
    private DirSlot SlotAt(ReadOnlySpan<byte> b, int off, long dirOffset)
    {
        FfsByteOrder o = FfsMount.Order;
        bool types = FfsMount.Sb.HasDirentTypes;
        return new DirSlot(dirOffset, DirectEntry.ReadIno(b, off, o), DirectEntry.ReadRecLen(b, off, o),
            DirectEntry.ReadNamLen(b, off, o, types), DirectEntry.ReadType(b, off, types));
    }

    /// <summary>
    /// Find <paramref name="name"/>: its slot, or ENOENT. Uses the in-core hash for large
    /// directories (ufs_dirhash) and a scan for small ones.
    /// </summary>
    internal Errno FindEntry(ReadOnlySpan<byte> name, out DirSlot slot)
    {
        slot = default;
        if (UseDirhash)
        {
            Errno he = EnsureDirhash();
            if (he != Errno.OK)
            {
                return he;
            }
            if (!_dirhash!.TryGetValue(NameEncoding.GetString(name), out long at))
            {
                return Errno.ENOENT;
            }
            if (at >= Din.Size)
            {
                DropDirhash();
                return FindEntry(name, out slot);
            }
            // Only this entry's inode number matters here: another entry of the chunk naming
            // an inode past the last fails only its own name (the walk left it out).
            Errno e = ReadDirBlock(at, oneChunk: true, out Buffer? bp, out long start, checkInodes: false);
            if (e != Errno.OK)
            {
                return e;
            }
            slot = SlotAt(bp!.Data, (int)(at - start), at);
            bool same = slot.Ino != 0 && bp.Data.Slice((int)(at - start) + DirectEntry.Name, slot.NamLen).SequenceEqual(name);
            bp.Release();
            if (!same)
            {
                // The hash went stale: rebuild it rather than trust it.
                DropDirhash();
                return FindEntry(name, out slot);
            }
            return slot.Ino < (ulong)FfsMount.Sb.TotalInodes ? Errno.OK : Errno.EIO;
        }
        DirSlot found = default;
        bool unusable = false;
        byte[] wanted = name.ToArray();
        Errno we = WalkDirectory(0, (in DirSlot s, ReadOnlySpan<byte> n, bool usable) =>
        {
            if (s.Ino == 0 || !n.SequenceEqual(wanted))
            {
                return true;
            }
            found = s;
            unusable = !usable;
            return false;
        });
        if (we != Errno.OK)
        {
            return we;
        }
        if (unusable)
        {
            return Errno.EIO;
        }
        slot = found;
        return found.Ino == 0 ? Errno.ENOENT : Errno.OK;
    }

    public override Errno Lookup(string name, out Vnode? vp)
    {
        vp = null;
        if (Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        byte[] bytes = NameEncoding.GetBytes(name);
        if (bytes.Length > DirectEntry.MaxNameLen)
        {
            return Errno.ENAMETOOLONG;
        }
        Errno e = FindEntry(bytes, out DirSlot slot);
        if (e != Errno.OK)
        {
            return e;
        }
        if (slot.Ino == FfsSuperblock.RootIno && name != ".." && Ino != FfsSuperblock.RootIno)
        {
            // Only ".." may lead back to the root: another name would make the root a child
            // of its own tree (a FUSE kernel refuses such a reply without telling anyone).
            return KernelLog.CorruptionOnce("ffs", (long)Ino, $"directory {Ino}: entry '{name}' names the root directory");
        }
        if (slot.Ino == Ino)
        {
            if (name is not ("." or ".."))
            {
                return KernelLog.CorruptionOnce("ffs", (long)Ino, $"directory {Ino}: entry '{name}' names the directory itself");
            }
            Ref();
            vp = this;
            return Errno.OK;
        }
        e = FfsMount.VGet(slot.Ino, out vp);
        return e == Errno.ESTALE ? KernelLog.CorruptionOnce("ffs", (long)Ino, $"directory {Ino} names free inode {slot.Ino}") : e;
    }

    public override Errno ReadDir(long cookie, IDirEntrySink sink)
    {
        if (Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        if (cookie < 0)
        {
            return Errno.EINVAL;
        }
        // Resume at the start of the chunk holding the cookie and skip what lies before it,
        // so a cookie stays valid when the entry it named was merged away meanwhile.
        return WalkDirectory(cookie, (in DirSlot s, ReadOnlySpan<byte> n, bool usable) =>
            s.Ino == 0 || !usable || s.Offset < cookie
            || sink.Add(new DirEntry(NameEncoding.GetString(n), s.Ino, TypeOfEntry(s), s.Offset + s.RecLen)));
    }

    private VType TypeOfEntry(in DirSlot s)
    {
        VType t = s.DType switch
        {
            1 => VType.Fifo,
            2 => VType.CharDevice,
            4 => VType.Directory,
            6 => VType.BlockDevice,
            8 => VType.Regular,
            10 => VType.Symlink,
            12 => VType.Socket,
            _ => VType.None,
        };
        if (t == VType.None)
        {
            // Old-format entries carry no type: ask the inode.
            var din = new FfsDinode();
            if (FfsMount.ReadDinode(s.Ino, din) == Errno.OK)
            {
                t = VTypeExtensions.FromModeBits(din.Mode);
            }
        }
        return t;
    }
}
