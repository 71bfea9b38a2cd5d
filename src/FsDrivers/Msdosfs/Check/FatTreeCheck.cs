using System.Buffers.Binary;
using System.Text;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// Phase 2 of the FAT check: walks the directory tree from the root, follows every entry's
/// cluster chain (claiming each cluster for one file so that cross-links and loops show),
/// compares sizes with chain lengths and checks names, `.`/`..` and long-name runs.
/// Repairs are applied to the in-core FAT and directory buffers in both modes, so later
/// phases see the repaired state; only repair mode writes them.
/// </summary>
internal sealed class FatTreeCheck
{
    private const string Phase = "directories";

    private readonly FatVolume _v;
    private readonly CheckReport _report;
    private readonly bool _repair;
    private readonly FatDotEntries _dots;
    private int _nextOwner = 1;
    private int _renames;

    /// <summary>The directories met so far, by owner number: path and the owner of the directory holding it.</summary>
    private readonly Dictionary<int, (string Path, int ParentOwner)> _directories = [];

    public FatTreeCheck(FatVolume volume, CheckReport report, bool repair)
    {
        _v = volume;
        _report = report;
        _repair = repair;
        Owners = new int[volume.Entries.Length];
        _dots = new FatDotEntries(volume, Owners,
            (location, message, repairable) => _report.Add(Phase, location, message, repaired: _repair && repairable));
    }

    /// <summary>Which file (a number per file, 0 = none) each cluster belongs to.</summary>
    public int[] Owners { get; }

    /// <summary>The root directory as the check left it (repairs applied in both modes); null until <see cref="Run"/> read it.</summary>
    public FatDirectoryBuffer? Root { get; private set; }

    /// <summary>The FAT32 root directory's clusters (empty on FAT12/16).</summary>
    public List<uint> RootClusters { get; private set; } = [];

    /// <summary>Set when writing a repaired directory failed.</summary>
    public Errno WriteError { get; private set; }

    /// <summary>A subdirectory still to scan; <paramref name="Entry"/> is a copy of its own entry in its parent.</summary>
    private sealed record PendingDir(string Path, List<uint> Clusters, uint Start, uint ParentStart, int Owner, byte[] Entry);

    /// <summary>Subdirectories' first clusters, which no other chain may run on into (FatDirectoryStarts).</summary>
    private HashSet<uint> _directoryStarts = [];

    public void Run()
    {
        _directoryStarts = FatDirectoryStarts.Find(_v);
        var queue = new Queue<PendingDir>();
        int rootOwner = _nextOwner++; // the FAT12/16 root owns no clusters, but it still contains directories
        _directories[rootOwner] = ("/", 0);
        FatDirectoryBuffer root;
        Errno rc;
        if (_v.Kind == FatKind.Fat32)
        {
            RootClusters = ClaimRootChain(rootOwner);
            rc = FatDirectoryBuffer.ReadChain(_v, RootClusters, out root);
        }
        else
        {
            rc = FatDirectoryBuffer.ReadRoot16(_v, out root);
        }
        if (rc != 0)
        {
            _report.OperationalError = $"cannot read the root directory: {rc}";
            return;
        }
        Root = root;
        ScanDirectory(root, "/", 0, 0, rootOwner, isRoot: true, queue);
        while (queue.Count > 0 && _report.OperationalError is null)
        {
            PendingDir d = queue.Dequeue();
            rc = FatDirectoryBuffer.ReadChain(_v, d.Clusters, out FatDirectoryBuffer dir);
            if (rc != 0)
            {
                _report.OperationalError = $"cannot read directory {d.Path}: {rc}";
                return;
            }
            _dots.Ensure(dir, d.Path, d.Entry, d.Start, d.ParentStart, d.Owner, d.Clusters);
            ScanDirectory(dir, d.Path, d.Start, d.ParentStart, d.Owner, isRoot: false, queue);
        }
    }

    private List<uint> ClaimRootChain(int owner)
    {
        var chain = new List<uint>();
        uint c = _v.Boot.RootCluster;
        uint prev = 0;
        while (true)
        {
            if (!_v.IsValidCluster(c) || _v.Value(c) == FatTable.Free || _v.IsBad(_v.Value(c)) || Owners[c] != 0)
            {
                if (prev == 0)
                {
                    _report.OperationalError = $"the FAT32 root directory starts at an unusable cluster {c}";
                    return chain;
                }
                Fix("cluster " + prev, $"root directory chain continues to an unusable cluster {c}; ending it at {prev}");
                _v.Set(prev, FatTable.EndMark(_v.Kind));
                return chain;
            }
            Owners[c] = owner;
            chain.Add(c);
            prev = c;
            uint next = _v.Value(c);
            if (_v.IsEnd(next))
            {
                return chain;
            }
            c = next;
        }
    }

