using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>
/// The jbd2 journal: its superblock (block 0 of the journal), block header, descriptor tags,
/// revoke records and commit blocks. Big-endian throughout, unlike the rest of ext4.
/// </summary>
internal static class JournalSuperblock
{
    public const uint Magic = 0xC03B3998;

    public const int BlockDescriptor = 1;
    public const int BlockCommit = 2;
    public const int BlockSuperV1 = 3;
    public const int BlockSuperV2 = 4;
    public const int BlockRevoke = 5;

    public const uint IncompatRevoke = 0x1;
    public const uint Incompat64Bit = 0x2;
    public const uint IncompatAsyncCommit = 0x4;
    public const uint IncompatCsumV2 = 0x8;
    public const uint IncompatCsumV3 = 0x10;
    public const uint IncompatFastCommit = 0x20;
    public const uint IncompatSupported = IncompatRevoke | Incompat64Bit | IncompatAsyncCommit | IncompatCsumV2 | IncompatCsumV3;

    /// <summary>Every incompat feature jbd2 defines: a journal with another one is not a journal e2fsck or the kernel reads.</summary>
    public const uint IncompatKnown = IncompatSupported | IncompatFastCommit;

    public const uint TagEscape = 0x1;
    public const uint TagSameUuid = 0x2;
    public const uint TagLast = 0x8;

    /// <summary>journal_header_t, at the start of every journal metadata block.</summary>
    internal static class HeaderOff
    {
        public const int Magic = 0x0;
        public const int BlockType = 0x4;
        public const int Sequence = 0x8;
        public const int Size = 0xC;
    }

    internal static class Off
    {
        public const int BlockSize = 0x0C;
        public const int MaxLen = 0x10;
        public const int First = 0x14;
        public const int Sequence = 0x18;
        public const int Start = 0x1C;
        public const int Errno = 0x20;
        public const int FeatureCompat = 0x24;
        public const int FeatureIncompat = 0x28;
        public const int FeatureRoCompat = 0x2C;
        public const int Uuid = 0x30;
        public const int NrUsers = 0x40;
        public const int DynSuper = 0x44;
        public const int MaxTransaction = 0x48;
        public const int MaxTransData = 0x4C;
        public const int ChecksumType = 0x50;
        public const int Padding2 = 0x51;
        public const int NumFcBlocks = 0x54;
        public const int Head = 0x58;
        public const int Padding = 0x5C;
        public const int Checksum = 0xFC;
        public const int Users = 0x100;
        public const int End = 0x400;
    }

    internal static readonly Field[] Layout =
    [
        new("h_magic", HeaderOff.Magic, 4), new("h_blocktype", HeaderOff.BlockType, 4), new("h_sequence", HeaderOff.Sequence, 4),
        new("s_blocksize", Off.BlockSize, 4), new("s_maxlen", Off.MaxLen, 4), new("s_first", Off.First, 4),
        new("s_sequence", Off.Sequence, 4), new("s_start", Off.Start, 4), new("s_errno", Off.Errno, 4),
        new("s_feature_compat", Off.FeatureCompat, 4), new("s_feature_incompat", Off.FeatureIncompat, 4),
        new("s_feature_ro_compat", Off.FeatureRoCompat, 4), new("s_uuid", Off.Uuid, 16), new("s_nr_users", Off.NrUsers, 4),
        new("s_dynsuper", Off.DynSuper, 4), new("s_max_transaction", Off.MaxTransaction, 4),
        new("s_max_trans_data", Off.MaxTransData, 4), new("s_checksum_type", Off.ChecksumType, 1),
        new("s_padding2", Off.Padding2, 3), new("s_num_fc_blks", Off.NumFcBlocks, 4), new("s_head", Off.Head, 4),
        new("s_padding", Off.Padding, 160), new("s_checksum", Off.Checksum, 4), new("s_users", Off.Users, 768),
    ];

    public static uint U32(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadUInt32BigEndian(b[off..]);

    public static void SetU32(Span<byte> b, int off, uint v) => BinaryPrimitives.WriteUInt32BigEndian(b[off..], v);

    /// <summary>Bytes per descriptor tag for these incompat features (journal_tag_bytes).</summary>
    public static int TagBytes(uint incompat)
    {
        if ((incompat & IncompatCsumV3) != 0)
        {
            return 16;
        }
        int sz = 12;
        if ((incompat & IncompatCsumV2) != 0)
        {
            sz += 2;
        }
        return (incompat & Incompat64Bit) != 0 ? sz : sz - 4;
    }

    /// <summary>One descriptor tag: target block and flags.</summary>
    public static (ulong Block, uint Flags) ReadTag(ReadOnlySpan<byte> t, uint incompat)
    {
        ulong block = U32(t, 0);
        uint flags;
        if ((incompat & IncompatCsumV3) != 0)
        {
            flags = U32(t, 4);
            if ((incompat & Incompat64Bit) != 0)
            {
                block |= (ulong)U32(t, 8) << 32;
            }
        }
        else
        {
            flags = BinaryPrimitives.ReadUInt16BigEndian(t[6..]);
            if ((incompat & Incompat64Bit) != 0)
            {
                block |= (ulong)U32(t, 8) << 32;
            }
        }
        return (block, flags);
    }
}
