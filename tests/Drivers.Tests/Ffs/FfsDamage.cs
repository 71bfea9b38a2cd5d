using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>
/// An FFS image in memory with tools to damage it the way crashes and bad disks do: inode
/// fields, directory entries, bitmap bits and counters, written straight into the bytes.
/// Inode numbers are found through the driver, so damage lands on named files.
/// </summary>
internal sealed class FfsDamage
{
    public FfsDamage(string image)
    {
        Bytes = File.ReadAllBytes(image);
        Device = new MemoryBlockDevice(Bytes);
        Sb = FfsSuperblockCheck.Find(Device, out string? why) ?? throw new InvalidOperationException(why);
    }

    public byte[] Bytes { get; }
    public MemoryBlockDevice Device { get; }
    public FfsSuperblock Sb { get; }
    private FfsByteOrder O => Sb.Order;

    /// <summary>Inode number of a path, looked up through the driver on a read-only copy.</summary>
    public ulong Ino(string path)
    {
        Errno rc = FfsTestMount.TryMount(new MemoryBlockDevice((byte[])Bytes.Clone(), readOnly: true), true, out Mount? mp, out string? msg);
        Assert.True(rc == Errno.OK, $"mount: {rc} {msg}");
        try
        {
            Vnode vp = FfsTestMount.Resolve(mp!, path);
            Assert.Equal(Errno.OK, Vop.GetAttr(vp, out VAttr va));
            vp.Release();
            return va.Ino;
        }
        finally
        {
            Assert.Equal(Errno.OK, mp!.Unmount());
        }
    }

    private int InodeOffset(ulong ino) =>
        (int)(Sb.FragToBytes(Sb.InoToFsba(ino)) + ((long)Sb.InoToFsbo(ino) * Sb.DinodeSize));

    public FfsDinode Inode(ulong ino)
    {
        var d = new FfsDinode();
        ReadOnlySpan<byte> rec = Bytes.AsSpan(InodeOffset(ino), Sb.DinodeSize);
        if (Sb.IsUfs2)
        {
            Ufs2Dinode.Decode(rec, O, d, Sb.MaxSymlinkLen);
        }
        else
        {
            Ufs1Dinode.Decode(rec, O, d, Sb.MaxSymlinkLen);
        }
        return d;
    }

    public void SetInode(ulong ino, Action<FfsDinode> change)
    {
        FfsDinode d = Inode(ino);
        change(d);
        Span<byte> rec = Bytes.AsSpan(InodeOffset(ino), Sb.DinodeSize);
        if (Sb.IsUfs2)
        {
            Ufs2Dinode.Encode(d, rec, O);
        }
        else
        {
            Ufs1Dinode.Encode(d, rec, O);
        }
    }

    /// <summary>Apply <paramref name="change"/> to the entry named <paramref name="name"/> in a directory (offset of the entry, offset of the one before it in its chunk or -1).</summary>
    public void WithEntry(ulong dir, string name, Action<Span<byte>, int, int> change)
    {
        FfsDinode d = Inode(dir);
        bool types = Sb.HasDirentTypes;
        for (int lbn = 0; lbn < FfsSuperblock.NDAddr && (long)lbn << Sb.Bshift < d.Size; lbn++)
        {
            int blockOff = (int)Sb.FragToBytes(d.Db[lbn]);
            int len = (int)Math.Min(Sb.Bsize, d.Size - ((long)lbn << Sb.Bshift));
            Span<byte> b = Bytes.AsSpan(blockOff, len);
            for (int c = 0; c < len; c += FfsSuperblock.DirBlkSiz)
            {
                int prev = -1;
                for (int off = c; off < c + FfsSuperblock.DirBlkSiz;)
                {
                    int reclen = DirectEntry.ReadRecLen(b, off, O);
                    int namlen = DirectEntry.ReadNamLen(b, off, O, types);
                    if (DirectEntry.ReadIno(b, off, O) != 0
                        && DirectEntry.DecodeName(b.Slice(off + DirectEntry.Name, namlen)) == name)
                    {
                        change(b, off, prev);
                        return;
                    }
                    prev = off;
                    off += reclen;
                }
            }
        }
        throw new InvalidOperationException($"no entry {name} in directory {dir}");
    }

