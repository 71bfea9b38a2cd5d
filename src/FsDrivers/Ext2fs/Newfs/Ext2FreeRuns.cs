namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>Free blocks, taken in the order a block source offers them, gathered into runs.</summary>
internal static class Ext2FreeRuns
{
    /// <summary>
    /// The first <paramref name="count"/> of <paramref name="free"/> as runs of at most
    /// <paramref name="maxRun"/> adjacent blocks; null when there are fewer. Nothing is marked:
    /// the caller takes the runs it gets.
    /// </summary>
    public static List<(uint Start, uint Length)>? Gather(IEnumerable<uint> free, uint count, uint maxRun)
    {
        var runs = new List<(uint Start, uint Length)>();
        uint left = count;
        foreach (uint b in free)
        {
            if (left == 0)
            {
                break;
            }
            if (runs.Count > 0 && runs[^1].Start + runs[^1].Length == b && runs[^1].Length < maxRun)
            {
                runs[^1] = (runs[^1].Start, runs[^1].Length + 1);
            }
            else
            {
                runs.Add((b, 1));
            }
            left--;
        }
        return left > 0 ? null : runs;
    }
}
