using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Extended attributes (NetBSD's ext2fs_xattr.c): read from the space after i_extra_isize
/// in the inode and from the shared attribute block (i_file_acl). user.*, trusted.* and
/// security.* ones and POSIX ACLs can be written (who may is the VFS's rule; ACLs are
/// converted between the VFS form and ext4's, Ext2AclFormat); other system.* ones (inline
/// data, rich ACLs) are refused with EOPNOTSUPP.
/// </summary>
internal sealed partial class Ext2Node
{
    private static int s_xattrWriteNoted;

    /// <summary>The name indexes of the name spaces this driver writes: user (1), the two ACLs (2, 3), trusted (4), security (6).</summary>
    private static readonly int[] s_writableIndexes = [1, Ext2AclFormat.AccessIndex, Ext2AclFormat.DefaultIndex, 4, 6];

    private static bool IsAclIndex(int index) => index is Ext2AclFormat.AccessIndex or Ext2AclFormat.DefaultIndex;

    private readonly record struct XattrItem(string Name, byte[] Value, bool InInode = false);

    private Errno LoadXattrs(out List<XattrItem> items)
    {
        items = [];
        // In the inode.
        int start = Ext2Dinode.BaseSize + Din.ExtraIsize;
        if (Din.ExtraIsize > 0 && start + 4 <= Din.InodeSize && Ext2XattrEntry.U32(Din.Raw, start) == Ext2XattrEntry.Magic)
        {
            ReadOnlySpan<byte> area = Din.Raw.AsSpan(start + 4);
            var inInode = new List<XattrItem>();
            Errno e = ParseEntries(area, 0, area, inInode, 0);
            if (e != Errno.OK)
            {
                return e;
            }
            items.AddRange(inInode.Select(i => i with { InInode = true }));
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
                if (!Fs.IsReadOnly && Ext2XattrEntry.U32(b, Ext2XattrEntry.BlockOff.RefCount) < Ext2XattrBlockCache.MaxRefCount)
                {
                    // Indexed by the hash of what it holds: mke2fs -d leaves h_hash 0.
                    Fs.XattrBlocks.Remember(acl, Ext2XattrLayout.BlockHash(b));
                }
            }
        }
        return Errno.OK;
    }

    /// <summary>
    /// Entries from <paramref name="off"/> of <paramref name="area"/>; values are relative to
    /// <paramref name="valueBase"/>. Checked as the kernel's check_xattrs checks them before
    /// use: the names end with an end-of-entries word inside the area, no name holds a NUL,
    /// no value lives in an inode of its own (ea_inode is not supported), and every value
    /// lies after that word and inside the area, so a value can never be read as a name.
    /// </summary>
    private Errno ParseEntries(ReadOnlySpan<byte> area, int off, ReadOnlySpan<byte> valueBase, List<XattrItem> items, long blk)
    {
        int namesEnd = off;
        while (namesEnd + 4 <= area.Length && Ext2XattrEntry.U32(area, namesEnd) != 0)
        {
            if (namesEnd + Ext2XattrEntry.EntryHeaderSize > area.Length)
            {
                return Fs.Corrupt(blk, $"xattr entry past the end (inode {Number})");
            }
            int nameLen = area[namesEnd + Ext2XattrEntry.Off.NameLen];
            int next = namesEnd + Ext2XattrEntry.EntrySize(nameLen);
            if (next + 4 > area.Length)
            {
                return Fs.Corrupt(blk, $"xattr name out of bounds (inode {Number})");
            }
            if (area.Slice(namesEnd + Ext2XattrEntry.Off.Name, nameLen).Contains((byte)0))
            {
                return Fs.Corrupt(blk, $"bad xattr name length (inode {Number})");
            }
            namesEnd = next;
        }
        if (namesEnd + 4 > area.Length)
        {
            return Fs.Corrupt(blk, $"xattr entries without an end (inode {Number})");
        }
        // Where values may start, in valueBase's offsets (both spans end at the same byte).
        int firstValue = namesEnd + 4 - (area.Length - valueBase.Length);
        for (; off < namesEnd; off += Ext2XattrEntry.EntrySize(area[off + Ext2XattrEntry.Off.NameLen]))
        {
            int nameLen = area[off + Ext2XattrEntry.Off.NameLen];
            int index = area[off + Ext2XattrEntry.Off.NameIndex];
            int valueOffs = Ext2XattrEntry.U16(area, off + Ext2XattrEntry.Off.ValueOffs);
            uint valueInum = Ext2XattrEntry.U32(area, off + Ext2XattrEntry.Off.ValueInum);
            uint valueSize = Ext2XattrEntry.U32(area, off + Ext2XattrEntry.Off.ValueSize);
            if (valueInum != 0)
            {
                return Fs.Corrupt(blk, $"xattr value in inode {valueInum} without the ea_inode feature (inode {Number})");
            }
            if (valueSize != 0
                && (valueOffs < firstValue || valueOffs + (((long)valueSize + 3) & ~3L) > valueBase.Length))
            {
                return Fs.Corrupt(blk, $"xattr value out of bounds or over the names (inode {Number})");
            }
            string name = Ext2XattrEntry.Prefix(index)
                + NameEncoding.GetString(area.Slice(off + Ext2XattrEntry.Off.Name, nameLen));
            items.Add(new XattrItem(name, valueSize == 0 ? [] : valueBase.Slice(valueOffs, (int)valueSize).ToArray()));
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
                if (!IsAclIndex(Ext2XattrEntry.Split(name).Index))
                {
                    value = i.Value;
                    return Errno.OK;
                }
                if (i.Value.Length == 0)
                {
                    // ext4_get_acl takes an empty value for no ACL.
                    return Errno.ENODATA;
                }
                value = Ext2AclFormat.FromDisk(i.Value);
                return value is not null ? Errno.OK : Fs.Corrupt((long)Din.FileAcl, $"damaged ACL {name} (inode {Number})");
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

    public override Errno SetXattr(string name, ReadOnlySpan<byte> value, XattrSetMode mode) =>
        ChangeXattr(name, value.ToArray(), mode, remove: false);

    public override Errno RemoveXattr(string name) => ChangeXattr(name, null, XattrSetMode.Replace, remove: true);

    /// <summary>
    /// Set or remove one user.*, trusted.*, security.* or ACL attribute. A new or replaced
    /// value goes to the inode's spare space when everything there still fits, else to the
    /// attribute block (copied first when shared); the block is rewritten only when what it
    /// holds changes.
    /// </summary>
    private Errno ChangeXattr(string name, byte[]? value, XattrSetMode mode, bool remove)
    {
        (int index, string suffix) = Ext2XattrEntry.Split(name);
        bool acl = IsAclIndex(index);
        if (!s_writableIndexes.Contains(index) || (suffix.Length == 0) != acl || Fs.Sb.RevLevel == 0)
        {
            if (Interlocked.Exchange(ref s_xattrWriteNoted, 1) == 0)
            {
                KernelLog.Info(Ext2Mount.Subsystem, "only user.*, trusted.*, security.* and ACL extended attributes can be written (EOPNOTSUPP)");
            }
            return Errno.EOPNOTSUPP;
        }
        if (acl && value is not null)
        {
            value = Ext2AclFormat.ToDisk(value);
            if (value is null)
            {
                return Errno.EINVAL;
            }
        }
        Errno e = LoadXattrs(out List<XattrItem> items);
        if (e != Errno.OK)
        {
            return e;
        }
        int at = items.FindIndex(i => i.Name == name);
        if (at < 0 && (remove || mode == XattrSetMode.Replace))
        {
            return Errno.ENODATA;
        }
        if (at >= 0 && mode == XattrSetMode.Create)
        {
            return Errno.EEXIST;
        }
        bool inodeChanged = at >= 0 && items[at].InInode;
        bool blockChanged = at >= 0 && !items[at].InInode;
        if (at >= 0)
        {
            items.RemoveAt(at);
        }
        if (!remove)
        {
            // In the inode when it fits there, as ext4_xattr_set_handle tries the inode body
            // first (an ACL on every file then costs no block); else in the block.
            var item = new XattrItem(name, value!, InInode: true);
            if (FitsInInode([.. items.Where(i => i.InInode), item]))
            {
                inodeChanged = true;
            }
            else
            {
                item = item with { InInode = false };
                blockChanged = true;
            }
            items.Add(item);
        }
        List<XattrItem> inInode = [.. items.Where(i => i.InInode)];
        List<XattrItem> inBlock = [.. items.Where(i => !i.InInode)];
        byte[]? block = null;
        if (inBlock.Count > 0 && blockChanged)
        {
            block = new byte[Fs.BlockSize];
            if (!Ext2XattrLayout.Write(block, Ext2XattrEntry.BlockHeaderSize, 0, inBlock.Select(i => (i.Name, i.Value)).ToList()))
            {
                return Errno.ENOSPC;
            }
        }
        // The block first: when it cannot be stored the inode's own attributes stay as they were.
        if (blockChanged)
        {
            e = StoreXattrBlock(block);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        if (inodeChanged)
        {
            int start = Ext2Dinode.BaseSize + Din.ExtraIsize;
            Span<byte> area = Din.Raw.AsSpan(start);
            area.Clear();
            if (inInode.Count > 0)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(area, Ext2XattrEntry.Magic);
                Ext2XattrLayout.Write(area[4..], 0, 0, inInode.Select(i => (i.Name, i.Value)).ToList());
            }
        }
        Din.Ctime = Fs.Clock.Now;
        MarkDirty();
        return Errno.OK;
    }

    /// <summary>Whether these attributes fit the inode's space after i_extra_isize (with its magic word).</summary>
    private bool FitsInInode(List<XattrItem> items)
    {
        int start = Ext2Dinode.BaseSize + Din.ExtraIsize;
        int room = Din.InodeSize - start - 4;
        return Din.ExtraIsize > 0 && room > 0
            && Ext2XattrLayout.Write(new byte[room], 0, 0, [.. items.Select(i => (i.Name, i.Value))]);
    }

    /// <summary>
    /// Put <paramref name="block"/> (entries laid out, header to finish) as this inode's
    /// attribute block, or drop it when null. An identical block another file holds is
    /// shared; a block this file shares with others is left to them and replaced.
    /// </summary>
    private Errno StoreXattrBlock(byte[]? block)
    {
        lock (Fs.XattrBlocks.SyncRoot)
        {
            ulong acl = Din.FileAcl;
            bool shared = false;
            if (acl != 0)
            {
                Errno e = Fs.ReadBlock(acl, out Buffer? old);
                if (e != Errno.OK)
                {
                    return e;
                }
                using (old)
                {
                    shared = Ext2XattrEntry.U32(old!.Data, Ext2XattrEntry.BlockOff.RefCount) > 1;
                }
            }
            if (block is not null)
            {
                Errno e = ShareIdenticalBlock(block, acl, out bool sharedOne);
                if (e != Errno.OK || sharedOne)
                {
                    return e;
                }
            }
            if (block is null || shared)
            {
                Errno e = FreeXattrBlock();
                if (e != Errno.OK || block is null)
                {
                    return e;
                }
                acl = 0;
            }
            if (acl == 0)
            {
                int one = 1;
                Errno e = QuotaAllowsBlocks(ref one);
                if (e != Errno.OK)
                {
                    return e;
                }
                e = Fs.AllocBlocks(Fs.GoalForInode(Number), 1, out acl, out _);
                if (e != Errno.OK)
                {
                    return e;
                }
                AddBlocks(1);
                Din.FileAcl = acl;
            }
            Ext2XattrLayout.FinishBlock(block, acl, Fs.MetadataCsum, Fs.CsumSeed);
            using (Buffer bp = Fs.GetBlock(acl))
            {
                lock (bp.SyncRoot)
                {
                    block.CopyTo(bp.Data);
                }
                Fs.Dirty(bp);
            }
            Fs.XattrBlocks.Remember(acl, Ext2XattrEntry.U32(block, Ext2XattrEntry.BlockOff.Hash));
            return Errno.OK;
        }
    }

    /// <summary>
    /// Point this inode at a block already holding exactly <paramref name="block"/>'s
    /// attributes, with one more reference, dropping its own (<paramref name="current"/>).
    /// A candidate is read back and must still be an attribute block, checksum valid, under
    /// the reference limit and equal past its header.
    /// </summary>
    private Errno ShareIdenticalBlock(byte[] block, ulong current, out bool shared)
    {
        shared = false;
        foreach (ulong candidate in Fs.XattrBlocks.Candidates(Ext2XattrLayout.BlockHash(block)))
        {
            if (candidate == current || Fs.ReadBlock(candidate, out Buffer? bp) != Errno.OK)
            {
                continue;
            }
            using (bp)
            {
                Span<byte> data = bp!.Data;
                uint refs = Ext2XattrEntry.U32(data, Ext2XattrEntry.BlockOff.RefCount);
                if (Ext2XattrEntry.U32(data, Ext2XattrEntry.BlockOff.Magic) != Ext2XattrEntry.Magic
                    || Ext2XattrEntry.U32(data, Ext2XattrEntry.BlockOff.Blocks) != 1
                    || refs == 0 || refs >= Ext2XattrBlockCache.MaxRefCount
                    || (Fs.MetadataCsum && Ext2XattrEntry.U32(data, Ext2XattrEntry.BlockOff.Checksum)
                        != Ext2XattrEntry.BlockChecksum(data, candidate, Fs.CsumSeed)))
                {
                    Fs.XattrBlocks.Forget(candidate);
                    continue;
                }
                if (!data[Ext2XattrEntry.BlockHeaderSize..].SequenceEqual(block.AsSpan(Ext2XattrEntry.BlockHeaderSize)))
                {
                    continue;
                }
                // The new reference costs this file a block of quota, as a block of its own would.
                int one = 1;
                Errno e = QuotaAllowsBlocks(ref one);
                if (e != Errno.OK)
                {
                    return e;
                }
                e = FreeXattrBlock();
                if (e != Errno.OK)
                {
                    return e;
                }
                SetRefCount(bp, candidate, refs + 1);
            }
            AddBlocks(1);
            Din.FileAcl = candidate;
            shared = true;
            return Errno.OK;
        }
        return Errno.OK;
    }

    /// <summary>Write h_refcount (and the checksum that covers it) in an attribute block's buffer.</summary>
    private void SetRefCount(Buffer bp, ulong blockNr, uint refs)
    {
        lock (bp.SyncRoot)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bp.Data[Ext2XattrEntry.BlockOff.RefCount..], refs);
            if (Fs.MetadataCsum)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(
                    bp.Data[Ext2XattrEntry.BlockOff.Checksum..], Ext2XattrEntry.BlockChecksum(bp.Data, blockNr, Fs.CsumSeed));
            }
        }
        Fs.Dirty(bp);
    }

    /// <summary>Drop this inode's reference to its attribute block (freeing it when it was the last).</summary>
    private Errno FreeXattrBlock()
    {
        ulong acl = Din.FileAcl;
        if (acl == 0)
        {
            return Errno.OK;
        }
        lock (Fs.XattrBlocks.SyncRoot)
        {
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
                    SetRefCount(bp, acl, refs - 1);
                }
            }
            if (free)
            {
                Fs.XattrBlocks.Forget(acl);
                e = Fs.FreeBlocks(acl, 1, metadata: true);
            }
            AddBlocks(-1);
            Din.FileAcl = 0;
            MarkDirty();
            return e;
        }
    }
}
