using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// Lays extended attributes out in a region (an attribute block or the inode's spare space):
/// entries from the front, sorted as the kernel sorts them, values from the back, each
/// entry with the hash e2fsck checks; the block header with its hash and checksum.
/// </summary>
internal static class Ext2XattrLayout
{
    private const int BlockHashShift = 16;

    /// <summary>False when the attributes do not fit.</summary>
    public static bool Write(Span<byte> region, int entriesStart, int valueBase, List<(string Name, byte[] Value)> items)
    {
        var encoded = items
            .Select(i =>
            {
                (int index, string suffix) = Ext2XattrEntry.Split(i.Name);
                return (Index: index, Name: NameEncoding.GetBytes(suffix), i.Value);
            })
            .OrderBy(x => x.Index).ThenBy(x => x.Name.Length).ThenBy(x => Convert.ToHexString(x.Name), StringComparer.Ordinal)
            .ToList();
        int entriesEnd = entriesStart + encoded.Sum(x => Ext2XattrEntry.EntrySize(x.Name.Length)) + 4;
        int valueEnd = region.Length;
        int valuesBytes = encoded.Sum(x => (x.Value.Length + 3) & ~3);
        if (entriesEnd > valueEnd - valuesBytes || encoded.Any(x => x.Name.Length > 255))
        {
            return false;
        }
        int off = entriesStart;
        foreach (var x in encoded)
        {
            int padded = (x.Value.Length + 3) & ~3;
            valueEnd -= padded;
            region.Slice(valueEnd, padded).Clear();
            x.Value.CopyTo(region[valueEnd..]);
            Span<byte> e = region.Slice(off, Ext2XattrEntry.EntrySize(x.Name.Length));
            e.Clear();
            e[Ext2XattrEntry.Off.NameLen] = (byte)x.Name.Length;
            e[Ext2XattrEntry.Off.NameIndex] = (byte)x.Index;
            BinaryPrimitives.WriteUInt16LittleEndian(e[Ext2XattrEntry.Off.ValueOffs..], (ushort)(x.Value.Length == 0 ? 0 : valueEnd - valueBase));
            BinaryPrimitives.WriteUInt32LittleEndian(e[Ext2XattrEntry.Off.ValueSize..], (uint)x.Value.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[Ext2XattrEntry.Off.Hash..], Ext2XattrEntry.EntryHash(x.Name, region.Slice(valueEnd, padded), x.Value.Length, signedChars: false));
            x.Name.CopyTo(e[Ext2XattrEntry.Off.Name..]);
            off += e.Length;
        }
        region.Slice(off, 4).Clear();
        return true;
    }

    /// <summary>Header of an attribute block: magic, one reference, one block, the block hash, the checksum.</summary>
    public static void FinishBlock(Span<byte> block, ulong blockNr, bool metadataCsum, uint csumSeed)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(block[Ext2XattrEntry.BlockOff.Magic..], Ext2XattrEntry.Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(block[Ext2XattrEntry.BlockOff.RefCount..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(block[Ext2XattrEntry.BlockOff.Blocks..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(block[Ext2XattrEntry.BlockOff.Hash..], BlockHash(block));
        BinaryPrimitives.WriteUInt32LittleEndian(block[Ext2XattrEntry.BlockOff.Checksum..], 0);
        if (metadataCsum)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(block[Ext2XattrEntry.BlockOff.Checksum..],
                Ext2XattrEntry.BlockChecksum(block, blockNr, csumSeed));
        }
    }

    /// <summary>
    /// h_hash of an attribute block: its entries' hashes folded together (ext4_xattr_rehash);
    /// 0 when an entry has no hash, which marks a block that is not offered for sharing.
    /// </summary>
    public static uint BlockHash(ReadOnlySpan<byte> block)
    {
        uint hash = 0;
        for (int off = Ext2XattrEntry.BlockHeaderSize; off + 4 <= block.Length && BinaryPrimitives.ReadUInt32LittleEndian(block[off..]) != 0;
            off += Ext2XattrEntry.EntrySize(block[off]))
        {
            if (off + Ext2XattrEntry.EntryHeaderSize > block.Length)
            {
                return 0;
            }
            uint eh = BinaryPrimitives.ReadUInt32LittleEndian(block[(off + Ext2XattrEntry.Off.Hash)..]);
            if (eh == 0)
            {
                return 0;
            }
            hash = (hash << BlockHashShift) ^ (hash >> (32 - BlockHashShift)) ^ eh;
        }
        return hash;
    }
}
