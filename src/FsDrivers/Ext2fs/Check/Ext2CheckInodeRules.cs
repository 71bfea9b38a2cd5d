using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Pass 1's rules for single inodes beyond their block maps, as e2fsck applies them: inode
/// flags and fields that do not fit the file's type or the file system's features, symbolic
/// links (the resize inode is Ext2CheckResizeInode's).
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private const uint BootLoaderIno = 5;
    private const uint FirstQuotaIno = 3;
    private const uint LastQuotaIno = 4;

    /// <summary>
    /// e2fsck's "Reserved inode has invalid mode" for the reserved inodes without a role of
    /// their own here: the boot loader inode may be anything but a directory, the resize
    /// inode a regular file, the rest (and the quota inodes without the quota feature) no
    /// type at all. The mode is cleared; the blocks stay claimed as they are.
    /// </summary>
    private void CheckReservedMode(InodeWalk w)
    {
        uint type = w.Din.Mode & 0xF000u;
        if (IsQuotaSlot(w.Ino))
        {
            // e2fsck judges a quota slot by what it holds (ClearUnusedReservedInode), and a
            // quota file in use only by being a regular file. It clears such a file and
            // writes the quota files afresh; this checker does not write quota files, and a
            // regular file without a quota tree would be no better.
            if (QuotaInUse(w.Ino) && type != 0x8000)
            {
                Error(Pass1, Ino(w.Ino), $"quota inode has invalid mode 0{Convert.ToString(w.Din.Mode, 8)}"
                    + " (e2fsck -y clears it and rebuilds the quota files; not repaired here)", fixable: false);
                // Not a directory or link to the later passes (their counts, entries naming it).
                _type[w.Ino] = 0;
            }
            return;
        }
        bool bad = w.Ino switch
        {
            1 or RootIno or JournalIno => false,
            BootLoaderIno => type == 0x4000,
            ResizeIno => w.Din.Mode != 0 && type != 0x8000,
            _ => w.Din.Mode != 0,
        };
        if (!bad)
        {
            return;
        }
        Error(Pass1, Ino(w.Ino), $"reserved inode has invalid mode 0{Convert.ToString(w.Din.Mode, 8)}; cleared");
        w.Din.Mode = 0;
        w.Changed = true;
        _type[w.Ino] = 0;
    }

    private static bool IsQuotaSlot(uint ino) => ino is >= FirstQuotaIno and <= LastQuotaIno;

    /// <summary>Inodes 3 and 4 are quota files only with the quota feature and the superblock naming them.</summary>
    private bool QuotaInUse(uint ino) => (Sb.FeatureRoCompat & Ext2Features.RoQuota) != 0 && Sb.NamesQuotaInode(ino);

    /// <summary>A fast symlink keeps its target in i_block: e2fsck decides by the size alone.</summary>
    private static bool IsFastSymlink(Ext2Dinode din) => din.Size > 0 && din.Size < Ext2Dinode.BlockArea;

    /// <summary>
    /// e2fsck's symlink rule: a fast one has no extents flag and a NUL-free target of exactly
    /// i_size bytes in i_block; a slow one has one block, at logical 0, holding the target and
    /// a NUL after it, and a size below the block size.
    /// </summary>
    private bool SymlinkValid(InodeWalk w, bool fast)
    {
        Ext2Dinode din = w.Din;
        if (din.Size <= 0 || (din.Flags & FlagEncrypt) != 0)
        {
            return din.Size > 0;
        }
        ReadOnlySpan<byte> target;
        if (fast)
        {
            if ((din.Flags & Ext2Dinode.FlagExtents) != 0)
            {
                return false;
            }
            target = din.BlockBytes;
        }
        else
        {
            ulong dataBlocks = w.Blocks - (din.FileAcl != 0 ? 1u : 0u);
            if (din.Size >= _v.BlockSize || w.LastLogical != 0 || dataBlocks < 1)
            {
                return false;
            }
            ulong phys = (din.Flags & Ext2Dinode.FlagExtents) != 0 ? FirstExtentBlock(din) : din.BlockPointer(0);
            if (phys == 0 || _v.Read(phys, out byte[] data) != Errno.OK)
            {
                return false;
            }
            target = data;
        }
        int len = target.IndexOf((byte)0);
        return len >= 0 && len == din.Size;
    }

    /// <summary>
    /// The physical start of the first extent, down the index to the first leaf (a quota file
    /// e2fsck writes into scattered free blocks has a depth-1 tree); 0 when the tree does not read.
    /// </summary>
    private ulong FirstExtentBlock(Ext2Dinode din)
    {
        byte[] node = din.BlockBytes.ToArray();
        for (int level = 0; level <= 5; level++)
        {
            Ext4Extent.Header h = Ext4Extent.ReadHeader(node);
            if (h.Magic != Ext4Extent.Magic || h.Entries < 1 || 12 + (12 * h.Entries) > node.Length)
            {
                return 0;
            }
            if (h.Depth == 0)
            {
                return Ext4Extent.ReadLeaf(Ext4Extent.Entry((ReadOnlySpan<byte>)node, 0)).Physical;
            }
            (uint _, ulong child) = Ext4Extent.ReadIndex(Ext4Extent.Entry((ReadOnlySpan<byte>)node, 0));
            if (!_v.InFs(child) || _v.Read(child, out byte[] data) != Errno.OK)
            {
                return 0;
            }
            node = data;
        }
        return 0;
    }

    private const uint FlagImmutable = 0x10;
    private const uint FlagAppend = 0x20;
    private const uint FlagImagic = 0x2000;
    private const uint FlagEncrypt = 0x800;
    private const uint FlagCasefold = 0x40000000;
    private const uint CompatImagicInodes = 0x2;

    /// <summary>
    /// Inode flags that make no sense for the file's type or the file system's features, and an
    /// impossible i_extra_isize. Cleared where e2fsck clears them; false when e2fsck clears the inode.
    /// </summary>
    private bool CheckFlags(InodeWalk w, byte type)
    {
        Ext2Dinode din = w.Din;
        uint flags = din.Flags;
        bool special = type is 3 or 4 or 5 or 6;
        if ((flags & Ext2Dinode.FlagInlineData) != 0 && !_v.InlineData)
        {
            Error(Pass1, Ino(w.Ino), "inline data flag on a file system without inline_data; inode cleared");
            return false;
        }
        if ((flags & Ext2Dinode.FlagExtents) != 0 && !_v.ExtentsFeature)
        {
            Error(Pass1, Ino(w.Ino), "extents flag on a file system without extents; inode cleared");
            return false;
        }
        if (special && (flags & (Ext2Dinode.FlagExtents | Ext2Dinode.FlagInlineData | Ext2Dinode.FlagIndex)) != 0)
        {
            Error(Pass1, Ino(w.Ino), "device, fifo or socket with an extents, inline or index flag; inode cleared");
            return false;
        }
        if (special && (flags & (FlagImmutable | FlagAppend)) != 0 && !AllZero(din.BlockBytes[(4 * 4)..]))
        {
            // e2fsck_pass1_check_device_inode: such an inode cannot be a device made by the
            // kernel, which never lets the flags be set on one (e2fsck clears it in pass 2).
            Error(Pass1, Ino(w.Ino), "device, fifo or socket with the immutable or append flag and i_block[4..] in use; inode cleared");
            return false;
        }
        uint clear = 0;
        if ((flags & FlagCasefold) != 0 && (Sb.FeatureIncompat & Ext2Features.IncompatCasefold) == 0)
        {
            clear |= FlagCasefold;
        }
        if ((flags & FlagEncrypt) != 0 && (Sb.FeatureIncompat & Ext2Features.IncompatEncrypt) == 0)
        {
            clear |= FlagEncrypt;
        }
        if ((flags & FlagImagic) != 0 && (Sb.FeatureCompat & CompatImagicInodes) == 0)
        {
            clear |= FlagImagic;
        }
        if ((flags & Ext2Dinode.FlagIndex) != 0 && (type != 2 || !_v.DirIndex))
        {
            clear |= Ext2Dinode.FlagIndex;
        }
        if ((special || type == 7) && (flags & (FlagImmutable | FlagAppend)) != 0)
        {
            // e2fsck lets "no" stand for this one without counting the file system as
            // damaged (-n exits 0); -y clears the flags.
            if (_repair)
            {
                clear |= flags & (FlagImmutable | FlagAppend);
            }
            else
            {
                Note(Pass1, Ino(w.Ino), "device, fifo, socket or symlink has the immutable or append-only flag; -y clears it");
            }
        }
        if (clear != 0)
        {
            Error(Pass1, Ino(w.Ino), $"flags 0x{clear:x} do not apply to this inode; cleared");
            din.Flags = flags & ~clear;
            w.Changed = true;
        }
        if (special && din.Size != 0)
        {
            Error(Pass1, Ino(w.Ino), $"device, fifo or socket has size {din.Size}; set to 0");
            din.Size = 0;
            w.Changed = true;
        }
        uint faddr = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(din.Raw.AsSpan(Ext2Dinode.Off.ObsoFaddr));
        if (faddr != 0)
        {
            Error(Pass1, Ino(w.Ino), $"i_faddr is {faddr}, should be zero");
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(din.Raw.AsSpan(Ext2Dinode.Off.ObsoFaddr), 0);
            w.Changed = true;
        }
        if (din.InodeSize > Ext2Dinode.BaseSize)
        {
            int extra = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(din.Raw.AsSpan(Ext2Dinode.Off.ExtraIsize));
            if (extra > din.InodeSize - Ext2Dinode.BaseSize || (extra & 3) != 0 || (extra != 0 && extra < 4))
            {
                int want = Math.Min(Ext2Dinode.Off.End - Ext2Dinode.BaseSize, din.InodeSize - Ext2Dinode.BaseSize);
                Error(Pass1, Ino(w.Ino), $"i_extra_isize {extra} is impossible; set to {want}");
                din.SetExtraIsize((ushort)want);
                w.Changed = true;
            }
        }
        return true;
    }
}
