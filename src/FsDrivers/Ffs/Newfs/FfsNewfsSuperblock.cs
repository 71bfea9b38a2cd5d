using System.Text;
using SB = RumpFs.FsDrivers.Ffs.SuperblockFields;

namespace RumpFs.FsDrivers.Ffs.Newfs;

/// <summary>Offsets of struct fs fields only newfs writes (the rest are in <see cref="SuperblockFields"/>).</summary>
internal static class NewfsSuperblockFields
{
    public const int OldRotdelay = 64;
    public const int OldRps = 68;
    public const int OldNspf = 124;
    public const int OldNpsect = 132;
    public const int OldInterleave = 136;
    public const int OldTrackskew = 140;
    public const int OldNsect = 168;
    public const int OldSpc = 172;
    public const int OldNcyl = 176;
    public const int OldCpc = 856;
    public const int Qbmask = 1336;
    public const int Qfmask = 1344;
    public const int State = 1352;
    public const int OldPostblFormat = 1356;
    public const int OldNrpos = 1360;
}

/// <summary>The counters of a csum / csum_total: directories, free blocks, free inodes, free fragments.</summary>
internal readonly record struct FfsCsum(long Ndir, long Nbfree, long Nifree, long Nffree)
{
    public static FfsCsum operator +(FfsCsum a, FfsCsum b) =>
        new(a.Ndir + b.Ndir, a.Nbfree + b.Nbfree, a.Nifree + b.Nifree, a.Nffree + b.Nffree);
}

/// <summary>
/// Encodes a new superblock (struct fs) for a <see cref="FfsGeometry"/>, in the image's
/// byte order, as mkfs.c fills it in: clean, 4.4BSD inode format with fs_flags in use
/// (FS_FLAGS_UPDATED), and for UFS1 the fs_old_* fields that describe one cylinder per
/// group without rotational tables.
/// </summary>
internal static class FfsNewfsSuperblock
{
    /// <summary>FS_DYNAMICPOSTBLFMT: rotational tables (none here) live outside struct fs.</summary>
    private const int DynamicPostblFormat = 1;

    public static byte[] Encode(FfsGeometry g, FfsCsum total, long now, int id0, int id1)
    {
        FfsByteOrder o = g.Order;
        byte[] raw = new byte[g.SbSize];
        Span<byte> s = raw;
        o.W32(s, SB.Sblkno, g.Sblkno);
        o.W32(s, SB.Cblkno, g.Cblkno);
        o.W32(s, SB.Iblkno, g.Iblkno);
        o.W32(s, SB.Dblkno, g.Dblkno);
        o.W32(s, SB.Ncg, g.Ncg);
        o.W32(s, SB.Bsize, g.Bsize);
        o.W32(s, SB.Fsize, g.Fsize);
        o.W32(s, SB.Frag, g.Frag);
        o.W32(s, SB.MinFree, g.MinFree);
        o.W32(s, SB.Bmask, ~(g.Bsize - 1));
        o.W32(s, SB.Fmask, ~(g.Fsize - 1));
        o.W32(s, SB.Bshift, g.Bshift);
        o.W32(s, SB.Fshift, g.Fshift);
        o.W32(s, SB.MaxContig, g.MaxContig);
        o.W32(s, SB.MaxBpg, g.MaxBpg);
        o.W32(s, SB.FragShift, g.FragShift);
        o.W32(s, SB.FsbToDb, g.Fshift - 9);
        o.W32(s, SB.SbSize, g.SbSize);
        o.W32(s, SB.Nindir, g.Nindir);
        o.W32(s, SB.Inopb, g.Inopb);
        o.W32(s, SB.Optim, g.Optim);
        o.W32(s, SB.Id, id0);
        o.W32(s, SB.Id + 4, id1);
        o.W32(s, SB.CsSize, g.CsSize);
        o.W32(s, SB.CgSize, g.CgSize);
        o.W32(s, SB.Ipg, g.Ipg);
        o.W32(s, SB.Fpg, g.Fpg);
        s[SB.Clean] = FfsSuperblock.IsClean;
        s[SB.OldFlags] = FfsSuperblock.OldFlagsUpdated;
        if (g.Label is not null)
        {
            Encoding.UTF8.GetBytes(g.Label, s.Slice(SB.VolName, SB.VolNameLength - 1));
        }
        o.W32(s, SB.MaxBsize, g.Bsize);
        o.W64(s, SB.SblockLoc, g.SblockLoc);
        WriteTotal(o, s, SB.CsTotal, total, wide: true);
        o.W64(s, SB.Time, now);
        o.W64(s, SB.Size, g.Size);
        o.W64(s, SB.Dsize, g.Dsize);
        o.W64(s, SB.CsAddr, g.CsAddr);
        o.W32(s, SB.AvgFileSize, FfsGeometry.AvgFileSize);
        o.W32(s, SB.AvgFpdir, FfsGeometry.AvgFpdir);
        o.W32(s, SB.Flags, g.Flags);
        o.W32(s, SB.ContigSumSize, g.ContigSumSize);
        o.W32(s, SB.MaxSymlinkLen, g.IsUfs2 ? Ufs2Dinode.PointerArea : Ufs1Dinode.PointerArea);
        o.W32(s, SB.OldInodeFmt, FfsSuperblock.InodeFmt44);
        o.W64(s, SB.MaxFileSize, g.MaxFileSize);
        o.W64(s, NewfsSuperblockFields.Qbmask, g.Bsize - 1);
        o.W64(s, NewfsSuperblockFields.Qfmask, g.Fsize - 1);
        o.W32(s, SB.Magic, g.HasExtAttrMagic ? FfsSuperblock.Ufs2EaMagic : g.IsUfs2 ? FfsSuperblock.Ufs2Magic : FfsSuperblock.Ufs1Magic);
        if (!g.IsUfs2)
        {
            WriteOldFields(g, s, total, now);
        }
        return raw;
    }

