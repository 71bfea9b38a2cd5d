using System.Buffers.Binary;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.Ukfs;

/// <summary>What <see cref="FsTypeProbe.Identify"/> recognised.</summary>
/// <param name="Driver">The driver name that serves it ("ffs", "ext2fs", "msdos").</param>
/// <param name="Variant">The variant, readable ("UFS2 little-endian", "ext4", "FAT32").</param>
public sealed record FsTypeGuess(string Driver, string Variant);

/// <summary>
/// Recognises file systems by their superblock magic, independently of the drivers, so
/// that `ukfs probe` can name a type whose driver is absent and a failed detection can say
/// why. The drivers' own Probe() stays the authority for mounting.
/// </summary>
public static class FsTypeProbe
{
    /// <summary>UFS1 magic (FS_UFS1_MAGIC).</summary>
    public const uint Ufs1Magic = 0x011954;

    /// <summary>UFS2 magic (FS_UFS2_MAGIC).</summary>
    public const uint Ufs2Magic = 0x19540119;

    /// <summary>NetBSD 10's UFS2 with extended attributes (FS_UFS2EA_MAGIC).</summary>
    public const uint Ufs2EaMagic = 0x19012038;

    /// <summary>ext2/3/4 magic (EXT2_SUPER_MAGIC).</summary>
    public const ushort Ext2Magic = 0xEF53;

    // Where FFS looks for a superblock (SBLOCKSEARCH: UFS2, UFS1, floppy, piggy) and where the
    // magic sits inside it (fs_magic).
    private static readonly long[] s_ffsSuperblocks = [65536, 8192, 0, 262144];
    private const int FfsMagicOffset = 1372;

    // ext2: superblock at byte 1024, s_magic at 56, feature words at 92 (compat), 96 (incompat).
    private const int Ext2SuperblockOffset = 1024;
    private const int Ext2MagicOffset = 56;
    private const int Ext2CompatOffset = 92;
    private const int Ext2IncompatOffset = 96;
    private const uint Ext3HasJournal = 0x4;
    private const uint Ext4IncompatMask = 0x40 | 0x80 | 0x200; // extents, 64bit, flex_bg

    // FAT boot sector / BPB fields.
    private const int BpbBytesPerSector = 11;
    private const int BpbSectorsPerCluster = 13;
    private const int BpbReservedSectors = 14;
    private const int BpbNumFats = 16;
    private const int BpbRootEntries = 17;
    private const int BpbTotalSectors16 = 19;
    private const int BpbMedia = 21;
    private const int BpbFatSize16 = 22;
    private const int BpbTotalSectors32 = 32;
    private const int BpbFatSize32 = 36;

    /// <summary>The file system on <paramref name="device"/>, or null. Reads only, never throws.</summary>
    public static FsTypeGuess? Identify(IBlockDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return IdentifyExt2(device) ?? IdentifyFfs(device) ?? IdentifyFat(device);
    }

    private static FsTypeGuess? IdentifyExt2(IBlockDevice device) => IdentifyExt2At(device, Ext2SuperblockOffset);

    private static FsTypeGuess? IdentifyExt2At(IBlockDevice device, long offset)
    {
        Span<byte> sb = stackalloc byte[128];
        if (offset + sb.Length > device.Length || device.Read(offset, sb) != Errno.OK
            || BinaryPrimitives.ReadUInt16LittleEndian(sb[Ext2MagicOffset..]) != Ext2Magic)
        {
            return null;
        }
        uint compat = BinaryPrimitives.ReadUInt32LittleEndian(sb[Ext2CompatOffset..]);
        uint incompat = BinaryPrimitives.ReadUInt32LittleEndian(sb[Ext2IncompatOffset..]);
        string variant = (incompat & Ext4IncompatMask) != 0 ? "ext4" : (compat & Ext3HasJournal) != 0 ? "ext3" : "ext2";
        return new FsTypeGuess("ext2fs", variant);
    }

    private static FsTypeGuess? IdentifyFfs(IBlockDevice device)
    {
        Span<byte> magic = stackalloc byte[4];
        foreach (long sb in s_ffsSuperblocks)
        {
            if (device.Read(sb + FfsMagicOffset, magic) != Errno.OK)
            {
                continue;
            }
            uint le = BinaryPrimitives.ReadUInt32LittleEndian(magic);
            uint be = BinaryPrimitives.ReadUInt32BigEndian(magic);
            // Either version may sit at any of the places: makefs puts a small UFS2 at 8192.
            if (le == Ufs2Magic || be == Ufs2Magic)
            {
                return new FsTypeGuess("ffs", le == Ufs2Magic ? "UFS2 little-endian" : "UFS2 big-endian");
            }
            if (le == Ufs2EaMagic || be == Ufs2EaMagic)
            {
                return new FsTypeGuess("ffs", le == Ufs2EaMagic ? "UFS2ea little-endian" : "UFS2ea big-endian");
            }
            if (le == Ufs1Magic || be == Ufs1Magic)
            {
                return new FsTypeGuess("ffs", le == Ufs1Magic ? "UFS1 little-endian" : "UFS1 big-endian");
            }
        }
        return null;
    }

