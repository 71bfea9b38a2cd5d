using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// The checker's comparison of the primary superblock with a backup copy, after fsck_ffs's
/// readsb and cmpsblks: the copy in the last cylinder group (cgsblock(ncg - 1)), the same
/// 21 geometry fields, and fsck_ffs's "BAD SUPER BLOCK: VALUES IN SUPER BLOCK DISAGREE WITH
/// THOSE IN FIRST ALTERNATE". A single damaged field in the primary (fs_sblkno one fragment
/// off, fs_cssize or fs_bmask changed) is otherwise invisible: every other check would run
/// on the wrong geometry, and a wrong fs_sblkno would free the backups' own fragments.
/// Only the checker uses this; the mount keeps its own checks.
/// </summary>
internal static class FfsSuperblockAlternate
{
    public const string Disagree = "BAD SUPER BLOCK: VALUES IN SUPER BLOCK DISAGREE WITH THOSE IN FIRST ALTERNATE";

    /// <summary>The fields cmpsblks compares, each 32 bits: where a copy and the primary must agree.</summary>
    public static readonly (string Name, int Offset)[] Compared =
    [
        ("fs_sblkno", SuperblockFields.Sblkno), ("fs_cblkno", SuperblockFields.Cblkno),
        ("fs_iblkno", SuperblockFields.Iblkno), ("fs_dblkno", SuperblockFields.Dblkno),
        ("fs_ncg", SuperblockFields.Ncg), ("fs_bsize", SuperblockFields.Bsize),
        ("fs_fsize", SuperblockFields.Fsize), ("fs_frag", SuperblockFields.Frag),
        ("fs_bmask", SuperblockFields.Bmask), ("fs_fmask", SuperblockFields.Fmask),
        ("fs_bshift", SuperblockFields.Bshift), ("fs_fshift", SuperblockFields.Fshift),
        ("fs_fragshift", SuperblockFields.FragShift), ("fs_fsbtodb", SuperblockFields.FsbToDb),
        ("fs_sbsize", SuperblockFields.SbSize), ("fs_nindir", SuperblockFields.Nindir),
        ("fs_inopb", SuperblockFields.Inopb), ("fs_cssize", SuperblockFields.CsSize),
        ("fs_ipg", SuperblockFields.Ipg), ("fs_fpg", SuperblockFields.Fpg),
        ("fs_magic", SuperblockFields.Magic),
    ];

    /// <summary>
    /// How far past the start of the last group a copy is looked for when it is not where
    /// the primary's fields put it: newfs places it within the first 128 KiB of a group
    /// (after a 64 KiB boot area and the 8 KiB superblock, rounded to a block).
    /// </summary>
    private const int SearchWindow = 256 * 1024;

    /// <summary>Smallest fragment size: copies start on such a boundary.</summary>
    private const int Step = 512;

    /// <summary>
    /// The superblock the checker should work with. Without a usable copy, or when the copy
    /// agrees, that is <paramref name="primary"/> and <paramref name="mismatch"/> is null.
    /// When the copy in the last group disagrees and a second copy does not side with the
    /// primary, it is the primary with the compared fields taken from the copy (counters,
    /// flags and times stay the primary's, which alone are kept current), and
    /// <paramref name="mismatch"/> says which fields differ.
    /// </summary>
    public static FfsSuperblock Resolve(IBlockDevice dev, FfsSuperblock primary, out string? mismatch)
    {
        mismatch = null;
        FfsSuperblock? alt = FindLastCopy(dev, primary);
        if (alt is null)
        {
            return primary;
        }
        List<string> diff = Differences(primary, alt);
        if (diff.Count == 0 || SecondCopyAgreesWith(dev, alt, primary))
        {
            // A stale or damaged copy: fsck_ffs reports it too, but the primary is sound and
            // nothing here could make the two agree, so the report would never clear.
            return primary;
        }
        byte[] merged = (byte[])primary.Raw.Clone();
        foreach ((_, int off) in Compared)
        {
            alt.Raw.AsSpan(off, 4).CopyTo(merged.AsSpan(off, 4));
        }
        var fixedSb = new FfsSuperblock(merged, primary.Order, primary.Location);
        if (FfsSuperblockCheck.Validate(fixedSb, dev.Length) is not null)
        {
            return primary;
        }
        mismatch = $"{Disagree} ({string.Join(", ", diff)}); checked with the alternate's values (alternate at byte {alt.Location})";
        return fixedSb;
    }

    /// <summary>Each compared field that differs, as "name primary (alternate value)".</summary>
    public static List<string> Differences(FfsSuperblock primary, FfsSuperblock alt)
    {
        var diff = new List<string>();
        foreach ((string name, int off) in Compared)
        {
            int p = primary.Order.I32(primary.Raw, off), a = alt.Order.I32(alt.Raw, off);
            if (p != a)
            {
                diff.Add(name is "fs_bmask" or "fs_fmask" or "fs_magic"
                    ? $"{name} 0x{p:x8}, alternate 0x{a:x8}"
                    : $"{name} {p}, alternate {a}");
            }
        }
        return diff;
    }

