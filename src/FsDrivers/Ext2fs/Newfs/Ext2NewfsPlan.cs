using System.Security.Cryptography;
using System.Text;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>
/// Everything a new file system holds, decided in memory before the first write (so that a
/// volume too small is refused with nothing written): the layout, the blocks of the root
/// directory, lost+found, the journal and the orphan file, the reserved and used inodes, and
/// the counters.
/// </summary>
internal sealed class Ext2NewfsPlan
{
    public const uint RootIno = 2;
    public const uint LostFoundIno = 11;

    /// <summary>The orphan file's inode: the first one after lost+found, as mke2fs's ext2fs_new_inode finds it.</summary>
    public const uint OrphanFileIno = 12;

    private const ushort RootMode = 0x41ED;      // drwxr-xr-x
    private const ushort LostFoundMode = 0x41C0; // drwx------
    private const ushort JournalMode = 0x8180;   // -rw-------
    private const ushort OrphanFileMode = 0x8180; // -rw-------

    private Ext2NewfsPlan(Ext2Geometry g, Ext2Layout l, uint now, IRandomSource random)
    {
        Geometry = g;
        Layout = l;
        Now = now;
        FreeBlocks = new uint[g.Groups];
        FreeInodes = new uint[g.Groups];
        Uuid = random.NextUuidV4();
        HashSeed = random.NextUuidV4();
        CsumSeed = Ext2Crc.Crc32c(~0u, Uuid);
        Inodes = new byte[UsedInodes][];
    }

    public Ext2Geometry Geometry { get; }
    public Ext2Layout Layout { get; }
    public uint Now { get; }
    public byte[] Uuid { get; }
    public byte[] HashSeed { get; }

    /// <summary>The metadata_csum seed: crc32c of the UUID (also stored as s_checksum_seed with metadata_csum_seed).</summary>
    public uint CsumSeed { get; }

    public uint[] FreeBlocks { get; }
    public uint[] FreeInodes { get; }
    public Ext2NewFile Root { get; private set; } = null!;
    public Ext2NewFile LostFound { get; private set; } = null!;
    public Ext2NewFile? Journal { get; private set; }

    /// <summary>The orphan file (orphan_file), its blocks each an empty orphan block.</summary>
    public Ext2NewFile? OrphanFile { get; private set; }

    /// <summary>Blocks of the orphan file: ext2fs_default_orphan_file_blocks.</summary>
    public uint OrphanFileBlocks => Ext2OrphanBlock.DefaultBlocks(Geometry.BlocksCount);

    /// <summary>Inodes in use in group 0: 1 to 11 (lost+found), and 12 with an orphan file.</summary>
    public uint UsedInodes => Geometry.Features.OrphanFile ? OrphanFileIno : LostFoundIno;

    /// <summary>Raw inodes 1 to <see cref="UsedInodes"/> of group 0 (reserved ones zero, with a checksum when metadata_csum is on).</summary>
    public byte[][] Inodes { get; }

    /// <summary>The two directory blocks: the root's, then lost+found's.</summary>
    public byte[][] DirBlocks { get; } = new byte[2][];

    public static Ext2NewfsPlan? Make(Ext2Geometry g, uint now, IRandomSource random, out string? error)
    {
        Ext2Layout? l = Ext2Layout.Place(g, out error);
        if (l is null)
        {
            return null;
        }
        var p = new Ext2NewfsPlan(g, l, now, random);
        Ext2FeatureSet f = g.Features;
        bool csum = f.MetadataCsum;
        uint goal = l.DataGoal;
        Ext2NewFile? root = Ext2NewFile.Allocate(l.Map, g.BlockSize, goal, 1, f.Extents, csum, p.InodeSeed(RootIno));
        Ext2NewFile? lf = root is null ? null : Ext2NewFile.Allocate(l.Map, g.BlockSize, goal, 1, f.Extents, csum, p.InodeSeed(LostFoundIno));
        if (root is null || lf is null)
        {
            error = "the volume has no room for the root directory";
            return null;
        }
        p.Root = root;
        p.LostFound = lf;
        if (f.Journal)
        {
            p.Journal = Ext2NewFile.Allocate(l.Map, g.BlockSize, JournalGoal(g), g.JournalBlocks, f.Extents, csum, p.InodeSeed(Ext2NewJournal.Inode));
            if (p.Journal is null)
            {
                error = $"the volume has no room for a journal of {g.JournalBlocks} blocks";
                return null;
            }
        }
        if (f.OrphanFile)
        {
            // mke2fs makes it last, from the first free block of the volume on.
            p.OrphanFile = Ext2NewFile.Allocate(l.Map, g.BlockSize, g.FirstDataBlock, p.OrphanFileBlocks, f.Extents, csum, p.InodeSeed(OrphanFileIno));
            if (p.OrphanFile is null)
            {
                error = $"the volume has no room for an orphan file of {p.OrphanFileBlocks} blocks";
                return null;
            }
        }
        p.BuildDirectories();
        p.BuildInodes();
        for (uint grp = 0; grp < g.Groups; grp++)
        {
            p.FreeBlocks[grp] = g.GroupBlocks(grp) - l.Map.Used(grp);
            p.FreeInodes[grp] = g.InodesPerGroup - (grp == 0 ? p.UsedInodes : 0);
        }
        return p;
    }

