namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>
/// Repair pass 1: the inodes' extended-attribute areas. An area is the cheapest claim an
/// inode makes (losing it costs attributes, not data), so it is the one given up: a size
/// that is impossible, a block outside the data area or shared with any data (another
/// file's or its own) or with another area drops the whole area, and the file stays. An
/// area the driver would refuse for its contents (a missing block, a record that does not
/// decode) is cut after the last record that does, or dropped when none does.
/// </summary>
internal sealed partial class FfsRepair
{
    /// <summary>An inode whose area waits to be claimed; its di_blocks and write wait with it.</summary>
    private sealed record PendingArea(ulong Ino, FfsDinode D, long DataFrags, bool Dirty, HashSet<int> OwnData);

    private readonly List<PendingArea> _pendingAreas = [];

    /// <summary>
    /// What can be judged of the inode's area before the other inodes are: its size, pointers
    /// past the end (freed), pointers outside the data area (the area dropped).
    /// </summary>
    private void CheckExtArea(ulong ino, FfsDinode d, ref bool dirty)
    {
        string? bad = FfsExtArea.SizeProblem(_sb, d);
        for (int i = 0; bad is null && i < FfsSuperblock.NXAddr; i++)
        {
            long p = d.ExtB[i];
            int n = FfsExtArea.FragsOf(_sb, d.ExtSize, i);
            if (p != 0 && n == 0)
            {
                Did($"inode {ino}: extended-attribute block {i} past the end of the area freed");
                d.ExtB[i] = 0;
                dirty = true;
            }
            else if (p != 0 && !InDataArea(p, n))
            {
                bad = $"extended-attribute block {i} at {p} outside the data area";
            }
        }
        if (bad is not null)
        {
            DropExtArea(ino, d, bad);
            dirty = true;
        }
    }

    /// <summary>
    /// Leave an area the driver reads: cut after the last record that decodes before a
    /// missing block or a bad record, dropped when none does. True when the inode changed.
    /// </summary>
    private bool CheckRecords(ulong ino, FfsDinode d)
    {
        int keep = FfsExtAreaCheck.ReadableLength(_sb, d, _dev, out string? problem);
        if (keep < 0)
        {
            Left($"inode {ino}: {problem}");
            return false;
        }
        if (problem is null)
        {
            return false;
        }
        if (keep == 0)
        {
            DropExtArea(ino, d, problem);
            return true;
        }
        Did($"inode {ino}: {problem}; area cut from {d.ExtSize} to {keep} bytes, after its last whole record");
        CutExtArea(ino, d, keep);
        return true;
    }

    /// <summary>Shorten the area to <paramref name="size"/> bytes; pointers past the new end are freed.</summary>
    private void CutExtArea(ulong ino, FfsDinode d, int size)
    {
        d.ExtSize = size;
        for (int i = 0; i < FfsSuperblock.NXAddr; i++)
        {
            if (d.ExtB[i] != 0 && FfsExtArea.FragsOf(_sb, size, i) == 0)
            {
                Did($"inode {ino}: extended-attribute block {i} past the end of the area freed");
                d.ExtB[i] = 0;
            }
        }
    }

    private void DropExtArea(ulong ino, FfsDinode d, string why)
    {
        Did($"inode {ino}: {why}; extended attributes dropped");
        d.ExtSize = 0;
        Array.Clear(d.ExtB);
    }

    /// <summary>
    /// Claim the waiting areas once every inode's data is claimed, so that an area never
    /// takes a fragment from data, whichever inode number is lower (FfsExtAreaCheck.SharedAreas
    /// says which give up their claim); then finish each inode.
    /// </summary>
    private void ClaimExtAreas()
    {
        List<FfsAreaBlock> blocks = [.. _pendingAreas.SelectMany(a => Enumerable.Range(0, FfsSuperblock.NXAddr)
            .Where(i => a.D.ExtB[i] != 0)
            .Select(i => new FfsAreaBlock(a.Ino, i, a.D.ExtB[i], FfsExtArea.FragsOf(_sb, a.D.ExtSize, i), a.OwnData)))];
        Dictionary<ulong, string> shared = FfsExtAreaCheck.SharedAreas(_sb, blocks, _used);
        foreach (PendingArea a in _pendingAreas)
        {
            bool dirty = a.Dirty;
            long frags = a.DataFrags;
            if (shared.TryGetValue(a.Ino, out string? why))
            {
                DropExtArea(a.Ino, a.D, why);
                dirty = true;
            }
            else if (a.D.ExtSize > 0)
            {
                // Only an area that is its inode's alone is read: a shared one holds the
                // other claimant's bytes, and sharing is the better reason to give.
                dirty |= CheckRecords(a.Ino, a.D);
            }
            for (int i = 0; i < FfsSuperblock.NXAddr; i++)
            {
                if (a.D.ExtB[i] != 0)
                {
                    int n = FfsExtArea.FragsOf(_sb, a.D.ExtSize, i);
                    Claim(a.D.ExtB[i], n);
                    frags += n;
                }
            }
            FinishInode(a.Ino, a.D, frags, dirty);
        }
        _pendingAreas.Clear();
    }
}
