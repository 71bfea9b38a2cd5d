using System.Text;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Extended attributes (NetBSD's ext2fs_xattr.c): read from the space after i_extra_isize
/// in the inode and from the shared attribute block (i_file_acl). Writing attributes is
/// refused with EOPNOTSUPP.
/// </summary>
internal sealed partial class Ext2Node
{
    private static int s_xattrWriteNoted;

    private readonly record struct XattrItem(string Name, byte[] Value);

    private Errno LoadXattrs(out List<XattrItem> items)
    {
        items = [];
        // In the inode.
        int start = Ext2Dinode.BaseSize + Din.ExtraIsize;
        if (Din.ExtraIsize > 0 && start + 4 <= Din.InodeSize && Ext2XattrEntry.U32(Din.Raw, start) == Ext2XattrEntry.Magic)
        {
            ReadOnlySpan<byte> area = Din.Raw.AsSpan(start + 4);
            Errno e = ParseEntries(area, 0, area, items, 0);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        ulong acl = Din.FileAcl;
        if (acl != 0)
        {
            Errno e = Fs.ReadBlock(acl, out Buffer? bp);
            if (e != Errno.OK)
            {
                return e;
            }
            using (bp)
            {
                ReadOnlySpan<byte> b = bp!.Data;
                if (Ext2XattrEntry.U32(b, Ext2XattrEntry.BlockOff.Magic) != Ext2XattrEntry.Magic
                    || Ext2XattrEntry.U32(b, Ext2XattrEntry.BlockOff.Blocks) != 1)
                {
                    return Fs.Corrupt((long)acl, $"bad xattr block of inode {Number}");
                }
                if (Fs.MetadataCsum
                    && Ext2XattrEntry.U32(b, Ext2XattrEntry.BlockOff.Checksum) != Ext2XattrEntry.BlockChecksum(b, acl, Fs.CsumSeed))
                {
                    return Fs.Corrupt((long)acl, $"bad xattr block checksum of inode {Number}");
                }
                e = ParseEntries(b, Ext2XattrEntry.BlockHeaderSize, b, items, (long)acl);
                if (e != Errno.OK)
                {
                    return e;
                }
            }
        }
        return Errno.OK;
    }

    /// <summary>Entries from <paramref name="off"/> of <paramref name="area"/>; values are relative to <paramref name="valueBase"/>.</summary>
    private Errno ParseEntries(ReadOnlySpan<byte> area, int off, ReadOnlySpan<byte> valueBase, List<XattrItem> items, long blk)
    {
        while (off + 4 <= area.Length && Ext2XattrEntry.U32(area, off) != 0)
        {
            if (off + Ext2XattrEntry.EntryHeaderSize > area.Length)
            {
                return Fs.Corrupt(blk, $"xattr entry past the end (inode {Number})");
            }
            int nameLen = area[off + Ext2XattrEntry.Off.NameLen];
            int index = area[off + Ext2XattrEntry.Off.NameIndex];
            int valueOffs = Ext2XattrEntry.U16(area, off + Ext2XattrEntry.Off.ValueOffs);
            uint valueInum = Ext2XattrEntry.U32(area, off + Ext2XattrEntry.Off.ValueInum);
            uint valueSize = Ext2XattrEntry.U32(area, off + Ext2XattrEntry.Off.ValueSize);
            int size = Ext2XattrEntry.EntrySize(nameLen);
            if (off + size > area.Length || valueInum != 0 || valueOffs + (long)valueSize > valueBase.Length)
            {
                return Fs.Corrupt(blk, $"bad xattr entry (inode {Number})");
            }
            string name = Ext2XattrEntry.Prefix(index)
                + Encoding.UTF8.GetString(area.Slice(off + Ext2XattrEntry.Off.Name, nameLen));
            items.Add(new XattrItem(name, valueBase.Slice(valueOffs, (int)valueSize).ToArray()));
            off += size;
        }
        return Errno.OK;
    }

    public override Errno GetXattr(string name, out byte[]? value)
    {
        value = null;
        Errno e = LoadXattrs(out List<XattrItem> items);
        if (e != Errno.OK)
        {
            return e;
        }
        foreach (XattrItem i in items)
        {
            if (i.Name == name)
            {
                value = i.Value;
                return Errno.OK;
            }
        }
        return Errno.ENODATA;
    }

    public override Errno ListXattr(out IReadOnlyList<string> names)
    {
        Errno e = LoadXattrs(out List<XattrItem> items);
        names = e == Errno.OK ? [.. items.Select(i => i.Name).Where(n => n != "system.data")] : [];
        return e;
    }

    public override Errno SetXattr(string name, ReadOnlySpan<byte> value, XattrSetMode mode)
    {
        if (Interlocked.Exchange(ref s_xattrWriteNoted, 1) == 0)
        {
            KernelLog.Info(Ext2Mount.Subsystem, "writing extended attributes is not supported (EOPNOTSUPP)");
        }
        return Errno.EOPNOTSUPP;
    }

    public override Errno RemoveXattr(string name) => Errno.EOPNOTSUPP;

    /// <summary>Drop this inode's reference to its attribute block (freeing it when it was the last).</summary>
    private Errno FreeXattrBlock()
    {
        ulong acl = Din.FileAcl;
        if (acl == 0)
        {
            return Errno.OK;
        }
        Errno e = Fs.ReadBlock(acl, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        bool free;
        using (bp)
        {
            uint refs = Ext2XattrEntry.U32(bp!.Data, Ext2XattrEntry.BlockOff.RefCount);
            free = refs <= 1;
            if (!free)
            {
                lock (bp.SyncRoot)
                {
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(
                        bp.Data[Ext2XattrEntry.BlockOff.RefCount..], refs - 1);
                    if (Fs.MetadataCsum)
                    {
                        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(
                            bp.Data[Ext2XattrEntry.BlockOff.Checksum..], Ext2XattrEntry.BlockChecksum(bp.Data, acl, Fs.CsumSeed));
                    }
                }
                Fs.Dirty(bp);
            }
        }
        if (free)
        {
            e = Fs.FreeBlocks(acl, 1, metadata: true);
        }
        AddBlocks(-1);
        Din.FileAcl = 0;
        MarkDirty();
        return e;
    }
}