    /// <summary>
    /// Where the journal starts looking for blocks: the group in the middle of the volume
    /// (rounded down to its flex group past the first), as mke2fs places it, so that it
    /// lies in one run away from the metadata packed at the start.
    /// </summary>
    private static uint JournalGoal(Ext2Geometry g)
    {
        uint mid = (g.BlocksCount - g.FirstDataBlock) / 2 / g.BlocksPerGroup;
        if (g.Features.FlexBg && mid > Ext2Geometry.FlexSize)
        {
            mid &= ~(Ext2Geometry.FlexSize - 1);
        }
        return g.GroupStart(Math.Min(mid, g.Groups - 1));
    }

    /// <summary>The inode bitmap of a group: inodes 1 to 11 (12) in group 0 are in use, bits past the group's inodes set.</summary>
    public byte[] InodeBitmap(uint grp)
    {
        var b = new byte[Geometry.BlockSize];
        Ext2BlockMap.SetBits(b, 0, grp == 0 ? UsedInodes : 0);
        Ext2BlockMap.SetBits(b, Geometry.InodesPerGroup, (uint)(8 * Geometry.BlockSize) - Geometry.InodesPerGroup);
        return b;
    }

    internal uint InodeSeed(uint ino) => Ext2Dinode.InodeSeed(CsumSeed, ino, 0);

    private void BuildDirectories()
    {
        int bs = Geometry.BlockSize;
        bool ft = Geometry.Features.Filetype;
        int end = Geometry.Features.MetadataCsum ? bs - Ext2DirEntry.TailSize : bs;
        const byte dir = 2;
        var root = new byte[bs];
        Ext2DirEntry.Write(root, 0, RootIno, 12, "."u8, dir, ft);
        Ext2DirEntry.Write(root, 12, RootIno, 12, ".."u8, dir, ft);
        Ext2DirEntry.Write(root, 24, LostFoundIno, end - 24, "lost+found"u8, dir, ft);
        var lf = new byte[bs];
        Ext2DirEntry.Write(lf, 0, LostFoundIno, 12, "."u8, dir, ft);
        Ext2DirEntry.Write(lf, 12, RootIno, end - 12, ".."u8, dir, ft);
        if (Geometry.Features.MetadataCsum)
        {
            Ext2DirEntry.WriteTail(root, InodeSeed(RootIno));
            Ext2DirEntry.WriteTail(lf, InodeSeed(LostFoundIno));
        }
        DirBlocks[0] = root;
        DirBlocks[1] = lf;
    }

    private void BuildInodes()
    {
        for (uint ino = 1; ino <= UsedInodes; ino++)
        {
            Inodes[ino - 1] = ino switch
            {
                OrphanFileIno when OrphanFile is not null =>
                    Inode(ino, OrphanFileMode, 1, OrphanFile, (long)OrphanFileBlocks * Geometry.BlockSize),
                RootIno => Inode(ino, RootMode, 3, Root, Geometry.BlockSize),
                LostFoundIno => Inode(ino, LostFoundMode, 2, LostFound, Geometry.BlockSize),
                Ext2NewJournal.Inode when Journal is not null =>
                    Inode(ino, JournalMode, 1, Journal, (long)Geometry.JournalBlocks * Geometry.BlockSize),
                _ => Reserved(ino),
            };
        }
    }

    private byte[] Reserved(uint ino)
    {
        var d = new Ext2Dinode(new byte[Geometry.InodeSize]);
        if (Geometry.Features.MetadataCsum)
        {
            d.UpdateChecksum(CsumSeed, ino);
        }
        return d.Raw;
    }

    private byte[] Inode(uint ino, ushort mode, ushort links, Ext2NewFile file, long size)
    {
        var d = new Ext2Dinode(new byte[Geometry.InodeSize]);
        // Large inodes carry the nanosecond and creation times, as mke2fs writes them whatever the features.
        d.SetExtraIsize(Geometry.InodeSize > Ext2Dinode.BaseSize ? (ushort)32 : (ushort)0);
        d.Mode = mode;
        d.Size = size;
        d.LinksCount = links;
        var t = new Timespec(Now, 0);
        d.Atime = t;
        d.Mtime = t;
        d.Ctime = t;
        d.Crtime = t;
        d.BlocksRaw = file.TotalBlocks * (ulong)(Geometry.BlockSize / 512);
        d.Flags = file.InodeFlags;
        file.BlockArea.CopyTo(d.BlockBytes);
        if (Geometry.Features.MetadataCsum)
        {
            d.UpdateChecksum(CsumSeed, ino);
        }
        return d.Raw;
    }

    /// <summary>A one-line summary for the user.</summary>
    public string Describe()
    {
        Ext2Geometry g = Geometry;
        var sb = new StringBuilder();
        sb.Append(g.Features.Rev == 0 ? "ext2 revision 0" : $"{g.Features.TypeName} ({g.Features.Describe()})");
        sb.Append($": {g.BlocksCount} blocks of {g.BlockSize} bytes, {g.Groups} groups, {g.InodesCount} inodes of {g.InodeSize} bytes");
        if (Journal is not null)
        {
            sb.Append($", journal of {g.JournalBlocks} blocks");
        }
        if (OrphanFile is not null)
        {
            sb.Append($", orphan file of {OrphanFileBlocks} blocks");
        }
        if (g.Note is not null)
        {
            sb.Append("; ").Append(g.Note);
        }
        return sb.ToString();
    }
}