    /// <summary>
    /// The copy of the last group: first where the primary's fields put it, then, since
    /// those fields may be the damaged ones, at each 512-byte step of the group's first
    /// 256 KiB. Only a copy that is where its own geometry puts a group's copy counts.
    /// </summary>
    private static FfsSuperblock? FindLastCopy(IBlockDevice dev, FfsSuperblock primary)
    {
        if (primary.Ncg < 2 || primary.Fpg <= 0 || primary.Fsize < Step || primary.Fsize > 65536
            || (primary.Fsize & (primary.Fsize - 1)) != 0)
        {
            return null;
        }
        // Fields not yet validated: bound the group's start before scaling it to bytes.
        long startFrag = primary.CgStart(primary.Ncg - 1);
        if (startFrag <= 0 || startFrag >= dev.Length / primary.Fsize)
        {
            return null;
        }
        long groupStart = startFrag * primary.Fsize;
        if (groupStart <= primary.Location)
        {
            return null;
        }
        if (primary.Sblkno > 0 && primary.Sblkno < primary.Fpg && ReadCopy(dev, primary, groupStart + ((long)primary.Sblkno * primary.Fsize)) is { } there)
        {
            return there;
        }
        int window = (int)Math.Min(SearchWindow + FfsSuperblockCheck.ReadSize, dev.Length - groupStart);
        byte[] buf = new byte[window];
        if (dev.Read(groupStart, buf) != Errno.OK)
        {
            return null;
        }
        for (int at = 0; at + FfsSuperblockCheck.ReadSize <= window; at += Step)
        {
            if (primary.Order.I32(buf, at + SuperblockFields.Magic) is FfsSuperblock.Ufs1Magic or FfsSuperblock.Ufs2Magic or FfsSuperblock.Ufs2EaMagic
                && Copy(dev, primary, buf.AsSpan(at, FfsSuperblockCheck.ReadSize).ToArray(), groupStart + at, firstGroup: 1) is { } found)
            {
                return found;
            }
        }
        return null;
    }

    /// <summary>
    /// A second opinion when the last group's copy disagrees: the copy of the group before
    /// it (group 0's with two groups), placed by the first copy's geometry. True when it matches the primary in every
    /// compared field, so that the last copy is the odd one out.
    /// </summary>
    private static bool SecondCopyAgreesWith(IBlockDevice dev, FfsSuperblock alt, FfsSuperblock primary)
    {
        if (alt.Ncg < 2)
        {
            return false;
        }
        int cg = alt.Ncg - 2;
        long at = (alt.CgStart(cg) + alt.Sblkno) * alt.Fsize;
        if (at == primary.Location || at == alt.Location)
        {
            return false;
        }
        FfsSuperblock? second = ReadCopy(dev, primary, at, firstGroup: 0);
        return second is not null && Differences(primary, second).Count == 0;
    }

    private static FfsSuperblock? ReadCopy(IBlockDevice dev, FfsSuperblock primary, long at, int firstGroup = 1)
    {
        byte[] buf = new byte[FfsSuperblockCheck.ReadSize];
        if (at <= 0 || at + buf.Length > dev.Length || dev.Read(at, buf) != Errno.OK)
        {
            return null;
        }
        return Copy(dev, primary, buf, at, firstGroup);
    }

    /// <summary>
    /// The bytes at <paramref name="at"/> as a backup copy: a known magic in the primary's
    /// byte order, a geometry that passes the same validation as a primary, and a group
    /// (from <paramref name="firstGroup"/> on: the last group's copy is never group 0's, which
    /// a one-group file system may share with the primary) whose copy that geometry places exactly here.
    /// </summary>
    private static FfsSuperblock? Copy(IBlockDevice dev, FfsSuperblock primary, byte[] buf, long at, int firstGroup)
    {
        int magic = primary.Order.I32(buf, SuperblockFields.Magic);
        if (magic is not (FfsSuperblock.Ufs1Magic or FfsSuperblock.Ufs2Magic or FfsSuperblock.Ufs2EaMagic))
        {
            return null;
        }
        var sb = new FfsSuperblock(buf, primary.Order, at);
        if (FfsSuperblockCheck.Validate(sb, dev.Length) is not null || at % sb.Fsize != 0)
        {
            return null;
        }
        long frag = at / sb.Fsize;
        for (int cg = Math.Max(firstGroup, sb.DtoG(frag) - 1); cg <= Math.Min(sb.Ncg - 1, sb.DtoG(frag)); cg++)
        {
            if (sb.CgStart(cg) + sb.Sblkno == frag)
            {
                return sb;
            }
        }
        return null;
    }
}
