using System.Globalization;

namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>
/// The layout of a new ext2 file system (revision 1, sparse_super): block size, groups,
/// inodes per group, and where each group's superblock copy, descriptors, bitmaps and inode
/// table go. Options: <c>bsize=1024|2048|4096</c>, <c>inodes=N</c>, <c>label=NAME</c>,
/// <c>features=ext2</c> (the only set so far).
/// </summary>
internal sealed class Ext2Geometry
{
    public const int InodeSize = 128;
    public const uint FirstIno = 11;

    public int BlockSize { get; private init; }
    public uint BlocksCount { get; private init; }
    public uint FirstDataBlock { get; private init; }
    public uint BlocksPerGroup { get; private init; }
    public uint InodesPerGroup { get; private init; }
    public uint Groups { get; private init; }
    public uint GdtBlocks { get; private init; }
    public uint InodeTableBlocks => (uint)((long)InodesPerGroup * InodeSize / BlockSize);
    public string Label { get; private init; } = "";

    public uint InodesCount => InodesPerGroup * Groups;

    public uint GroupStart(uint g) => FirstDataBlock + g * BlocksPerGroup;

    public uint GroupBlocks(uint g) => g == Groups - 1 ? BlocksCount - GroupStart(g) : BlocksPerGroup;

    /// <summary>sparse_super: copies in groups 0, 1 and the powers of 3, 5 and 7.</summary>
    public static bool HasSuperblock(uint g)
    {
        if (g <= 1)
        {
            return true;
        }
        foreach (uint p in new uint[] { 3, 5, 7 })
        {
            ulong x = p;
            while (x < g)
            {
                x *= p;
            }
            if (x == g)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Blocks at the start of group g taken by the superblock copy and descriptors.</summary>
    public uint SuperAndGdt(uint g) => HasSuperblock(g) ? 1 + GdtBlocks : 0;

    public uint BlockBitmap(uint g) => GroupStart(g) + SuperAndGdt(g);
    public uint InodeBitmap(uint g) => BlockBitmap(g) + 1;
    public uint InodeTable(uint g) => InodeBitmap(g) + 1;

    /// <summary>Metadata blocks of group g (everything before its first data block).</summary>
    public uint Overhead(uint g) => SuperAndGdt(g) + 2 + InodeTableBlocks;

    public static Ext2Geometry? Choose(long deviceBytes, IReadOnlyDictionary<string, string?> options, out string? error)
    {
        error = null;
        int bs = deviceBytes >= 512L << 20 ? 4096 : 1024;
        long? inodes = null;
        string label = "";
        foreach ((string key, string? value) in options)
        {
            switch (key)
            {
                case "bsize":
                case "blocksize":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out bs) || bs is not (1024 or 2048 or 4096))
                    {
                        error = $"bsize={value}: must be 1024, 2048 or 4096";
                    }
                    break;
                case "inodes":
                    if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n < 16)
                    {
                        error = $"inodes={value}: must be a number of at least 16";
                    }
                    inodes = n;
                    break;
                case "label":
                    label = value ?? "";
                    if (System.Text.Encoding.UTF8.GetByteCount(label) > 16)
                    {
                        error = $"label={value}: at most 16 bytes";
                    }
                    break;
                case "features":
                case "rev":
                    if (value is not ("ext2" or "1"))
                    {
                        error = $"{key}={value}: only the plain ext2 revision 1 feature set can be made so far " +
                            "(ext4 features such as extent, 64bit, metadata_csum and has_journal are not supported by this newfs)";
                    }
                    break;
                default:
                    error = $"unknown ext2fs newfs option '{key}' (known: bsize, inodes, label, features=ext2)";
                    break;
            }
            if (error is not null)
            {
                return null;
            }
        }
        uint firstData = bs == 1024 ? 1u : 0u;
        long blocks = Math.Min(deviceBytes / bs, uint.MaxValue);
        uint bpg = (uint)(8 * bs);
        if (blocks < 64)
        {
            error = $"{deviceBytes} bytes is too small for an ext2 file system";
            return null;
        }
        long groups = (blocks - firstData + bpg - 1) / bpg;
        long ipgWanted = ((inodes ?? deviceBytes / (bs <= 1024 ? 4096 : 16384)) + groups - 1) / groups;
        int perBlock = bs / InodeSize;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            uint gdt = (uint)((groups * 32 + bs - 1) / bs);
            long ipg = Math.Max(16, (ipgWanted + perBlock - 1) / perBlock * perBlock);
            ipg = (ipg + 7) / 8 * 8;
            if (ipg > 8L * bs)
            {
                error = $"{inodes} inodes do not fit in {groups} groups of {bs}-byte blocks";
                return null;
            }
            var g = new Ext2Geometry
            {
                BlockSize = bs,
                BlocksCount = (uint)blocks,
                FirstDataBlock = firstData,
                BlocksPerGroup = bpg,
                InodesPerGroup = (uint)ipg,
                Groups = (uint)groups,
                GdtBlocks = gdt,
                Label = label,
            };
            uint last = (uint)groups - 1;
            // A last group too small for its own metadata and some data is dropped, as mke2fs does.
            if (groups > 1 && g.GroupBlocks(last) < g.Overhead(last) + 50)
            {
                blocks = g.GroupStart(last);
                groups--;
                continue;
            }
            if (g.GroupBlocks(0) < g.Overhead(0) + 8)
            {
                error = "the volume is too small for the inode table; give fewer inodes or a larger size";
                return null;
            }
            return g;
        }
        error = "cannot lay out the groups";
        return null;
    }
}