    private static FsTypeGuess? IdentifyFat(IBlockDevice device)
    {
        Span<byte> bs = stackalloc byte[512];
        return device.Read(0, bs) == Errno.OK ? IdentifyFatBootSector(bs) : null;
    }

    /// <summary>
    /// A file system known only by a backup copy of its superblock, for fsck, which can
    /// restore the primary from it: ext2/3/4 by group 1's superblock copy (at each block
    /// size's default place, naming itself as group 1's), FAT32 by its backup boot sector;
    /// or a FAT boot sector that lacks only 0x55AA. Not used to mount: the drivers read the
    /// primary alone and detection requires the signature.
    /// </summary>
    public static FsTypeGuess? IdentifyByBackup(IBlockDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return IdentifyExt2Backup(device) ?? IdentifyFatBackup(device) ?? IdentifyFatUnsigned(device);
    }

    /// <summary>A FAT boot sector that is sound but for its 0x55AA signature (which Linux and fsck.fat do not require; the checker writes it).</summary>
    private static FsTypeGuess? IdentifyFatUnsigned(IBlockDevice device)
    {
        Span<byte> bs = stackalloc byte[512];
        if (bs.Length > device.Length || device.Read(0, bs) != Errno.OK)
        {
            return null;
        }
        bs[510] = 0x55;
        bs[511] = 0xAA;
        return IdentifyFatBootSector(bs);
    }

    private static FsTypeGuess? IdentifyExt2Backup(IBlockDevice device)
    {
        const int LogBlockSizeOffset = 24;
        const int BlockGroupNrOffset = 0x5A;
        Span<byte> sb = stackalloc byte[128];
        for (int log = 0; log <= 6; log++)
        {
            long blockSize = 1024L << log;
            long at = ((8 * blockSize) + (log == 0 ? 1 : 0)) * blockSize;
            if (IdentifyExt2At(device, at) is FsTypeGuess guess && device.Read(at, sb) == Errno.OK
                && BinaryPrimitives.ReadUInt32LittleEndian(sb[LogBlockSizeOffset..]) == (uint)log
                && BinaryPrimitives.ReadUInt16LittleEndian(sb[BlockGroupNrOffset..]) == 1)
            {
                return guess;
            }
        }
        return null;
    }

    /// <summary>A FAT32 volume's backup boot sector (sector 6, which names itself as the backup).</summary>
    private static FsTypeGuess? IdentifyFatBackup(IBlockDevice device)
    {
        const int BackupSector = 6;
        const int BpbBackupBootSector = 50;
        Span<byte> bs = stackalloc byte[512];
        foreach (int bps in (ReadOnlySpan<int>)[512, 1024, 2048, 4096])
        {
            long at = (long)BackupSector * bps;
            if (at + bs.Length > device.Length || device.Read(at, bs) != Errno.OK)
            {
                continue;
            }
            if (BinaryPrimitives.ReadUInt16LittleEndian(bs[BpbBytesPerSector..]) == bps
                && BinaryPrimitives.ReadUInt16LittleEndian(bs[BpbBackupBootSector..]) == BackupSector
                && IdentifyFatBootSector(bs) is { Variant: "FAT32" } guess)
            {
                return guess;
            }
        }
        return null;
    }

    private static FsTypeGuess? IdentifyFatBootSector(ReadOnlySpan<byte> bs)
    {
        if (bs[510] != 0x55 || bs[511] != 0xAA || bs[0] is not (0xEB or 0xE9))
        {
            return null;
        }
        int bps = BinaryPrimitives.ReadUInt16LittleEndian(bs[BpbBytesPerSector..]);
        int spc = bs[BpbSectorsPerCluster];
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(bs[BpbReservedSectors..]);
        int fats = bs[BpbNumFats];
        int rootEntries = BinaryPrimitives.ReadUInt16LittleEndian(bs[BpbRootEntries..]);
        long total = BinaryPrimitives.ReadUInt16LittleEndian(bs[BpbTotalSectors16..]);
        if (total == 0)
        {
            total = BinaryPrimitives.ReadUInt32LittleEndian(bs[BpbTotalSectors32..]);
        }
        long fatSize = BinaryPrimitives.ReadUInt16LittleEndian(bs[BpbFatSize16..]);
        if (fatSize == 0)
        {
            fatSize = BinaryPrimitives.ReadUInt32LittleEndian(bs[BpbFatSize32..]);
        }
        byte media = bs[BpbMedia];
        bool sane = bps is 512 or 1024 or 2048 or 4096
            && spc is > 0 and <= 128 && (spc & (spc - 1)) == 0
            && reserved >= 1 && fats is 1 or 2 && total > 0 && fatSize > 0
            && (media >= 0xF8 || media == 0xF0);
        if (!sane)
        {
            return null;
        }
        long rootSectors = ((rootEntries * 32L) + bps - 1) / bps;
        long data = total - (reserved + (fats * fatSize) + rootSectors);
        if (data <= 0)
        {
            return null;
        }
        long clusters = data / spc;
        string variant = clusters < 4085 ? "FAT12" : clusters < 65525 ? "FAT16" : "FAT32";
        return new FsTypeGuess("msdos", variant);
    }
}
