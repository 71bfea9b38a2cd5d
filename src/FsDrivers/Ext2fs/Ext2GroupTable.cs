using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs.Buffers;
using Buffer = RumpFs.Vfs.Buffers.Buffer;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>The group descriptor table: where it lives, loading, checksums, write-back.</summary>
internal sealed partial class Ext2Mount
{
    private bool[] _groupDirty = [];

    /// <summary>True when group <paramref name="g"/> holds a superblock backup (sparse_super, sparse_super2).</summary>
    public bool HasSuper(uint g) => Ext2GroupLayout.HasSuper(Sb, g);

    public uint GdtBlockCount => (uint)((GroupCount + (uint)DescPerBlock - 1) / (uint)DescPerBlock);

    /// <summary>Block number of descriptor block <paramref name="i"/> of the primary table.</summary>
    public ulong GdtBlock(uint i) => Ext2GroupLayout.GdtBlock(Sb, DescPerBlock, i);

    /// <summary>Blocks at the start of group <paramref name="g"/> taken by superblock and descriptor copies.</summary>
    public uint SuperAndGdtBlocks(uint g) => Ext2GroupLayout.SuperAndGdtBlocks(Sb, DescPerBlock, GdtBlockCount, g);

    /// <summary>Read and check every group descriptor; message names what is wrong.</summary>
    internal Errno LoadGroupDescriptors(out string? message)
    {
        message = null;
        var groups = new Ext2GroupDescriptor[GroupCount];
        for (uint i = 0; i < GdtBlockCount; i++)
        {
            ulong blk = GdtBlock(i);
            if (blk >= BlocksCount || ((long)(blk + 1) << BlockShift) > Io.Length)
            {
                message = $"group descriptor block {blk} lies past the end of the device";
                return Errno.EINVAL;
            }
            Errno e = ReadBlock(blk, out Buffer? bp);
            if (e != Errno.OK)
            {
                message = $"cannot read group descriptor block {blk}: {e.Describe()}";
                return e;
            }
            using (bp)
            {
                for (int k = 0; k < DescPerBlock; k++)
                {
                    uint g = (i * (uint)DescPerBlock) + (uint)k;
                    if (g >= GroupCount)
                    {
                        break;
                    }
                    ReadOnlySpan<byte> d = bp!.Data.Slice(k * DescSize, DescSize);
                    if ((MetadataCsum || Sb.HasGdtCsum)
                        && Ext2GroupDescriptor.ComputeChecksum(d, g, MetadataCsum, CsumSeed, Sb.Uuid)
                            != Ext2GroupDescriptor.Decode(d).Checksum)
                    {
                        KernelLog.CorruptionOnce(Subsystem, (long)blk, $"bad checksum of group descriptor {g}");
                        message = $"bad checksum of group descriptor {g}";
                        return Errno.EIO;
                    }
                    Ext2GroupDescriptor gd = Ext2GroupDescriptor.Decode(d);
                    ulong last = BlocksCount - 1;
                    ulong itBlocks = ((ulong)Sb.InodesPerGroup * (ulong)InodeSize + (ulong)BlockSize - 1) / (ulong)BlockSize;
                    if (gd.BlockBitmap > last || gd.InodeBitmap > last || gd.InodeTable + itBlocks - 1 > last
                        || gd.BlockBitmap < Sb.FirstDataBlock || gd.InodeBitmap < Sb.FirstDataBlock
                        || gd.InodeTable < Sb.FirstDataBlock)
                    {
                        KernelLog.CorruptionOnce(Subsystem, (long)blk, $"group {g} has bitmaps or inode table outside the file system");
                        message = $"group descriptor {g} points outside the file system";
                        return Errno.EIO;
                    }
                    groups[g] = gd;
                }
            }
        }
        Groups = groups;
        _groupDirty = new bool[GroupCount];
        return Errno.OK;
    }

    /// <summary>Note that group <paramref name="g"/>'s descriptor changed (under AllocLock).</summary>
    public void MarkGroupDirty(uint g) => _groupDirty[g] = true;

    /// <summary>Encode dirty descriptors into the primary table with fresh checksums.</summary>
    public Errno WriteGroupDescriptors()
    {
        lock (AllocLock)
        {
            for (uint i = 0; i < GdtBlockCount; i++)
            {
                uint g0 = i * (uint)DescPerBlock;
                bool any = false;
                for (uint g = g0; g < Math.Min(GroupCount, g0 + (uint)DescPerBlock); g++)
                {
                    any |= _groupDirty[g];
                }
                if (!any)
                {
                    continue;
                }
                Errno e = ReadBlock(GdtBlock(i), out Buffer? bp);
                if (e != Errno.OK)
                {
                    return e;
                }
                using (bp)
                {
                    lock (bp!.SyncRoot)
                    {
                        for (uint g = g0; g < Math.Min(GroupCount, g0 + (uint)DescPerBlock); g++)
                        {
                            if (!_groupDirty[g])
                            {
                                continue;
                            }
                            Span<byte> d = bp.Data.Slice((int)(g - g0) * DescSize, DescSize);
                            Groups[g].Encode(d);
                            if (MetadataCsum || Sb.HasGdtCsum)
                            {
                                ushort c = Ext2GroupDescriptor.ComputeChecksum(d, g, MetadataCsum, CsumSeed, Sb.Uuid);
                                Groups[g].Checksum = c;
                                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(
                                    d[Ext2GroupDescriptor.Off.Checksum..], c);
                            }
                            _groupDirty[g] = false;
                        }
                    }
                    Dirty(bp);
                }
            }
        }
        return Errno.OK;
    }

    /// <summary>crc32c of a bitmap (the first <paramref name="bytes"/> bytes of its block).</summary>
    public uint BitmapChecksum(ReadOnlySpan<byte> bitmap, int bytes) => Ext2Crc.Crc32c(CsumSeed, bitmap[..bytes]);

    /// <summary>Compare a stored bitmap checksum, 16 or 32 bits depending on the descriptor size.</summary>
    public bool BitmapChecksumMatches(uint stored, uint computed) =>
        DescSize >= Ext2GroupDescriptor.Size64 ? stored == computed : (stored & 0xFFFF) == (computed & 0xFFFF);
}