    /// <summary>Every named entry of a directory (direct blocks only), in on-disk order.</summary>
    public List<(string Name, ulong Ino)> Entries(ulong dir)
    {
        var list = new List<(string, ulong)>();
        FfsDinode d = Inode(dir);
        bool types = Sb.HasDirentTypes;
        for (int lbn = 0; lbn < FfsSuperblock.NDAddr && (long)lbn << Sb.Bshift < d.Size; lbn++)
        {
            int len = (int)Math.Min(Sb.Bsize, d.Size - ((long)lbn << Sb.Bshift));
            ReadOnlySpan<byte> b = Bytes.AsSpan((int)Sb.FragToBytes(d.Db[lbn]), len);
            for (int off = 0; off < len; off += DirectEntry.ReadRecLen(b, off, O))
            {
                uint ino = DirectEntry.ReadIno(b, off, O);
                if (ino != 0)
                {
                    list.Add((DirectEntry.DecodeName(b.Slice(off + DirectEntry.Name, DirectEntry.ReadNamLen(b, off, O, types))), ino));
                }
            }
        }
        return list;
    }

    /// <summary>Remove an entry the way ufs_dirremove does (merged into the previous record).</summary>
    public void RemoveEntry(ulong dir, string name) => WithEntry(dir, name, (b, off, prev) =>
    {
        if (prev >= 0)
        {
            DirectEntry.WriteRecLen(b, prev, O, DirectEntry.ReadRecLen(b, prev, O) + DirectEntry.ReadRecLen(b, off, O));
        }
        else
        {
            DirectEntry.WriteIno(b, off, O, 0);
        }
    });

    public void SetEntryRecLen(ulong dir, string name, int reclen) =>
        WithEntry(dir, name, (b, off, _) => DirectEntry.WriteRecLen(b, off, O, reclen));

    public void SetEntryIno(ulong dir, string name, ulong ino) =>
        WithEntry(dir, name, (b, off, _) => DirectEntry.WriteIno(b, off, O, (uint)ino));

    /// <summary>Run <paramref name="change"/> on the cylinder group holding fragment or group <paramref name="cg"/>.</summary>
    public void WithGroup(int cg, CgChange change)
    {
        int off = (int)Sb.FragToBytes(Sb.CgTod(cg));
        change(new CylinderGroup(Bytes.AsSpan(off, Sb.CgSize), O));
    }

    public delegate void CgChange(CylinderGroup g);

    /// <summary>Flip the free-map bit of one fragment.</summary>
    public void SetFragFree(long frag, bool free) =>
        WithGroup(Sb.DtoG(frag), g => g.SetFragFree((int)(frag - Sb.CgBase(Sb.DtoG(frag))), free));

    public bool FragFree(long frag)
    {
        bool r = false;
        WithGroup(Sb.DtoG(frag), g => r = g.FragFree((int)(frag - Sb.CgBase(Sb.DtoG(frag)))));
        return r;
    }

    /// <summary>Change the superblock's free-block total, as an unclean shutdown leaves it.</summary>
    public void AddSuperblockNbfree(long delta)
    {
        Sb.NbFree += delta;
        byte[] raw = Sb.Encode();
        raw.AsSpan(0, Sb.SbSize).CopyTo(Bytes.AsSpan((int)Sb.Location));
    }

    /// <summary>The last fragment of the file system that is free in the map.</summary>
    public long LastFreeFrag()
    {
        for (long f = Sb.Size - 1; f > 0; f--)
        {
            if (FragFree(f))
            {
                return f;
            }
        }
        throw new InvalidOperationException("no free fragment");
    }

    /// <summary>A free inode number in group 0 (mode 0 on disk).</summary>
    public ulong FreeInode()
    {
        for (ulong ino = FfsSuperblock.RootIno + 1; ino < (ulong)Sb.Ipg; ino++)
        {
            if (Inode(ino).Mode == 0)
            {
                return ino;
            }
        }
        throw new InvalidOperationException("no free inode");
    }
}
