using System.Buffers.Binary;
using System.Text;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// Saves lost chains as files FSCK0000.REC, FSCK0001.REC, ... in the root directory, as
/// fsck.fat -a (its -f) does: each takes the first free slot (never used or deleted, but not
/// a deleted long-name slot, which fsck.fat leaves alone too), the next number whose name the
/// root does not hold yet, and a size of its clusters times the cluster size (the true end
/// of the data is not known, so nothing is cut off). A full FAT32 root grows by a free
/// cluster, the first after its last one, as fsck.fat takes it; a full FAT12/16 root cannot
/// grow. Where fsck.fat then gives up and writes nothing, the chains that find no slot (or
/// no name, past FSCK9999) are freed, so that the volume ends up consistent.
/// Works on the in-core root and FAT in both modes; the caller writes them on repair.
/// </summary>
internal sealed class FatRecFiles
{
    private const int MaxNumber = 10000;

    private readonly FatVolume _v;
    private readonly FatDirectoryBuffer _root;
    private readonly List<uint> _rootClusters;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly byte[] _entryTemplate = new byte[FatDirRecord.Size];
    private int _number;
    private int _slot;

    private FatRecFiles(FatVolume v, FatDirectoryBuffer root, List<uint> rootClusters, Timespec now)
    {
        _v = v;
        _root = root;
        _rootClusters = rootClusters;
        for (int i = 0; i < root.EntryCount; i++)
        {
            ReadOnlySpan<byte> e = root.Entry(i);
            if (e[0] is not (FatDirRecord.EndMarker or FatDirRecord.Deleted) && !FatDirRecord.IsLongName(e))
            {
                _names.Add(Encoding.Latin1.GetString(e[..FatDirRecord.NameLength]));
            }
        }
        // The time of the check for every stamp: the data's own times are lost with its
        // entry, and a date of 0 (what fsck.fat leaves) is no date at all.
        MsdosConv.ToDos(now, null, out ushort date, out ushort time, out byte tenth);
        Span<byte> t = _entryTemplate;
        t[FatDirRecord.Attributes] = FatDirRecord.AttrArchive; // a new file, not yet backed up
        t[FatDirRecord.CreateTimeTenth] = tenth;
        BinaryPrimitives.WriteUInt16LittleEndian(t[FatDirRecord.CreateTime..], time);
        BinaryPrimitives.WriteUInt16LittleEndian(t[FatDirRecord.CreateDate..], date);
        BinaryPrimitives.WriteUInt16LittleEndian(t[FatDirRecord.AccessDate..], date);
        BinaryPrimitives.WriteUInt16LittleEndian(t[FatDirRecord.WriteTime..], time);
        BinaryPrimitives.WriteUInt16LittleEndian(t[FatDirRecord.WriteDate..], date);
    }

    /// <summary>The names given, one per saved chain, in the order of the chains.</summary>
    public List<string> Saved { get; } = [];

    /// <summary>Chains that could not be saved (and were freed), with <see cref="WhyNotSaved"/>.</summary>
    public List<LostChain> NotSaved { get; } = [];

    public string? WhyNotSaved { get; private set; }

    /// <summary>Clusters the root grew by.</summary>
    public int RootGrowth { get; private set; }

    /// <summary>Save <paramref name="chains"/> as files in <paramref name="root"/> (on FAT32 with its chain <paramref name="rootClusters"/>).</summary>
    public static FatRecFiles Save(FatVolume v, FatDirectoryBuffer root, List<uint> rootClusters, IReadOnlyList<LostChain> chains, Timespec now)
    {
        var files = new FatRecFiles(v, root, rootClusters, now);
        foreach (LostChain chain in chains)
        {
            if (files.WhyNotSaved is null && files.TrySave(chain))
            {
                continue;
            }
            files.NotSaved.Add(chain);
            files.Free(chain);
        }
        return files;
    }

    private bool TrySave(LostChain chain)
    {
        int slot = FreeSlot();
        if (slot < 0)
        {
            WhyNotSaved = _v.Kind == FatKind.Fat32
                ? "the root directory is full and no free cluster is left to grow it"
                : "the root directory is full (a FAT12/16 root has a fixed size)";
            return false;
        }
        string? name = NextName();
        if (name is null)
        {
            WhyNotSaved = $"every name up to FSCK{MaxNumber - 1}.REC is taken";
            return false;
        }
        Span<byte> e = _root.Entry(slot);
        _entryTemplate.CopyTo(e);
        Encoding.ASCII.GetBytes(name, e[..FatDirRecord.NameLength]);
        FatDirRecord.SetCluster(e, chain.Start, _v.Kind);
        FatDirRecord.SetFileSize(e, (uint)(chain.Clusters * _v.Boot.ClusterBytes));
        _root.Dirty = true;
        _slot = slot + 1;
        Saved.Add(name[..8] + "." + name[8..]);
        return true;
    }

    /// <summary>The first free slot from where the last file went, growing a FAT32 root when there is none; -1 when full.</summary>
    private int FreeSlot()
    {
        for (int i = _slot; i < _root.EntryCount; i++)
        {
            ReadOnlySpan<byte> e = _root.Entry(i);
            if (e[0] is (FatDirRecord.EndMarker or FatDirRecord.Deleted) && e[FatDirRecord.Attributes] != FatDirRecord.AttrLongName)
            {
                return i;
            }
        }
        if (_v.Kind != FatKind.Fat32 || _rootClusters.Count == 0)
        {
            return -1;
        }
        int first = _root.EntryCount;
        uint c = _v.GrowChain(_rootClusters[^1]);
        if (c == 0)
        {
            return -1;
        }
        _rootClusters.Add(c);
        _root.AppendCluster(_v.Boot.ClusterOffset(c));
        RootGrowth++;
        return first;
    }

    private string? NextName()
    {
        while (_number < MaxNumber)
        {
            string name = $"FSCK{_number++:D4}REC";
            if (_names.Add(name))
            {
                return name;
            }
        }
        return null;
    }

    private void Free(LostChain chain)
    {
        uint c = chain.Start;
        for (long i = 0; i < chain.Clusters; i++)
        {
            uint next = _v.Value(c);
            _v.Set(c, FatTable.Free);
            c = next;
        }
    }
}
