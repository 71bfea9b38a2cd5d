namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// The first two slots of every subdirectory hold "." and "..". When they do not, the
/// directory is still read as one (its entry says so, and it has no size), so the dot
/// entries are made again as fsck.fat makes them: written into a free slot, and an entry
/// found where a dot belongs is moved further down first, with its long name, so no file is
/// lost. A directory with no free slot for it grows by a cluster.
/// </summary>
internal sealed class FatDotEntries
{
    public static ReadOnlySpan<byte> DotName => ".          "u8;
    public static ReadOnlySpan<byte> DotDotName => "..         "u8;

    private readonly FatVolume _v;
    private readonly int[] _owners;
    private readonly Action<string, string, bool> _finding;

    /// <param name="volume">The volume being checked (its in-core FAT grows a directory's chain).</param>
    /// <param name="owners">Which file claimed each cluster; a cluster added to a directory is claimed for it.</param>
    /// <param name="finding">Reports one finding: location, message, and whether it can be repaired.</param>
    public FatDotEntries(FatVolume volume, int[] owners, Action<string, string, bool> finding)
    {
        _v = volume;
        _owners = owners;
        _finding = finding;
    }

    public static bool IsDot(ReadOnlySpan<byte> e) => e[..FatDirRecord.NameLength].SequenceEqual(DotName);

    public static bool IsDotDot(ReadOnlySpan<byte> e) => e[..FatDirRecord.NameLength].SequenceEqual(DotDotName);

    /// <summary>
    /// Make slot 0 "." (pointing at <paramref name="selfStart"/>) and slot 1 ".." (pointing at
    /// <paramref name="parentStart"/>) in a subdirectory read into <paramref name="dir"/>.
    /// <paramref name="selfEntry"/> is the directory's own entry in its parent, whose times
    /// the new entries take, as mkdir gives them. <paramref name="clusters"/> is the
    /// directory's chain, claimed by <paramref name="owner"/>; it grows if room is needed.
    /// </summary>
    public void Ensure(FatDirectoryBuffer dir, string path, ReadOnlySpan<byte> selfEntry, uint selfStart, uint parentStart,
        int owner, List<uint> clusters)
    {
        for (int slot = 0; slot < 2; slot++)
        {
            bool wantDot = slot == 0;
            string name = wantDot ? "\".\"" : "\"..\"";
            string where = wantDot ? "the first slot" : "the second slot";
            Span<byte> e = dir.Entry(slot);
            if (wantDot ? IsDot(e) : IsDotDot(e))
            {
                continue;
            }
            if (IsFree(e))
            {
                _finding(path, $"no {name} entry in {where}, which is free; created", true);
            }
            else if (IsDot(e) || IsDotDot(e))
            {
                // The other dot entry, out of place: nothing of its own to keep.
                _finding(path, $"{where} holds {(IsDot(e) ? "\".\"" : "\"..\"")} instead of {name}; replaced", true);
            }
            else
            {
                string display = FatDirRecord.IsLongName(e) ? "a long-name entry" : FatDirRecord.Display(e);
                string problem = $"{where} holds {display} instead of {name}";
                int moved = MoveDown(dir, slot, owner, clusters, out uint grownBy);
                if (moved < 0)
                {
                    _finding(path, problem + "; no free cluster to move it to, left as it is", false);
                    return;
                }
                string grown = grownBy == 0 ? "" : $" (the directory grew by cluster {grownBy} to make room)";
                _finding(path, $"{problem}; the entry moved to slot {moved}{grown} and {name} created", true);
            }
            Write(dir.Entry(slot), selfEntry, wantDot ? DotName : DotDotName, wantDot ? selfStart : parentStart);
            dir.Dirty = true;
        }
    }

    private void Write(Span<byte> e, ReadOnlySpan<byte> selfEntry, ReadOnlySpan<byte> name, uint cluster)
    {
        selfEntry.CopyTo(e);
        name.CopyTo(e);
        e[FatDirRecord.Attributes] = FatDirRecord.AttrDirectory;
        e[FatDirRecord.NtReserved] = 0;
        FatDirRecord.SetCluster(e, cluster, _v.Kind);
        FatDirRecord.SetFileSize(e, 0);
    }

    /// <summary>
    /// Move the entry at <paramref name="slot"/>, with the rest of its long-name run up to
    /// its short entry, to the first free slots after it; returns where it now starts, or -1
    /// when the directory has no room and the volume no free cluster to grow it by.
    /// </summary>
    private int MoveDown(FatDirectoryBuffer dir, int slot, int owner, List<uint> clusters, out uint grownBy)
    {
        int end = slot;
        while (end + 1 < dir.EntryCount && FatDirRecord.IsLongName(dir.Entry(end)) && !IsFree(dir.Entry(end + 1)))
        {
            end++;
        }
        int count = end - slot + 1;
        grownBy = 0;
        int to = FindFree(dir, Math.Max(2, end + 1), count);
        while (to < 0)
        {
            // A long name of up to 21 slots may need more than one small cluster.
            uint added = Grow(dir, owner, clusters);
            if (added == 0)
            {
                return -1;
            }
            grownBy = grownBy == 0 ? added : grownBy;
            to = FindFree(dir, Math.Max(2, end + 1), count);
        }
        for (int k = 0; k < count; k++)
        {
            dir.Entry(slot + k).CopyTo(dir.Entry(to + k));
            dir.Entry(slot + k)[0] = FatDirRecord.Deleted;
        }
        return to;
    }

    private static bool IsFree(ReadOnlySpan<byte> e) => e[0] is FatDirRecord.EndMarker or FatDirRecord.Deleted;

    /// <summary>The first of <paramref name="count"/> free slots in a row from <paramref name="from"/> on, or -1.</summary>
    private static int FindFree(FatDirectoryBuffer dir, int from, int count)
    {
        int run = 0;
        for (int i = from; i < dir.EntryCount; i++)
        {
            run = IsFree(dir.Entry(i)) ? run + 1 : 0;
            if (run == count)
            {
                return i - count + 1;
            }
        }
        return -1;
    }

    /// <summary>Add a free cluster to the end of the directory's chain, claimed for it and read as empty; 0 when there is none.</summary>
    private uint Grow(FatDirectoryBuffer dir, int owner, List<uint> clusters)
    {
        for (uint c = 2; c <= _v.Boot.MaxCluster; c++)
        {
            if (_v.Value(c) == FatTable.Free && _owners[c] == 0)
            {
                _v.Set(clusters[^1], c);
                _v.Set(c, FatTable.EndMark(_v.Kind));
                _owners[c] = owner;
                clusters.Add(c);
                dir.AppendCluster(_v.Boot.ClusterOffset(c));
                return c;
            }
        }
        return 0;
    }
}
