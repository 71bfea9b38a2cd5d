using System.Collections;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>What a repair run did, and what it could not do.</summary>
internal sealed class FfsRepairResult
{
    /// <summary>Each change written to the device, one line each (fsck_ffs's "FIXED"/"SALVAGED" lines).</summary>
    public List<string> Actions { get; } = [];

    /// <summary>Damage seen but left alone (the follow-up check reports it as uncorrected).</summary>
    public List<string> Left { get; } = [];

    /// <summary>Set when the device refused a read or write: the repair stopped there.</summary>
    public Errno IoError { get; set; }
}

/// <summary>
/// fsck_ffs -y for the common damage, in its five passes. Pass 1 reads every inode whose
/// mode is set (the inode, not the bitmap, says what is allocated), claims its fragments,
/// clears inodes with a pointer outside the data area or a fragment an earlier inode
/// already holds, frees blocks past the end of file and fixes di_blocks. Pass 2 walks the
/// tree from the root: entries naming free, cleared or out-of-range inodes are removed,
/// broken records salvaged, "." and ".." set to what the walk found. Pass 3 links
/// directories the walk did not reach into /lost+found (made when missing), pass 4 sets
/// every link count to the references found and files nobody names go to lost+found
/// (empty ones are cleared), and pass 5 rewrites the bitmaps and every counter from the
/// inodes that survived. Works on the device directly through <see cref="FfsRepairWriter"/>;
/// the file system must not be mounted.
/// </summary>
internal sealed partial class FfsRepair
{
    private const string LostFoundName = "lost+found";
    private const ushort LostFoundMode = 0x4000 | 0x1C0; // S_IFDIR | 0700, as fsck_ffs makes it

    private readonly IBlockDevice _dev;
    private readonly FfsSuperblock _sb;
    private readonly FfsRepairWriter _w;
    private readonly FfsRepairResult _result;
    private readonly byte[][] _cgs;

    /// <summary>Groups whose header was rebuilt: on UFS2, pass 5 sets how many inodes are initialised from what pass 1 found.</summary>
    private readonly HashSet<int> _rebuiltGroups = [];

    /// <summary>Groups whose header fields (or UFS2 cg_initediblk) were set right on reading: pass 5 writes them even when its maps and counters agree.</summary>
    private readonly HashSet<int> _rewrittenHeaders = [];
    private readonly BitArray _used;
    private readonly FfsDinode?[] _inodes;
    private readonly int[] _refs;

    /// <summary>Parent found by the tree walk, per directory; 0 while unreached.</summary>
    private readonly ulong[] _parent;
    private readonly Dictionary<ulong, List<DirBlock>> _dirBlocks = [];
    private readonly long _now;
    private ulong _lostFound;

    /// <summary>The root holds a "lost+found" that is not a directory: fsck_ffs asks before replacing it; this repair does not.</summary>
    private bool _lostFoundNameTaken;

    /// <summary>The primary's disagreement with its backup copy, whose values <see cref="_sb"/> holds; null when none.</summary>
    private string? _alternateMismatch;

    /// <summary>Why pass 1 cleared the root inode (fsck_ffs's pass-2 wording), or null when it did not.</summary>
    private string? _rootCleared;

    /// <summary>Fragments this inode's pass-1 scan set in <see cref="_used"/>, to undo when it is cleared.</summary>
    private List<int>? _claimLog;

    private FfsRepair(IBlockDevice dev, FfsSuperblock sb, FfsRepairResult result, long now)
    {
        _dev = dev;
        _sb = sb;
        _result = result;
        _w = new FfsRepairWriter(dev, sb);
        _cgs = new byte[sb.Ncg][];
        _used = new BitArray((int)sb.Size);
        _inodes = new FfsDinode?[sb.TotalInodes];
        _refs = new int[sb.TotalInodes];
        _parent = new ulong[sb.TotalInodes];
        _now = now;
    }