    private void ScanDirectory(FatDirectoryBuffer dir, string path, uint selfStart, uint parentStart, int selfOwner,
        bool isRoot, Queue<PendingDir> queue)
    {
        var run = new FatLongNameRun();
        var names = new HashSet<string>(StringComparer.Ordinal);
        int lastNotZero = LastNotZero(dir);
        for (int i = 0; i < dir.EntryCount; i++)
        {
            Span<byte> e = dir.Entry(i);
            if (e[0] == FatDirRecord.EndMarker)
            {
                if (i > lastNotZero)
                {
                    DropLongNames(dir, path, run.Abandon(), "long-name entries not followed by a short entry");
                    break;
                }
                // A zeroed entry amid live ones (a damaged sector): Linux and fsck.fat read on
                // past it, NetBSD and this driver stop there. Left as it is, the files after
                // it would be invisible here and their clusters freed as lost, so it becomes
                // an ordinary deleted entry and the scan goes on.
                Fix(path, $"entry {i} marks the end of the directory but entries follow it; marked deleted");
                e[0] = FatDirRecord.Deleted;
                dir.Dirty = true;
            }
            if (e[0] == FatDirRecord.Deleted)
            {
                DropLongNames(dir, path, run.Abandon(), "long-name entries interrupted by a deleted entry");
                continue;
            }
            if (FatDirRecord.IsLongName(e))
            {
                ushort lfnCluster = BinaryPrimitives.ReadUInt16LittleEndian(e[FatDirRecord.LfnCluster..]);
                if (lfnCluster != 0)
                {
                    // Always zero in a long-name slot (old drivers read it as a start cluster).
                    Fix(path, $"long-name entry {i} has start cluster {lfnCluster}; set to 0");
                    BinaryPrimitives.WriteUInt16LittleEndian(e[FatDirRecord.LfnCluster..], 0);
                    dir.Dirty = true;
                }
                if (e[FatDirRecord.LfnType] != 0)
                {
                    // The specification makes it 0 in a name slot; fsck.fat resets it too.
                    Fix(path, $"long-name entry {i} has type 0x{e[FatDirRecord.LfnType]:X2}; set to 0");
                    e[FatDirRecord.LfnType] = 0;
                    dir.Dirty = true;
                }
                DropLongNames(dir, path, run.Add(i, e), "orphaned long-name entry");
                continue;
            }
            int[] nameSlots = [.. run.Slots];
            List<int> bad = run.Finish(e, out bool mismatch);
            int[] longName = bad.Count == 0 ? nameSlots : [];
            string display = FatDirRecord.Display(e);
            DropLongNames(dir, path, bad, mismatch
                ? $"long name of {display} has a checksum that does not match the short name"
                : $"unfinished long name before {display}");
            string where = path == "/" ? "/" + display : path + "/" + display;
            if ((e[FatDirRecord.Attributes] & FatDirRecord.AttrVolume) != 0)
            {
                if (isRoot && FatDirRecord.Cluster(e, _v.Kind) == 0 && FatDirRecord.FileSizeOf(e) == 0
                    && (e[FatDirRecord.Attributes] & FatDirRecord.AttrDirectory) == 0)
                {
                    continue; // the volume label: no clusters, no name rules
                }
                // A label lives in the root, owns no data and is no directory. This is a file
                // or directory whose attribute byte took damage: skipped as a label, its
                // clusters would be freed as lost. fsck.fat reads it as a file or directory too
                // (a directory starting at cluster 0 is then deleted, as it deletes it).
                Fix(where, "entry has the volume-label attribute but is not a label; attribute cleared");
                e[FatDirRecord.Attributes] &= unchecked((byte)~FatDirRecord.AttrVolume);
                dir.Dirty = true;
            }
            bool isDot = FatDotEntries.IsDot(e);
            bool isDotDot = FatDotEntries.IsDotDot(e);
            if (isDot || isDotDot)
            {
                CheckDot(dir, e, i, where, isDot, isRoot, selfStart, parentStart);
                continue;
            }
            if (BadShortName(e, hasLongName: longName.Length > 0))
            {
                string renamed = Rename(dir, e, names, longName);
                Fix(where, $"bad short name; renamed to {renamed}");
                where = (path == "/" ? "/" : path + "/") + renamed;
            }
            else if (!names.Add(Encoding.Latin1.GetString(e[..FatDirRecord.NameLength])))
            {
                string renamed = Rename(dir, e, names, longName);
                Fix(where, $"duplicate directory entry; renamed to {renamed}");
                where = (path == "/" ? "/" : path + "/") + renamed;
            }
            bool isDir = (e[FatDirRecord.Attributes] & FatDirRecord.AttrDirectory) != 0;
            if (isDir && FatDirRecord.FileSizeOf(e) != 0 && !StartsWithDots(e))
            {
                // A directory never has a size and always starts with "." and "..": this is a
                // file whose attribute byte took damage. Made a directory (fsck.fat's way),
                // its data would be read as entries and its contents lost.
                Fix(where, "entry has the directory attribute, a size and no \".\" entry: a file; directory attribute cleared");
                e[FatDirRecord.Attributes] &= unchecked((byte)~FatDirRecord.AttrDirectory);
                dir.Dirty = true;
                isDir = false;
            }
            if (isDir && DirectoryStartProblem(e, selfOwner) is { } problem)
            {
                // A directory that cannot own its first cluster has no contents of its own
                // to keep: following it would walk another directory's entries (a cycle
                // when that one contains it), and truncated it would have no clusters at
                // all. fsck.fat deletes such entries; its clusters are lost, saved later as FSCKnnnn.REC files.
                Fix(where, problem + "; entry deleted");
                DeleteEntry(dir, e, nameSlots);
                continue;
            }
            List<uint> chain = CheckChain(dir, e, where, isDir, out int owner);
            if (isDir)
            {
                // DirectoryStartProblem let only an entry through whose first cluster is
                // allocated and unclaimed, so the chain has at least that one.
                _directories[owner] = (where, selfOwner);
                queue.Enqueue(new PendingDir(where, chain, chain[0], selfStart, owner, e.ToArray()));
            }
        }
        // A directory that fills its last cluster has no end marker: a run still open
        // here has no short entry (its chain was cut between the run and its entry).
        DropLongNames(dir, path, run.Abandon(), "long-name entries at the end of the directory with no short entry after them");
        if (dir.Dirty && _repair)
        {
            Errno rc = dir.WriteBack();
            if (rc != 0)
            {
                WriteError = rc;
            }
        }
    }

