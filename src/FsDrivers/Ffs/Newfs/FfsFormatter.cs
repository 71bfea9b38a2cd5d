using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs.Newfs;

/// <summary>
/// newfs for FFS (UFS1 and UFS2, either byte order): the primary superblock, in every
/// cylinder group a superblock copy, the group block and its inode blocks (all of them for
/// UFS1; the first two for UFS2, whose groups initialise the rest lazily through
/// cg_initediblk), the summary area, and the root directory (inode 2) with "." and "..".
/// Like NetBSD's newfs it makes no lost+found; fsck creates one when it needs it.
/// </summary>
public sealed class FfsFormatter : IFileSystemFormatter
{
    /// <summary>SBLOCKSEARCH: where kernels and tools look for a superblock; stale ones there are erased.</summary>
    private static readonly long[] s_searchLocations = [8192, 65536, 262144];

    /// <summary>Inode-table bytes written at a time for UFS1.</summary>
    private const int InodeChunk = 1 << 20;

    private readonly IClock _clock;
    private readonly IRandomSource _random;

    public FfsFormatter() : this(HostClock.Instance)
    {
    }

    public FfsFormatter(IClock clock, IRandomSource? random = null)
    {
        _clock = clock;
        _random = random ?? HostRandom.Instance;
    }

    public IFileSystemFormatter With(IClock clock, IRandomSource random) => new FfsFormatter(clock, random);

    public string FsType => "ffs";