    /// <summary>One block of a directory: logical block, first fragment, fragment count.</summary>
    private sealed record DirBlock(long Lbn, long Phys, int Frags);

    private FfsByteOrder O => _sb.Order;

    /// <summary>
    /// Repair the file system on <paramref name="dev"/>. The superblock must already have
    /// passed <see cref="FfsSuperblockCheck"/>; the clean flag is left to <see cref="MarkClean"/>,
    /// which the caller runs once a second check finds nothing.
    /// </summary>
    public static FfsRepairResult Run(IBlockDevice dev, long nowSeconds)
    {
        var result = new FfsRepairResult();
        FfsSuperblock? primary = FfsSuperblockCheck.Find(dev, out string? why);
        if (primary is null)
        {
            result.Left.Add("no usable superblock: " + (why ?? "invalid"));
            return result;
        }
        // The same choice as the check's: the repair works with the geometry it checked.
        FfsSuperblock sb = FfsSuperblockAlternate.Resolve(dev, primary, out string? mismatch);
        if (FfsSuperblockCheck.Validate(sb, dev.Length) is { } bad)
        {
            result.Left.Add("no usable superblock: " + bad);
            return result;
        }
        new FfsRepair(dev, sb, result, nowSeconds) { _alternateMismatch = mismatch }.Run();
        return result;
    }

    /// <summary>Set fs_clean and clear the unclean and needs-fsck flags in the superblock.</summary>
    public static Errno MarkClean(IBlockDevice dev)
    {
        FfsSuperblock? sb = FfsSuperblockCheck.Find(dev, out _);
        if (sb is null)
        {
            return Errno.EIO;
        }
        sb.Clean = FfsSuperblock.IsClean;
        var w = new FfsRepairWriter(dev, sb);
        w.WriteSuperblock(sb, clearFlags: true);
        return w.Error != Errno.OK ? w.Error : dev.Flush();
    }

    private void Run()
    {
        FixSuperblockFields();
        if (!ReadGroups())
        {
            return;
        }
        MarkMetadata();
        Pass1();
        if (!Pass2())
        {
            return;
        }
        Pass3();
        Pass4();
        Pass5();
        if (_w.Error == Errno.OK)
        {
            _w.Flush();
        }
        _result.IoError = _w.Error;
    }

    /// <summary>fsck_ffs's setup: a wrong fs_maxfilesize is set to what the block size gives (FIX).</summary>
    private void FixSuperblockFields()
    {
        if (_alternateMismatch is not null)
        {
            // _sb already holds the alternate's values in the compared fields (fsck_ffs's
            // "USING ALTERNATE SUPERBLOCK", written back to the standard location at the end).
            Did($"superblock: {_alternateMismatch}; those values written to the primary");
            _w.WriteSuperblock(_sb, clearFlags: false);
        }
        if (_sb.HasMaxFileSize && _sb.DiskMaxFileSize != _sb.SetupMaxFileSize)
        {
            Did($"superblock: fs_maxfilesize {_sb.DiskMaxFileSize} set to {_sb.SetupMaxFileSize}");
            _sb.DiskMaxFileSize = _sb.SetupMaxFileSize;
            _w.WriteSuperblock(_sb, clearFlags: false);
        }
    }

    private void Did(string what) => _result.Actions.Add(what);

    private void Left(string what) => _result.Left.Add(what);