    /// <summary>UFS1 keeps 32-bit copies of the sizes and counters, and a cylinder description a 4.4BSD kernel reads.</summary>
    private static void WriteOldFields(FfsGeometry g, Span<byte> s, FfsCsum total, long now)
    {
        FfsByteOrder o = g.Order;
        int nspf = g.Fsize / 512;
        o.W32(s, SB.OldCgOffset, 0);
        o.W32(s, SB.OldCgMask, -1);
        o.W32(s, SB.OldTime, (int)now);
        o.W32(s, SB.OldSize, (int)g.Size);
        o.W32(s, SB.OldDsize, (int)g.Dsize);
        o.W32(s, SB.OldCsAddr, (int)g.CsAddr);
        o.W32(s, SB.OldCpg, 1);
        o.W32(s, NewfsSuperblockFields.OldRotdelay, 0);
        o.W32(s, NewfsSuperblockFields.OldRps, 60);
        o.W32(s, NewfsSuperblockFields.OldNspf, nspf);
        // One "cylinder" per group: a cylinder's sectors are the group's.
        int spc = (int)Math.Min((long)g.Fpg * nspf, int.MaxValue);
        o.W32(s, NewfsSuperblockFields.OldSpc, spc);
        o.W32(s, NewfsSuperblockFields.OldNsect, spc);
        o.W32(s, NewfsSuperblockFields.OldNpsect, spc);
        o.W32(s, NewfsSuperblockFields.OldNcyl, g.Ncg);
        o.W32(s, NewfsSuperblockFields.OldInterleave, 1);
        o.W32(s, NewfsSuperblockFields.OldTrackskew, 0);
        o.W32(s, NewfsSuperblockFields.OldCpc, 0);
        o.W32(s, NewfsSuperblockFields.OldPostblFormat, DynamicPostblFormat);
        o.W32(s, NewfsSuperblockFields.OldNrpos, 1);
        WriteTotal(o, s, SB.OldCsTotal, total, wide: false);
    }

    private static void WriteTotal(FfsByteOrder o, Span<byte> s, int off, FfsCsum t, bool wide)
    {
        if (wide)
        {
            o.W64(s, off, t.Ndir);
            o.W64(s, off + 8, t.Nbfree);
            o.W64(s, off + 16, t.Nifree);
            o.W64(s, off + 24, t.Nffree);
        }
        else
        {
            o.W32(s, off, (int)t.Ndir);
            o.W32(s, off + 4, (int)t.Nbfree);
            o.W32(s, off + 8, (int)t.Nifree);
            o.W32(s, off + 12, (int)t.Nffree);
        }
    }
}