    /// <summary>
    /// Why a subdirectory entry cannot own its first cluster (0 standing for the root, outside
    /// the volume, free or bad in the FAT, or already claimed), or null when it can.
    /// </summary>
    private string? DirectoryStartProblem(ReadOnlySpan<byte> e, int containerOwner)
    {
        uint start = FatDirRecord.Cluster(e, _v.Kind);
        if (start == 0)
        {
            return "directory's start cluster is 0, which stands for the root directory";
        }
        if (!_v.IsValidCluster(start))
        {
            return $"directory's start cluster {start} is outside the volume (2..{_v.Boot.MaxCluster})";
        }
        uint value = _v.Value(start);
        if (value == FatTable.Free || _v.IsBad(value))
        {
            return $"directory's start cluster {start} is {(value == FatTable.Free ? "free" : "bad")} in the FAT";
        }
        int owner = Owners[start];
        if (owner == 0)
        {
            return null;
        }
        if (!_directories.TryGetValue(owner, out (string Path, int ParentOwner) other))
        {
            return $"directory's start cluster {start} belongs to another file";
        }
        return Contains(owner, containerOwner)
            ? $"directory's start cluster {start} belongs to {other.Path}, which contains it: a directory cycle"
            : $"directory's start cluster {start} belongs to directory {other.Path}";
    }

