using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// The in-core inode of ext2fs (NetBSD's struct inode with its ext2 dinode): a decoded copy
/// of the on-disk inode, the cached extent list or directory hash, and dirty state. Vnode
/// operations are in Ext2VnodeOps, block mapping in Ext2Bmap, directories in Ext2Lookup.
/// Everything here runs under the vnode lock.
/// </summary>
internal sealed partial class Ext2Node : Vnode
{
    private bool _dirty;

    /// <summary>A new inode not yet written: the table's old copy of it is not what it charged.</summary>
    private bool _fresh;

    private Ext2Node(Ext2Mount fs, uint ino, VType type, Ext2Dinode din)
        : base(fs, ino, type)
    {
        Fs = fs;
        Din = din;
        Number = ino;
    }

    public Ext2Mount Fs { get; }
    public Ext2Dinode Din { get; }
    public uint Number { get; }

    /// <summary>Checksum seed of this inode's extent, directory and xattr blocks.</summary>
    public uint InodeSeed => Ext2Dinode.InodeSeed(Fs.CsumSeed, Number, Din.Generation);

    public bool UsesExtents => (Din.Flags & Ext2Dinode.FlagExtents) != 0;
    public bool HasInlineData => (Din.Flags & Ext2Dinode.FlagInlineData) != 0;
    public bool IsIndexedDir => (Din.Flags & Ext2Dinode.FlagIndex) != 0;

    /// <summary>A symlink whose target lives in i_block (no data blocks).</summary>
    public bool IsFastSymlink =>
        Type == VType.Symlink && !HasInlineData && Din.Size > 0 && Din.Size < Ext2Dinode.BlockArea;

    /// <summary>Location of inode <paramref name="ino"/>: block and byte offset within it.</summary>
    internal static Errno Locate(Ext2Mount fs, ulong ino, out ulong block, out int offset)
    {
        block = 0;
        offset = 0;
        if (ino < 1 || ino > fs.Sb.InodesCount)
        {
            return Errno.ENOENT;
        }
        uint g = (uint)((ino - 1) / fs.Sb.InodesPerGroup);
        ulong index = (ino - 1) % fs.Sb.InodesPerGroup;
        ulong byteOff = index * (ulong)fs.InodeSize;
        block = fs.Groups[g].InodeTable + (byteOff >> fs.BlockShift);
        offset = (int)(byteOff & (ulong)(fs.BlockSize - 1));
        return Errno.OK;
    }

