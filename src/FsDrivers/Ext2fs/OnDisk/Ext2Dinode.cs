using System.Buffers.Binary;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>
/// An on-disk inode (struct ext4_inode): 128 bytes of base fields followed by
/// <c>i_extra_isize</c> bytes of extensions (nanosecond times, crtime, checksum high half)
/// and in-inode extended attributes up to s_inode_size. Held as the raw bytes of the whole
/// inode so that unknown fields and in-inode attributes survive a write-back.
/// </summary>
internal sealed class Ext2Dinode
{
    public const int BaseSize = 128;

    public const uint FlagImmutable = 0x10;
    public const uint FlagAppend = 0x20;
    public const uint FlagIndex = 0x1000;
    public const uint FlagHugeFile = 0x40000;
    public const uint FlagExtents = 0x80000;
    public const uint FlagEaInode = 0x200000;
    public const uint FlagInlineData = 0x10000000;

    internal static class Off
    {
        public const int Mode = 0x00;
        public const int Uid = 0x02;
        public const int SizeLo = 0x04;
        public const int Atime = 0x08;
        public const int Ctime = 0x0C;
        public const int Mtime = 0x10;
        public const int Dtime = 0x14;
        public const int Gid = 0x18;
        public const int LinksCount = 0x1A;
        public const int BlocksLo = 0x1C;
        public const int Flags = 0x20;
        public const int Osd1 = 0x24;
        public const int Block = 0x28;
        public const int Generation = 0x64;
        public const int FileAclLo = 0x68;
        public const int SizeHigh = 0x6C;
        public const int ObsoFaddr = 0x70;
        public const int BlocksHigh = 0x74;
        public const int FileAclHigh = 0x76;
        public const int UidHigh = 0x78;
        public const int GidHigh = 0x7A;
        public const int ChecksumLo = 0x7C;
        public const int Reserved = 0x7E;
        public const int ExtraIsize = 0x80;
        public const int ChecksumHi = 0x82;
        public const int CtimeExtra = 0x84;
        public const int MtimeExtra = 0x88;
        public const int AtimeExtra = 0x8C;
        public const int Crtime = 0x90;
        public const int CrtimeExtra = 0x94;
        public const int VersionHi = 0x98;
        public const int Projid = 0x9C;
        public const int End = 0xA0;
    }

    /// <summary>i_block: 15 32-bit block pointers, or an extent tree root, or a fast symlink.</summary>
    public const int BlockArea = 60;

    /// <summary>Block pointers in i_block of a block-mapped inode (EXT2_N_BLOCKS).</summary>
    public const int BlockPointers = BlockArea / 4;

    internal static readonly Field[] Layout =
    [
        new("i_mode", Off.Mode, 2), new("i_uid", Off.Uid, 2), new("i_size_lo", Off.SizeLo, 4), new("i_atime", Off.Atime, 4),
        new("i_ctime", Off.Ctime, 4), new("i_mtime", Off.Mtime, 4), new("i_dtime", Off.Dtime, 4), new("i_gid", Off.Gid, 2),
        new("i_links_count", Off.LinksCount, 2), new("i_blocks_lo", Off.BlocksLo, 4), new("i_flags", Off.Flags, 4),
        new("i_osd1", Off.Osd1, 4), new("i_block", Off.Block, BlockArea), new("i_generation", Off.Generation, 4),
        new("i_file_acl_lo", Off.FileAclLo, 4), new("i_size_high", Off.SizeHigh, 4), new("i_obso_faddr", Off.ObsoFaddr, 4),
        new("l_i_blocks_high", Off.BlocksHigh, 2), new("l_i_file_acl_high", Off.FileAclHigh, 2),
        new("l_i_uid_high", Off.UidHigh, 2), new("l_i_gid_high", Off.GidHigh, 2), new("l_i_checksum_lo", Off.ChecksumLo, 2),
        new("l_i_reserved", Off.Reserved, 2), new("i_extra_isize", Off.ExtraIsize, 2), new("i_checksum_hi", Off.ChecksumHi, 2),
        new("i_ctime_extra", Off.CtimeExtra, 4), new("i_mtime_extra", Off.MtimeExtra, 4), new("i_atime_extra", Off.AtimeExtra, 4),
        new("i_crtime", Off.Crtime, 4), new("i_crtime_extra", Off.CrtimeExtra, 4), new("i_version_hi", Off.VersionHi, 4),
        new("i_projid", Off.Projid, 4),
    ];