    /// <summary>Whether directory <paramref name="ancestor"/> is <paramref name="owner"/> or one of the directories above it.</summary>
    private bool Contains(int ancestor, int owner)
    {
        for (int o = owner; o != 0; o = _directories[o].ParentOwner)
        {
            if (o == ancestor)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Mark a short entry deleted, with the long-name entries that spell its name.</summary>
    private static void DeleteEntry(FatDirectoryBuffer dir, Span<byte> e, int[] nameSlots)
    {
        e[0] = FatDirRecord.Deleted;
        foreach (int s in nameSlots)
        {
            dir.Entry(s)[0] = FatDirRecord.Deleted;
        }
        dir.Dirty = true;
    }

    /// <summary>Whether the entry's first cluster opens with the "." and ".." entries of a directory.</summary>
    private bool StartsWithDots(ReadOnlySpan<byte> e)
    {
        uint start = FatDirRecord.Cluster(e, _v.Kind);
        if (!_v.IsValidCluster(start))
        {
            return false;
        }
        Span<byte> first = stackalloc byte[2 * FatDirRecord.Size];
        if (_v.Device.Read(_v.Boot.ClusterOffset(start), first) != Errno.OK)
        {
            return false;
        }
        return first[..FatDirRecord.NameLength].SequenceEqual(".          "u8)
            && first.Slice(FatDirRecord.Size, FatDirRecord.NameLength).SequenceEqual("..         "u8);
    }

    /// <summary>
    /// Index of the last entry in use (first byte neither zero nor the deleted mark), or -1.
    /// Deleted entries after an end marker are what any driver leaves when it reuses a
    /// directory's slots (ours writes a new end marker after a new last entry), and no
    /// reader sees them: they are no reason to move the end.
    /// </summary>
    private static int LastNotZero(FatDirectoryBuffer dir)
    {
        for (int j = dir.EntryCount - 1; j >= 0; j--)
        {
            if (dir.Entry(j)[0] is not (FatDirRecord.EndMarker or FatDirRecord.Deleted))
            {
                return j;
            }
        }
        return -1;
    }

    private void CheckDot(FatDirectoryBuffer dir, Span<byte> e, int index, string where, bool isDot, bool isRoot,
        uint selfStart, uint parentStart)
    {
        if (isRoot)
        {
            Fix(where, $"root directory contains \"{(isDot ? "." : "..")}\"; dropping it");
            e[0] = FatDirRecord.Deleted;
            dir.Dirty = true;
            return;
        }
        if (index != (isDot ? 0 : 1))
        {
            // The real ones are in the first two slots (FatDotEntries saw to it): a copy
            // further down only points at a directory that contains this one.
            Fix(where, $"\"{(isDot ? "." : "..")}\" entry in slot {index}, past the first two; deleted");
            e[0] = FatDirRecord.Deleted;
            dir.Dirty = true;
            return;
        }
        if ((e[FatDirRecord.Attributes] & FatDirRecord.AttrDirectory) == 0)
        {
            // A "." or ".." that is no directory entry (fsck.fat: "Invalid '.' entry in the
            // first slot. Fixing."): the name and slot say what it is, the attribute took damage.
            Fix(where, $"\"{(isDot ? "." : "..")}\" entry without the directory attribute; set");
            e[FatDirRecord.Attributes] |= FatDirRecord.AttrDirectory;
            dir.Dirty = true;
        }
        uint want = isDot ? selfStart : parentStart;
        uint have = FatDirRecord.Cluster(e, _v.Kind);
        if (have != want)
        {
            Fix(where, $"\"{(isDot ? "." : "..")}\" points to cluster {have} instead of {want}; fixed");
            FatDirRecord.SetCluster(e, want, _v.Kind);
            dir.Dirty = true;
        }
    }

    /// <summary>
    /// Follow and claim the chain of one entry; truncate it at the first free, bad,
    /// out-of-range or already claimed cluster, and make the size agree with it.
    /// </summary>
    private List<uint> CheckChain(FatDirectoryBuffer dir, Span<byte> e, string where, bool isDir, out int owner)
    {
        var chain = new List<uint>();
        owner = _nextOwner++;
        uint start = FatDirRecord.Cluster(e, _v.Kind);
        uint size = FatDirRecord.FileSizeOf(e);
        if (isDir && size != 0)
        {
            Fix(where, $"directory has non-zero size {size}; set to 0");
            FatDirRecord.SetFileSize(e, 0);
            dir.Dirty = true;
            size = 0;
        }
        if (start != 0 && !_v.IsValidCluster(start))
        {
            Fix(where, $"start cluster {start} is outside the volume (2..{_v.Boot.MaxCluster}); truncating to 0 bytes");
            SetStart(dir, e, 0);
            FatDirRecord.SetFileSize(e, 0);
            return chain;
        }
        long clusterBytes = _v.Boot.ClusterBytes;
        uint c = start;
        uint prev = 0;
        while (c != 0)
        {
            uint value = _v.Value(c);
            if (value == FatTable.Free || _v.IsBad(value))
            {
                Fix(where, $"chain contains a {(value == 0 ? "free" : "bad")} cluster {c}; assuming end of file");
                EndAt(dir, e, prev);
                break;
            }
            if (!isDir && size <= chain.Count * clusterBytes)
            {
                Fix(where, $"file size is {size} bytes, the cluster chain is longer than {chain.Count * clusterBytes} bytes; truncating the chain");
                EndAt(dir, e, prev);
                break;
            }
            if (chain.Count > 0 && Owners[c] == 0 && _directoryStarts.Contains(c))
            {
                Fix(where, $"chain runs on into cluster {c}, the first cluster of a directory; truncating at {chain.Count * clusterBytes} bytes");
                EndAt(dir, e, prev);
                break;
            }
            if (Owners[c] != 0)
            {
                string what = Owners[c] == owner ? "chain loops back to cluster" : "shares clusters with another file at cluster";
                Fix(where, $"{what} {c}; truncating at {chain.Count * clusterBytes} bytes");
                EndAt(dir, e, prev);
                break;
            }
            Owners[c] = owner;
            chain.Add(c);
            prev = c;
            c = _v.IsEnd(value) ? 0 : value;
        }
        if (!isDir && size > chain.Count * clusterBytes)
        {
            uint fixedSize = (uint)(chain.Count * clusterBytes);
            Fix(where, $"file size is {size} bytes, the cluster chain is {fixedSize} bytes; size set to {fixedSize}");
            FatDirRecord.SetFileSize(e, fixedSize);
            dir.Dirty = true;
        }
        return chain;
    }

    private void EndAt(FatDirectoryBuffer dir, Span<byte> e, uint prev)
    {
        if (prev == 0)
        {
            SetStart(dir, e, 0);
        }
        else
        {
            _v.Set(prev, FatTable.EndMark(_v.Kind));
        }
    }

    private void SetStart(FatDirectoryBuffer dir, Span<byte> e, uint cluster)
    {
        FatDirRecord.SetCluster(e, cluster, _v.Kind);
        dir.Dirty = true;
    }

    /// <summary>
    /// fsck.fat's bad_name: an entry marked as having no 8.3 name (<see cref="FatDirRecord.NoShortName"/>)
    /// is bad without a long name and not judged at all with one; any other needs a valid
    /// short name.
    /// </summary>
    private static bool BadShortName(ReadOnlySpan<byte> e, bool hasLongName) =>
        (e[FatDirRecord.NtReserved] & FatDirRecord.NoShortName) != 0
            ? !hasLongName
            : !FatDirRecord.IsValidShortName(e[..FatDirRecord.NameLength]);

    /// <summary>
    /// Give the entry the next free FSCKnnnn.REN name. Its long-name slots carry the old
    /// short name's checksum; they get the new one, or the next check would find the
    /// long name orphaned and delete it.
    /// </summary>
    private string Rename(FatDirectoryBuffer dir, Span<byte> e, HashSet<string> names, int[] longNameSlots)
    {
        string name;
        do
        {
            name = $"FSCK{_renames++:D4}REN";
        }
        while (!names.Add(name));
        Encoding.ASCII.GetBytes(name, e[..FatDirRecord.NameLength]);
        // It has an 8.3 name now: a "no 8.3 name" mark left on it would make the entry bad
        // again (fsck.fat clears it when it renames, too).
        e[FatDirRecord.NtReserved] &= unchecked((byte)~FatDirRecord.NoShortName);
        byte checksum = FatDirRecord.ShortNameChecksum(e);
        foreach (int slot in longNameSlots)
        {
            dir.Entry(slot)[FatDirRecord.LfnChecksum] = checksum;
        }
        dir.Dirty = true;
        return name[..8] + "." + name[8..];
    }

    private void DropLongNames(FatDirectoryBuffer dir, string path, List<int> slots, string message)
    {
        if (slots.Count == 0)
        {
            return;
        }
        foreach (int s in slots)
        {
            dir.Entry(s)[0] = FatDirRecord.Deleted;
        }
        dir.Dirty = true;
        Fix($"{path} entries {slots.Min()}..{slots.Max()}", message + "; deleted");
    }

    private void Fix(string location, string message) => _report.Add(Phase, location, message, repaired: _repair);
}