    /// <summary>Read inode <paramref name="ino"/> from the inode table; ENOENT when it is not in use.</summary>
    internal static Errno ReadDinode(Ext2Mount fs, ulong ino, out Ext2Dinode? din)
    {
        din = null;
        Errno e = Locate(fs, ino, out ulong blk, out int off);
        if (e != Errno.OK)
        {
            return e;
        }
        e = fs.ReadBlock(blk, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        byte[] raw = new byte[fs.InodeSize];
        using (bp)
        {
            lock (bp!.SyncRoot)
            {
                bp.Data.Slice(off, fs.InodeSize).CopyTo(raw);
            }
        }
        din = new Ext2Dinode(raw);
        if (fs.MetadataCsum && raw.AsSpan().ContainsAnyExcept((byte)0) && !din.ChecksumMatches(fs.CsumSeed, (uint)ino))
        {
            din = null;
            return fs.Corrupt((long)blk, $"bad checksum of inode {ino}");
        }
        if (din.ExtraIsize != 0 && (din.ExtraIsize & 3) != 0 | Ext2Dinode.BaseSize + din.ExtraIsize > fs.InodeSize)
        {
            din = null;
            return fs.Corrupt((long)blk, $"inode {ino} has a bad i_extra_isize");
        }
        return Errno.OK;
    }

    internal static Errno Load(Ext2Mount fs, ulong ino, out Ext2Node? node)
    {
        node = null;
        Errno e = ReadDinode(fs, ino, out Ext2Dinode? din);
        if (e != Errno.OK)
        {
            return e;
        }
        VType type = VTypeExtensions.FromModeBits(din!.Mode);
        if (type == VType.None || (din.LinksCount == 0 && din.Dtime != 0 && ino != Ext2Mount.RootIno))
        {
            return ino == Ext2Mount.RootIno ? fs.Corrupt(0, "root inode is not in use") : Errno.ENOENT;
        }
        if (ino == Ext2Mount.RootIno && type != VType.Directory)
        {
            return fs.Corrupt(0, "root inode is not a directory");
        }
        if (type == VType.Directory && din.Size > uint.MaxValue
            && (fs.Sb.FeatureIncompat & Ext2Features.IncompatLargeDir) == 0)
        {
            // Without large_dir a directory's i_size_high is not part of its size (ext2's
            // i_dir_acl; Linux reads only i_size_lo there). Taken in, one flipped bit would
            // make every scan of the directory walk terabytes of holes.
            KernelLog.Warning(Ext2Mount.Subsystem, $"inode {ino}: directory i_size_high {din.Size >> 32} ignored (no large_dir)");
            din.Size &= uint.MaxValue;
        }
        if (din.Size < 0)
        {
            return fs.Corrupt(0, $"inode {ino} has a negative size");
        }
        node = new Ext2Node(fs, (uint)ino, type, din) { _reported = Ext2QuotaCharge.Of(fs.Sb, (uint)ino, din) };
        return Errno.OK;
    }

    /// <summary>A new in-core inode for a freshly allocated number.</summary>
    internal static Ext2Node CreateNew(Ext2Mount fs, uint ino, VType type, Ext2Dinode din) => new(fs, ino, type, din) { _fresh = true };

    /// <summary>Note that the in-core inode changed; it reaches the inode table at update time.</summary>
    public void MarkDirty()
    {
        _dirty = true;
        ReportCharge();
    }

    /// <summary>Copy the in-core inode into its inode-table block (ext2_update) when dirty.</summary>
    public Errno WriteBackIfDirty()
    {
        lock (Lock)
        {
            return _dirty ? Update() : Errno.OK;
        }
    }

    /// <summary>Write the inode to its inode-table block now (delayed write of that block).</summary>
    public Errno Update()
    {
        if (Fs.IsReadOnly)
        {
            _dirty = false;
            return Errno.OK;
        }
        Errno e = FlushBlockMap();
        if (e != Errno.OK)
        {
            return e;
        }
        if (Type == VType.Regular && Din.Size > int.MaxValue)
        {
            Fs.NoteLargeFile();
        }
        e = Locate(Fs, Number, out ulong blk, out int off);
        if (e != Errno.OK)
        {
            return e;
        }
        e = Fs.ReadBlock(blk, out Buffer? bp);
        if (e != Errno.OK)
        {
            return e;
        }
        using (bp)
        {
            if (Fs.MetadataCsum)
            {
                Din.UpdateChecksum(Fs.CsumSeed, Number);
            }
            ReportCharge();
            lock (bp!.SyncRoot)
            {
                if (Fs.Quota.Enabled)
                {
                    Fs.Quota.Account(Number, _fresh ? null : new Ext2Dinode(bp.Data.Slice(off, Din.Raw.Length).ToArray()), Din);
                }
                Din.Raw.CopyTo(bp.Data[off..]);
            }
            _dirty = false;
            _fresh = false;
            return Fs.Dirty(bp);
        }
    }

    public override Errno GetAttr(out VAttr va)
    {
        Ext2Dinode d = Din;
        ulong blocks = d.BlocksRaw;
        if (Fs.HugeFile && (d.Flags & Ext2Dinode.FlagHugeFile) != 0)
        {
            blocks <<= Fs.BlockShift - 9;
        }
        va = new VAttr
        {
            Type = Type,
            Mode = d.Mode & 0xFFFu,
            Nlink = Type == VType.Directory && d.LinksCount == 1 && Fs.DirNlink ? 1u : d.LinksCount,
            Uid = d.Uid,
            Gid = d.Gid,
            Ino = Number,
            Size = d.Size,
            BytesUsed = (long)blocks * 512,
            BlockSize = Fs.BlockSize,
            Rdev = Type is VType.CharDevice or VType.BlockDevice ? DecodeRdev() : 0,
            Atime = d.Atime,
            Mtime = d.Mtime,
            Ctime = d.Ctime,
            Birthtime = d.Crtime,
            Flags = d.Flags,
            Generation = d.Generation,
            Protection = ProtectionOf(d.Flags),
        };
        return Errno.OK;
    }

    /// <summary>What EXT2_IMMUTABLE_FL and EXT2_APPEND_FL forbid, for the VFS, which applies the rules.</summary>
    private static NodeProtection ProtectionOf(uint flags) =>
        ((flags & Ext2Dinode.FlagImmutable) != 0 ? NodeProtection.Immutable : NodeProtection.None)
        | ((flags & Ext2Dinode.FlagAppend) != 0 ? NodeProtection.AppendOnly : NodeProtection.None);

    /// <summary>Old encoding (major:8, minor:8) in i_block[0], else the new one in i_block[1].</summary>
    private ulong DecodeRdev()
    {
        uint old = Din.BlockPointer(0);
        return old != 0 ? old : Din.BlockPointer(1);
    }

    internal void EncodeRdev(ulong rdev)
    {
        uint major = (uint)(((rdev >> 8) & 0xFFFUL) | ((rdev >> 32) & 0xFFFFF000UL));
        uint minor = (uint)((rdev & 0xFFUL) | ((rdev >> 12) & 0xFFFFFF00UL));
        if (major < 256 && minor < 256)
        {
            Din.SetBlockPointer(0, (major << 8) | minor);
            Din.SetBlockPointer(1, 0);
        }
        else
        {
            Din.SetBlockPointer(0, 0);
            Din.SetBlockPointer(1, (minor & 0xFF) | (major << 8) | ((minor & ~0xFFu) << 12));
        }
    }

    public override Errno SetAttr(in VAttr va, Credentials cred)
    {
        Timespec now = Fs.Clock.Now;
        // A new owner or group must have room for the inode and its blocks (ext4_setattr's
        // dquot_transfer, before anything changes).
        uint uid = (va.Mask & VAttrMask.Uid) != 0 ? va.Uid : Din.Uid;
        uint gid = (va.Mask & VAttrMask.Gid) != 0 ? va.Gid : Din.Gid;
        int moved = (uid != Din.Uid ? Ext2QuotaLimits.TypeBit(0) : 0) | (gid != Din.Gid ? Ext2QuotaLimits.TypeBit(1) : 0);
        Errno q = QuotaAllowsTransfer(uid, gid, ProjectId, moved);
        if (q != Errno.OK)
        {
            return q;
        }
        if ((va.Mask & VAttrMask.Size) != 0)
        {
            if (Type == VType.Directory)
            {
                return Errno.EISDIR;
            }
            if (Type != VType.Regular)
            {
                return Errno.EINVAL;
            }
            if (va.Size != Din.Size)
            {
                Errno e = Truncate(va.Size);
                if (e != Errno.OK)
                {
                    return e;
                }
                Din.Mtime = now;
            }
        }
        if ((va.Mask & VAttrMask.Mode) != 0)
        {
            Din.Mode = (ushort)((Din.Mode & 0xF000u) | (va.Mode & 0xFFFu));
        }
        if ((va.Mask & VAttrMask.Uid) != 0)
        {
            Din.Uid = va.Uid;
        }
        if ((va.Mask & VAttrMask.Gid) != 0)
        {
            Din.Gid = va.Gid;
        }
        if ((va.Mask & VAttrMask.Atime) != 0)
        {
            Din.Atime = va.Atime;
        }
        if ((va.Mask & VAttrMask.Mtime) != 0)
        {
            Din.Mtime = va.Mtime;
        }
        if ((va.Mask & VAttrMask.Birthtime) != 0)
        {
            Din.Crtime = va.Birthtime;
        }
        if ((va.Mask & VAttrMask.Flags) != 0)
        {
            // Only the user-settable flags (EXT4_FL_USER_MODIFIABLE); the format flags stay. Of
            // those, EXTENTS_FL stays too: Linux would migrate the block map on setting it and
            // refuses clearing it, and a flag without the map it names is a damaged file.
            const uint userModifiable = 0x604BC0FF & ~Ext2Dinode.FlagExtents;
            Din.Flags = (Din.Flags & ~userModifiable) | (va.Flags & userModifiable);
        }
        Din.Ctime = (va.Mask & VAttrMask.Ctime) != 0 ? va.Ctime : now;
        MarkDirty();
        return Fs.Options.Synchronous ? Update() : Errno.OK;
    }

    public override Errno Fsync(bool dataOnly)
    {
        Errno e = Update();
        if (e != Errno.OK)
        {
            return e;
        }
        // Bitmaps and descriptors may have changed with this file's blocks: write them too.
        e = Fs.WriteGroupDescriptors();
        Errno s = Fs.WriteSuperblock();
        Errno f = Fs.Cache.Flush();
        return e != Errno.OK ? e : s != Errno.OK ? s : f;
    }

    public override Errno Inactive(out bool recycle)
    {
        recycle = false;
        if (Fs.IsReadOnly)
        {
            return Errno.OK;
        }
        // Reserved and quota inodes are never deleted here, whatever their link count
        // (e2fsck asks for none on quota files; a user quota file with 0 links is common).
        bool special = Number < Fs.Sb.FirstIno || Fs.Sb.NamesQuotaInode(Number);
        if (Din.LinksCount == 0 && !special)
        {
            recycle = true;
            Errno e = Errno.OK;
            if (Type is VType.Regular or VType.Directory or VType.Symlink && !IsFastSymlink && !HasInlineData)
            {
                e = Truncate(0);
            }
            Errno x = FreeXattrBlock();
            Din.Dtime = (uint)Fs.Clock.Now.Seconds;
            Din.Mode = 0;
            MarkDirty();
            Errno u = Update();
            if (e == Errno.OK && x == Errno.OK && u == Errno.OK)
            {
                Fs.FreeInode(Number, Type == VType.Directory);
            }
            return e != Errno.OK ? e : x != Errno.OK ? x : u;
        }
        return _dirty ? Update() : Errno.OK;
    }

    public override void Reclaim()
    {
        if (_dirty && !Fs.IsReadOnly)
        {
            lock (Lock)
            {
                Errno e = Update();
                if (e != Errno.OK)
                {
                    KernelLog.Warning(Ext2Mount.Subsystem, $"write-back of inode {Number} failed: {e.Describe()}");
                }
            }
        }
        _dirhash = null;
        _extents = null;
    }
}