    private bool ReadGroups()
    {
        for (int cg = 0; cg < _sb.Ncg; cg++)
        {
            byte[] b = new byte[_sb.CgSize];
            if (_dev.Read(_sb.FragToBytes(_sb.CgTod(cg)), b) != Errno.OK)
            {
                _result.IoError = Errno.EIO;
                Left($"cylinder group {cg} unreadable; nothing repaired");
                return false;
            }
            var g = new CylinderGroup(b, O);
            if (g.MagicValue != CylinderGroup.Magic || g.Cgx != cg
                || !g.OffsetsValid(_sb.CgSize, _sb.Ipg, _sb.Fpg, _sb.Frag, _sb.ContigSumSize > 0))
            {
                // Rebuilt from the superblock's geometry, as fsck_ffs's pass 5 builds a group:
                // pass 1 reads every inode block, pass 5 fills the maps and counters.
                Did($"cylinder group {cg}: header rebuilt from the superblock");
                b = FfsCylinderGroupHeader.Build(_sb, cg, initedIblk: _sb.Ipg, time: _sb.Time);
                _rebuiltGroups.Add(cg);
            }
            else
            {
                var wrong = new List<string>();
                b = FfsCylinderGroupHeaderCheck.Review(_sb, cg, b, wrong);
                foreach (string w in wrong)
                {
                    Did($"cylinder group {cg}: {w}; header rewritten");
                    _rewrittenHeaders.Add(cg);
                }
            }
            _cgs[cg] = b;
        }
        return true;
    }

    /// <summary>Boot area, superblock copies, group headers, inode tables and the summary area are always in use.</summary>
    private void MarkMetadata()
    {
        for (int cg = 0; cg < _sb.Ncg; cg++)
        {
            long from = cg == 0 ? 0 : _sb.CgStart(cg) + _sb.Sblkno;
            for (long f = from; f < Math.Min(_sb.CgDMin(cg), _sb.Size); f++)
            {
                _used[(int)f] = true;
            }
        }
        for (long f = _sb.CsAddr; f < _sb.CsAddr + _sb.NumFrags(_sb.CsSize); f++)
        {
            _used[(int)f] = true;
        }
    }

    /// <summary>Claim <paramref name="n"/> fragments for the inode being scanned; false when one is already held.</summary>
    private bool Claim(long frag, int n)
    {
        bool free = true;
        for (int i = 0; i < n; i++)
        {
            int f = (int)(frag + i);
            if (_used[f])
            {
                free = false;
                continue;
            }
            _used[f] = true;
            _claimLog?.Add(f);
        }
        return free;
    }

    /// <summary>First of <paramref name="n"/> free fragments inside one block, searching from group <paramref name="cg"/>; -1 when full.</summary>
    private long AllocFrags(int n, int cg)
    {
        for (int k = 0; k < _sb.Ncg; k++)
        {
            int g = (cg + k) % _sb.Ncg;
            long start = _sb.CgBase(g), end = start + _sb.CgFrags(g);
            for (long b = start; b + _sb.Frag <= end; b += _sb.Frag)
            {
                for (int o = 0; o + n <= _sb.Frag; o++)
                {
                    if (RunFree(b + o, n))
                    {
                        for (int i = 0; i < n; i++)
                        {
                            _used[(int)(b + o + i)] = true;
                        }
                        return b + o;
                    }
                }
            }
        }
        return -1;
    }

    private bool RunFree(long f, int n)
    {
        for (int i = 0; i < n; i++)
        {
            if (_used[(int)(f + i)])
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A free inode number in an initialised inode block, searching from group <paramref name="cg"/>; 0 when none.</summary>
    private ulong AllocInode(int cg)
    {
        for (int k = 0; k < _sb.Ncg; k++)
        {
            int g = (cg + k) % _sb.Ncg;
            int limit = new CylinderGroup(_cgs[g], O).InitialisedInodes(_sb.Ipg, _sb.Inopb, _sb.IsUfs2);
            for (int i = 0; i < limit; i++)
            {
                ulong ino = ((ulong)g * (ulong)_sb.Ipg) + (ulong)i;
                if (ino > FfsSuperblock.RootIno && _inodes[ino] is null)
                {
                    return ino;
                }
            }
        }
        return 0;
    }

    internal static byte DirentTypeOf(uint modeType) => modeType switch
    {
        0x1000 => 1,
        0x2000 => 2,
        0x4000 => 4,
        0x6000 => 6,
        0x8000 => 8,
        0xA000 => 10,
        0xC000 => 12,
        _ => 0,
    };
}
