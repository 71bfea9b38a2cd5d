using System.Collections;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>What part of the file system a finding concerns.</summary>
public enum FfsFindingKind
{
    Superblock,
    CylinderGroup,
    Inode,
    BlockMap,
    Directory,
    LinkCount,
    Bitmap,
    Summary,
}

/// <summary>One inconsistency: its kind, where (an inode number, fragment or group) and what.</summary>
public sealed record FfsFinding(FfsFindingKind Kind, long Location, string Message)
{
    public override string ToString() => $"{Kind} {Location}: {Message}";
}

/// <summary>The result of <see cref="FfsCheck.Run"/>.</summary>
public sealed class FfsCheckReport
{
    public List<FfsFinding> Findings { get; } = [];
    public bool IsClean => Findings.Count == 0;

    /// <summary>Why the superblock cannot be used at all (nothing else was checked), or null.</summary>
    public string? Unusable { get; internal set; }
    public long InodesInUse { get; internal set; }
    public long Directories { get; internal set; }
    public long FragmentsInUse { get; internal set; }

    public override string ToString() => IsClean
        ? $"clean: {InodesInUse} inodes, {Directories} directories, {FragmentsInUse} fragments in use"
        : string.Join('\n', Findings);
}

/// <summary>
/// A read-only FFS consistency check in the spirit of fsck_ffs's passes: every inode's
/// block map (ranges, duplicates, di_blocks), the directory tree from the root (entries,
/// "." and "..", reachability, link counts), the fragment and inode bitmaps against what
/// is reachable, and the group, summary-area and superblock counters, frsum and the
/// cluster maps against the bitmaps. Reads the device directly, so run it on an unmounted
/// (or synced, quiet) file system. Findings are data, for tests and `ukfs fsck`.
/// </summary>
public static partial class FfsCheck
{
    private const int MaxFindingsPerKind = 50;

    public static FfsCheckReport Run(IBlockDevice device)
    {
        var report = new FfsCheckReport();
        FfsSuperblock? primary = FfsSuperblockCheck.Find(device, out string? why);
        if (primary is null)
        {
            report.Unusable = why ?? "no superblock";
            report.Findings.Add(new FfsFinding(FfsFindingKind.Superblock, 0, report.Unusable));
            return report;
        }
        // fsck_ffs's readsb: the last group's copy is compared with the primary; where they
        // disagree the check goes on with the copy's geometry (and -y writes it back).
        FfsSuperblock sb = FfsSuperblockAlternate.Resolve(device, primary, out string? mismatch);
        if (mismatch is not null)
        {
            report.Findings.Add(new FfsFinding(FfsFindingKind.Superblock, sb.Location, mismatch));
        }
        string? bad = FfsSuperblockCheck.Validate(sb, device.Length);
        if (bad is not null)
        {
            report.Unusable = bad;
            report.Findings.Add(new FfsFinding(FfsFindingKind.Superblock, sb.Location, bad));
            return report;
        }
        new Checker(device, sb, report).Run();
        return report;
    }

    private sealed partial class Checker(IBlockDevice dev, FfsSuperblock sb, FfsCheckReport report)
    {
        private readonly BitArray _used = new((int)sb.Size);
        private readonly byte[][] _cgs = new byte[sb.Ncg][];
        private readonly FfsDinode?[] _inodes = new FfsDinode?[sb.TotalInodes];
        private readonly int[] _refs = new int[sb.TotalInodes];
        private readonly Dictionary<ulong, List<(long Lbn, long Phys, int Frags)>> _dirBlocks = [];
        private readonly Dictionary<FfsFindingKind, int> _counts = [];

        private FfsByteOrder O => sb.Order;

        private void Add(FfsFindingKind kind, long where, string what)
        {
            _counts.TryGetValue(kind, out int n);
            _counts[kind] = n + 1;
            if (n < MaxFindingsPerKind)
            {
                report.Findings.Add(new FfsFinding(kind, where, what));
            }
        }

        public void Run()
        {
            CheckSuperblockFields();
            if (!ReadGroups())
            {
                return;
            }
            MarkMetadata();
            ScanInodes();
            WalkTree();
            CheckLinkCounts();
            CheckBitmapsAndCounts();
        }

        /// <summary>
        /// The fields fsck_ffs's setup sets right before its passes: fs_maxfilesize must be
        /// what the block size gives (its pwarn "INCORRECT MAXFILESIZE=... IN SUPERBLOCK").
        /// </summary>
        private void CheckSuperblockFields()
        {
            if (sb.HasMaxFileSize && sb.DiskMaxFileSize != sb.SetupMaxFileSize)
            {
                Add(FfsFindingKind.Superblock, sb.Location,
                    $"incorrect fs_maxfilesize {sb.DiskMaxFileSize} (INCORRECT MAXFILESIZE), should be {sb.SetupMaxFileSize}");
            }
        }

        private bool ReadGroups()
        {
            for (int cg = 0; cg < sb.Ncg; cg++)
            {
                byte[] b = new byte[sb.CgSize];
                if (dev.Read(sb.FragToBytes(sb.CgTod(cg)), b) != Errno.OK)
                {
                    Add(FfsFindingKind.CylinderGroup, cg, "unreadable");
                    return false;
                }
                var g = new CylinderGroup(b, O);
                if (g.MagicValue != CylinderGroup.Magic || g.Cgx != cg
                    || !g.OffsetsValid(sb.CgSize, sb.Ipg, sb.Fpg, sb.Frag, sb.ContigSumSize > 0))
                {
                    // The check goes on as fsck_ffs's does, with a header rebuilt from the
                    // superblock and empty maps: every inode block is read (the contents
                    // decide what is in use) and the maps are then reported as they are.
                    Add(FfsFindingKind.CylinderGroup, cg, "bad magic, index or map offsets; the header is rebuilt from the superblock");
                    b = FfsCylinderGroupHeader.Build(sb, cg, initedIblk: sb.Ipg, time: sb.Time);
                }
                else
                {
                    // The rest of the header, as fsck_ffs's pass 5 compares it; the check
                    // goes on with the header the repair would write.
                    var wrong = new List<string>();
                    b = FfsCylinderGroupHeaderCheck.Review(sb, cg, b, wrong);
                    foreach (string w in wrong)
                    {
                        Add(FfsFindingKind.CylinderGroup, cg, w);
                    }
                }
                _cgs[cg] = b;
            }
            return true;
        }

        private void MarkMetadata()
        {
            for (int cg = 0; cg < sb.Ncg; cg++)
            {
                long from = cg == 0 ? 0 : sb.CgStart(cg) + sb.Sblkno;
                for (long f = from; f < Math.Min(sb.CgDMin(cg), sb.Size); f++)
                {
                    _used[(int)f] = true;
                }
            }
            for (long f = sb.CsAddr; f < sb.CsAddr + sb.NumFrags(sb.CsSize); f++)
            {
                _used[(int)f] = true;
            }
        }

        private void Claim(ulong ino, long frag, int n)
        {
            for (int i = 0; i < n; i++)
            {
                int f = (int)(frag + i);
                if (_used[f])
                {
                    Add(FfsFindingKind.BlockMap, (long)ino, $"fragment {f} claimed twice");
                }
                _used[f] = true;
                _ownData?.Add(f);
            }
        }
    }
}