    public Errno Format(IBlockDevice device, IReadOnlyDictionary<string, string?> options, out string? message)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        FfsFormatOptions? o = FfsFormatOptions.Parse(options, out message);
        if (o is null)
        {
            return Errno.EINVAL;
        }
        FfsGeometry? g = FfsGeometry.Choose(device.Length, o, out message);
        if (g is null)
        {
            return Errno.EINVAL;
        }
        if (device.IsReadOnly)
        {
            message = "the device is read-only";
            return Errno.EROFS;
        }
        long now = _clock.Now.Seconds;
        Errno rc = Write(device, g, now, out string? bad);
        if (rc != 0)
        {
            message = bad ?? $"writing the file system failed: {rc.Describe()}";
            return rc;
        }
        message = $"{(g.HasExtAttrMagic ? "UFS2ea" : g.IsUfs2 ? "UFS2" : "UFS1")} {g.Order}: {g.Size * g.Fsize} bytes, block size {g.Bsize}, fragment size {g.Fsize}, "
            + $"{g.Ncg} cylinder groups of {g.Fpg / g.Frag} blocks, {g.Ipg} inodes each"
            + ((g.Flags & FfsSuperblock.FlagPosix1eAcls) != 0 ? ", POSIX.1e ACLs on" : "");
        return 0;
    }

    private Errno Write(IBlockDevice device, FfsGeometry g, long now, out string? bad)
    {
        bad = null;
        // The summary area holds every group's counters; the totals go in the superblock.
        byte[] csArea = new byte[g.CsFrags * g.Fsize];
        var total = default(FfsCsum);
        for (int cg = 0; cg < g.Ncg; cg++)
        {
            FfsNewfsCylinderGroup.Build(g, cg, now, out FfsCsum cs);
            WriteCsum(g.Order, csArea, cg, cs);
            total += cs;
        }
        byte[] sb = FfsNewfsSuperblock.Encode(g, total, now, (int)now, _random.NextPositiveInt32());

        // A last check with the mount's own rules: never write what we would refuse to mount.
        string? invalid = FfsSuperblockCheck.Validate(new FfsSuperblock((byte[])sb.Clone(), g.Order, g.SblockLoc), device.Length);
        if (invalid is not null)
        {
            bad = $"internal error: the chosen geometry fails validation: {invalid}";
            return Errno.EINVAL;
        }

        Errno rc = EraseOldSuperblocks(device, g);
        for (int cg = 0; cg < g.Ncg && rc == 0; cg++)
        {
            rc = WriteGroup(device, g, cg, now, sb, _random);
        }
        rc = rc != 0 ? rc : WriteRoot(device, g, now, _random);
        rc = rc != 0 ? rc : device.Write(g.CsAddr * g.Fsize, csArea);
        // The primary superblock last: until it is there, the device is no file system.
        rc = rc != 0 ? rc : device.Write(g.SblockLoc, sb);
        return rc != 0 ? rc : device.Flush();
    }

    private static void WriteCsum(FfsByteOrder o, byte[] area, int cg, FfsCsum cs)
    {
        o.W32(area, 16 * cg, (int)cs.Ndir);
        o.W32(area, (16 * cg) + 4, (int)cs.Nbfree);
        o.W32(area, (16 * cg) + 8, (int)cs.Nifree);
        o.W32(area, (16 * cg) + 12, (int)cs.Nffree);
    }

    /// <summary>
    /// Clear the boot area and primary superblock region, and any other place a reader
    /// searches for a superblock, so that no earlier file system is found instead of ours.
    /// </summary>
    private static Errno EraseOldSuperblocks(IBlockDevice device, FfsGeometry g)
    {
        long bootArea = (long)g.Sblkno * g.Fsize;
        Errno rc = device.WriteZeros(0, bootArea);
        foreach (long loc in s_searchLocations)
        {
            if (rc == 0 && loc >= bootArea && loc + FfsGeometry.SblockSize <= device.Length)
            {
                rc = device.WriteZeros(loc, FfsGeometry.SblockSize);
            }
        }
        return rc;
    }

    /// <summary>A group's superblock copy, group block and initialised inode blocks, in one write where they fit.</summary>
    private static Errno WriteGroup(IBlockDevice device, FfsGeometry g, int cg, long now, byte[] sb, IRandomSource random)
    {
        byte[] cgBlock = FfsNewfsCylinderGroup.Build(g, cg, now, out _);
        long start = (g.CgBase(cg) + g.Sblkno) * g.Fsize;
        int head = (g.Iblkno - g.Sblkno) * g.Fsize;
        long inodeBytes = (long)g.InitedIblk * g.DinodeSize;
        int first = (int)Math.Min(inodeBytes, InodeChunk);
        byte[] buf = new byte[head + first];
        sb.CopyTo(buf, 0);
        cgBlock.CopyTo(buf, (g.Cblkno - g.Sblkno) * g.Fsize);
        FillInodes(g, buf.AsSpan(head), random);
        Errno rc = device.Write(start, buf);
        byte[] chunk = new byte[Math.Min(inodeBytes, InodeChunk)];
        for (long done = first; done < inodeBytes && rc == 0; done += chunk.Length)
        {
            int n = (int)Math.Min(chunk.Length, inodeBytes - done);
            FillInodes(g, chunk.AsSpan(0, n), random);
            rc = device.Write(start + head + done, chunk.AsSpan(0, n));
        }
        return rc;
    }

    /// <summary>Empty inodes, each with a random generation number (di_gen), as newfs leaves them.</summary>
    private static void FillInodes(FfsGeometry g, Span<byte> inodes, IRandomSource random)
    {
        inodes.Clear();
        int genOff = g.IsUfs2 ? Ufs2Dinode.Gen : Ufs1Dinode.Gen;
        for (int at = 0; at + g.DinodeSize <= inodes.Length; at += g.DinodeSize)
        {
            g.Order.W32(inodes, at + genOff, random.NextPositiveInt32());
        }
    }

    /// <summary>The root directory: one fragment holding a DIRBLKSIZ block with "." and "..", and inode 2.</summary>
    private static Errno WriteRoot(IBlockDevice device, FfsGeometry g, long now, IRandomSource random)
    {
        long frag = FfsNewfsCylinderGroup.RootFragment(g);
        byte[] dir = new byte[g.Fsize];
        const int DotLen = 12;
        DirectEntry.Write(dir, 0, g.Order, true, FfsSuperblock.RootIno, DotLen, DtDir, "."u8);
        DirectEntry.Write(dir, DotLen, g.Order, true, FfsSuperblock.RootIno, FfsSuperblock.DirBlkSiz - DotLen, DtDir, ".."u8);
        Errno rc = device.Write(frag * g.Fsize, dir);
        if (rc != 0)
        {
            return rc;
        }
        var t = new Timespec(now, 0);
        var d = new FfsDinode
        {
            Mode = 0x41ED, // directory, rwxr-xr-x
            Nlink = 2,
            Size = FfsSuperblock.DirBlkSiz,
            Blocks = g.Fsize / 512,
            Atime = t,
            Mtime = t,
            Ctime = t,
            Birthtime = g.IsUfs2 ? t : default,
            Gen = random.NextPositiveInt32(),
        };
        d.Db[0] = frag;
        byte[] raw = new byte[g.DinodeSize];
        if (g.IsUfs2)
        {
            Ufs2Dinode.Encode(d, raw, g.Order);
        }
        else
        {
            Ufs1Dinode.Encode(d, raw, g.Order);
        }
        // Inode 2 is the third of group 0's first inode block.
        long at = ((long)g.Iblkno * g.Fsize) + ((long)FfsSuperblock.RootIno * g.DinodeSize);
        return device.Write(at, raw);
    }

    /// <summary>DT_DIR, the d_type of a directory entry.</summary>
    private const byte DtDir = 4;
}
