namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// The first clusters of the volume's subdirectories, found before the tree check claims
/// any chain: every directory entry reachable from the root whose first cluster begins with
/// a "." naming that cluster. The tree check claims chains in the order it meets them, so a
/// file whose damaged chain runs on into a directory met later would otherwise take that
/// directory's first cluster, and the directory, with everything under it, would be
/// deleted. Knowing the starts, the file's chain is cut there instead.
/// </summary>
internal static class FatDirectoryStarts
{
    public static HashSet<uint> Find(FatVolume v)
    {
        var starts = new HashSet<uint>();
        var pending = new Queue<List<uint>>();
        FatDirectoryBuffer? root = null;
        if (v.Kind == FatKind.Fat32)
        {
            List<uint> chain = Chain(v, v.Boot.RootCluster);
            if (chain.Count > 0 && FatDirectoryBuffer.ReadChain(v, chain, out FatDirectoryBuffer r) == 0)
            {
                root = r;
            }
        }
        else if (FatDirectoryBuffer.ReadRoot16(v, out FatDirectoryBuffer r) == 0)
        {
            root = r;
        }
        if (root is not null)
        {
            Collect(v, root, starts, pending);
        }
        while (pending.Count > 0)
        {
            if (FatDirectoryBuffer.ReadChain(v, pending.Dequeue(), out FatDirectoryBuffer dir) == 0)
            {
                Collect(v, dir, starts, pending);
            }
        }
        return starts;
    }

    private static void Collect(FatVolume v, FatDirectoryBuffer dir, HashSet<uint> starts, Queue<List<uint>> pending)
    {
        for (int i = 0; i < dir.EntryCount; i++)
        {
            ReadOnlySpan<byte> e = dir.Entry(i);
            if (e[0] == FatDirRecord.EndMarker)
            {
                return;
            }
            if (e[0] == FatDirRecord.Deleted || FatDirRecord.IsLongName(e) || FatDotEntries.IsDot(e) || FatDotEntries.IsDotDot(e)
                || (e[FatDirRecord.Attributes] & (FatDirRecord.AttrDirectory | FatDirRecord.AttrVolume)) != FatDirRecord.AttrDirectory)
            {
                continue;
            }
            uint start = FatDirRecord.Cluster(e, v.Kind);
            if (!v.IsValidCluster(start) || starts.Contains(start) || !BeginsWithItsDot(v, start))
            {
                continue;
            }
            starts.Add(start);
            pending.Enqueue(Chain(v, start));
        }
    }

    private static bool BeginsWithItsDot(FatVolume v, uint start)
    {
        byte[] first = new byte[FatDirRecord.Size];
        return v.Device.Read(v.Boot.ClusterOffset(start), first) == 0 && FatDotEntries.IsDot(first)
            && (first[FatDirRecord.Attributes] & FatDirRecord.AttrDirectory) != 0 && FatDirRecord.Cluster(first, v.Kind) == start;
    }

    /// <summary>The clusters from <paramref name="start"/> until an end mark, a free, bad or invalid value, or a repeat.</summary>
    private static List<uint> Chain(FatVolume v, uint start)
    {
        var chain = new List<uint>();
        var seen = new HashSet<uint>();
        for (uint c = start; v.IsValidCluster(c) && seen.Add(c);)
        {
            uint value = v.Value(c);
            if (value == FatTable.Free || v.IsBad(value))
            {
                break;
            }
            chain.Add(c);
            if (v.IsEnd(value))
            {
                break;
            }
            c = value;
        }
        return chain;
    }
}
