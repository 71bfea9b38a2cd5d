using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;
using DE = RumpFs.FsDrivers.Ext2fs.OnDisk.Ext2DirEntry.Off;
using DI = RumpFs.FsDrivers.Ext2fs.OnDisk.Ext2Dinode.Off;
using SB = RumpFs.FsDrivers.Ext2fs.OnDisk.Ext2Superblock.Off;

namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>
/// mke2fs for plain ext2 (revision 1, filetype, sparse_super, large_file): superblock and
/// descriptor copies, bitmaps, zeroed inode tables, the root directory and lost+found.
/// </summary>
public sealed class Ext2Formatter : IFileSystemFormatter
{
    private const uint RootIno = 2;
    private const uint LostFoundIno = 11;

    private readonly IClock _clock;

    public Ext2Formatter() : this(HostClock.Instance)
    {
    }

    public Ext2Formatter(IClock clock) => _clock = clock;

    public string FsType => "ext2fs";

    public Errno Format(IBlockDevice device, IReadOnlyDictionary<string, string?> options, out string? message)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        Ext2Geometry? g = Ext2Geometry.Choose(device.Length, options, out message);
        if (g is null)
        {
            return Errno.EINVAL;
        }
        if (device.IsReadOnly)
        {
            message = "the device is read-only";
            return Errno.EROFS;
        }
        Errno rc = Write(device, g, (uint)_clock.Now.Seconds);
        if (rc != 0)
        {
            message = $"writing the file system failed: {rc}";
            return rc;
        }
        message = $"ext2 revision 1: {g.BlocksCount} blocks of {g.BlockSize} bytes, {g.Groups} groups, {g.InodesCount} inodes";
        return 0;
    }

    private static Errno Write(IBlockDevice device, Ext2Geometry g, uint now)
    {
        int bs = g.BlockSize;
        // Group 0's first data blocks: the root directory, then lost+found.
        uint rootBlock = g.GroupStart(0) + g.Overhead(0);
        uint lfBlock = rootBlock + 1;
        var freeBlocks = new uint[g.Groups];
        var freeInodes = new uint[g.Groups];
        Errno rc = 0;
        for (uint grp = 0; grp < g.Groups && rc == 0; grp++)
        {
            uint used = g.Overhead(grp) + (grp == 0 ? 2u : 0u);
            freeBlocks[grp] = g.GroupBlocks(grp) - used;
            freeInodes[grp] = g.InodesPerGroup - (grp == 0 ? LostFoundIno : 0);
            rc = WriteBitmaps(device, g, grp, used, grp == 0 ? LostFoundIno : 0);
            rc = rc != 0 ? rc : device.WriteZeros((long)g.InodeTable(grp) * bs, (long)g.InodeTableBlocks * bs);
        }
        if (rc != 0)
        {
            return rc;
        }
        rc = WriteDirectories(device, g, rootBlock, lfBlock);
        rc = rc != 0 ? rc : WriteInode(device, g, RootIno, 0x41ED, 3, rootBlock, now);
        rc = rc != 0 ? rc : WriteInode(device, g, LostFoundIno, 0x41C0, 2, lfBlock, now);
        if (rc != 0)
        {
            return rc;
        }
        byte[] gdt = Descriptors(g, freeBlocks, freeInodes);
        byte[] uuid = RandomNumberGenerator.GetBytes(16);
        byte[] hashSeed = RandomNumberGenerator.GetBytes(16);
        long totalFree = freeBlocks.Sum(f => (long)f);
        long totalFreeInodes = freeInodes.Sum(f => (long)f);
        for (uint grp = 0; grp < g.Groups && rc == 0; grp++)
        {
            if (!Ext2Geometry.HasSuperblock(grp))
            {
                continue;
            }
            byte[] sb = Superblock(g, grp, (uint)totalFree, (uint)totalFreeInodes, now, uuid, hashSeed);
            long at = grp == 0 ? Ext2Superblock.DiskOffset : (long)g.GroupStart(grp) * bs;
            rc = device.Write(at, sb);
            rc = rc != 0 ? rc : device.Write((long)(g.GroupStart(grp) + 1) * bs, gdt);
        }
        if (rc == 0 && bs > 1024)
        {
            // Block 0 holds the boot area before the superblock; clear it.
            rc = device.Write(0, new byte[1024]);
        }
        return rc != 0 ? rc : device.Flush();
    }

    private static Errno WriteBitmaps(IBlockDevice device, Ext2Geometry g, uint grp, uint usedBlocks, uint usedInodes)
    {
        int bs = g.BlockSize;
        var bitmap = new byte[bs];
        SetBits(bitmap, 0, usedBlocks);
        // Bits past the end of a short last group are set, so they are never allocated.
        SetBits(bitmap, g.GroupBlocks(grp), (uint)(8 * bs) - g.GroupBlocks(grp));
        Errno rc = device.Write((long)g.BlockBitmap(grp) * bs, bitmap);
        if (rc != 0)
        {
            return rc;
        }
        Array.Clear(bitmap);
        SetBits(bitmap, 0, usedInodes);
        SetBits(bitmap, g.InodesPerGroup, (uint)(8 * bs) - g.InodesPerGroup);
        return device.Write((long)g.InodeBitmap(grp) * bs, bitmap);
    }

    private static void SetBits(byte[] bitmap, uint first, uint count)
    {
        for (uint i = first; i < first + count; i++)
        {
            bitmap[i >> 3] |= (byte)(1 << (int)(i & 7));
        }
    }

    private static Errno WriteDirectories(IBlockDevice device, Ext2Geometry g, uint rootBlock, uint lfBlock)
    {
        int bs = g.BlockSize;
        var block = new byte[bs];
        int at = DirEntry(block, 0, RootIno, 12, ".");
        at = DirEntry(block, at, RootIno, 12, "..");
        DirEntry(block, at, LostFoundIno, bs - at, "lost+found");
        Errno rc = device.Write((long)rootBlock * bs, block);
        if (rc != 0)
        {
            return rc;
        }
        Array.Clear(block);
        at = DirEntry(block, 0, LostFoundIno, 12, ".");
        DirEntry(block, at, RootIno, bs - at, "..");
        return device.Write((long)lfBlock * bs, block);
    }

    private static int DirEntry(byte[] block, int at, uint ino, int recLen, string name)
    {
        Span<byte> e = block.AsSpan(at);
        BinaryPrimitives.WriteUInt32LittleEndian(e[DE.Inode..], ino);
        BinaryPrimitives.WriteUInt16LittleEndian(e[DE.RecLen..], (ushort)recLen);
        e[DE.NameLen] = (byte)name.Length;
        e[DE.FileType] = 2; // directory
        Encoding.ASCII.GetBytes(name, e[DE.Name..]);
        return at + recLen;
    }

    private static Errno WriteInode(IBlockDevice device, Ext2Geometry g, uint ino, ushort mode, ushort links, uint block, uint now)
    {
        var raw = new byte[Ext2Geometry.InodeSize];
        BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(DI.Mode), mode);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(DI.SizeLo), (uint)g.BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(DI.Atime), now);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(DI.Ctime), now);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(DI.Mtime), now);
        BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(DI.LinksCount), links);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(DI.BlocksLo), (uint)(g.BlockSize / 512));
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(DI.Block), block);
        uint index = ino - 1; // both inodes live in group 0
        long at = (long)g.InodeTable(0) * g.BlockSize + (long)index * Ext2Geometry.InodeSize;
        return device.Write(at, raw);
    }

    private static byte[] Descriptors(Ext2Geometry g, uint[] freeBlocks, uint[] freeInodes)
    {
        var gdt = new byte[g.GdtBlocks * g.BlockSize];
        for (uint grp = 0; grp < g.Groups; grp++)
        {
            var d = new Ext2GroupDescriptor
            {
                BlockBitmap = g.BlockBitmap(grp),
                InodeBitmap = g.InodeBitmap(grp),
                InodeTable = g.InodeTable(grp),
                FreeBlocks = freeBlocks[grp],
                FreeInodes = freeInodes[grp],
                UsedDirs = grp == 0 ? 2u : 0u,
            };
            d.Encode(gdt.AsSpan((int)grp * Ext2GroupDescriptor.Size32, Ext2GroupDescriptor.Size32));
        }
        return gdt;
    }

    private static byte[] Superblock(Ext2Geometry g, uint grp, uint freeBlocks, uint freeInodes, uint now, byte[] uuid,
        byte[] hashSeed)
    {
        var s = new byte[Ext2Superblock.Size];
        void U32(int off, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(off), v);
        void U16(int off, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(off), v);
        uint log = (uint)(BitOperations.Log2((uint)g.BlockSize) - 10);
        U32(SB.InodesCount, g.InodesCount);
        U32(SB.BlocksCountLo, g.BlocksCount);
        U32(SB.RBlocksCountLo, g.BlocksCount / 20);
        U32(SB.FreeBlocksCountLo, freeBlocks);
        U32(SB.FreeInodesCount, freeInodes);
        U32(SB.FirstDataBlock, g.FirstDataBlock);
        U32(SB.LogBlockSize, log);
        U32(SB.LogClusterSize, log);
        U32(SB.BlocksPerGroup, g.BlocksPerGroup);
        U32(SB.ClustersPerGroup, g.BlocksPerGroup);
        U32(SB.InodesPerGroup, g.InodesPerGroup);
        U32(SB.Wtime, now);
        U16(SB.MaxMntCount, 0xFFFF);
        U16(SB.MagicField, Ext2Superblock.Magic);
        U16(SB.State, Ext2Superblock.StateValid);
        U16(SB.Errors, 1); // continue
        U32(SB.LastCheck, now);
        U32(SB.RevLevel, 1);
        U32(SB.FirstIno, Ext2Geometry.FirstIno);
        U16(SB.InodeSize, Ext2Geometry.InodeSize);
        U16(SB.BlockGroupNr, (ushort)grp);
        U32(SB.FeatureCompat, Ext2Features.CompatExtAttr);
        U32(SB.FeatureIncompat, Ext2Features.IncompatFiletype);
        U32(SB.FeatureRoCompat, Ext2Features.RoSparseSuper | Ext2Features.RoLargeFile);
        uuid.CopyTo(s.AsSpan(SB.Uuid));
        Encoding.UTF8.GetBytes(g.Label, s.AsSpan(SB.VolumeName, 16));
        hashSeed.CopyTo(s.AsSpan(SB.HashSeed));
        s[SB.DefHashVersion] = 1; // half_md4, for when dir_index is turned on later
        U32(SB.MkfsTime, now);
        return s;
    }
}