    private readonly byte[] _raw;

    public Ext2Dinode(byte[] raw) => _raw = raw;

    public byte[] Raw => _raw;
    public Span<byte> Span => _raw;
    public int InodeSize => _raw.Length;

    private uint U32(int off) => BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(off));
    private ushort U16(int off) => BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(off));
    private void SetU32(int off, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(_raw.AsSpan(off), v);
    private void SetU16(int off, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(_raw.AsSpan(off), v);

    public ushort Mode
    {
        get => U16(Off.Mode);
        set => SetU16(Off.Mode, value);
    }

    public uint Uid
    {
        get => U16(Off.Uid) | ((uint)U16(Off.UidHigh) << 16);
        set
        {
            SetU16(Off.Uid, (ushort)value);
            SetU16(Off.UidHigh, (ushort)(value >> 16));
        }
    }

    public uint Gid
    {
        get => U16(Off.Gid) | ((uint)U16(Off.GidHigh) << 16);
        set
        {
            SetU16(Off.Gid, (ushort)value);
            SetU16(Off.GidHigh, (ushort)(value >> 16));
        }
    }

    /// <summary>File size; i_size_high is used for every type (rev 1 directories too).</summary>
    public long Size
    {
        get => (long)(U32(Off.SizeLo) | ((ulong)U32(Off.SizeHigh) << 32));
        set
        {
            SetU32(Off.SizeLo, (uint)value);
            SetU32(Off.SizeHigh, (uint)((ulong)value >> 32));
        }
    }

    public ushort LinksCount
    {
        get => U16(Off.LinksCount);
        set => SetU16(Off.LinksCount, value);
    }

    public uint Dtime
    {
        get => U32(Off.Dtime);
        set => SetU32(Off.Dtime, value);
    }

    /// <summary>i_blocks as stored (48 bits: the low word and l_i_blocks_high).</summary>
    public ulong BlocksRaw
    {
        get => U32(Off.BlocksLo) | ((ulong)U16(Off.BlocksHigh) << 32);
        set
        {
            SetU32(Off.BlocksLo, (uint)value);
            SetU16(Off.BlocksHigh, (ushort)(value >> 32));
        }
    }

    public uint Flags
    {
        get => U32(Off.Flags);
        set => SetU32(Off.Flags, value);
    }

    public uint Generation
    {
        get => U32(Off.Generation);
        set => SetU32(Off.Generation, value);
    }

    public ulong FileAcl
    {
        get => U32(Off.FileAclLo) | ((ulong)U16(Off.FileAclHigh) << 32);
        set
        {
            SetU32(Off.FileAclLo, (uint)value);
            SetU16(Off.FileAclHigh, (ushort)(value >> 32));
        }
    }

    public Span<byte> BlockBytes => _raw.AsSpan(Off.Block, BlockArea);

    public uint BlockPointer(int i) => U32(Off.Block + (4 * i));
    public void SetBlockPointer(int i, uint v) => SetU32(Off.Block + (4 * i), v);

    /// <summary>i_extra_isize, or 0 for 128-byte inodes.</summary>
    /// <summary>i_projid (valid only when <see cref="HasExtra"/> covers it).</summary>
    public uint ProjectId
    {
        get => U32(Off.Projid);
        set => SetU32(Off.Projid, value);
    }

    public int ExtraIsize => _raw.Length > BaseSize ? U16(Off.ExtraIsize) : 0;

    public void SetExtraIsize(ushort v)
    {
        if (_raw.Length > BaseSize)
        {
            SetU16(Off.ExtraIsize, v);
        }
    }

    /// <summary>True when the extension field ending at <paramref name="endOffset"/> is present.</summary>
    public bool HasExtra(int endOffset) => BaseSize + ExtraIsize >= endOffset && _raw.Length >= endOffset;

    public Timespec Atime { get => GetTime(Off.Atime, Off.AtimeExtra); set => SetTime(Off.Atime, Off.AtimeExtra, value); }
    public Timespec Mtime { get => GetTime(Off.Mtime, Off.MtimeExtra); set => SetTime(Off.Mtime, Off.MtimeExtra, value); }
    public Timespec Ctime { get => GetTime(Off.Ctime, Off.CtimeExtra); set => SetTime(Off.Ctime, Off.CtimeExtra, value); }

    public Timespec Crtime
    {
        get => HasExtra(Off.CrtimeExtra) ? GetTime(Off.Crtime, Off.CrtimeExtra) : default;
        set
        {
            if (HasExtra(Off.CrtimeExtra))
            {
                SetTime(Off.Crtime, Off.CrtimeExtra, value);
            }
        }
    }

    /// <summary>
    /// A time with its _extra word: the low two bits extend the signed 32-bit seconds
    /// (epoch bits), the upper 30 bits are nanoseconds.
    /// </summary>
    private Timespec GetTime(int off, int extraOff)
    {
        long sec = (int)U32(off);
        int nsec = 0;
        if (HasExtra(extraOff + 4))
        {
            uint extra = U32(extraOff);
            sec += (long)(extra & 3) << 32;
            nsec = (int)(extra >> 2);
            if (nsec > 999_999_999)
            {
                nsec = 0;
            }
        }
        return new Timespec(sec, nsec);
    }

    private void SetTime(int off, int extraOff, Timespec t)
    {
        SetU32(off, (uint)t.Seconds);
        if (HasExtra(extraOff + 4))
        {
            uint epoch = (uint)((t.Seconds - (int)(uint)t.Seconds) >> 32) & 3;
            SetU32(extraOff, ((uint)t.Nanoseconds << 2) | epoch);
        }
    }

    /// <summary>
    /// The inode checksum: crc32c from the per-inode seed (fs seed, inode number, generation)
    /// over the whole inode with both checksum halves taken as zero.
    /// </summary>
    public uint ComputeChecksum(uint fsSeed, uint ino)
    {
        uint c = Ext2Crc.Crc32c(fsSeed, ino);
        c = Ext2Crc.Crc32c(c, Generation);
        ReadOnlySpan<byte> r = _raw;
        c = Ext2Crc.Crc32c(c, r[..Off.ChecksumLo]);
        c = Ext2Crc.Crc32cZeros(c, 2);
        c = Ext2Crc.Crc32c(c, r[(Off.ChecksumLo + 2)..BaseSize]);
        if (r.Length > BaseSize)
        {
            bool hasHi = HasExtra(Off.ChecksumHi + 2);
            c = Ext2Crc.Crc32c(c, r[BaseSize..Off.ChecksumHi]);
            if (hasHi)
            {
                c = Ext2Crc.Crc32cZeros(c, 2);
            }
            else
            {
                c = Ext2Crc.Crc32c(c, r.Slice(Off.ChecksumHi, 2));
            }
            c = Ext2Crc.Crc32c(c, r[(Off.ChecksumHi + 2)..]);
        }
        return c;
    }

    public bool ChecksumMatches(uint fsSeed, uint ino)
    {
        uint c = ComputeChecksum(fsSeed, ino);
        uint stored = U16(Off.ChecksumLo);
        if (HasExtra(Off.ChecksumHi + 2))
        {
            stored |= (uint)U16(Off.ChecksumHi) << 16;
            return stored == c;
        }
        return stored == (c & 0xFFFF);
    }

    public void UpdateChecksum(uint fsSeed, uint ino)
    {
        uint c = ComputeChecksum(fsSeed, ino);
        SetU16(Off.ChecksumLo, (ushort)c);
        if (HasExtra(Off.ChecksumHi + 2))
        {
            SetU16(Off.ChecksumHi, (ushort)(c >> 16));
        }
    }

    /// <summary>The per-inode checksum seed used by extent blocks, directories and xattr blocks.</summary>
    public static uint InodeSeed(uint fsSeed, uint ino, uint generation) =>
        Ext2Crc.Crc32c(Ext2Crc.Crc32c(fsSeed, ino), generation);
}
