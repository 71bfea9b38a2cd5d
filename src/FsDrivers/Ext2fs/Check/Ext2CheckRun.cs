using System.Collections;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// One run of the ext2 checker: the state the passes share (which blocks and inodes are in
/// use, directory blocks, references found) and the order of the passes.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    public const uint RootIno = 2;
    public const uint ResizeIno = 7;
    public const uint JournalIno = 8;

    /// <summary>Findings reported per pass before the rest are only counted.</summary>
    private const int MaxFindingsPerPass = 200;

    private readonly Ext2CheckVolume _v;
    private readonly CheckReport _report;
    private readonly bool _repair;
    private readonly Dictionary<string, int> _perPass = [];

    /// <summary>Blocks found in use: metadata, then every in-use inode's blocks.</summary>
    private readonly BitArray _used;

    /// <summary>Blocks that are fs metadata (superblocks, descriptors, bitmaps, inode tables).</summary>
    private readonly BitArray _meta;

    /// <summary>Per inode: in use after pass 1 (reserved inodes always).</summary>
    private readonly BitArray _inUse;

    /// <summary>Per inode: EXT2_FT_* of its mode (0 when unused).</summary>
    private readonly byte[] _type;

    /// <summary>Per inode: i_links_count as read (or repaired).</summary>
    private readonly ushort[] _links;

    /// <summary>Per inode: directory entries naming it (".", ".." included).</summary>
    private readonly int[] _refs;

    /// <summary>Per directory: the directory whose entry (not "." or "..") names it first.</summary>
    private readonly uint[] _parent;

    /// <summary>Per directory: what its ".." entry says.</summary>
    private readonly uint[] _dotdot;

    /// <summary>Directories and their blocks (logical, physical) in logical order; inline directories have none.</summary>
    private readonly SortedDictionary<uint, List<(uint Logical, ulong Physical)>> _dirs = [];

    /// <summary>Extended attribute blocks: the references found and the first inode naming each.</summary>
    private readonly Dictionary<ulong, int> _xattrRefs = [];

    /// <summary>Blocks claimed twice, with how many claimants (metadata counts as one).</summary>
    private readonly Dictionary<ulong, int> _dupClaims = [];
    private readonly SortedSet<uint> _dupInodes = [];

    private ulong _allocCursor;

    public Ext2CheckRun(Ext2CheckVolume v, CheckReport report, bool repair, bool optimizeAll = false)
    {
        _v = v;
        _report = report;
        _repair = repair;
        _optimizeAll = repair && optimizeAll;
        _used = new BitArray(checked((int)v.BlocksCount));
        _meta = new BitArray(checked((int)v.BlocksCount));
        int n = checked((int)v.InodesCount + 1);
        _inUse = new BitArray(n);
        _type = new byte[n];
        _links = new ushort[n];
        _refs = new int[n];
        _parent = new uint[n];
        _dotdot = new uint[n];
    }

    private Ext2Superblock Sb => _v.Sb;

    public void Run()
    {
        CheckSuperblock();
        CheckFeatureFields();
        CheckQuotaFields();
        CheckOrphanFileFields();
        CheckJournalInodeNumber();
        CheckDescriptors();
        ReportMisplacedBitmaps();
        MarkMetadata();
        ReleaseOrphans();
        ScanInodes();
        CheckStaleUnusedMarks();
        CheckLargeFileFeature();
        if (_dupInodes.Count > 0)
        {
            ResolveDuplicates();
        }
        CheckDirectories();
        CheckConnectivity();
        RebuildDirectories();
        CheckReferenceCounts();
        RecreateJournal();
        CheckJournalBackupCopy();
        RecreateResizeInode();
        CheckOrphanFileBlocks();
        RelocateBitmaps();
        CheckQuotaUsage();
        CheckBitmapsAndCounts();
        foreach ((string pass, int count) in _perPass)
        {
            if (count > MaxFindingsPerPass)
            {
                _report.Note(pass, "-", $"{count - MaxFindingsPerPass} more findings of this pass not listed");
            }
        }
        if (_repair && (_v.HasChanges || _sbChanged))
        {
            if ((Sb.State & Ext2Superblock.StateValid) == 0 || (Sb.State & Ext2Superblock.StateError) != 0)
            {
                Sb.State = (ushort)((Sb.State | Ext2Superblock.StateValid) & ~Ext2Superblock.StateError);
            }
            Errno e = _v.WriteBack();
            if (e != Errno.OK)
            {
                _report.OperationalError = $"writing the repairs failed: {e}";
            }
        }
    }

    private bool _sbChanged;

    /// <summary>Set in pass 1 when a regular file of 2 GiB or more is in use.</summary>
    private bool _largeFile;

    /// <summary>Record an error; <paramref name="fixable"/> says whether this run repairs it.</summary>
    private void Error(string pass, string location, string message, bool fixable = true)
    {
        bool repaired = fixable && _repair;
        int n = _perPass.GetValueOrDefault(pass) + 1;
        _perPass[pass] = n;
        if (n <= MaxFindingsPerPass)
        {
            _report.Add(pass, location, message, repaired);
        }
        else
        {
            // Still counted: an unrepaired one beyond the limit must make the exit status 4.
            _report.AddUnlisted(repaired);
        }
    }

    private void Note(string pass, string location, string message) => _report.Note(pass, location, message);

    private static string Ino(uint ino) => $"inode {ino}";

    /// <summary>A free block for a repair (a copy of a shared block), marked in use; 0 when the file system is full.</summary>
    private ulong AllocBlocks(int count)
    {
        ulong total = _v.BlocksCount;
        for (ulong tries = 0; tries < total; tries++)
        {
            ulong b = _allocCursor < Sb.FirstDataBlock ? Sb.FirstDataBlock : _allocCursor;
            if (b + (ulong)count > total)
            {
                _allocCursor = Sb.FirstDataBlock;
                continue;
            }
            int run = 0;
            while (run < count && !_used[(int)(b + (ulong)run)])
            {
                run++;
            }
            if (run == count)
            {
                for (int i = 0; i < count; i++)
                {
                    _used[(int)(b + (ulong)i)] = true;
                    _allocated.Add(b + (ulong)i);
                }
                _allocCursor = b + (ulong)count;
                return b;
            }
            _allocCursor = b + (ulong)run + 1;
            tries += (ulong)run;
        }
        return 0;
    }
}
