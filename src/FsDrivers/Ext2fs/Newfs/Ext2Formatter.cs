using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>
/// mke2fs: ext2 (revision 0 or 1), ext3 and ext4 feature sets (see <see cref="Ext2FeatureSet"/>).
/// Writes the zeroed inode tables, bitmaps, root directory and lost+found, the journal, the
/// orphan file, then the descriptor tables and, last, the superblock copies.
/// </summary>
public sealed class Ext2Formatter : IFileSystemFormatter
{
    private readonly IClock _clock;
    private readonly IRandomSource _random;

    public Ext2Formatter() : this(HostClock.Instance)
    {
    }

    public Ext2Formatter(IClock clock, IRandomSource? random = null)
    {
        _clock = clock;
        _random = random ?? HostRandom.Instance;
    }

    public IFileSystemFormatter With(IClock clock, IRandomSource random) => new Ext2Formatter(clock, random);

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
        if (g.Features.Rev == 0 && g.Label.Length > 0)
        {
            message = "label: revision 0 superblocks have no volume name";
            return Errno.EINVAL;
        }
        Ext2NewfsPlan? plan = Ext2NewfsPlan.Make(g, (uint)_clock.Now.Seconds, _random, out message);
        if (plan is null)
        {
            return Errno.EINVAL;
        }
        if (device.IsReadOnly)
        {
            message = "the device is read-only";
            return Errno.EROFS;
        }
        Errno rc = Write(device, plan);
        if (rc != 0)
        {
            message = $"writing the file system failed: {rc}";
            return rc;
        }
        message = plan.Describe();
        return 0;
    }

    private static Errno Write(IBlockDevice device, Ext2NewfsPlan p)
    {
        Ext2Geometry g = p.Geometry;
        Ext2Layout l = p.Layout;
        int bs = g.BlockSize;
        Errno rc = 0;
        for (uint grp = 0; grp < g.Groups && rc == 0; grp++)
        {
            rc = Ext2Zeroing.Zero(device, (long)l.InodeTable[grp] * bs, (long)g.InodeTableBlocks * bs);
            rc = rc != 0 ? rc : device.Write((long)l.BlockBitmap[grp] * bs, l.Map.Bitmap(grp));
            rc = rc != 0 ? rc : device.Write((long)l.InodeBitmap[grp] * bs, p.InodeBitmap(grp));
        }
        rc = rc != 0 ? rc : WriteFile(device, bs, p.Root, p.DirBlocks[0]);
        rc = rc != 0 ? rc : WriteFile(device, bs, p.LostFound, p.DirBlocks[1]);
        if (rc == 0 && p.Journal is not null)
        {
            foreach ((uint start, uint len) in p.Journal.Runs)
            {
                rc = rc != 0 ? rc : Ext2Zeroing.Zero(device, (long)start * bs, (long)len * bs);
            }
            rc = rc != 0 ? rc : WriteFile(device, bs, p.Journal, Ext2NewJournal.Superblock(bs, g.JournalBlocks, p.Uuid));
        }
        if (rc == 0 && p.OrphanFile is not null)
        {
            rc = WriteOrphanFile(device, p);
        }
        for (uint ino = 1; ino <= p.Inodes.Length && rc == 0; ino++)
        {
            rc = device.Write((long)l.InodeTable[0] * bs + (long)(ino - 1) * g.InodeSize, p.Inodes[ino - 1]);
        }
        if (rc != 0)
        {
            return rc;
        }
        byte[] gdt = Ext2NewSuperblock.Descriptors(p);
        for (uint grp = 0; grp < g.Groups && rc == 0; grp++)
        {
            if (!g.HasSuperblock(grp))
            {
                continue;
            }
            long at = grp == 0 ? Ext2Superblock.DiskOffset : (long)g.GroupStart(grp) * bs;
            rc = device.Write(at, Ext2NewSuperblock.Build(p, grp));
            rc = rc != 0 ? rc : device.Write((long)(g.GroupStart(grp) + 1) * bs, gdt);
        }
        if (rc == 0 && bs > 1024)
        {
            // Block 0 holds the boot area before the superblock; clear it.
            rc = device.Write(0, new byte[1024]);
        }
        return rc != 0 ? rc : device.Flush();
    }

    /// <summary>The orphan file: its mapping blocks, and every data block an empty orphan block (magic, checksum of its own block number).</summary>
    private static Errno WriteOrphanFile(IBlockDevice device, Ext2NewfsPlan p)
    {
        int bs = p.Geometry.BlockSize;
        Ext2NewFile file = p.OrphanFile!;
        bool csum = p.Geometry.Features.MetadataCsum;
        uint seed = p.InodeSeed(Ext2NewfsPlan.OrphanFileIno);
        Errno rc = 0;
        foreach ((uint blk, byte[] data) in file.MapBlocks)
        {
            rc = rc != 0 ? rc : device.Write((long)blk * bs, data);
        }
        foreach ((uint start, uint len) in file.Runs)
        {
            var run = new byte[(long)len * bs];
            for (uint i = 0; i < len; i++)
            {
                Ext2OrphanBlock.Format(run.AsSpan((int)i * bs, bs), csum, seed, start + i);
            }
            rc = rc != 0 ? rc : device.Write((long)start * bs, run);
        }
        return rc;
    }

    /// <summary>Write a file's mapping blocks and its first data block.</summary>
    private static Errno WriteFile(IBlockDevice device, int bs, Ext2NewFile file, byte[] firstBlock)
    {
        Errno rc = 0;
        foreach ((uint blk, byte[] data) in file.MapBlocks)
        {
            rc = rc != 0 ? rc : device.Write((long)blk * bs, data);
        }
        return rc != 0 ? rc : device.Write((long)file.Runs[0].Start * bs, firstBlock);
    }
}
